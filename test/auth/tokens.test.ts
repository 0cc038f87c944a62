/**
 * The attacker's side of access tokens (security.md, "Access tokens"): every forged, altered,
 * expired or orphaned token answers 401 "Could not validate credentials" on GET /api/v1/auth/me,
 * while a token minted the service's way with the real secret is accepted (so the minting helper
 * works and each refusal is down to the one thing it changes).
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { decodeProtectedHeader, type JWTPayload, SignJWT } from "jose"
import { randomUUID } from "node:crypto"
import { keyIdOf } from "../../src/infra/auth/Tokens.js"
import { TEST_JWT_SECRET, TestService } from "../support/TestService.js"
import { expectAccepted, expectRefused, victim } from "./sessions-helpers.js"

const KID = keyIdOf(TEST_JWT_SECRET)

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** Signs `payload` as the service does (HS256, real kid, `typ: at+jwt`) unless told otherwise. */
const mint = (
  payload: JWTPayload,
  options: { readonly secret?: string; readonly header?: Record<string, unknown> } = {}
) =>
  Effect.promise(() =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: "HS256", kid: KID, typ: "at+jwt", ...options.header })
      .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET))
  )

it.layer(TestService({ env: { RATE_LIMIT_ENABLED: "false" } }))("forged and stale access tokens", (it) => {
  it.effect("the service's tokens carry the header and claims the suite mints", () =>
    Effect.gen(function*() {
      const { claims, token, userId } = yield* victim("tokens")
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", kid: KID, typ: "at+jwt" })
      expect(claims).toMatchObject({ sub: userId, user_id: userId, role: "user" })
      for (const name of ["iss", "aud", "email", "sid", "jti", "iat", "exp"]) expect(claims).toHaveProperty(name)
      yield* expectAccepted(token, userId)
    }))

  it.effect("a token minted with the real secret and a real session id is accepted", () =>
    Effect.gen(function*() {
      const { fresh, token, userId } = yield* victim("tokens")
      const minted = yield* mint(fresh)
      expect(minted).not.toBe(token)
      yield* expectAccepted(minted, userId)
    }))

  it.effect("alg: none with an empty signature is refused", () =>
    Effect.gen(function*() {
      const { fresh, userId } = yield* victim("tokens")
      yield* expectAccepted(yield* mint(fresh), userId)
      yield* expectRefused(`${base64url({ alg: "none", typ: "at+jwt", kid: KID })}.${base64url(fresh)}.`)
    }))

  it.effect("a stripped signature is refused", () =>
    Effect.gen(function*() {
      const { token } = yield* victim("tokens")
      const [header, payload] = token.split(".")
      yield* expectRefused(`${header}.${payload}.`)
    }))

  it.effect("a tampered payload (another user's sub/user_id and sid) keeping the signature is refused", () =>
    Effect.gen(function*() {
      const attacker = yield* victim("tokens")
      const target = yield* victim("tokens")
      const [header, , signature] = attacker.token.split(".")
      const forged = { ...attacker.claims, sub: target.userId, user_id: target.userId, sid: target.claims.sid }
      yield* expectRefused(`${header}.${base64url(forged)}.${signature}`)
      // the same claims, properly signed, would have let the attacker in as the target
      yield* expectAccepted(yield* mint({ ...forged, jti: randomUUID() }), target.userId)
    }))

  it.effect("a tampered role keeping the signature is refused", () =>
    Effect.gen(function*() {
      const { claims, token } = yield* victim("tokens")
      const [header, , signature] = token.split(".")
      yield* expectRefused(`${header}.${base64url({ ...claims, role: "admin" })}.${signature}`)
    }))

  it.effect("a token signed with a wrong secret (real claims and header) is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      yield* expectRefused(yield* mint(fresh, { secret: "an-attacker-secret-of-more-than-32-bytes!!" }))
    }))

  it.effect("an unknown kid, and a key embedded in the header, are refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      const attackerSecret = "an-attacker-secret-of-more-than-32-bytes!!"
      yield* expectRefused(yield* mint(fresh, { header: { kid: "not-a-known-key" } }))
      yield* expectRefused(yield* mint(fresh, { header: { kid: undefined } }))
      const jwk = { kty: "oct", k: Buffer.from(attackerSecret).toString("base64url") }
      yield* expectRefused(yield* mint(fresh, { secret: attackerSecret, header: { jwk } }))
    }))

  it.effect("a token whose exp is past (beyond the 30 s skew), signed with the real secret, is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      const now = fresh.iat!
      yield* expectRefused(yield* mint({ ...fresh, iat: now - 960, exp: now - 60 }))
    }))

  it.effect("a wrong aud is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      yield* expectRefused(yield* mint({ ...fresh, aud: "some-other-api" }))
    }))

  it.effect("a wrong iss is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      yield* expectRefused(yield* mint({ ...fresh, iss: "https://evil.example.com" }))
    }))

  it.effect("a wrong typ (JWT) is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      yield* expectRefused(yield* mint(fresh, { header: { typ: "JWT" } }))
    }))

  it.effect("a token without sid is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      const { sid: _sid, ...withoutSid } = fresh
      yield* expectRefused(yield* mint(withoutSid))
    }))

  it.effect("a sid naming no session is refused", () =>
    Effect.gen(function*() {
      const { fresh } = yield* victim("tokens")
      yield* expectRefused(yield* mint({ ...fresh, sid: randomUUID() }))
      yield* expectRefused(yield* mint({ ...fresh, sid: "not-a-uuid" }))
    }))

  it.effect("a valid token of a user deleted from the database is refused", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { token, userId } = yield* victim("tokens")
      yield* expectAccepted(token, userId)
      yield* sql`DELETE FROM "user" WHERE id = ${userId}`
      // Deleted behind the service's back: refused once its session-check interval (5 s) has passed.
      yield* TestClock.adjust("5 seconds")
      yield* expectRefused(token)
    }))
})

// TestClock is shared by every test of an it.layer block: moving it gets a service of its own.
it.layer(TestService({ env: { RATE_LIMIT_ENABLED: "false" } }))("access token expiry", (it) => {
  it.effect("a token is accepted for its 15 minutes and refused once expired (TestClock)", () =>
    Effect.gen(function*() {
      const { token, userId } = yield* victim("tokens")
      yield* expectAccepted(token, userId)
      yield* TestClock.adjust("14 minutes")
      yield* expectAccepted(token, userId)
      yield* TestClock.adjust("2 minutes") // 16 minutes: past exp and the 30 s skew
      yield* expectRefused(token)
    }))
})

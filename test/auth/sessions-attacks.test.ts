/**
 * The attacker's side, continued (security.md, "Access tokens" and "Refresh tokens"): forged
 * headers and mixed-up token kinds. Every forged access token answers 401 "Could not validate
 * credentials" on GET /api/v1/auth/me; forged refresh tokens answer 401 invalid_refresh_token.
 *
 * Cases test/tokens.test.ts already has are not repeated here: alg "none" with an empty
 * signature, the header.payload. stripped signature, an unknown or missing kid, a jwk with the
 * attacker's key, typ "JWT", and a deleted user's access token.
 *
 * Tokens are built by hand (header and payload as JSON, HMAC-SHA256 over them with a chosen key)
 * so each case changes exactly one thing; the first test shows the very same construction with
 * the real header and secret is accepted.
 */
import { expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { decodeJwt, type JWTPayload } from "jose"
import { createHmac, randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { keyIdOf } from "../../src/infra/auth/Tokens.js"
import { TEST_JWT_SECRET } from "../support/TestService.js"
import {
  expectAccepted,
  expectRefreshRefused,
  expectRefused,
  newUser,
  refreshed,
  serviceWith,
  sessionRow
} from "./sessions-helpers.js"

const KID = keyIdOf(TEST_JWT_SECRET)
const HEADER = { alg: "HS256", kid: KID, typ: "at+jwt" } as const
const ATTACKER_SECRET = "an-attacker-secret-of-more-than-32-bytes!!"

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** `header.payload` as the compact serialisation writes it (the signing input). */
const signingInput = (header: Record<string, unknown>, payload: JWTPayload) => `${segment(header)}.${segment(payload)}`

/** A compact JWS whose third part is HMAC-SHA256 of the signing input under `key`, whatever `alg` says. */
const forge = (header: Record<string, unknown>, payload: JWTPayload, key: string | Buffer = TEST_JWT_SECRET) => {
  const input = signingInput(header, payload)
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`
}

/** A signed-up user, and claims for a fresh access token of its session (as the service would mint). */
const victim = Effect.gen(function*() {
  const user = yield* newUser("attacks")
  const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
  const claims: JWTPayload = {
    ...decodeJwt(user.pair.token),
    jti: randomUUID(),
    iat: nowSeconds,
    exp: nowSeconds + 900
  }
  return { ...user, claims }
})

/** One character of `token` replaced by another base64url character. */
const flipAt = (token: string, index: number) =>
  `${token.slice(0, index)}${token[index] === "A" ? "B" : "A"}${token.slice(index + 1)}`

it.layer(serviceWith())("forged access tokens", (it) => {
  it.effect("the hand-built token with the service's header and secret is accepted (the forging is sound)", () =>
    Effect.gen(function*() {
      const { claims, userId } = yield* victim
      yield* expectAccepted(forge(HEADER, claims), userId)
    }))

  for (const alg of ["none", "None", "NONE", "nOnE"]) {
    it.effect(`alg: "${alg}" is refused with a signature part${alg === "none" ? "" : " and without one"}`, () =>
      Effect.gen(function*() {
        const { claims } = yield* victim
        const header = { ...HEADER, alg }
        // the third part is even a valid HMAC under the real secret: only alg differs
        yield* expectRefused(forge(header, claims))
        // "none" with an empty signature is in tokens.test.ts
        if (alg !== "none") yield* expectRefused(`${signingInput(header, claims)}.`)
        yield* expectRefused(signingInput(header, claims))
      }))
  }

  it.effect("a token with no third part at all (header.payload) is refused", () =>
    Effect.gen(function*() {
      const { pair } = yield* victim
      const [header, payload] = pair.token.split(".")
      yield* expectRefused(`${header}.${payload}`)
    }))

  it.effect("an embedded jwk is refused even when it is the real key and the signature is right", () =>
    Effect.gen(function*() {
      const { claims } = yield* victim
      const jwk = { kty: "oct", k: Buffer.from(TEST_JWT_SECRET).toString("base64url") }
      yield* expectRefused(forge({ ...HEADER, jwk }, claims))
    }))

  it.effect("a jku (and an x5u) pointing to http://127.0.0.1:1 is refused, with the real or the attacker's key", () =>
    Effect.gen(function*() {
      const { claims } = yield* victim
      const jku = "http://127.0.0.1:1/jwks"
      yield* expectRefused(forge({ ...HEADER, jku }, claims))
      yield* expectRefused(forge({ ...HEADER, kid: "attacker-key", jku }, claims, ATTACKER_SECRET))
      yield* expectRefused(forge({ ...HEADER, x5u: "http://127.0.0.1:1/cert.pem" }, claims))
    }))

  it.effect("a kid with a path (../../../../dev/null, /etc/passwd) is refused, signed with that file's content", () =>
    Effect.gen(function*() {
      const { claims } = yield* victim
      yield* expectRefused(forge({ ...HEADER, kid: "../../../../dev/null" }, claims, Buffer.alloc(0)))
      yield* expectRefused(forge({ ...HEADER, kid: "/etc/passwd" }, claims, readFileSync("/etc/passwd")))
      // nor with the real secret: a path names no key
      yield* expectRefused(forge({ ...HEADER, kid: "../../../../dev/null" }, claims))
      yield* expectRefused(forge({ ...HEADER, kid: "/etc/passwd" }, claims))
    }))

  it.effect("typ refresh+jwt, and no typ at all (legacy tokens are off), are refused", () =>
    Effect.gen(function*() {
      const { claims } = yield* victim
      yield* expectRefused(forge({ ...HEADER, typ: "refresh+jwt" }, claims))
      const { typ: _typ, ...withoutTyp } = HEADER
      yield* expectRefused(forge(withoutTyp, claims))
    }))
})

it.layer(serviceWith())("token kinds mixed up, and forged refresh tokens", (it) => {
  it.effect("a refresh token used as an access token is refused, and still refreshes afterwards", () =>
    Effect.gen(function*() {
      const { pair, userId } = yield* newUser("refresh-as-access")
      yield* expectRefused(pair.refreshToken)
      const next = yield* refreshed(pair.refreshToken)
      yield* expectAccepted(next.token, userId)
    }))

  it.effect("an access token used as a refresh token answers 401 invalid_refresh_token and ends nothing", () =>
    Effect.gen(function*() {
      const { pair, userId } = yield* newUser("access-as-refresh")
      yield* expectRefreshRefused(pair.token, "invalid_refresh_token")
      const row = yield* sessionRow(pair.sessionId)
      expect(row).toMatchObject({ refresh_counter: 0, revoked_at: null })
      yield* expectAccepted(pair.token, userId)
    }))

  it.effect(
    "a refresh token with one character flipped (session id, counter or MAC) answers invalid_refresh_token",
    () =>
      Effect.gen(function*() {
        const { pair, userId } = yield* newUser("flipped")
        const token = pair.refreshToken
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
        // version+session id are the first 17 bytes (≈ 23 characters), the counter the next 8, then the MAC
        for (const index of [0, 5, 28, 40, token.length - 1]) {
          const flipped = flipAt(token, index)
          expect(flipped).not.toBe(token)
          yield* expectRefreshRefused(flipped, "invalid_refresh_token")
        }
        // a forgery neither rotates nor revokes the session: the real token still works
        expect(yield* sessionRow(pair.sessionId)).toMatchObject({ refresh_counter: 0, revoked_at: null })
        const next = yield* refreshed(token)
        yield* expectAccepted(next.token, userId)
      })
  )

  it.effect("truncated, extended and garbage refresh tokens answer invalid_refresh_token", () =>
    Effect.gen(function*() {
      const { pair } = yield* newUser("garbage-refresh")
      for (const bad of [pair.refreshToken.slice(0, -1), `${pair.refreshToken}A`, "garbage", ""]) {
        yield* expectRefreshRefused(bad, "invalid_refresh_token")
      }
      expect(yield* sessionRow(pair.sessionId)).toMatchObject({ refresh_counter: 0, revoked_at: null })
    }))

  it.effect("the refresh token of a user deleted from the database answers invalid_refresh_token", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { pair, userId } = yield* newUser("deleted")
      yield* expectAccepted(pair.token, userId)
      yield* sql`DELETE FROM "user" WHERE id = ${userId}`
      yield* expectRefreshRefused(pair.refreshToken, "invalid_refresh_token")
    }))
})

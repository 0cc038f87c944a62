/**
 * The old backend's tokens while LEGACY_TOKENS_UNTIL is ahead (security.md, "Access tokens"), from
 * the attacker's side: whatever `exp` they carry they live at most the old backend's 24 h from
 * `iat` (and need one), and logout, RFC 7009 revocation and change-password end them as they end
 * sessions, on every instance (the revocations are in PostgreSQL). Time is TestClock's.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { get, post } from "../support/http.js"
import { onSecondInstance as onB, SecondInstanceLive } from "../support/SecondInstance.js"
import {
  AUTH,
  clockNow,
  expectAccepted,
  expectRefused,
  expectSessionEnded,
  HOUR,
  legacyToken,
  newUser,
  serviceWith
} from "./sessions-helpers.js"

/** A window far ahead, so that moving TestClock by a day stays inside it. */
const FAR_UNTIL = new Date(Date.now() + 30 * 24 * HOUR).toISOString()
const legacyService = () => serviceWith({ LEGACY_TOKENS_UNTIL: FAR_UNTIL })

const THIRTY_DAYS = 30 * 24 * 60 * 60

/** A distinct old-backend token of the user (a claim of its own tells it from others of the same second). */
const oldToken = (userId: string, options: Parameters<typeof legacyToken>[1] = {}) =>
  legacyToken(userId, { typ: "JWT", ...options, extra: { nonce: randomUUID(), ...options.extra } })

const logout = (token: string, scope?: string) =>
  post(`${AUTH}/logout`, scope === undefined ? { token } : { token, json: { scope } })

const expectNoContent = (reply: { readonly status: number; readonly text: string }) =>
  expect(reply.status, reply.text).toBe(204)

it.layer(legacyService())("a legacy token's age", (it) => {
  it.effect("one with a 30-day exp is refused 24 h after its iat; its expires_at says so", () =>
    Effect.gen(function*() {
      const { userId } = yield* newUser("legacy-age")
      const token = yield* oldToken(userId, { lifetimeSeconds: THIRTY_DAYS })
      yield* expectAccepted(token, userId)
      const info = yield* get(`${AUTH}/token-info`, { token })
      expect(info.status, info.text).toBe(200)
      expect(Date.parse(info.body.expires_at) - (yield* clockNow)).toBeLessThanOrEqual(24 * HOUR)
      yield* TestClock.adjust("23 hours")
      yield* expectAccepted(token, userId)
      yield* TestClock.adjust("61 minutes")
      yield* expectRefused(token)
    }))

  it.effect("one issued 25 h ago (exp still ahead), one without iat, one issued in the future: refused", () =>
    Effect.gen(function*() {
      const { userId } = yield* newUser("legacy-iat")
      const nowSeconds = Math.floor((yield* clockNow) / 1000)
      const exp = nowSeconds + THIRTY_DAYS
      yield* expectRefused(yield* oldToken(userId, { extra: { iat: nowSeconds - 25 * 60 * 60, exp } }))
      yield* expectRefused(yield* oldToken(userId, { extra: { iat: undefined, exp } }))
      yield* expectRefused(yield* oldToken(userId, { extra: { iat: nowSeconds + 60 * 60, exp } }))
      yield* expectAccepted(yield* oldToken(userId, { extra: { iat: nowSeconds - 23 * 60 * 60, exp } }), userId)
    }))
})

it.layer(legacyService())("ending legacy tokens", (it) => {
  it.effect("logout (local) with a legacy token ends that token only", () =>
    Effect.gen(function*() {
      const { pair, userId } = yield* newUser("legacy-local")
      const [ended, other] = [yield* oldToken(userId), yield* oldToken(userId)]
      yield* expectAccepted(ended, userId) // now remembered by the access-check cache
      expectNoContent(yield* logout(ended))
      yield* expectRefused(ended)
      yield* expectAccepted(other, userId)
      yield* expectAccepted(pair.token, userId)
    }))

  it.effect("the same token with its signature re-encoded (base64url's spare bits) is refused once it is ended", () =>
    Effect.gen(function*() {
      const { userId } = yield* newUser("legacy-reencoded")
      const token = yield* oldToken(userId)
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
      const reencoded = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) ^ 1]
      expect(reencoded).not.toBe(token)
      yield* expectAccepted(reencoded, userId) // the same signature bytes: it verifies
      expectNoContent(yield* logout(token))
      yield* expectRefused(token)
      yield* expectRefused(reencoded)
    }))

  it.effect("POST /revoke with a legacy token ends that token only", () =>
    Effect.gen(function*() {
      const { userId } = yield* newUser("legacy-revoke")
      const [ended, other] = [yield* oldToken(userId), yield* oldToken(userId)]
      yield* expectAccepted(ended, userId)
      const reply = yield* post(`${AUTH}/revoke`, { json: { token: ended } })
      expect(reply.status, reply.text).toBe(200)
      yield* expectRefused(ended)
      yield* expectAccepted(other, userId)
    }))

  it.effect("logout global from a session ends every legacy token issued until then; later ones work", () =>
    Effect.gen(function*() {
      const { pair, userId } = yield* newUser("legacy-global")
      const tokens = [yield* oldToken(userId), yield* oldToken(userId)]
      for (const token of tokens) yield* expectAccepted(token, userId)
      expectNoContent(yield* logout(pair.token, "global"))
      for (const token of tokens) yield* expectRefused(token)
      yield* TestClock.adjust("2 seconds")
      yield* expectAccepted(yield* oldToken(userId), userId)
    }))

  it.effect("logout others with a legacy token ends the user's sessions and other legacy tokens, not its own", () =>
    Effect.gen(function*() {
      const { pair, userId } = yield* newUser("legacy-others")
      const [caller, other] = [yield* oldToken(userId), yield* oldToken(userId)]
      yield* expectAccepted(other, userId)
      expectNoContent(yield* logout(caller, "others"))
      yield* expectAccepted(caller, userId)
      yield* expectRefused(other)
      yield* expectSessionEnded(pair)
    }))

  it.effect("change-password from a session ends the user's legacy tokens", () =>
    Effect.gen(function*() {
      const { pair, password, userId } = yield* newUser("legacy-chpw")
      const token = yield* oldToken(userId)
      yield* expectAccepted(token, userId)
      const reply = yield* post(`${AUTH}/change-password`, {
        token: pair.token,
        json: { current_password: password, new_password: "a brand new passphrase" }
      })
      expectNoContent(reply)
      yield* expectRefused(token)
      yield* expectAccepted(pair.token, userId)
    }))

  it.effect("change-password with a legacy token keeps that token and ends the user's other ones", () =>
    Effect.gen(function*() {
      const { password, userId } = yield* newUser("legacy-chpw-own")
      const [caller, other] = [yield* oldToken(userId), yield* oldToken(userId)]
      yield* expectAccepted(other, userId)
      const reply = yield* post(`${AUTH}/change-password`, {
        token: caller,
        json: { current_password: password, new_password: "a brand new passphrase" }
      })
      expectNoContent(reply)
      yield* expectAccepted(caller, userId)
      yield* expectRefused(other)
    }))

  it.effect("revocation rows are in PostgreSQL, one per token however often it is revoked, and go in time", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { userId } = yield* newUser("legacy-rows")
      const token = yield* oldToken(userId)
      // POST /revoke needs no session: repeating it must not grow the table.
      for (let i = 0; i < 5; i++) expect((yield* post(`${AUTH}/revoke`, { json: { token } })).status).toBe(200)
      const caller = yield* oldToken(userId)
      for (let i = 0; i < 5; i++) expectNoContent(yield* logout(caller, "others"))
      const rows = yield* sql<{ count: number }>`
        SELECT count(*)::int AS count FROM legacy_token_revocation WHERE user_id = ${userId}`
      expect(rows[0]!.count).toBe(2)
      yield* expectRefused(token)
      yield* expectAccepted(caller, userId)
      yield* TestClock.adjust("25 hours")
      // The next revocation (of anyone's) drops the rows no longer needed.
      const someoneElse = yield* newUser("legacy-rows-next")
      expectNoContent(yield* logout(yield* oldToken(someoneElse.userId)))
      const after = yield* sql<{ count: number }>`
        SELECT count(*)::int AS count FROM legacy_token_revocation WHERE user_id = ${userId}`
      expect(after[0]!.count).toBe(0)
    }))
})

// The second instance runs on the real clock: this suite leaves TestClock where it started.
it.layer(legacyService())("ending a legacy token on another instance", (it) => {
  it.layer(SecondInstanceLive({ LEGACY_TOKENS_UNTIL: FAR_UNTIL }), { timeout: "60 seconds" })((it) => {
    it.effect("a logout through B: B refuses at once, A once its 5 s interval has passed", () =>
      Effect.gen(function*() {
        const { userId } = yield* newUser("legacy-instances")
        const token = yield* oldToken(userId)
        yield* expectAccepted(token, userId) // A now trusts this token for 5 s
        expectNoContent(yield* onB(logout(token)))
        yield* onB(expectRefused(token))
        yield* TestClock.adjust("5 seconds")
        yield* expectRefused(token)
      }))
  })
})

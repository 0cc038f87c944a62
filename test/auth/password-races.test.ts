/**
 * The attacker's side of passwords (security.md, "Passwords" and "Rate limits"): racing the
 * per-account failure limit with parallel guesses, racing two password changes, and a password
 * longer than bcrypt reads (72 bytes) that matches on its first 72 bytes.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { post, type Reply } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import { AUTH, expectAccepted, newUser, serviceWith, signin } from "./sessions-helpers.js"

const changePassword = (token: string, json: Record<string, unknown>) =>
  post(`${AUTH}/change-password`, { token, json })

const statusCounts = (replies: ReadonlyArray<Reply>) => {
  const counts: Record<number, number> = {}
  for (const reply of replies) counts[reply.status] = (counts[reply.status] ?? 0) + 1
  return counts
}

const INVALID_CREDENTIALS = { detail: "Invalid email or password", error_code: "invalid_credentials" }

// Limits on, the per-IP rule out of reach: only the per-account failure limit (5 per 15 min) counts.
const limitedPerAccount = TestService({
  env: { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_SIGNIN_PER_IP: "1000/1m", RATE_LIMIT_SIGNUP_PER_IP: "1000/1h" }
})

it.layer(limitedPerAccount)("signin failures per account, raced", (it) => {
  it.effect("30 parallel wrong passwords: at most 5 are checked (401), the others answer 429", () =>
    Effect.gen(function*() {
      const user = yield* newUser("raced")
      const replies = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => signin(user.email, `wrong password number ${i}`),
        { concurrency: "unbounded" }
      )
      const counts = statusCounts(replies)
      expect(counts[401] ?? 0, JSON.stringify(counts)).toBeLessThanOrEqual(5)
      expect((counts[401] ?? 0) + (counts[429] ?? 0), JSON.stringify(counts)).toBe(30)
      for (const reply of replies.filter((r) => r.status === 401)) expect(reply.body).toEqual(INVALID_CREDENTIALS)
      // The account is locked now, for the right password too.
      expect((yield* signin(user.email, user.password)).status).toBe(429)
    }))

  it.effect("a right password gets its reservation back: ten signins in a row, then 4 failures, still sign in", () =>
    Effect.gen(function*() {
      const user = yield* newUser("refunded")
      for (let i = 0; i < 10; i++) expect((yield* signin(user.email, user.password)).status).toBe(200)
      for (let i = 0; i < 4; i++) expect((yield* signin(user.email, `wrong ${i}`)).status).toBe(401)
      const reply = yield* signin(user.email, user.password)
      expect(reply.status, reply.text).toBe(200)
      // That success was refunded too: one failure is still allowed, then the limit holds.
      expect((yield* signin(user.email, "wrong again")).status).toBe(401)
      expect((yield* signin(user.email, "and again")).status).toBe(429)
    }))
})

it.layer(serviceWith())("change-password, raced", (it) => {
  it.effect("parallel changes with the same current password: exactly one 204, the winner's password signs in", () =>
    Effect.gen(function*() {
      const user = yield* newUser("chpw-race")
      const candidates = Array.from({ length: 6 }, (_, i) => `brand new passphrase ${i}`)
      const replies = yield* Effect.forEach(
        candidates,
        (new_password) =>
          changePassword(user.pair.token, {
            current_password: user.password,
            new_password,
            revoke_other_sessions: false
          }),
        { concurrency: "unbounded" }
      )
      expect(statusCounts(replies), replies.map((r) => r.text).join(" | ")).toEqual({ 204: 1, 401: 5 })
      for (const reply of replies.filter((r) => r.status === 401)) {
        expect(reply.body).toEqual({ detail: "Current password is incorrect", error_code: "invalid_current_password" })
      }
      const winner = candidates[replies.findIndex((r) => r.status === 204)]!
      const signedIn = yield* signin(user.email, winner)
      expect(signedIn.status, signedIn.text).toBe(200)
      yield* expectAccepted(signedIn.body.data.token, user.userId)
      for (const loser of candidates.filter((c) => c !== winner)) {
        expect((yield* signin(user.email, loser)).status).toBe(401)
      }
      expect((yield* signin(user.email, user.password)).status).toBe(401)
    }))
})

it.layer(serviceWith())("passwords longer than bcrypt reads", (it) => {
  // 72 bytes: the longest password signup takes (security.md), and all that bcrypt reads of any.
  const PASSWORD_72 = "a 72-byte passphrase, the longest one signup takes: padded out to 72 by "
  const setUp = Effect.gen(function*() {
    expect(Buffer.byteLength(PASSWORD_72)).toBe(72)
    const sql = yield* SqlClient.SqlClient
    const user = yield* newUser("long")
    const reply = yield* changePassword(user.pair.token, {
      current_password: user.password,
      new_password: PASSWORD_72,
      revoke_other_sessions: false
    })
    expect(reply.status, reply.text).toBe(204)
    const rows = yield* sql<{ password: string }>`SELECT password FROM account WHERE user_id = ${user.userId}`
    expect(rows[0]!.password).toMatch(/^\$2[ab]\$/)
    return user
  })

  it.effect("the 72 bytes and more after them answer 401 as a wrong password; the 72 alone sign in", () =>
    Effect.gen(function*() {
      const user = yield* setUp
      for (const suffix of ["x", "anything at all after the 72 bytes", "é"]) {
        const reply = yield* signin(user.email, PASSWORD_72 + suffix)
        expect(reply.status, reply.text).toBe(401)
        expect(reply.body).toEqual(INVALID_CREDENTIALS)
      }
      const unknown = yield* signin(`nobody-${user.userId}@example.com`, PASSWORD_72 + "x")
      expect(unknown.status).toBe(401)
      expect(unknown.text).toBe((yield* signin(user.email, PASSWORD_72 + "x")).text)
      expect((yield* signin(user.email, PASSWORD_72)).status).toBe(200)
    }))

  it.effect("change-password with the 72 bytes and more as the current password answers the wrong-password 401", () =>
    Effect.gen(function*() {
      const user = yield* setUp
      const reply = yield* changePassword(user.pair.token, {
        current_password: PASSWORD_72 + "x",
        new_password: "another new passphrase",
        revoke_other_sessions: false
      })
      expect(reply.status, reply.text).toBe(401)
      expect(reply.body.error_code).toBe("invalid_current_password")
      expect((yield* signin(user.email, PASSWORD_72)).status).toBe(200)
    }))
})

/**
 * Refresh-token rotation (security.md, "Refresh tokens and sessions"): every refresh rotates,
 * a rotated-away token is theft evidence that revokes the whole session, the previous token stays
 * usable for REFRESH_REUSE_GRACE (answering the current one), and parallel refreshes never fork
 * a session. Checked on the wire and in `auth_session`.
 *
 * TestClock is shared by every test of an it.layer block: each test that moves it has a block
 * (and a service) of its own.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import {
  clockNow,
  expectAccepted,
  expectRefreshRefused,
  expectRefused,
  newUser,
  type Pair,
  refresh,
  refreshed,
  serviceWith,
  sessionRow
} from "./sessions-helpers.js"

/** A user whose session was refreshed `times` times: every generation, oldest first. */
const rotated = (prefix: string, times: number) =>
  Effect.gen(function*() {
    const user = yield* newUser(prefix)
    const generations: Array<Pair> = [user.pair]
    for (let i = 0; i < times; i++) {
      generations.push(yield* refreshed(generations[generations.length - 1]!.refreshToken))
    }
    return { ...user, generations, newest: generations[generations.length - 1]! }
  })

it.layer(serviceWith())("rotation chain", (it) => {
  it.effect("refresh ×3 rotates; after the grace an old token revokes the session and every token of it", () =>
    Effect.gen(function*() {
      const user = yield* newUser("rotation")
      const sessionId = user.pair.sessionId
      const opened = yield* sessionRow(sessionId)
      expect(opened).toMatchObject({ user_id: user.userId, refresh_counter: 0, rotated_at: null, revoked_at: null })

      const generations: Array<Pair> = [user.pair]
      for (const counter of [1, 2, 3]) {
        const next = yield* refreshed(generations[generations.length - 1]!.refreshToken)
        expect(next.userId).toBe(user.userId)
        expect(next.sessionId).toBe(sessionId)
        // a new refresh token and a new access token, each unlike every earlier one
        for (const earlier of generations) {
          expect(next.refreshToken).not.toBe(earlier.refreshToken)
          expect(next.token).not.toBe(earlier.token)
        }
        yield* expectAccepted(next.token, user.userId)
        const row = yield* sessionRow(sessionId)
        expect(row.refresh_counter).toBe(counter)
        expect(row.rotated_at?.getTime()).toBe(yield* clockNow)
        expect(row.revoked_at).toBeNull()
        generations.push(next)
      }

      yield* TestClock.adjust("11 seconds") // past REFRESH_REUSE_GRACE (10 s)
      yield* expectRefreshRefused(generations[0]!.refreshToken, "refresh_token_reused")
      const revoked = yield* sessionRow(sessionId)
      expect(revoked.revoked_reason).toBe("refresh_token_reused")
      expect(revoked.revoked_at).not.toBeNull()
      expect(revoked.refresh_counter).toBe(3)

      // the thief's copy and the victim's newest token are both dead now
      yield* expectRefreshRefused(generations[3]!.refreshToken, "session_revoked")
      for (const generation of generations) yield* expectRefused(generation.token)
    }))
})

it.layer(serviceWith())("every rotated-away token is reuse", (it) => {
  it.effect(
    "after the grace, each older token answers 401 refresh_token_reused, also once the session is revoked",
    () =>
      Effect.gen(function*() {
        const { generations, newest } = yield* rotated("reuse-each", 3)
        yield* TestClock.adjust("11 seconds")
        for (const [generation, older] of generations.slice(0, 3).entries()) {
          yield* expectRefreshRefused(
            older.refreshToken,
            "refresh_token_reused",
            `refresh token of generation ${generation}`
          )
        }
        expect((yield* sessionRow(newest.sessionId)).revoked_reason).toBe("refresh_token_reused")
        yield* expectRefreshRefused(newest.refreshToken, "session_revoked")
      })
  )
})

it.layer(serviceWith())("the concurrency grace window", (it) => {
  it.effect("inside the window it answers the current refresh token without rotating; after it, it is reuse", () =>
    Effect.gen(function*() {
      const user = yield* newUser("grace")
      const sessionId = user.pair.sessionId
      const rotation = yield* refreshed(user.pair.refreshToken)
      const rotatedAt = (yield* sessionRow(sessionId)).rotated_at

      yield* TestClock.adjust("5 seconds")
      for (let attempt = 0; attempt < 2; attempt++) {
        const replay = yield* refreshed(user.pair.refreshToken)
        expect(replay.refreshToken).toBe(rotation.refreshToken) // byte-identical: the current token
        expect(replay.sessionId).toBe(sessionId)
        expect(replay.token).not.toBe(rotation.token) // a fresh access token…
        yield* expectAccepted(replay.token, user.userId) // …that works
      }
      const row = yield* sessionRow(sessionId)
      expect(row.refresh_counter).toBe(1) // not rotated
      expect(row.rotated_at).toEqual(rotatedAt)
      expect(row.revoked_at).toBeNull()

      // 11 s after the rotation (grace answers do not extend the window): reuse
      yield* TestClock.adjust("6 seconds")
      yield* expectRefreshRefused(user.pair.refreshToken, "refresh_token_reused")
      const revoked = yield* sessionRow(sessionId)
      expect(revoked.revoked_reason).toBe("refresh_token_reused")
      yield* expectRefreshRefused(rotation.refreshToken, "session_revoked")
      yield* expectRefused(rotation.token)
    }))
})

it.layer(serviceWith())("grace and reuse without moving the clock", (it) => {
  it.effect("a token two generations old inside the grace window is reuse", () =>
    Effect.gen(function*() {
      const { generations, newest } = yield* rotated("two-old", 2)
      yield* expectRefreshRefused(generations[0]!.refreshToken, "refresh_token_reused")
      const row = yield* sessionRow(newest.sessionId)
      expect(row.revoked_reason).toBe("refresh_token_reused")
      expect(row.refresh_counter).toBe(2)
      yield* expectRefreshRefused(newest.refreshToken, "session_revoked")
      yield* expectRefused(newest.token)
    }))

  it.effect("the current token handed out by a grace answer still rotates the session", () =>
    Effect.gen(function*() {
      const user = yield* newUser("grace-then-rotate")
      const rotation = yield* refreshed(user.pair.refreshToken)
      const replay = yield* refreshed(user.pair.refreshToken)
      expect(replay.refreshToken).toBe(rotation.refreshToken)
      const next = yield* refreshed(replay.refreshToken)
      expect(next.refreshToken).not.toBe(rotation.refreshToken)
      expect((yield* sessionRow(user.pair.sessionId)).refresh_counter).toBe(2)
      yield* expectAccepted(next.token, user.userId)
    }))

  it.effect("20 parallel refreshes with one token all answer 200 and the same refresh token: one current token", () =>
    Effect.gen(function*() {
      const user = yield* newUser("parallel")
      const replies = yield* Effect.all(
        Array.from({ length: 20 }, () => refresh(user.pair.refreshToken)),
        { concurrency: "unbounded" }
      )
      expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200))
      const refreshTokens = new Set(replies.map((r) => r.body.data.refresh_token as string))
      expect(refreshTokens.size).toBe(1)
      const [current] = [...refreshTokens]
      expect(current).not.toBe(user.pair.refreshToken)

      const row = yield* sessionRow(user.pair.sessionId)
      expect(row.refresh_counter).toBe(1) // one rotation, not twenty, and no fork
      expect(row.revoked_at).toBeNull()

      for (const reply of replies) yield* expectAccepted(reply.body.data.token, user.userId)
      const next = yield* refreshed(current!)
      expect(next.sessionId).toBe(user.pair.sessionId)
      expect((yield* sessionRow(user.pair.sessionId)).refresh_counter).toBe(2)
      yield* expectAccepted(next.token, user.userId)
    }))
})

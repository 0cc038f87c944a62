/**
 * Session and token lifetimes with TestClock (security.md): the idle lifetime REFRESH_TOKEN_TTL
 * (pushed forward by each refresh), the absolute lifetime SESSION_MAX_AGE (from signin, never
 * extended), and the access token's ACCESS_TOKEN_TTL with at most 30 s of skew.
 *
 * Short lifetimes (idle 1 h, absolute 2 h) keep the clock moves small. TestClock is shared by
 * every test of an it.layer block, so each test has a block (and a service) of its own.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { del, get } from "../support/http.js"
import {
  AUTH,
  clockNow,
  expectAccepted,
  expectRefreshRefused,
  expectRefused,
  HOUR,
  MINUTE,
  newUser,
  refreshed,
  serviceWith,
  sessionRow,
  signinPair
} from "./sessions-helpers.js"

const SHORT_LIFETIMES = { REFRESH_TOKEN_TTL: "1h", SESSION_MAX_AGE: "2h" }

const iso = (millis: number) => new Date(millis).toISOString()

it.layer(serviceWith(SHORT_LIFETIMES))("idle lifetime", (it) => {
  it.effect("a session not refreshed for longer than REFRESH_TOKEN_TTL answers 401 session_expired", () =>
    Effect.gen(function*() {
      const openedAt = yield* clockNow
      const user = yield* newUser("idle")
      expect(user.pair.refreshExpiresAt).toBe(iso(openedAt + HOUR))
      const row = yield* sessionRow(user.pair.sessionId)
      expect(row.created_at.getTime()).toBe(openedAt)
      expect(row.idle_expires_at.getTime()).toBe(openedAt + HOUR)
      expect(row.expires_at.getTime()).toBe(openedAt + 2 * HOUR)

      yield* TestClock.adjust("61 minutes")
      yield* expectRefreshRefused(user.pair.refreshToken, "session_expired")

      // an expired session is no longer listed among the user's active ones
      const fresh = yield* signinPair(user.email, user.password)
      const listed = yield* get(`${AUTH}/sessions`, { token: fresh.token })
      expect(listed.status).toBe(200)
      expect(listed.body.total).toBe(1)
      expect(listed.body.sessions.map((s: { id: string }) => s.id)).toEqual([fresh.sessionId])
      // nor can it be deleted: it is not one of the active sessions any more
      const deleted = yield* del(`${AUTH}/sessions/${user.pair.sessionId}`, { token: fresh.token })
      expect(deleted.status).toBe(404)
      expect(deleted.body).toMatchObject({ error_code: "session_not_found" })
    }))
})

it.layer(serviceWith(SHORT_LIFETIMES))("idle lifetime pushed forward", (it) => {
  it.effect(
    "a refresh within REFRESH_TOKEN_TTL moves idle_expires_at forward, so the session outlives the first hour",
    () =>
      Effect.gen(function*() {
        const openedAt = yield* clockNow
        const user = yield* newUser("idle-forward")
        yield* TestClock.adjust("50 minutes")
        const first = yield* refreshed(user.pair.refreshToken)
        const refreshedAt = openedAt + 50 * MINUTE
        expect(first.refreshExpiresAt).toBe(iso(refreshedAt + HOUR))
        const row = yield* sessionRow(user.pair.sessionId)
        expect(row.idle_expires_at.getTime()).toBe(refreshedAt + HOUR)
        expect(row.last_used_at.getTime()).toBe(refreshedAt)
        expect(row.expires_at.getTime()).toBe(openedAt + 2 * HOUR) // the absolute limit never moves

        yield* TestClock.adjust("50 minutes") // 100 min after signin: past the first idle limit
        const second = yield* refreshed(first.refreshToken)
        yield* expectAccepted(second.token, user.userId)
      })
  )
})

it.layer(serviceWith(SHORT_LIFETIMES))("absolute lifetime", (it) => {
  it.effect("refreshing within the idle window does not keep a session past SESSION_MAX_AGE", () =>
    Effect.gen(function*() {
      const openedAt = yield* clockNow
      const user = yield* newUser("absolute")
      const maxAge = openedAt + 2 * HOUR
      let current = user.pair
      // refreshes at 40, 80 and 115 minutes: each one well inside the 1 h idle window
      for (const [step, minutesSinceSignin] of [[40, 40], [40, 80], [35, 115]] as const) {
        yield* TestClock.adjust(`${step} minutes`)
        current = yield* refreshed(current.refreshToken)
        // the idle limit never goes past the absolute one
        const expected = Math.min(openedAt + minutesSinceSignin * MINUTE + HOUR, maxAge)
        expect(current.refreshExpiresAt).toBe(iso(expected))
        expect((yield* sessionRow(user.pair.sessionId)).idle_expires_at.getTime()).toBe(expected)
      }
      yield* expectAccepted(current.token, user.userId)

      yield* TestClock.adjust("6 minutes") // 121 min after signin, 6 min after the last refresh
      yield* expectRefreshRefused(current.refreshToken, "session_expired")
      // its access token (issued at 115 min, valid for 15) is refused too: the session is over
      yield* expectRefused(current.token)
    }))
})

// Default lifetimes: ACCESS_TOKEN_TTL 15 min, clock skew tolerance at most 30 s.
it.layer(serviceWith())("access token expiry", (it) => {
  it.effect("an access token is refused after ACCESS_TOKEN_TTL + 30 s, while a refresh gives a working one", () =>
    Effect.gen(function*() {
      const user = yield* newUser("access-expiry")
      yield* TestClock.adjust("15 minutes")
      yield* TestClock.adjust("29 seconds") // inside the skew tolerance
      yield* expectAccepted(user.pair.token, user.userId)
      yield* TestClock.adjust("2 seconds") // 15 min 31 s: beyond it
      yield* expectRefused(user.pair.token)

      const next = yield* refreshed(user.pair.refreshToken)
      expect(next.sessionId).toBe(user.pair.sessionId)
      expect(Date.parse(next.expiresAt)).toBe(Math.floor((yield* clockNow) / 1000) * 1000 + 15 * MINUTE)
      yield* expectAccepted(next.token, user.userId)
    }))
})

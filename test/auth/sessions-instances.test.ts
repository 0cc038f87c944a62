/**
 * Cross-instance revocation (security.md, "Access tokens"): a session ended on one instance is
 * refused at once by that instance and within 5 seconds by every other one. Each instance trusts a
 * passed token check for SESSION_CHECK_INTERVAL (at most 5 s) and forgets the sessions it ends
 * itself. Instance A is the in-process TestService (on TestClock, default 5 s interval); instance B
 * is the built service (`dist/main.js`, built by `npm test`) started as a child process on A's
 * database with the same JWT secret and a 1 s interval (real time), killed when the suite ends.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { get, post } from "../support/http.js"
import { pause } from "../support/locks.js"
import { onSecondInstance as onB, SecondInstanceLive } from "../support/SecondInstance.js"
import {
  AUTH,
  expectAccepted,
  expectRefreshRefused,
  expectRefused,
  newUser,
  serviceWith,
  signinPair
} from "./sessions-helpers.js"

const B_INTERVAL_MILLIS = 1_000
const InstanceBLive = SecondInstanceLive({ SESSION_CHECK_INTERVAL: `${B_INTERVAL_MILLIS}ms` })

/** Real milliseconds until `accessToken` is first refused by B (polled every 100 ms, for at most 10 s). */
const millisUntilRefusedByB = (accessToken: string) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (Date.now() - started < 10_000) {
      const reply = yield* onB(get(`${AUTH}/me`, { token: accessToken }))
      if (reply.status === 401) return Date.now() - started
      expect(reply.status).toBe(200)
      yield* pause(100)
    }
    return Number.POSITIVE_INFINITY
  })

it.layer(serviceWith())("two instances on one database", (it) => {
  it.layer(InstanceBLive, { timeout: "60 seconds" })((it) => {
    it.effect(
      "a logout through A: A refuses at once, B within its interval, refresh is refused at once everywhere",
      () =>
        Effect.gen(function*() {
          const user = yield* newUser("instances-a")
          const pair = yield* signinPair(user.email, user.password) // through A
          yield* onB(expectAccepted(pair.token, user.userId)) // B now trusts this token for a while
          yield* expectAccepted(pair.token, user.userId)

          const logout = yield* post(`${AUTH}/logout`, { token: pair.token }) // through A
          expect(logout.status).toBe(204)

          yield* expectRefused(pair.token) // A forgot the session at once
          yield* onB(expectRefreshRefused(pair.refreshToken, "session_revoked")) // refresh reads the row
          // B's interval, plus slack for a loaded machine (its requests and this poll take time too).
          expect(yield* millisUntilRefusedByB(pair.token)).toBeLessThan(B_INTERVAL_MILLIS + 2_000)
          yield* onB(expectRefused(pair.token))
          yield* onB(expectAccepted(user.pair.token, user.userId)) // the user's other session is untouched
        })
    )

    it.effect("a logout through B: B refuses at once, A once its 5 s interval has passed", () =>
      Effect.gen(function*() {
        const user = yield* newUser("instances-b")
        const pair = yield* onB(signinPair(user.email, user.password))
        yield* expectAccepted(pair.token, user.userId) // A now trusts this token for 5 s

        const logout = yield* onB(post(`${AUTH}/logout`, { token: pair.token }))
        expect(logout.status).toBe(204)

        yield* onB(expectRefused(pair.token))
        yield* expectRefreshRefused(pair.refreshToken, "session_revoked")
        yield* TestClock.adjust("5 seconds")
        yield* expectRefused(pair.token)
        yield* expectAccepted(user.pair.token, user.userId)
      }))
  })
})

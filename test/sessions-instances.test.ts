/**
 * Cross-instance revocation (security.md, "Access tokens"): a session ended on one instance is
 * refused by every other instance within 5 seconds. Instance A is the in-process TestService;
 * instance B is the built service (`dist/main.js`, built by `npm test`) started as a child process
 * on A's database, with the same JWT secret, and killed when the suite ends.
 *
 * Every request checks that its session is active in the shared database, so the refusal on the
 * other instance is expected at once: it is asserted on the first request after the logout.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { post } from "./support/http.js"
import { onSecondInstance as onB, SecondInstanceLive } from "./support/SecondInstance.js"
import {
  AUTH,
  expectAccepted,
  expectRefreshRefused,
  expectRefused,
  newUser,
  serviceWith,
  signinPair
} from "./sessions-helpers.js"

const InstanceBLive = SecondInstanceLive()

it.layer(serviceWith())("two instances on one database", (it) => {
  it.layer(InstanceBLive, { timeout: "60 seconds" })((it) => {
    it.effect("a logout through A is refused by B at once (access token 401, refresh session_revoked)", () =>
      Effect.gen(function*() {
        const user = yield* newUser("instances-a")
        const pair = yield* signinPair(user.email, user.password) // through A
        yield* onB(expectAccepted(pair.token, user.userId))

        const logout = yield* post(`${AUTH}/logout`, { token: pair.token }) // through A
        expect(logout.status).toBe(204)

        yield* onB(expectRefused(pair.token)) // the first request to B after the logout
        yield* onB(expectRefreshRefused(pair.refreshToken, "session_revoked"))
        yield* expectRefused(pair.token) // and A, of course
        yield* onB(expectAccepted(user.pair.token, user.userId)) // the user's other session is untouched
      }))

    it.effect("a logout through B is refused by A at once", () =>
      Effect.gen(function*() {
        const user = yield* newUser("instances-b")
        const pair = yield* onB(signinPair(user.email, user.password))
        yield* expectAccepted(pair.token, user.userId)

        const logout = yield* onB(post(`${AUTH}/logout`, { token: pair.token }))
        expect(logout.status).toBe(204)

        yield* expectRefused(pair.token)
        yield* expectRefreshRefused(pair.refreshToken, "session_revoked")
      }))
  })
})

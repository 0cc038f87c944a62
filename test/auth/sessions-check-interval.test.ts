/**
 * How long an instance trusts a passed access-token check (SESSION_CHECK_INTERVAL, security.md's
 * 5 s bound for revocations made elsewhere). Sessions are ended here "elsewhere": straight in the
 * database, as another instance or an operator would. Ends made through this instance are refused
 * at once; sessions-end.test.ts covers each of those paths.
 */
import { it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { expectAccepted, expectRefused, newUser, serviceWith } from "./sessions-helpers.js"

/** Ends the session in the database only: this instance has not heard of it. */
const revokeBehindTheServicesBack = (sessionId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`UPDATE auth_session SET revoked_at = now(), revoked_reason = 'revoked' WHERE id = ${sessionId}`
  )

it.layer(serviceWith())("the default interval (5 s)", (it) => {
  it.effect("a session ended elsewhere is refused by the end of the interval, not before it is due", () =>
    Effect.gen(function*() {
      const user = yield* newUser("interval-default")
      yield* expectAccepted(user.pair.token, user.userId) // checked against the database: trusted from now
      yield* revokeBehindTheServicesBack(user.pair.sessionId)

      yield* TestClock.adjust("4999 millis")
      yield* expectAccepted(user.pair.token, user.userId) // still inside the interval
      yield* TestClock.adjust("1 millis")
      yield* expectRefused(user.pair.token) // 5 s after the last check, at the latest
    }))

  it.effect(
    "a refusal is remembered for the interval at most: a token refused while its session row was out works again after",
    () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const user = yield* newUser("interval-refusal")
        yield* sql`UPDATE auth_session SET revoked_at = now() WHERE id = ${user.pair.sessionId}`
        yield* expectRefused(user.pair.token)
        yield* sql`UPDATE auth_session SET revoked_at = NULL WHERE id = ${user.pair.sessionId}`
        // Remembered (a logged-out token sent in a burst costs one read), for no longer than a pass is.
        yield* expectRefused(user.pair.token)
        yield* TestClock.adjust("4999 millis")
        yield* expectRefused(user.pair.token)
        yield* TestClock.adjust("1 millis")
        yield* expectAccepted(user.pair.token, user.userId)
      })
  )
})

it.layer(serviceWith({ SESSION_CHECK_INTERVAL: "0" }))("SESSION_CHECK_INTERVAL=0", (it) => {
  it.effect("every request reads the session: one ended elsewhere is refused at once", () =>
    Effect.gen(function*() {
      const user = yield* newUser("interval-zero")
      yield* expectAccepted(user.pair.token, user.userId)
      yield* revokeBehindTheServicesBack(user.pair.sessionId)
      yield* expectRefused(user.pair.token)
    }))
})

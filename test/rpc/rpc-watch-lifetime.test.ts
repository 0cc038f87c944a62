/**
 * How long a `WatchTasks` stream lives: it is not cut by REQUEST_TIMEOUT (the deadline holds until
 * the first response bytes) and gets its heartbeat; and it ends, with the error a request would get
 * (401 "Could not validate credentials"), within one SESSION_CHECK_INTERVAL of its session ending,
 * however the session ended (security.md: refused at once, whatever the traffic).
 *
 * On TestClock: session checks and heartbeats run on Effect's Clock, so a clock move makes them
 * due; changes are polled on wall-clock time and arrive by themselves. A wall-clock bound makes a
 * watch that does not end fail at once rather than at the test's timeout.
 */
import { expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Option } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import type { TaskFeedEvent } from "../../src/client/index.js"
import {
  type ClientUser,
  clientUser,
  restClient,
  TEST_PASSWORD,
  TestServer,
  TestServiceWithClients
} from "../support/TestService.js"
import { subscribe } from "./rpc-helpers.js"

const SESSION_CHECK_INTERVAL = Duration.seconds(5)

/** `effect`, which must complete within a wall-clock bound. */
const soon = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.raceFirst(
    effect,
    Effect.andThen(
      Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 15_000))),
      Effect.die(new Error(`${what}: not within 15 s of wall-clock time`))
    )
  )

/** A second session of the same user (a signin), with its REST client. */
const secondSession = (user: ClientUser) =>
  Effect.gen(function*() {
    const anonymous = yield* restClient()
    const { data } = yield* anonymous.auth.signin({ payload: { email: user.email, password: TEST_PASSWORD } })
    return yield* restClient(data.token)
  })

/** The events a watch still delivered, and the typed error it ended with. */
const endOf = <E>(feed: { readonly next: Effect.Effect<TaskFeedEvent, E> }) =>
  Effect.gen(function*() {
    const events: Array<TaskFeedEvent> = []
    while (true) {
      const exit = yield* Effect.exit(feed.next)
      if (Exit.isFailure(exit)) return { events, error: Option.getOrUndefined(Cause.findErrorOption(exit.cause)) }
      events.push(exit.value)
    }
  })

const endedSessions: ReadonlyArray<
  readonly [string, (user: ClientUser) => Effect.Effect<unknown, unknown, SqlClient.SqlClient | TestServer>]
> = [
  [
    "logout `others` from another session",
    (user) => Effect.flatMap(secondSession(user), (other) => other.auth.logout({ payload: { scope: "others" } }))
  ],
  [
    "logout `global` (all sessions) from another session",
    (user) => Effect.flatMap(secondSession(user), (other) => other.auth.logout({ payload: { scope: "global" } }))
  ],
  [
    "revoke of its refresh token",
    (user) =>
      Effect.flatMap(restClient(), (anonymous) => anonymous.auth.revoke({ payload: { token: user.refreshToken } }))
  ],
  [
    "a ban in SQL",
    (user) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE "user" SET banned = true WHERE id = ${user.userId}`)
  ],
  [
    "a change-password from another session",
    (user) =>
      Effect.flatMap(secondSession(user), (other) =>
        other.auth.changePassword({
          payload: {
            current_password: TEST_PASSWORD,
            new_password: "a brand new passphrase 2026",
            revoke_other_sessions: true
          }
        }))
  ]
]

it.layer(TestServiceWithClients(), { timeout: "60 seconds" })("WatchTasks lifetime", (it) => {
  it.effect("a stream lives past REQUEST_TIMEOUT (30 s), gets its 30 s heartbeat and still carries changes", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("lives")
      const feed = yield* subscribe(user.rpc.WatchTasks({}))
      const start = yield* feed.next
      expect(start._tag).toBe("CaughtUp")
      yield* TestClock.adjust("31 seconds")
      expect(yield* soon("the heartbeat", feed.next)).toMatchObject({ _tag: "CaughtUp", cursor: start.cursor })
      const task = yield* user.rpc.CreateTask({ title: "after the deadline", priority: "urgent_important" })
      expect(yield* soon("the change", feed.nextChange)).toMatchObject({ _tag: "TaskCreated", task: { id: task.id } })
    }))

  for (const [how, endSession] of endedSessions) {
    it.effect(`a watch ends with Unauthorized within SESSION_CHECK_INTERVAL of ${how}`, () =>
      Effect.gen(function*() {
        const user = yield* clientUser("ended")
        const feed = yield* subscribe(user.rpc.WatchTasks({}))
        expect((yield* feed.next)._tag).toBe("CaughtUp")
        yield* endSession(user)
        yield* TestClock.adjust(SESSION_CHECK_INTERVAL)
        const { error, events } = yield* soon("the end of the watch", endOf(feed))
        expect(error).toMatchObject({
          _tag: "Unauthorized",
          detail: "Could not validate credentials",
          error_code: "invalid_token"
        })
        expect(events.filter((event) => event._tag !== "CaughtUp")).toEqual([])
      }))
  }
})

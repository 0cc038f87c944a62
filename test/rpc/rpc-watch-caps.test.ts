/**
 * `WatchTasks` cannot exhaust the service: open watches are capped per user and per instance
 * (WATCH_STREAMS_PER_USER / WATCH_STREAMS_PER_INSTANCE), refused with `WatchLimitReached`, and the
 * instance's watches share one poller, so the database sees one poll per interval however many
 * watches are open, and other users' requests are served as usual.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { get, signup } from "../support/http.js"
import { clientUser, TestServiceWithClients } from "../support/TestService.js"
import { failure, subscribe } from "./rpc-helpers.js"

const PER_USER = 2
const PER_INSTANCE = 20
/** The default poll interval is 500 ms: a window of this many ms holds about 8 polls. */
const WINDOW_MS = 4_000

const wallClockWait = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

it.layer(
  TestServiceWithClients({
    env: { WATCH_STREAMS_PER_USER: String(PER_USER), WATCH_STREAMS_PER_INSTANCE: String(PER_INSTANCE) }
  }),
  { timeout: "90 seconds" }
)("WatchTasks caps", (it) => {
  it.effect(
    "watches past the caps are refused (WatchLimitReached); the open ones work, share one poller; others are served",
    () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const users = yield* Effect.forEach(Array.from({ length: PER_INSTANCE / PER_USER }), (_, i) =>
          clientUser(`watcher${i}`))
        const feeds = yield* Effect.forEach(users, (user) =>
          Effect.forEach(Array.from({ length: PER_USER }), () =>
            Effect.tap(subscribe(user.rpc.WatchTasks({})), (feed) =>
              feed.next)))

        // One more for a user at their cap, then one for a new user with the instance full.
        const [first] = users
        const refused = yield* failure(Stream.runHead(first!.rpc.WatchTasks({})), "WatchLimitReached")
        expect(refused).toMatchObject({ detail: "Too many open watches", error_code: "too_many_watches" })
        const newcomer = yield* clientUser("newcomer")
        yield* failure(Stream.runHead(newcomer.rpc.WatchTasks({})), "WatchLimitReached")

        // The database sees about one statement per poll interval, not one per watch (20 watches
        // polling on their own would make ~160 in the window).
        const transactions = sql<{ readonly n: string }>`
          SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()`
          .pipe(Effect.map((rows) =>
            Number(rows[0]!.n)
          ))
        // Statistics reach pg_stat_database up to a second late: let the setup's settle first.
        yield* wallClockWait(2_000)
        const before = yield* transactions
        yield* wallClockWait(WINDOW_MS)
        const polls = (yield* transactions) - before
        expect(polls).toBeLessThan(40)

        // Other users are served meanwhile.
        const other = yield* signup("bystander")
        expect((yield* get("/api/tasks", { token: other.token })).status).toBe(200)
        // And the open watches still carry changes.
        const task = yield* first!.rpc.CreateTask({ title: "still watched", priority: "urgent_important" })
        for (const feed of feeds[0]!) {
          expect(yield* feed.nextChange).toMatchObject({ _tag: "TaskCreated", task: { id: task.id } })
        }
      })
  )
})

/**
 * `WatchTasks` cannot exhaust the service: open watches are capped per user and per instance
 * (WATCH_STREAMS_PER_USER / WATCH_STREAMS_PER_INSTANCE), refused with `WatchLimitReached`, and the
 * instance's watches share one poller, so the database sees one poll per interval however many
 * watches are open, and other users' requests are served as usual.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { get, signup } from "../support/http.js"
import { ownConnection, pause } from "../support/locks.js"
import { clientUser, TestServer, TestServiceWithClients } from "../support/TestService.js"
import { failure, subscribe } from "./rpc-helpers.js"

const PER_USER = 2
const PER_INSTANCE = 20
/** The default poll interval is 500 ms: a window of this many ms holds about 8 polls. */
const WINDOW_MS = 4_000

/**
 * The shared poll statements (`TaskChangeRepo.changesOfWatched`, the one reading a JSON recordset)
 * that began on the database within `millis`, read off pg_stat_activity every 20 ms from a
 * connection of the test's own (one from the service's pool would overwrite the poll it samples).
 * The pattern is built in SQL so that the sampling statement's own text does not match it.
 */
const pollsDuring = (databaseUrl: string, millis: number) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* ownConnection(databaseUrl)
    const sample = Effect.promise(async () =>
      (await client.query<{ readonly key: string }>(
        `SELECT pid || '@' || query_start AS key FROM pg_stat_activity
         WHERE datname = current_database() AND position('json_to_' || 'recordset' IN query) > 0`
      )).rows.map(({ key }) => key)
    )
    const before = new Set(yield* sample)
    const seen = new Set<string>()
    const end = Date.now() + millis
    while (Date.now() < end) {
      for (const key of yield* sample) if (!before.has(key)) seen.add(key)
      yield* pause(20)
    }
    return seen.size
  }))

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
        const { databaseUrl } = yield* TestServer
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

        // The database sees about one poll per interval, not one per watch (20 watches polling on
        // their own would make ~160 in the window). Each connection shows in pg_stat_activity its
        // last statement and when it began, so a poll is a new (connection, start) of the poll's
        // statement. (Not pg_stat_database's transaction count: an idle connection reports its
        // transactions up to 10 s late, so the setup's could land in the window.)
        const polls = yield* pollsDuring(databaseUrl, WINDOW_MS)
        expect(polls).toBeGreaterThan(0)
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

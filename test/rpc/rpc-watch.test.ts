/**
 * `WatchTasks`, the change feed: a subscriber sees its own changes, made over REST or RPC, in
 * order and nobody else's; a cursor resumes without loss; the feed comes from the database, so
 * another instance's changes appear too; old changes expire; a watch ends when its session does
 * and when the instance shuts down.
 *
 * Determinism: every wait is for an event that must come (bounded by the test timeout), and
 * "sees none" is shown by order: a marker change made after the others must be the first event.
 * The feed polls on wall-clock time (the suite's clock is TestClock), so events arrive by themselves;
 * heartbeats and session checks run on Effect's Clock, so the tests move it.
 */
import { expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { TASK_CHANGE_RETENTION, TaskFeedEvent } from "../../src/client/index.js"
import { Lifecycle } from "../../src/http/edge/Lifecycle.js"
import { TaskFeedSettings } from "../../src/http/rpc/TaskFeed.js"
import { del, post } from "../support/http.js"
import { onSecondInstance, SecondInstanceLive } from "../support/SecondInstance.js"
import { clientUser, restClient, rpcClient, TEST_PASSWORD, TestServiceWithClients } from "../support/TestService.js"
import { expectIssueAt, failure, subscribe, taskJson } from "./rpc-helpers.js"

/** An event in its wire form, for comparison with REST's JSON. */
const wire = Schema.encodeSync(Schema.toCodecJson(TaskFeedEvent))

const cursorOf = (event: TaskFeedEvent) => BigInt(event.cursor)

/** The typed failure a watch ended with. */
const failureOfCause = <E>(cause: Cause.Cause<E>) => Option.getOrUndefined(Cause.findErrorOption(cause))

it.layer(TestServiceWithClients(), { timeout: "60 seconds" })("WatchTasks", (it) => {
  it.effect(
    "a subscriber sees a REST create, an RPC update and a REST delete, in order; another user's sees none",
    () =>
      Effect.gen(function*() {
        const alice = yield* clientUser("alice")
        const bob = yield* clientUser("bob")
        const aliceFeed = yield* subscribe(alice.rpc.WatchTasks({}))
        const bobFeed = yield* subscribe(bob.rpc.WatchTasks({}))
        // The first event of a subscription says it is live.
        const start = yield* aliceFeed.next
        expect(start._tag).toBe("CaughtUp")
        expect((yield* bobFeed.next)._tag).toBe("CaughtUp")

        const created = yield* post("/api/tasks", {
          token: alice.token,
          json: { title: "Watched", priority: "urgent_important" }
        })
        expect(created.status).toBe(201)
        const id = created.body.data.id as string
        const updated = yield* alice.rpc.UpdateTask({ id, title: "Watched, renamed", description: "over RPC" })
        expect((yield* del(`/api/tasks/${id}`, { token: alice.token })).status).toBe(204)

        const first = yield* aliceFeed.nextChange
        const second = yield* aliceFeed.nextChange
        const third = yield* aliceFeed.nextChange
        expect(wire(first)).toEqual({
          _tag: "TaskCreated",
          cursor: first.cursor,
          changed_at: expect.any(String),
          task: created.body.data
        })
        expect(wire(second)).toMatchObject({ _tag: "TaskUpdated", task: taskJson(updated) })
        expect(wire(third)).toMatchObject({ _tag: "TaskDeleted", task_id: id })
        expect(cursorOf(start) < cursorOf(first)).toBe(true)
        expect(cursorOf(first) < cursorOf(second)).toBe(true)
        expect(cursorOf(second) < cursorOf(third)).toBe(true)

        // Bob's first change comes after all of Alice's: had his feed carried any of hers, they
        // would have arrived before it.
        const marker = yield* bob.rpc.CreateTask({ title: "Bob's", priority: "urgent_important" })
        expect(wire(yield* bobFeed.nextChange)).toMatchObject({ _tag: "TaskCreated", task: taskJson(marker) })
      })
  )

  it.effect("a cursor resumes after it: the backlog in order, then CaughtUp with the last cursor", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("resume")
      const task = yield* user.rpc.CreateTask({ title: "One", priority: "urgent_important" })
      yield* user.rpc.SetTaskCompleted({ id: task.id, completed: true })
      yield* user.rpc.DeleteTask({ id: task.id })

      const all = yield* Stream.runCollect(Stream.take(user.rpc.WatchTasks({ after: "0" }), 4))
      const [created, completed, deleted, caughtUp] = all
      expect([created._tag, completed._tag, deleted._tag, caughtUp._tag]).toEqual([
        "TaskCreated",
        "TaskUpdated",
        "TaskDeleted",
        "CaughtUp"
      ])
      expect(wire(completed)).toMatchObject({ task: { id: task.id, is_completed: true } })
      expect(caughtUp.cursor).toBe(deleted.cursor)

      const resumed = yield* Stream.runCollect(Stream.take(user.rpc.WatchTasks({ after: created.cursor }), 3))
      expect(Array.from(resumed, (event) => wire(event))).toEqual([wire(completed), wire(deleted), wire(caughtUp)])
    }))

  it.effect("a change that did not happen (refused or rolled back) is not on the feed", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("refused")
      const feed = yield* subscribe(user.rpc.WatchTasks({}))
      yield* feed.next
      yield* failure(user.rpc.CreateTask({ title: "x", priority: "high" }), "BadRequest")
      const once = { title: "Once", priority: "urgent_important", idempotency_key: "watch-1" }
      const task = yield* user.rpc.CreateTask(once)
      // A replay creates nothing, so it records nothing.
      yield* user.rpc.CreateTask(once)
      yield* user.rpc.DeleteTask({ id: task.id })
      expect((yield* feed.nextChange)._tag).toBe("TaskCreated")
      expect(wire(yield* feed.nextChange)).toMatchObject({ _tag: "TaskDeleted", task_id: task.id })
    }))

  it.effect("a cursor that is not one is ValidationFailed at body.after", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("cursor")
      for (const after of ["abc", "-1", "01", "99999999999999999999"]) {
        expectIssueAt(yield* failure(Stream.runHead(user.rpc.WatchTasks({ after })), "ValidationFailed"), [
          "body",
          "after"
        ])
      }
    }))

  it.layer(SecondInstanceLive(), { timeout: "60 seconds" })((it) => {
    it.effect("changes come from the database: each instance's watchers see the other instance's changes", () =>
      Effect.gen(function*() {
        const user = yield* clientUser("instances")
        const here = yield* subscribe(user.rpc.WatchTasks({}))
        yield* here.next

        const created = yield* onSecondInstance(
          post("/api/tasks", { token: user.token, json: { title: "Made on B", priority: "urgent_important" } })
        )
        expect(created.status).toBe(201)
        expect(wire(yield* here.nextChange)).toMatchObject({ _tag: "TaskCreated", task: created.body.data })

        // And the other way round: a watcher on B sees a change made here.
        const clientOfSecond = yield* onSecondInstance(rpcClient(user.token))
        const there = yield* subscribe(clientOfSecond.WatchTasks({}))
        yield* there.next
        const updated = yield* user.rpc.SetTaskCompleted({ id: created.body.data.id, completed: true })
        expect(wire(yield* there.nextChange)).toMatchObject({ _tag: "TaskUpdated", task: taskJson(updated) })
      }))
  })
})

it.layer(
  TestServiceWithClients().pipe(Layer.provide(Layer.succeed(TaskFeedSettings, {
    pollInterval: Duration.millis(500),
    heartbeatInterval: Duration.seconds(30),
    // Not woken by the clock move below: the only prune is the one a new subscription runs.
    pruneEvery: Duration.days(365)
  })))
)("WatchTasks retention", (it) => {
  it.effect("a cursor older than the retained changes is CursorExpired; a new subscription goes on from there", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const user = yield* clientUser("retention")
      yield* user.rpc.CreateTask({ title: "Long ago", priority: "urgent_important" })
      const recorded = yield* sql<{ readonly id: string }>`
        SELECT id::text AS id FROM task_change WHERE user_id = ${user.userId}`
      expect(recorded).toHaveLength(1)

      yield* TestClock.adjust(Duration.sum(TASK_CHANGE_RETENTION, Duration.days(1)))
      // The access token has long expired on this clock: sign in again.
      const anonymous = yield* restClient()
      const { data } = yield* anonymous.auth.signin({ payload: { email: user.email, password: TEST_PASSWORD } })
      const rpc = yield* rpcClient(data.token)

      const expired = yield* failure(Stream.runHead(rpc.WatchTasks({ after: "0" })), "CursorExpired")
      expect(expired).toMatchObject({ error_code: "cursor_expired" })
      expect(yield* sql`SELECT id FROM task_change WHERE user_id = ${user.userId}`).toEqual([])

      // Without a cursor the watch starts after what was pruned, and goes on.
      const feed = yield* subscribe(rpc.WatchTasks({}))
      const start = yield* feed.next
      expect(wire(start)).toEqual({ _tag: "CaughtUp", cursor: recorded[0].id })
      const task = yield* rpc.CreateTask({ title: "Now", priority: "urgent_important" })
      expect(wire(yield* feed.nextChange)).toMatchObject({ _tag: "TaskCreated", task: taskJson(task) })
      // Resuming from that cursor is fine: nothing after it was dropped.
      expect(yield* Stream.runHead(rpc.WatchTasks({ after: start.cursor })).pipe(Effect.map(Option.map((e) => e._tag))))
        .toEqual(Option.some("TaskCreated"))
    }))
})

const QUICK_HEARTBEAT = Duration.millis(100)
const quickly = Layer.succeed(TaskFeedSettings, {
  pollInterval: Duration.millis(20),
  heartbeatInterval: QUICK_HEARTBEAT,
  pruneEvery: Duration.hours(1)
})

it.layer(TestServiceWithClients().pipe(Layer.provide(quickly)))("WatchTasks while it runs", (it) => {
  it.effect("a quiet watch sends CaughtUp heartbeats, and ends with Unauthorized once its session is logged out", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("heartbeat")
      const feed = yield* subscribe(user.rpc.WatchTasks({}))
      const start = yield* feed.next
      // Heartbeats and session checks run on Effect's Clock.
      yield* TestClock.adjust(QUICK_HEARTBEAT)
      expect(wire(yield* feed.next)).toEqual(wire(start))
      yield* user.rest.auth.logout({ payload: null })
      yield* TestClock.adjust("5 seconds")
      expect(failureOfCause(yield* feed.end)).toMatchObject({ _tag: "Unauthorized", error_code: "invalid_token" })
    }))
})

it.layer(TestServiceWithClients().pipe(Layer.provide(quickly)))("WatchTasks at shutdown", (it) => {
  it.effect("a watch ends with ServiceUnavailable shutting_down once the instance drains", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("shutdown")
      const feed = yield* subscribe(user.rpc.WatchTasks({}))
      yield* feed.next
      yield* (yield* Lifecycle).beginShutdown
      expect(failureOfCause(yield* feed.end)).toMatchObject({ _tag: "ServiceUnavailable", error_code: "shutting_down" })
    }))
})

/**
 * The test kit as the README shows it ("Testing against tasks-api"), verbatim: the documented
 * example is known to work.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { clientUser, TestServiceWithClients, TestUser } from "../support/TestService.js"

it.layer(TestServiceWithClients())("my feature against tasks-api", (it) => {
  it.effect("creates over RPC, sees it over REST", () =>
    Effect.gen(function*() {
      const { rest, rpc } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Write report", priority: "urgent_important" })
      const { data } = yield* rest.tasks.list({
        query: { limit: 10, offset: 0, sort_by: "created_at", sort_order: "desc" }
      })
      expect(data.tasks.map((t) => t.id)).toContain(task.id)
    }))

  it.effect("another user gets TaskNotFound, and watches only their own changes", () =>
    Effect.gen(function*() {
      const task = yield* (yield* TestUser).rpc.CreateTask({ title: "Mine", priority: "urgent_important" })
      const other = yield* clientUser("other")
      expect((yield* Effect.flip(other.rpc.GetTask({ id: task.id })))._tag).toBe("TaskNotFound")
      const [first] = yield* Stream.runCollect(Stream.take(other.rpc.WatchTasks({}), 1))
      expect(first._tag).toBe("CaughtUp")
    }))
})

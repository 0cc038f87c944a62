/**
 * Authentication and isolation over `POST /rpc`, through the shipped client: no token, a bad
 * token and a revoked one are `Unauthorized` on every procedure (and change nothing); another
 * user's task is `TaskNotFound`, exactly as a task that does not exist.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { TasksRpcClientShape } from "../../src/client/index.js"
import { clientUser, rpcClient, TestServiceWithClients, TestUser } from "../support/TestService.js"
import { NOT_FOUND_ON_READ, NOT_FOUND_ON_WRITE, rowById, rowsOf } from "../tasks/tasks-helpers.js"
import { failure } from "./rpc-helpers.js"

/** One call of every procedure (WatchTasks up to its first event), on `taskId`. */
const everyProcedure = (
  rpc: TasksRpcClientShape,
  taskId: string
): ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> => [
  ["ListTasks", rpc.ListTasks({})],
  ["GetTask", rpc.GetTask({ id: taskId })],
  ["CreateTask", rpc.CreateTask({ title: "Sneaky", priority: "urgent_important" })],
  ["UpdateTask", rpc.UpdateTask({ id: taskId, title: "Sneaky" })],
  ["SetTaskCompleted", rpc.SetTaskCompleted({ id: taskId, completed: true })],
  ["DeleteTask", rpc.DeleteTask({ id: taskId })],
  ["CurrentUser", rpc.CurrentUser()],
  ["WatchTasks", Stream.runHead(rpc.WatchTasks({}))]
]

it.layer(TestServiceWithClients())("RPC authentication", (it) => {
  it.effect("no token: Unauthorized not_authenticated on every procedure; nothing changes", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Guarded", priority: "urgent_important" })
      const before = yield* rowsOf(userId)
      const anonymous = yield* rpcClient()
      for (const [name, call] of everyProcedure(anonymous, task.id)) {
        const error = yield* failure(call, "Unauthorized")
        expect(error, name).toMatchObject({ detail: "Not authenticated", error_code: "not_authenticated" })
      }
      expect(yield* rowsOf(userId)).toEqual(before)
    }))

  it.effect("a token that does not verify: Unauthorized invalid_token on every procedure", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Guarded", priority: "urgent_important" })
      // Signed with another key: the same claims, a signature that does not hold.
      const [header, payload] = token.split(".")
      for (const bad of ["not.a.token", `${header}.${payload}.${"A".repeat(43)}`]) {
        const forged = yield* rpcClient(bad)
        for (const [name, call] of everyProcedure(forged, task.id)) {
          const error = yield* failure(call, "Unauthorized")
          expect(error, name).toMatchObject({ detail: "Could not validate credentials", error_code: "invalid_token" })
        }
      }
    }))

  it.effect("a revoked token (its session logged out over REST): Unauthorized on every procedure", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("revoked")
      const task = yield* user.rpc.CreateTask({ title: "Mine", priority: "urgent_important" })
      yield* user.rest.auth.logout({ payload: null })
      for (const [name, call] of everyProcedure(user.rpc, task.id)) {
        const error = yield* failure(call, "Unauthorized")
        expect(error, name).toMatchObject({ error_code: "invalid_token" })
      }
      expect((yield* rowById(task.id))?.title).toBe("Mine")
    }))

  it.effect("the token may be an effect, run before every call (a refreshed token is picked up)", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("rotating")
      let current = "not.a.token"
      const rpc = yield* rpcClient(Effect.sync(() => current))
      yield* failure(rpc.CurrentUser(), "Unauthorized")
      current = user.token
      expect((yield* rpc.CurrentUser()).id).toBe(user.userId)
    }))
})

it.layer(TestServiceWithClients())("RPC isolation", (it) => {
  it.effect("another user's task is TaskNotFound on every operation, and stays as it was", () =>
    Effect.gen(function*() {
      const owner = yield* TestUser
      const intruder = yield* clientUser("intruder")
      const task = yield* owner.rpc.CreateTask({ title: "Private", priority: "urgent_important" })
      const before = yield* rowById(task.id)

      const read = yield* failure(intruder.rpc.GetTask({ id: task.id }), "TaskNotFound")
      expect(read).toMatchObject({ detail: NOT_FOUND_ON_READ })
      const writes: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        intruder.rpc.UpdateTask({ id: task.id, title: "Mine now" }),
        intruder.rpc.SetTaskCompleted({ id: task.id, completed: true }),
        intruder.rpc.DeleteTask({ id: task.id })
      ]
      for (const write of writes) {
        expect(yield* failure(write, "TaskNotFound")).toMatchObject({ detail: NOT_FOUND_ON_WRITE })
      }
      expect(yield* rowById(task.id)).toEqual(before)

      const theirs = yield* intruder.rpc.ListTasks({})
      expect(theirs.total_count).toBe(0)
      expect(theirs.tasks).toEqual([])
      expect((yield* owner.rpc.ListTasks({})).tasks.map((t) => t.id)).toContain(task.id)
    }))
})

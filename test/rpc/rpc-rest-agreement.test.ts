/**
 * REST and RPC are two faces of one service: a task created through one is read, updated and
 * deleted through the other with identical JSON fields, and the same bad input fails the same
 * way. REST is spoken as raw JSON here (its wire form is the contract); RPC through the client.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TaskPage } from "../../src/client/index.js"
import { del, get, patch, post, put, type Reply } from "../support/http.js"
import { TestServer, TestServiceWithClients, TestUser } from "../support/TestService.js"
import { asJson, rowById, UNKNOWN_TASK_ID } from "../tasks/tasks-helpers.js"
import { failure, taskJson } from "./rpc-helpers.js"

interface TaggedError {
  readonly _tag: string
}

it.layer(TestServiceWithClients())("REST and RPC agree", (it) => {
  it.effect("created over REST: read, updated, completed and deleted over RPC", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      const created = yield* post("/api/tasks", {
        token,
        json: {
          title: "From REST",
          description: "d",
          due_datetime: "2026-05-01T10:00:00Z",
          priority: "urgent_important"
        }
      })
      expect(created.status).toBe(201)
      const id = created.body.data.id as string

      expect(taskJson(yield* rpc.GetTask({ id }))).toEqual(created.body.data)

      const updated = yield* rpc.UpdateTask({ id, title: "Changed over RPC", due_datetime: null })
      const afterUpdate = yield* get(`/api/tasks/${id}`, { token })
      expect(afterUpdate.body.data).toEqual(taskJson(updated))
      expect(afterUpdate.body.data).toMatchObject({ title: "Changed over RPC", due_datetime: null, description: "d" })

      const completed = yield* rpc.SetTaskCompleted({ id, completed: true })
      expect((yield* get(`/api/tasks/${id}`, { token })).body.data).toEqual(taskJson(completed))

      yield* rpc.DeleteTask({ id })
      expect((yield* get(`/api/tasks/${id}`, { token })).status).toBe(404)
    }))

  it.effect("created over RPC: read, updated, completed and deleted over REST", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      const created = yield* rpc.CreateTask({
        title: "From RPC",
        due_datetime: "2026-05-01T12:00:00+02:00",
        priority: "urgent_not_important"
      })
      const id = created.id
      const read = yield* get(`/api/tasks/${id}`, { token })
      expect(read.body.data).toEqual(taskJson(created))
      expect(read.body.data).toEqual(asJson((yield* rowById(id))!))

      const updated = yield* put(`/api/tasks/${id}`, { token, json: { description: "over REST" } })
      expect(updated.status).toBe(200)
      expect(taskJson(yield* rpc.GetTask({ id }))).toEqual(updated.body.data)

      const completed = yield* patch(`/api/tasks/${id}/complete`, { token, json: { completed: true } })
      expect(taskJson(yield* rpc.GetTask({ id }))).toEqual(completed.body.data)

      expect((yield* del(`/api/tasks/${id}`, { token })).status).toBe(204)
      yield* failure(rpc.GetTask({ id }), "TaskNotFound")
    }))

  it.effect("the same list options give the same page", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      for (const title of ["x1", "x2", "x3"]) yield* rpc.CreateTask({ title, priority: "not_urgent_important" })
      const rest = yield* get(
        "/api/tasks?priority=not_urgent_important&sort_by=title&sort_order=desc&limit=2&offset=1",
        {
          token
        }
      )
      const page = yield* rpc.ListTasks({
        priority: "not_urgent_important",
        sort_by: "title",
        sort_order: "desc",
        limit: 2,
        offset: 1
      })
      expect(Schema.encodeSync(Schema.toCodecJson(TaskPage))(page)).toEqual(rest.body.data)
    }))

  it.effect("the same bad input fails with the same body over both", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Target", priority: "urgent_important" })
      const longTitle = "t".repeat(256)
      const cases: ReadonlyArray<
        readonly [Effect.Effect<Reply, never, TestServer>, Effect.Effect<unknown, TaggedError>]
      > = [
        [
          post("/api/tasks", { token, json: { title: "   ", priority: "urgent_important" } }),
          rpc.CreateTask({ title: "   ", priority: "urgent_important" })
        ],
        [
          post("/api/tasks", { token, json: { title: "x", priority: "high" } }),
          rpc.CreateTask({ title: "x", priority: "high" })
        ],
        [get("/api/tasks?limit=0", { token }), rpc.ListTasks({ limit: 0 })],
        [get("/api/tasks?sort_by=owner", { token }), rpc.ListTasks({ sort_by: "owner" })],
        [get("/api/tasks/not-a-uuid", { token }), rpc.GetTask({ id: "not-a-uuid" })],
        [
          put(`/api/tasks/${task.id}`, { token, json: { title: longTitle } }),
          rpc.UpdateTask({ id: task.id, title: longTitle })
        ],
        [
          put(`/api/tasks/${UNKNOWN_TASK_ID}`, { token, json: { title: "x" } }),
          rpc.UpdateTask({ id: UNKNOWN_TASK_ID, title: "x" })
        ],
        [del(`/api/tasks/${UNKNOWN_TASK_ID}`, { token }), rpc.DeleteTask({ id: UNKNOWN_TASK_ID })]
      ]
      for (const [restCall, rpcCall] of cases) {
        const reply = yield* restCall
        const error = yield* Effect.flip(rpcCall)
        // REST's body is the typed error without its tag (the status stands for it).
        const { _tag, ...body } = error
        expect(body, `${reply.status} ${reply.text}`).toEqual(reply.body)
      }
    }))
})

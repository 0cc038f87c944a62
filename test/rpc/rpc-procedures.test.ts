/**
 * Every task procedure of `POST /rpc` over real HTTP through the shipped client (src/client):
 * the success and each typed error, matched by `_tag`, checked against the stored rows.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import { User } from "../../src/client/index.js"
import { get } from "../support/http.js"
import { clientUser, TestServiceWithClients, TestUser } from "../support/TestService.js"
import {
  asJson,
  INVALID_PRIORITY,
  NOT_FOUND_ON_READ,
  NOT_FOUND_ON_WRITE,
  rowById,
  rowsOf,
  UNKNOWN_TASK_ID
} from "../tasks/tasks-helpers.js"
import { expectIssueAt, failure, taskJson } from "./rpc-helpers.js"

const NOT_A_UUID = "not-a-uuid"

it.layer(TestServiceWithClients())("RPC CreateTask", (it) => {
  it.effect("creates the task: trimmed title, defaults, stored as answered", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* clientUser("create")
      const task = yield* rpc.CreateTask({ title: "  Write report  ", priority: "urgent_important" })
      expect(task).toMatchObject({
        user_id: userId,
        title: "Write report",
        description: null,
        due_datetime: null,
        priority: "urgent_important",
        is_completed: false
      })
      const rows = yield* rowsOf(userId)
      expect(rows).toHaveLength(1)
      expect(taskJson(task)).toEqual(asJson(rows[0]))

      const full = yield* rpc.CreateTask({
        title: "Full",
        description: "details",
        due_datetime: "2026-12-01T09:00:00",
        priority: "not_urgent_important",
        is_completed: true
      })
      // A naive instant means UTC, as on REST.
      expect(full.due_datetime?.toISOString()).toBe("2026-12-01T09:00:00.000Z")
      expect(taskJson(full)).toEqual(asJson((yield* rowById(full.id))!))
    }))

  it.effect("BadRequest with the contract's message for a bad priority; nothing stored", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* clientUser("create")
      for (const priority of ["high", "URGENT_IMPORTANT", ""]) {
        const error = yield* failure(rpc.CreateTask({ title: "Bad", priority }), "BadRequest")
        expect(error).toMatchObject({ detail: INVALID_PRIORITY, error_code: "invalid_priority" })
      }
      expect(yield* rowsOf(userId)).toEqual([])
    }))

  it.effect("ValidationFailed located in the body for bad values; nothing stored", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* clientUser("create")
      const cases = [
        [{ title: "   " }, "title"],
        [{ title: "t".repeat(256) }, "title"],
        [{ description: "d".repeat(10_001) }, "description"],
        [{ due_datetime: "next tuesday" }, "due_datetime"]
      ] as const
      for (const [fields, field] of cases) {
        const error = yield* failure(
          rpc.CreateTask({ title: "Valid", priority: "urgent_important", ...fields }),
          "ValidationFailed"
        )
        expectIssueAt(error, ["body", field])
      }
      expect(yield* rowsOf(userId)).toEqual([])
    }))

  it.effect("an idempotency key replays the first task; another body with it is IdempotencyKeyReused", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* clientUser("create")
      const body = { title: "Once", priority: "urgent_important", idempotency_key: "rpc-key-1" }
      const first = yield* rpc.CreateTask(body)
      const retry = yield* rpc.CreateTask(body)
      expect(taskJson(retry)).toEqual(taskJson(first))
      expect(yield* rowsOf(userId)).toHaveLength(1)

      const reused = yield* failure(rpc.CreateTask({ ...body, title: "Twice" }), "IdempotencyKeyReused")
      expect(reused).toMatchObject({ error_code: "idempotency_key_reused" })
      const badKey = yield* failure(rpc.CreateTask({ ...body, idempotency_key: "has space" }), "ValidationFailed")
      expectIssueAt(badKey, ["header", "idempotency-key"])
      expect(yield* rowsOf(userId)).toHaveLength(1)
    }))
})

it.layer(TestServiceWithClients())("RPC GetTask and ListTasks", (it) => {
  it.effect("GetTask answers the stored task, whatever the case of the id", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const created = yield* rpc.CreateTask({ title: "Read me", priority: "urgent_important" })
      const row = asJson((yield* rowById(created.id))!)
      expect(taskJson(yield* rpc.GetTask({ id: created.id }))).toEqual(row)
      expect(taskJson(yield* rpc.GetTask({ id: created.id.toUpperCase() }))).toEqual(row)
    }))

  it.effect("GetTask: TaskNotFound for an unknown id, ValidationFailed at path.task_id for a non-UUID", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const missing = yield* failure(rpc.GetTask({ id: UNKNOWN_TASK_ID }), "TaskNotFound")
      expect(missing).toMatchObject({ detail: NOT_FOUND_ON_READ, error_code: "task_not_found" })
      expectIssueAt(yield* failure(rpc.GetTask({ id: NOT_A_UUID }), "ValidationFailed"), ["path", "task_id"])
    }))

  it.effect("ListTasks filters, pages and sorts as REST does", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* clientUser("list")
      const empty = yield* rpc.ListTasks({})
      expect(empty).toMatchObject({ tasks: [], total_count: 0, limit: 50, offset: 0 })
      const seeds = [
        { title: "a", priority: "urgent_important", is_completed: true },
        { title: "b", priority: "urgent_important", is_completed: false },
        { title: "c", priority: "not_urgent_important", is_completed: true }
      ]
      for (const seed of seeds) yield* rpc.CreateTask(seed)
      const rows = yield* rowsOf(userId)

      const urgentOpen = yield* rpc.ListTasks({ priority: "urgent_important", completed: false })
      expect(urgentOpen.total_count).toBe(1)
      expect(urgentOpen.tasks.map(taskJson)).toEqual(rows.filter((r) => r.title === "b").map(asJson))

      const page = yield* rpc.ListTasks({ sort_by: "title", sort_order: "asc", limit: 2, offset: 1 })
      expect(page).toMatchObject({ total_count: 3, limit: 2, offset: 1 })
      expect(page.tasks.map((task) => task.title)).toEqual(["b", "c"])
    }))

  it.effect("ListTasks: BadRequest for bad enum values, ValidationFailed at query.<name> for bad numbers", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const badPriority = yield* failure(rpc.ListTasks({ priority: "high" }), "BadRequest")
      expect(badPriority).toMatchObject({ detail: INVALID_PRIORITY, error_code: "invalid_priority" })
      expect(yield* failure(rpc.ListTasks({ sort_by: "owner" }), "BadRequest")).toMatchObject({
        error_code: "invalid_sort_by"
      })
      expect(yield* failure(rpc.ListTasks({ sort_order: "sideways" }), "BadRequest")).toMatchObject({
        error_code: "invalid_sort_order"
      })
      const cases = [[{ limit: 0 }, "limit"], [{ limit: 101 }, "limit"], [{ limit: 1.5 }, "limit"], [
        { offset: -1 },
        "offset"
      ]] as const
      for (const [options, name] of cases) {
        expectIssueAt(yield* failure(rpc.ListTasks(options), "ValidationFailed"), ["query", name])
      }
    }))
})

it.layer(TestServiceWithClients())("RPC UpdateTask, SetTaskCompleted, DeleteTask", (it) => {
  it.effect("UpdateTask changes only the fields given and moves updated_at", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const created = yield* rpc.CreateTask({ title: "Old", description: "keep me", priority: "urgent_important" })
      yield* TestClock.adjust("1 minute")
      const updated = yield* rpc.UpdateTask({ id: created.id, title: "  New  ", priority: "not_urgent_not_important" })
      expect(updated).toMatchObject({
        id: created.id,
        title: "New",
        description: "keep me",
        priority: "not_urgent_not_important",
        created_at: created.created_at
      })
      expect(updated.updated_at.getTime() - created.updated_at.getTime()).toBe(60_000)
      expect(taskJson(updated)).toEqual(asJson((yield* rowById(created.id))!))
    }))

  it.effect("UpdateTask: TaskNotFound, BadRequest, ValidationFailed in path and body; nothing changed", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Stays", priority: "urgent_important" })
      const before = yield* rowById(task.id)
      const missing = yield* failure(rpc.UpdateTask({ id: UNKNOWN_TASK_ID, title: "x" }), "TaskNotFound")
      expect(missing).toMatchObject({ detail: NOT_FOUND_ON_WRITE, error_code: "task_not_found" })
      const badPriority = yield* failure(rpc.UpdateTask({ id: task.id, priority: "high" }), "BadRequest")
      expect(badPriority).toMatchObject({ detail: INVALID_PRIORITY })
      expectIssueAt(yield* failure(rpc.UpdateTask({ id: task.id, title: "" }), "ValidationFailed"), ["body", "title"])
      expectIssueAt(yield* failure(rpc.UpdateTask({ id: NOT_A_UUID, title: "x" }), "ValidationFailed"), [
        "path",
        "task_id"
      ])
      expect(yield* rowById(task.id)).toEqual(before)
    }))

  it.effect("SetTaskCompleted sets and clears; TaskNotFound and ValidationFailed as REST", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Do it", priority: "urgent_important" })
      expect((yield* rpc.SetTaskCompleted({ id: task.id, completed: true })).is_completed).toBe(true)
      expect((yield* rowById(task.id))?.is_completed).toBe(true)
      expect((yield* rpc.SetTaskCompleted({ id: task.id, completed: false })).is_completed).toBe(false)
      expect((yield* rowById(task.id))?.is_completed).toBe(false)
      const missing = yield* failure(rpc.SetTaskCompleted({ id: UNKNOWN_TASK_ID, completed: true }), "TaskNotFound")
      expect(missing).toMatchObject({ detail: NOT_FOUND_ON_WRITE })
      expectIssueAt(
        yield* failure(rpc.SetTaskCompleted({ id: NOT_A_UUID, completed: true }), "ValidationFailed"),
        ["path", "task_id"]
      )
    }))

  it.effect("DeleteTask removes the task; a second delete is TaskNotFound; a non-UUID is ValidationFailed", () =>
    Effect.gen(function*() {
      const { rpc } = yield* TestUser
      const task = yield* rpc.CreateTask({ title: "Bye", priority: "urgent_important" })
      yield* rpc.DeleteTask({ id: task.id })
      expect(yield* rowById(task.id)).toBeUndefined()
      const again = yield* failure(rpc.DeleteTask({ id: task.id }), "TaskNotFound")
      expect(again).toMatchObject({ detail: NOT_FOUND_ON_WRITE, error_code: "task_not_found" })
      expectIssueAt(yield* failure(rpc.DeleteTask({ id: NOT_A_UUID }), "ValidationFailed"), ["path", "task_id"])
    }))

  it.effect("CurrentUser answers the caller's profile, as GET /api/v1/auth/me does", () =>
    Effect.gen(function*() {
      const { email, rpc, token, userId } = yield* TestUser
      const user = yield* rpc.CurrentUser()
      expect(user).toMatchObject({ id: userId, email, banned: false })
      const me = yield* get("/api/v1/auth/me", { token })
      expect(me.status).toBe(200)
      expect(Schema.encodeSync(Schema.toCodecJson(User))(user)).toEqual(me.body)
    }))
})

/** PUT /api/tasks/{id}, PATCH /api/tasks/{id}/complete, DELETE /api/tasks/{id}, and the clock. */
import { expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { del, get, patch, put, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import {
  createTask,
  expectError,
  expectTaskReply,
  expectValidationError,
  INVALID_PRIORITY,
  NOT_FOUND_ON_READ,
  NOT_FOUND_ON_WRITE,
  rowById,
  rowsOf,
  UNKNOWN_TASK_ID
} from "./tasks-helpers.js"

/** A user with one fully populated task, and that task's row as stored. */
const userWithTask = Effect.gen(function*() {
  const user = yield* signup("write")
  const task = yield* createTask(user.token, {
    title: "Original",
    description: "Original description",
    due_datetime: "2026-12-01T09:00:00Z",
    priority: "urgent_important",
    is_completed: false
  })
  const row = (yield* rowById(task.id))!
  return { user, task, row, path: `/api/tasks/${task.id}` }
})

it.layer(TestService())("PUT /api/tasks/{task_id}", (it) => {
  it.effect("changes only the fields present; updated_at moves, created_at stays", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      // Move the service's clock, so a changed updated_at is visible.
      yield* TestClock.adjust("1 minute")
      const reply = yield* put(path, { token: user.token, json: { title: "  Renamed  " } })
      const after = yield* rowById(row.id)
      expectTaskReply(reply, 200, after)
      expect(after).toEqual({ ...row, title: "Renamed", updated_at: new Date(row.updated_at.getTime() + 60_000) })
    }))

  it.effect("sets each field, description and due_datetime to null included", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      const reply = yield* put(path, {
        token: user.token,
        json: { description: null, due_datetime: null, priority: "not_urgent_not_important", is_completed: true }
      })
      const after = yield* rowById(row.id)
      expectTaskReply(reply, 200, after)
      expect(after).toMatchObject({
        title: "Original",
        description: null,
        due_datetime: null,
        priority: "not_urgent_not_important",
        is_completed: true,
        created_at: row.created_at
      })

      // Back from null, with a naive due_datetime read as UTC.
      const again = yield* put(path, {
        token: user.token,
        json: { description: "New description", due_datetime: "2027-01-02T03:04:05" }
      })
      const latest = yield* rowById(row.id)
      expectTaskReply(again, 200, latest)
      expect(latest).toMatchObject({
        description: "New description",
        due_datetime: new Date(Date.UTC(2027, 0, 2, 3, 4, 5)),
        priority: "not_urgent_not_important",
        is_completed: true
      })
    }))

  it.effect("an empty body changes no field", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      const reply = yield* put(path, { token: user.token, json: {} })
      const after = yield* rowById(row.id)
      expectTaskReply(reply, 200, after)
      const { updated_at: _, ...fields } = row
      expect(after).toMatchObject(fields)
    }))

  it.effect("404 with the write wording for an unknown id; nothing changed", () =>
    Effect.gen(function*() {
      const { user } = yield* userWithTask
      const before = yield* rowsOf(user.userId)
      const reply = yield* put(`/api/tasks/${UNKNOWN_TASK_ID}`, { token: user.token, json: { title: "Ghost" } })
      expectError(reply, 404, NOT_FOUND_ON_WRITE)
      expect(yield* rowsOf(user.userId)).toEqual(before)
    }))

  it.effect("400 with the exact message for a bad priority; row unchanged", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      yield* TestClock.adjust("1 minute") // a wrongly applied update would show in updated_at
      const reply = yield* put(path, { token: user.token, json: { title: "Changed", priority: "high" } })
      expectError(reply, 400, INVALID_PRIORITY)
      expect(yield* rowById(row.id)).toEqual(row)
    }))

  it.effect("422 for invalid fields, malformed JSON and a non-UUID id; row unchanged", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      yield* TestClock.adjust("1 minute")
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ title: "" }, "title"],
        [{ title: "   " }, "title"],
        [{ title: "t".repeat(256) }, "title"],
        [{ description: "d".repeat(10_001) }, "description"],
        [{ due_datetime: "soon" }, "due_datetime"],
        [{ is_completed: "maybe" }, "is_completed"]
      ]
      for (const [json, field] of cases) {
        expectValidationError(yield* put(path, { token: user.token, json }), ["body", field])
      }
      expectValidationError(yield* put(path, { token: user.token, raw: "{\"title\":" }), ["body"])
      expectValidationError(
        yield* put("/api/tasks/not-a-uuid", { token: user.token, json: { title: "x" } }),
        ["path", "task_id"]
      )
      expect(yield* rowById(row.id)).toEqual(row)
    }))
})

it.layer(TestService())("PATCH /api/tasks/{task_id}/complete", (it) => {
  it.effect("sets is_completed (does not toggle) and moves updated_at", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      for (const [minute, completed] of [[1, true], [2, true], [3, false], [4, false]] as const) {
        yield* TestClock.adjust("1 minute")
        const reply = yield* patch(`${path}/complete`, { token: user.token, json: { completed } })
        const after = yield* rowById(row.id)
        expectTaskReply(reply, 200, after)
        expect(after).toEqual({
          ...row,
          is_completed: completed,
          updated_at: new Date(row.updated_at.getTime() + minute * 60_000)
        })
      }
    }))

  it.effect("422 at body.completed when completed is missing or not a boolean; row unchanged", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      yield* TestClock.adjust("1 minute")
      for (const json of [{}, { is_completed: true }, { completed: "maybe" }, { completed: null }]) {
        expectValidationError(yield* patch(`${path}/complete`, { token: user.token, json }), ["body", "completed"])
      }
      expectValidationError(yield* patch(`${path}/complete`, { token: user.token, raw: "{" }), ["body"])
      expect(yield* rowById(row.id)).toEqual(row)
    }))

  it.effect("404 with the write wording for an unknown id; 422 for a non-UUID id", () =>
    Effect.gen(function*() {
      const { user, row } = yield* userWithTask
      const reply = yield* patch(`/api/tasks/${UNKNOWN_TASK_ID}/complete`, {
        token: user.token,
        json: { completed: true }
      })
      expectError(reply, 404, NOT_FOUND_ON_WRITE)
      expectValidationError(
        yield* patch("/api/tasks/nope/complete", { token: user.token, json: { completed: true } }),
        ["path", "task_id"]
      )
      expect(yield* rowsOf(user.userId)).toEqual([row])
    }))
})

it.layer(TestService())("DELETE /api/tasks/{task_id}", (it) => {
  it.effect("204 with an empty body; the row is gone; a second delete is 404", () =>
    Effect.gen(function*() {
      const { user, row, path } = yield* userWithTask
      const kept = yield* createTask(user.token, { title: "Kept" })
      const keptRow = yield* rowById(kept.id)

      const reply = yield* del(path, { token: user.token })
      expect(reply.status, reply.text).toBe(204)
      expect(reply.text).toBe("")
      expect(yield* rowById(row.id)).toBeUndefined()
      expect(yield* rowsOf(user.userId)).toEqual([keptRow])

      expectError(yield* get(path, { token: user.token }), 404, NOT_FOUND_ON_READ)
      expectError(yield* del(path, { token: user.token }), 404, NOT_FOUND_ON_WRITE)
      expect(yield* rowsOf(user.userId)).toEqual([keptRow])
    }))

  it.effect("404 for an unknown id and 422 at path.task_id for a non-UUID id; nothing deleted", () =>
    Effect.gen(function*() {
      const { user, row } = yield* userWithTask
      expectError(yield* del(`/api/tasks/${UNKNOWN_TASK_ID}`, { token: user.token }), 404, NOT_FOUND_ON_WRITE)
      expectValidationError(yield* del("/api/tasks/12345", { token: user.token }), ["path", "task_id"])
      expect(yield* rowsOf(user.userId)).toEqual([row])
    }))
})

it.layer(TestService())("the service clock", (it) => {
  it.effect("created_at is set once; every change sets updated_at to the service's now", () =>
    Effect.gen(function*() {
      const user = yield* signup("clock")
      const t0 = yield* Clock.currentTimeMillis // TestClock: the server reads the same clock
      const task = yield* createTask(user.token, { title: "Timed" })
      expect(task.created_at).toBe(new Date(t0).toISOString())
      expect(task.updated_at).toBe(new Date(t0).toISOString())

      yield* TestClock.adjust("1 minute")
      const updated = yield* put(`/api/tasks/${task.id}`, { token: user.token, json: { title: "Timed, again" } })
      expect(updated.body.data).toMatchObject({
        created_at: new Date(t0).toISOString(),
        updated_at: new Date(t0 + 60_000).toISOString()
      })
      expect(yield* rowById(task.id)).toMatchObject({
        created_at: new Date(t0),
        updated_at: new Date(t0 + 60_000)
      })

      yield* TestClock.adjust("1 minute")
      const completed = yield* patch(`/api/tasks/${task.id}/complete`, { token: user.token, json: { completed: true } })
      expect(completed.body.data).toMatchObject({
        created_at: new Date(t0).toISOString(),
        updated_at: new Date(t0 + 120_000).toISOString()
      })
      expect(yield* rowById(task.id)).toMatchObject({
        created_at: new Date(t0),
        updated_at: new Date(t0 + 120_000)
      })
      // A read changes nothing.
      yield* TestClock.adjust("1 minute")
      expectTaskReply(yield* get(`/api/tasks/${task.id}`, { token: user.token }), 200, yield* rowById(task.id))
      expect((yield* rowById(task.id))?.updated_at).toEqual(new Date(t0 + 120_000))
    }))
})

/** One user's tasks are invisible to another, and server-owned fields never come from a body. */
import { expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { del, get, patch, post, put, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import {
  createTask,
  expectError,
  expectTaskReply,
  NOT_FOUND_ON_READ,
  NOT_FOUND_ON_WRITE,
  rowById,
  rowsOf
} from "./tasks-helpers.js"

it.layer(TestService())("tasks isolation", (it) => {
  it.effect("another user's task is a 404 on every endpoint and stays untouched", () =>
    Effect.gen(function*() {
      const alice = yield* signup("alice")
      const bob = yield* signup("bob")
      const task = yield* createTask(alice.token, {
        title: "Alice's",
        description: "private",
        priority: "not_urgent_important"
      })
      const before = yield* rowById(task.id)
      // Move the clock: a write that slipped through would change updated_at.
      yield* TestClock.adjust("1 minute")
      const path = `/api/tasks/${task.id}`

      expectError(yield* get(path, { token: bob.token }), 404, NOT_FOUND_ON_READ)
      expectError(yield* put(path, { token: bob.token, json: { title: "Bob's now" } }), 404, NOT_FOUND_ON_WRITE)
      expectError(
        yield* patch(`${path}/complete`, { token: bob.token, json: { completed: true } }),
        404,
        NOT_FOUND_ON_WRITE
      )
      expectError(yield* del(path, { token: bob.token }), 404, NOT_FOUND_ON_WRITE)

      // Not in Bob's list, whatever the filters; not counted either.
      for (const query of ["", "?priority=not_urgent_important", "?completed=false"]) {
        const list = yield* get(`/api/tasks${query}`, { token: bob.token })
        expect(list.status).toBe(200)
        expect(list.body.data).toMatchObject({ tasks: [], total_count: 0 })
      }

      expect(yield* rowById(task.id)).toEqual(before)
      expect(yield* rowsOf(bob.userId)).toEqual([])
      // Alice still has it, as it was.
      expectTaskReply(yield* get(path, { token: alice.token }), 200, before)
      const aliceList = yield* get("/api/tasks", { token: alice.token })
      expect(aliceList.body.data.total_count).toBe(1)
      expect(aliceList.body.data.tasks[0].id).toBe(task.id)
    }))

  it.effect("POST ignores id, user_id and timestamps sent in the body", () =>
    Effect.gen(function*() {
      const alice = yield* signup("alice")
      const bob = yield* signup("bob")
      const now = yield* Clock.currentTimeMillis
      const forgedId = "11111111-2222-4333-8444-555555555555"
      const reply = yield* post("/api/tasks", {
        token: bob.token,
        json: {
          id: forgedId,
          user_id: alice.userId,
          created_at: "2000-01-01T00:00:00Z",
          updated_at: "2000-01-01T00:00:00Z",
          title: "Forged",
          priority: "urgent_important"
        }
      })
      const rows = yield* rowsOf(bob.userId)
      expect(rows).toHaveLength(1)
      expectTaskReply(reply, 201, rows[0])
      expect(rows[0]).toMatchObject({ user_id: bob.userId, created_at: new Date(now), updated_at: new Date(now) })
      expect(rows[0].id).not.toBe(forgedId)
      expect(yield* rowById(forgedId)).toBeUndefined()
      expect(yield* rowsOf(alice.userId)).toEqual([])
    }))

  it.effect("PUT ignores id, user_id and created_at sent in the body", () =>
    Effect.gen(function*() {
      const alice = yield* signup("alice")
      const bob = yield* signup("bob")
      const task = yield* createTask(alice.token, { title: "Mine" })
      const before = (yield* rowById(task.id))!
      yield* TestClock.adjust("1 minute")
      const otherId = "66666666-7777-4888-8999-aaaaaaaaaaaa"
      const reply = yield* put(`/api/tasks/${task.id}`, {
        token: alice.token,
        json: { id: otherId, user_id: bob.userId, created_at: "2000-01-01T00:00:00Z", title: "Still mine" }
      })
      const after = yield* rowById(task.id)
      expectTaskReply(reply, 200, after)
      expect(after).toEqual({
        ...before,
        title: "Still mine",
        updated_at: new Date(before.updated_at.getTime() + 60_000)
      })
      expect(yield* rowById(otherId)).toBeUndefined()
      expect(yield* rowsOf(bob.userId)).toEqual([])
    }))
})

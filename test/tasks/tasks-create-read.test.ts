/** POST /api/tasks, GET /api/tasks/{id} and GET /api/tasks (envelope, filters, parameter errors). */
import { expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { del, get, patch, post, put, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import {
  asJson,
  createTask,
  expectError,
  expectTaskReply,
  expectValidationError,
  INVALID_PRIORITY,
  NOT_FOUND_ON_READ,
  rowById,
  rowsOf,
  type TaskRow,
  UNKNOWN_TASK_ID
} from "./tasks-helpers.js"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

it.layer(TestService())("POST /api/tasks", (it) => {
  it.effect("creates a task: 201 envelope, trimmed title, defaults, server-owned fields", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      const now = yield* Clock.currentTimeMillis // the service's clock too (TestClock, not moving)
      const reply = yield* post("/api/tasks", {
        token: user.token,
        json: { title: "  Write report  ", priority: "urgent_important" }
      })
      const rows = yield* rowsOf(user.userId)
      expect(rows).toHaveLength(1)
      expectTaskReply(reply, 201, rows[0])
      expect(rows[0]).toEqual(
        {
          id: expect.stringMatching(UUID),
          user_id: user.userId,
          title: "Write report",
          description: null,
          due_datetime: null,
          priority: "urgent_important",
          is_completed: false,
          created_at: new Date(now),
          updated_at: new Date(now)
        } satisfies TaskRow
      )
    }))

  it.effect("stores every field given; a naive due_datetime means UTC", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      const naive = yield* createTask(user.token, {
        title: "Naive",
        description: "Some details",
        due_datetime: "2026-12-01T09:00:00",
        priority: "not_urgent_important",
        is_completed: true
      })
      expect(naive.due_datetime).toBe("2026-12-01T09:00:00.000Z")
      const row = yield* rowById(naive.id)
      expect(row).toMatchObject({
        user_id: user.userId,
        title: "Naive",
        description: "Some details",
        due_datetime: new Date(Date.UTC(2026, 11, 1, 9)),
        priority: "not_urgent_important",
        is_completed: true
      })
      expect(naive).toMatchObject(asJson(row!))

      // An explicit offset is honoured: the same instant as above.
      const offset = yield* createTask(user.token, { title: "Offset", due_datetime: "2026-12-01T11:00:00+02:00" })
      expect(offset.due_datetime).toBe("2026-12-01T09:00:00.000Z")
      expect((yield* rowById(offset.id))?.due_datetime).toEqual(new Date(Date.UTC(2026, 11, 1, 9)))
    }))

  it.effect("accepts the limits: 255-character title after trimming, 10,000-character description, nulls", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      const title = "t".repeat(255)
      const description = "d".repeat(10_000)
      const reply = yield* post("/api/tasks", {
        token: user.token,
        // Padding makes the raw title 259 characters: the limit applies after trimming.
        json: { title: `  ${title}  `, description, due_datetime: null, priority: "urgent_not_important" }
      })
      const rows = yield* rowsOf(user.userId)
      expect(rows).toHaveLength(1)
      expectTaskReply(reply, 201, rows[0])
      expect(rows[0]).toMatchObject({ title, description, due_datetime: null, priority: "urgent_not_important" })

      const nullDescription = yield* createTask(user.token, { title: "x", description: null })
      expect((yield* rowById(nullDescription.id))?.description).toBeNull()
    }))

  it.effect("400 with the exact message for a bad priority; nothing stored", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      for (const priority of ["high", "URGENT_IMPORTANT", ""]) {
        const reply = yield* post("/api/tasks", { token: user.token, json: { title: "Bad", priority } })
        expectError(reply, 400, INVALID_PRIORITY)
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))

  it.effect("422 at body.title for a missing, empty, blank or too long title; nothing stored", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      const bodies = [
        { priority: "urgent_important" },
        { title: "", priority: "urgent_important" },
        { title: "   ", priority: "urgent_important" },
        { title: "t".repeat(256), priority: "urgent_important" },
        { title: null, priority: "urgent_important" }
      ]
      for (const json of bodies) {
        expectValidationError(yield* post("/api/tasks", { token: user.token, json }), ["body", "title"])
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))

  it.effect("422 for other invalid fields, each located in the body; nothing stored", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ description: "d".repeat(10_001) }, "description"],
        [{ due_datetime: "next tuesday" }, "due_datetime"],
        [{ is_completed: "maybe" }, "is_completed"],
        [{ priority: undefined }, "priority"] // absent (JSON drops undefined): required on create
      ]
      for (const [fields, field] of cases) {
        const json = { title: "Valid", priority: "urgent_important", ...fields }
        expectValidationError(yield* post("/api/tasks", { token: user.token, json }), ["body", field])
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))

  it.effect("422 at body for malformed JSON; nothing stored", () =>
    Effect.gen(function*() {
      const user = yield* signup("create")
      for (const raw of ["{\"title\": \"x\",", "not json"]) {
        expectValidationError(yield* post("/api/tasks", { token: user.token, raw }), ["body"])
      }
      expect(yield* rowsOf(user.userId)).toEqual([])
    }))
})

it.layer(TestService())("GET /api/tasks/{task_id}", (it) => {
  it.effect("200 with the stored task, whatever the case of the id", () =>
    Effect.gen(function*() {
      const user = yield* signup("read")
      const task = yield* createTask(user.token, { title: "Read me", description: "body" })
      const row = yield* rowById(task.id)
      expectTaskReply(yield* get(`/api/tasks/${task.id}`, { token: user.token }), 200, row)
      // A UUID is a UUID in upper case too (the old backend parsed it with uuid.UUID).
      expectTaskReply(yield* get(`/api/tasks/${task.id.toUpperCase()}`, { token: user.token }), 200, row)
    }))

  it.effect("404 {detail: Task not found} for an unknown id", () =>
    Effect.gen(function*() {
      const user = yield* signup("read")
      expectError(yield* get(`/api/tasks/${UNKNOWN_TASK_ID}`, { token: user.token }), 404, NOT_FOUND_ON_READ)
    }))

  it.effect("422 at path.task_id for an id that is not a UUID", () =>
    Effect.gen(function*() {
      const user = yield* signup("read")
      for (const id of ["not-a-uuid", "123", `${UNKNOWN_TASK_ID}0`]) {
        expectValidationError(yield* get(`/api/tasks/${id}`, { token: user.token }), ["path", "task_id"])
      }
    }))

  it.effect("every task endpoint answers 401 without a valid token and changes nothing", () =>
    Effect.gen(function*() {
      const user = yield* signup("read")
      const task = yield* createTask(user.token, { title: "Guarded" })
      const before = yield* rowsOf(user.userId)
      const path = `/api/tasks/${task.id}`
      const attempts = (token?: string) => [
        post("/api/tasks", { token, json: { title: "Sneaky", priority: "urgent_important" } }),
        get("/api/tasks", { token }),
        get(path, { token }),
        put(path, { token, json: { title: "Sneaky" } }),
        patch(`${path}/complete`, { token, json: { completed: true } }),
        del(path, { token })
      ]
      for (const attempt of attempts()) {
        const reply = yield* attempt
        expectError(reply, 401, "Not authenticated")
        expect(reply.headers.get("www-authenticate")).toBe("Bearer")
      }
      for (const attempt of attempts("not.a.token")) {
        const reply = yield* attempt
        expectError(reply, 401, "Could not validate credentials")
        expect(reply.headers.get("www-authenticate")).toBe("Bearer error=\"invalid_token\"")
      }
      expect(yield* rowsOf(user.userId)).toEqual(before)
    }))
})

it.layer(TestService())("GET /api/tasks", (it) => {
  it.effect("answers the envelope with the defaults limit=50, offset=0", () =>
    Effect.gen(function*() {
      const user = yield* signup("list")
      const empty = yield* get("/api/tasks", { token: user.token })
      expect(empty.status).toBe(200)
      expect(empty.body).toMatchObject({ success: true, data: { tasks: [], total_count: 0, limit: 50, offset: 0 } })

      for (const title of ["one", "two", "three"]) yield* createTask(user.token, { title })
      const reply = yield* get("/api/tasks", { token: user.token })
      expect(reply.status).toBe(200)
      expect(reply.body).toMatchObject({ success: true, data: { total_count: 3, limit: 50, offset: 0 } })
      const rows = yield* rowsOf(user.userId)
      const byId = new Map(rows.map((row) => [row.id, row]))
      expect(reply.body.data.tasks).toHaveLength(3)
      for (const task of reply.body.data.tasks) expect(task).toMatchObject(asJson(byId.get(task.id)!))
    }))

  it.effect("filters by priority and completed; total_count counts the matches", () =>
    Effect.gen(function*() {
      const user = yield* signup("list")
      const seeds = [
        { title: "a", priority: "urgent_important", is_completed: true },
        { title: "b", priority: "urgent_important", is_completed: false },
        { title: "c", priority: "not_urgent_important", is_completed: true },
        { title: "d", priority: "urgent_not_important", is_completed: false },
        { title: "e", priority: "urgent_important", is_completed: false }
      ]
      for (const seed of seeds) yield* createTask(user.token, seed)
      const sql = yield* SqlClient.SqlClient
      const cases: ReadonlyArray<readonly [string, (row: TaskRow) => boolean]> = [
        ["priority=urgent_important", (r) => r.priority === "urgent_important"],
        ["priority=not_urgent_not_important", (r) => r.priority === "not_urgent_not_important"],
        ["completed=true", (r) => r.is_completed],
        ["completed=false", (r) => !r.is_completed],
        ["priority=urgent_important&completed=false", (r) => r.priority === "urgent_important" && !r.is_completed]
      ]
      const rows = yield* sql<TaskRow>`SELECT * FROM task WHERE user_id = ${user.userId}`
      for (const [query, matches] of cases) {
        const reply = yield* get(`/api/tasks?${query}`, { token: user.token })
        expect(reply.status, query).toBe(200)
        const expected = rows.filter(matches).map((row) => row.id).sort()
        expect(reply.body.data.total_count, query).toBe(expected.length)
        expect(reply.body.data.tasks.map((t: { id: string }) => t.id).sort(), query).toEqual(expected)
      }
    }))

  it.effect("400 for a bad sort_by, sort_order or priority", () =>
    Effect.gen(function*() {
      const user = yield* signup("list")
      for (const [query, name] of [["sort_by=owner", "sort_by"], ["sort_order=sideways", "sort_order"]] as const) {
        const reply = yield* get(`/api/tasks?${query}`, { token: user.token })
        expect(reply.status, query).toBe(400)
        expect(reply.body.detail).toContain(name)
      }
      expectError(yield* get("/api/tasks?priority=high", { token: user.token }), 400, INVALID_PRIORITY)
    }))

  it.effect("422 at query.<name> for a bad limit, offset or completed", () =>
    Effect.gen(function*() {
      const user = yield* signup("list")
      const cases = [
        ["limit=0", "limit"],
        ["limit=101", "limit"],
        ["limit=abc", "limit"],
        ["offset=-1", "offset"],
        ["completed=maybe", "completed"]
      ] as const
      for (const [query, name] of cases) {
        expectValidationError(yield* get(`/api/tasks?${query}`, { token: user.token }), ["query", name])
      }
    }))

  it.effect("accepts limit 1 and 100 and echoes limit and offset", () =>
    Effect.gen(function*() {
      const user = yield* signup("list")
      yield* createTask(user.token, { title: "one" })
      yield* createTask(user.token, { title: "two" })
      const one = yield* get("/api/tasks?limit=1&offset=1", { token: user.token })
      expect(one.status).toBe(200)
      expect(one.body.data).toMatchObject({ total_count: 2, limit: 1, offset: 1 })
      expect(one.body.data.tasks).toHaveLength(1)
      const hundred = yield* get("/api/tasks?limit=100&offset=0", { token: user.token })
      expect(hundred.body.data).toMatchObject({ total_count: 2, limit: 100, offset: 0 })
      expect(hundred.body.data.tasks).toHaveLength(2)
    }))
})

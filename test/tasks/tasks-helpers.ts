/**
 * Small helpers shared by the tasks suites. Expected values come from rest-api.md (not from src),
 * so a drift in the service shows up as a failing test.
 */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { post, type Reply } from "../support/http.js"

export const PRIORITIES = [
  "urgent_important",
  "not_urgent_important",
  "urgent_not_important",
  "not_urgent_not_important"
] as const

/** The exact 400 message of the contract (Python's list repr, as the old backend printed it). */
export const INVALID_PRIORITY = "Invalid priority value. Must be one of: " +
  "['urgent_important', 'not_urgent_important', 'urgent_not_important', 'not_urgent_not_important']"

export const NOT_FOUND_ON_READ = "Task not found"
export const NOT_FOUND_ON_WRITE = "Task not found or does not belong to user"

/** A syntactically valid UUID that no task has. */
export const UNKNOWN_TASK_ID = "5f0c6a8e-3b4d-4c2a-9e7f-1a2b3c4d5e6f"

export interface TaskRow {
  readonly id: string
  readonly user_id: string
  readonly title: string
  readonly description: string | null
  readonly due_datetime: Date | null
  readonly priority: string
  readonly is_completed: boolean
  readonly created_at: Date
  readonly updated_at: Date
}

/** All of a user's rows in a fixed order: a snapshot to compare before and after a request. */
export const rowsOf = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<TaskRow>`SELECT * FROM task WHERE user_id = ${userId} ORDER BY id`)

/** The row with this id, whoever owns it; undefined when there is none. */
export const rowById = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<TaskRow>`SELECT * FROM task WHERE id = ${id}`).pipe(
    Effect.map((rows): TaskRow | undefined => rows[0])
  )

/** A row as the API shows it: timestamps as ISO 8601 in UTC. */
export const asJson = (row: TaskRow) => ({
  id: row.id,
  user_id: row.user_id,
  title: row.title,
  description: row.description,
  due_datetime: row.due_datetime === null ? null : row.due_datetime.toISOString(),
  priority: row.priority,
  is_completed: row.is_completed,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString()
})

/**
 * `{"success":true,"data":Task}` whose task is exactly the stored row. `toMatchObject` because the
 * contract lets responses gain new fields; every contract field must still equal the row.
 */
export const expectTaskReply = (reply: Reply, status: number, row: TaskRow | undefined) => {
  expect(reply.status, reply.text).toBe(status)
  expect(reply.body.success).toBe(true)
  expect(row).toBeDefined()
  expect(reply.body.data).toMatchObject(asJson(row!))
}

/** A plain error: the status and a body carrying this `detail`. */
export const expectError = (reply: Reply, status: number, detail: string) => {
  expect(reply.status, reply.text).toBe(status)
  expect(reply.body).toMatchObject({ detail })
}

/** FastAPI's 422 shape with (at least) one issue located at `loc`. */
export const expectValidationError = (reply: Reply, loc: ReadonlyArray<string>) => {
  expect(reply.status, reply.text).toBe(422)
  expect(reply.body.error_code).toBe("validation_error")
  expect(Array.isArray(reply.body.detail)).toBe(true)
  for (const issue of reply.body.detail) {
    // toMatchObject: an issue may carry more than these (as newer FastAPI versions do).
    expect(issue).toMatchObject({ loc: expect.any(Array), msg: expect.any(String), type: expect.any(String) })
  }
  expect(reply.body.detail.map((issue: { loc: unknown }) => issue.loc)).toContainEqual(loc)
}

/** Creates a task through the API (asserting the 201) and answers the task it returned. */
export const createTask = (token: string, body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const reply = yield* post("/api/tasks", { token, json: { priority: "urgent_important", ...body } })
    expect(reply.status, reply.text).toBe(201)
    return reply.body.data as ReturnType<typeof asJson>
  })

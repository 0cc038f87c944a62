/**
 * Task storage. Every query is scoped by the owner's id: another user's task is, to the caller,
 * a task that does not exist.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option } from "effect"
import type { ServiceUnavailable } from "../domain/Errors.js"
import { Task, type SortField, type TaskListRequest } from "../domain/Task.js"
import { orUnavailable } from "./DatabaseErrors.js"

export interface NewTask {
  readonly id: string
  readonly userId: string
  readonly title: string
  readonly description: string | null
  readonly dueDatetime: Date | null
  readonly priority: string
  readonly isCompleted: boolean
  readonly now: Date
}

/** The columns a PUT may change; absent ones keep their value. */
export interface TaskChanges {
  readonly title?: string
  readonly description?: string | null
  readonly due_datetime?: Date | null
  readonly priority?: string
  readonly is_completed?: boolean
}

export interface TaskRepoShape {
  readonly insert: (task: NewTask) => Effect.Effect<Task, ServiceUnavailable>
  readonly findOwned: (userId: string, taskId: string) => Effect.Effect<Option.Option<Task>, ServiceUnavailable>
  readonly page: (
    userId: string,
    request: TaskListRequest
  ) => Effect.Effect<{ readonly tasks: ReadonlyArray<Task>; readonly total: number }, ServiceUnavailable>
  readonly update: (
    userId: string,
    taskId: string,
    changes: TaskChanges,
    now: Date
  ) => Effect.Effect<Option.Option<Task>, ServiceUnavailable>
  readonly delete: (userId: string, taskId: string) => Effect.Effect<boolean, ServiceUnavailable>
}

export class TaskRepo extends Context.Tag("tasks-api/TaskRepo")<TaskRepo, TaskRepoShape>() {}

interface TaskRow {
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

/** Rows come from our own schema: no need to re-validate them field by field. */
const toTask = (row: TaskRow) => new Task(row, true)

/** Sort columns are chosen from this fixed map, never from the request text. */
const SORT_COLUMNS: Record<SortField, string> = {
  created_at: "created_at",
  updated_at: "updated_at",
  due_datetime: "due_datetime",
  priority: "priority",
  title: "title"
}

export const TaskRepoLive = Layer.effect(
  TaskRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const insert: TaskRepoShape["insert"] = (task) =>
      sql<TaskRow>`
        INSERT INTO task (id, user_id, title, description, due_datetime, priority, is_completed, created_at, updated_at)
        VALUES (${task.id}, ${task.userId}, ${task.title}, ${task.description}, ${task.dueDatetime},
                ${task.priority}, ${task.isCompleted}, ${task.now}, ${task.now})
        RETURNING *`.pipe(
        Effect.map((rows) => toTask(rows[0])),
        orUnavailable,
        Effect.withSpan("TaskRepo.insert")
      )

    const findOwned: TaskRepoShape["findOwned"] = (userId, taskId) =>
      sql<TaskRow>`SELECT * FROM task WHERE id = ${taskId} AND user_id = ${userId}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toTask)),
        orUnavailable,
        Effect.withSpan("TaskRepo.findOwned")
      )

    const page: TaskRepoShape["page"] = (userId, request) => {
      const filters = [sql`user_id = ${userId}`]
      if (request.priority !== undefined) filters.push(sql`priority = ${request.priority}`)
      if (request.completed !== undefined) filters.push(sql`is_completed = ${request.completed}`)
      const where = sql.and(filters)
      const column = sql(SORT_COLUMNS[request.sortBy])
      // Ties broken by id in the same direction: a total order, so pages never repeat or skip.
      const order = request.sortOrder === "asc" ? sql`${column} ASC, id ASC` : sql`${column} DESC, id DESC`
      // One round trip: the page and the total count of matching tasks.
      return sql<TaskRow & { readonly total_count: string }>`
        WITH matching AS (SELECT count(*) AS total_count FROM task WHERE ${where})
        SELECT page.*, matching.total_count
        FROM matching LEFT JOIN LATERAL (
          SELECT * FROM task WHERE ${where} ORDER BY ${order} LIMIT ${request.limit} OFFSET ${request.offset}
        ) page ON true`.pipe(
        Effect.map((rows) => ({
          total: Number(rows[0]?.total_count ?? 0),
          tasks: rows.filter((row) => row.id !== null).map(({ total_count: _, ...row }) => toTask(row))
        })),
        orUnavailable,
        Effect.withSpan("TaskRepo.page")
      )
    }

    const update: TaskRepoShape["update"] = (userId, taskId, changes, now) =>
      sql<TaskRow>`
        UPDATE task SET ${sql.update({ ...changes, updated_at: now })}
        WHERE id = ${taskId} AND user_id = ${userId}
        RETURNING *`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toTask)),
        orUnavailable,
        Effect.withSpan("TaskRepo.update")
      )

    const delete_: TaskRepoShape["delete"] = (userId, taskId) =>
      sql`DELETE FROM task WHERE id = ${taskId} AND user_id = ${userId} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable,
        Effect.withSpan("TaskRepo.delete")
      )

    return { insert, findOwned, page, update, delete: delete_ }
  })
)

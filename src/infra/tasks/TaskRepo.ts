/**
 * Task storage. Every query is scoped by the owner's id: another user's task is, to the caller,
 * a task that does not exist.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import type { UserId } from "../../domain/auth/User.js"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import {
  type Priority,
  type SortField,
  type SortOrder,
  type Task,
  type TaskId,
  type TaskListRequest
} from "../../domain/tasks/Task.js"
import { INSTANT_KEY_FORMAT, type KeysetPosition } from "../../domain/tasks/TaskCursor.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"
import { hotSpan } from "../platform/HotSpans.js"

export interface NewTask {
  readonly id: TaskId
  readonly userId: UserId
  readonly title: string
  readonly description: string | null
  readonly dueDatetime: Date | null
  readonly priority: Priority
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
  readonly findOwned: (userId: UserId, taskId: TaskId) => Effect.Effect<Option.Option<Task>, ServiceUnavailable>
  readonly page: (userId: UserId, request: TaskListRequest) => Effect.Effect<TaskPageRows, ServiceUnavailable>
  readonly update: (
    userId: UserId,
    taskId: TaskId,
    changes: TaskChanges,
    now: Date
  ) => Effect.Effect<Option.Option<Task>, ServiceUnavailable>
  readonly delete: (userId: UserId, taskId: TaskId) => Effect.Effect<boolean, ServiceUnavailable>
}

export interface TaskPageRows {
  readonly tasks: ReadonlyArray<Task>
  /** All of the user's tasks that match the filters. */
  readonly total: number
  /** Where this page ended, when more tasks follow it; none on the last page. */
  readonly next: Option.Option<KeysetPosition>
}

export class TaskRepo extends Context.Service<TaskRepo, TaskRepoShape>()("tasks-api/TaskRepo") {}

/**
 * Rows are as the API wrote them (a canonical UUID for the id, one of `PRIORITIES` for the
 * priority): no need to re-run the field checks. Only `Task`'s columns go on (a page's rows carry
 * columns of the statement's own beside them).
 */
const toTask = (row: Task): Task => ({
  id: row.id,
  user_id: row.user_id,
  title: row.title,
  description: row.description,
  due_datetime: row.due_datetime,
  priority: row.priority,
  is_completed: row.is_completed,
  created_at: row.created_at,
  updated_at: row.updated_at
})

/**
 * Sort columns, chosen from this fixed map, never from the request text. Each has an index
 * `(user_id, column, id)` (migration 0003) that both the first page and every cursor page scan.
 */
interface SortColumn {
  readonly name: SortField
  /** Instants are compared, and written into cursors, as PostgreSQL text (microseconds kept). */
  readonly instant: boolean
  readonly nullable: boolean
}
const SORT_COLUMNS: Record<SortField, SortColumn> = {
  created_at: { name: "created_at", instant: true, nullable: false },
  updated_at: { name: "updated_at", instant: true, nullable: false },
  due_datetime: { name: "due_datetime", instant: true, nullable: true },
  priority: { name: "priority", instant: false, nullable: false }, // as text, as it always sorted
  title: { name: "title", instant: false, nullable: false }
}

/** The cursor's instant key format, as an SQL string literal (it holds no quote to escape). */
const INSTANT_KEY_FORMAT_SQL = `'${INSTANT_KEY_FORMAT}'`

/** `total_count` is an int8: a bigint from @effect/sql-pg. */
type PageRow = Task & { readonly sort_key: string | null; readonly total_count: bigint }

/**
 * The list statement: one page (one row more than `limit`, telling whether another follows) and
 * the total count of matching tasks, in one round trip. Exported so tests can EXPLAIN exactly it.
 */
export const pageStatement = (sql: SqlClient.SqlClient, userId: string, request: TaskListRequest) => {
  const filters = [sql`user_id = ${userId}`]
  if (request.priority !== undefined) filters.push(sql`priority = ${request.priority}`)
  if (request.completed !== undefined) filters.push(sql`is_completed = ${request.completed}`)
  const sortColumn = SORT_COLUMNS[request.sortBy]
  const column = sql(sortColumn.name)
  // Ties broken by id in the same direction: a total order, so pages never repeat or skip. NULL
  // due dates come last ascending and first descending (PostgreSQL's default, the index's order).
  const order = request.sortOrder === "asc" ? sql`${column} ASC, id ASC` : sql`${column} DESC, id DESC`
  const sortKey = sortColumn.instant
    ? sql`CASE WHEN isfinite(${column})
        THEN to_char(${column} AT TIME ZONE 'UTC', ${sql.literal(INSTANT_KEY_FORMAT_SQL)})
        ELSE ${column}::text END`
    : column
  const rows = request.limit + 1
  const select = (range: ReadonlyArray<Statement.Fragment>) =>
    sql`SELECT * FROM task WHERE ${sql.and([...filters, ...range])} ORDER BY ${order} LIMIT ${rows}`
  const pageAfter = (after: KeysetPosition) => {
    const ranges = keysetRanges(sql, sortColumn, request.sortOrder, after)
    if (ranges.length === 1) return select(ranges)
    // Each range is an index scan in sort order; a Merge Append joins them in order, without a sort.
    const union = sql.join(" UNION ALL ", false)(ranges.map((range) => sql`(${select([range])})`))
    return sql`SELECT * FROM (${union}) ranges ORDER BY ${order} LIMIT ${rows}`
  }
  const page = request.after === undefined ? sql`${select([])} OFFSET ${request.offset}` : pageAfter(request.after)
  // The sort key is written for the page's rows only: below the LIMIT it would be written for
  // every row an OFFSET skips too (4,900 to_char calls for offset=4900).
  return sql<PageRow>`
    WITH matching AS (SELECT count(*) AS total_count FROM task WHERE ${sql.and(filters)})
    SELECT page.*, ${sortKey} AS sort_key, matching.total_count
    FROM matching LEFT JOIN LATERAL (${page}) page ON true`
}

/**
 * The tasks after `after` in the sort order, as ranges of the sort index in scan order. Row
 * comparisons are index conditions that seek straight to the position. A row comparison with a
 * NULL is never true, so NULL due dates (last ascending, first descending) are a range of their own.
 *
 * The position's values reach the planner only as sub-selects, so it plans every page alike: an
 * ordered index scan that stops after the page. Shown the values, it switches near the end of a
 * list to reading the whole range left and sorting it, cheap only while its estimate of that
 * range's size holds.
 */
const keysetRanges = (
  sql: SqlClient.SqlClient,
  column: SortColumn,
  order: SortOrder,
  after: KeysetPosition
): ReadonlyArray<Statement.Fragment> => {
  const name = sql(column.name)
  const id = sql`(SELECT CAST(${after.id} AS text))`
  const key = sql`(SELECT CAST(${after.key} AS ${sql.literal(column.instant ? "timestamptz" : "text")}))`
  if (order === "asc") {
    if (after.key === null) return [sql`(${name} IS NULL AND id > ${id})`]
    const following = sql`(${name}, id) > (${key}, ${id})`
    return column.nullable ? [following, sql`${name} IS NULL`] : [following]
  }
  if (after.key === null) return [sql`(${name} IS NULL AND id < ${id})`, sql`${name} IS NOT NULL`]
  return [sql`(${name}, id) < (${key}, ${id})`]
}

export const TaskRepoLive = Layer.effect(
  TaskRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const insert: TaskRepoShape["insert"] = (task) =>
      sql<Task>`
        INSERT INTO task (id, user_id, title, description, due_datetime, priority, is_completed, created_at, updated_at)
        VALUES (${task.id}, ${task.userId}, ${task.title}, ${task.description}, ${task.dueDatetime},
                ${task.priority}, ${task.isCompleted}, ${task.now}, ${task.now})
        RETURNING *`.pipe(
        Effect.map((rows) => toTask(rows[0])),
        orUnavailable,
        hotSpan("TaskRepo.insert")
      )

    const findOwned: TaskRepoShape["findOwned"] = (userId, taskId) =>
      sql<Task>`SELECT * FROM task WHERE id = ${taskId} AND user_id = ${userId}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toTask)),
        orUnavailable,
        hotSpan("TaskRepo.findOwned")
      )

    const page: TaskRepoShape["page"] = (userId, request) =>
      pageStatement(sql, userId, request).pipe(
        Effect.map((rows): TaskPageRows => {
          // An empty page is one row of NULLs beside the count (the LEFT JOIN).
          const found = rows.filter((row) => row.id !== null)
          const shown = found.slice(0, request.limit)
          const last = shown.at(-1)
          return {
            total: Number(rows[0]?.total_count ?? 0),
            tasks: shown.map(toTask),
            next: found.length > shown.length && last !== undefined
              ? Option.some({ key: last.sort_key, id: last.id })
              : Option.none()
          }
        }),
        orUnavailable,
        hotSpan("TaskRepo.page")
      )

    const update: TaskRepoShape["update"] = (userId, taskId, changes, now) =>
      sql<Task>`
        UPDATE task SET ${sql.update({ ...changes, updated_at: now })}
        WHERE id = ${taskId} AND user_id = ${userId}
        RETURNING *`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toTask)),
        orUnavailable,
        hotSpan("TaskRepo.update")
      )

    const delete_: TaskRepoShape["delete"] = (userId, taskId) =>
      sql`DELETE FROM task WHERE id = ${taskId} AND user_id = ${userId} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable,
        hotSpan("TaskRepo.delete")
      )

    return { insert, findOwned, page, update, delete: delete_ }
  })
)

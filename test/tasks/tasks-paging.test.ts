/**
 * GET /api/tasks paging and sorting over rows with many ties: every sort must be total (ties
 * broken by id in the same direction), so paging with a small limit neither repeats nor skips.
 */
import { expect, it } from "@effect/vitest"
import { Array as Arr, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { get, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import { asJson, rowsOf, type TaskRow } from "./tasks-helpers.js"

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute))

/**
 * Rows inserted directly, since the API cannot set timestamps. Ids are fixed and deliberately
 * not in insertion order; each sort column has ties and `due_datetime` has nulls. Titles are
 * lower-case ASCII words so any database collation orders them the same way.
 */
const FIXTURE = [
  ["07", 1, 5, 10, "urgent_important", "bravo", false],
  ["02", 1, 5, null, "not_urgent_important", "alpha", true],
  ["0a", 1, 3, 10, "urgent_important", "alpha", false],
  ["05", 2, 3, 20, "urgent_not_important", "charlie", true],
  ["01", 2, 5, null, "not_urgent_not_important", "bravo", false],
  ["09", 3, 4, 10, "urgent_important", "alpha", true],
  ["03", 3, 4, 20, "not_urgent_important", "delta", false],
  ["08", 3, 3, 5, "urgent_not_important", "bravo", false],
  ["04", 1, 4, 20, "urgent_important", "charlie", true],
  ["06", 2, 5, 10, "not_urgent_important", "alpha", false],
  ["0b", 3, 3, 5, "not_urgent_not_important", "delta", true]
] as const

let seeds = 0

/** A user owning the fixture's rows, plus a second user owning look-alikes that must never show. */
const seed = Effect.gen(function*() {
  // Ids must be unique in the suite's database; within one seed only the fixed suffix orders them.
  const prefix = (seeds++).toString(16).padStart(7, "0")
  const sql = yield* SqlClient.SqlClient
  const owner = yield* signup("pager")
  const other = yield* signup("other")
  const rowsFor = (userId: string, idPrefix: string) =>
    Arr.map(FIXTURE, ([n, created, updated, due, priority, title, done]) => ({
      id: `${idPrefix}-0000-4000-8000-0000000000${n}`,
      user_id: userId,
      title,
      description: null,
      due_datetime: due === null ? null : at(due),
      priority,
      is_completed: done,
      created_at: at(created),
      updated_at: at(updated)
    }))
  yield* sql`INSERT INTO task ${
    sql.insert(Arr.appendAll(rowsFor(owner.userId, `0${prefix}`), rowsFor(other.userId, `f${prefix}`)))
  }`
  const rows = yield* rowsOf(owner.userId)
  expect(rows).toHaveLength(FIXTURE.length)
  return { owner, rows }
})

const SORT_FIELDS = ["created_at", "updated_at", "due_datetime", "priority", "title"] as const
type SortField = (typeof SORT_FIELDS)[number]

/**
 * The expected order: by the field, then by id, both in the requested direction. The contract
 * does not say where null due dates go, so nulls may sort either below or above every date.
 */
const expectedOrders = (rows: ReadonlyArray<TaskRow>, field: SortField, order: "asc" | "desc") =>
  [-Infinity, Infinity].map((nullKey) => {
    const key = (row: TaskRow) => {
      const value = row[field]
      return value === null ? nullKey : value instanceof Date ? value.getTime() : value
    }
    const direction = order === "asc" ? 1 : -1
    return [...rows]
      .sort((a, b) => {
        const ka = key(a)
        const kb = key(b)
        if (ka !== kb) return (ka < kb ? -1 : 1) * direction
        return (a.id < b.id ? -1 : 1) * direction
      })
      .map((row) => row.id)
  })

/** Reads every page of `query` with `limit`, checking each page's envelope; answers the ids in order. */
const readAllPages = (token: string, query: string, limit: number, expectedTotal: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    // One page beyond the end too: it must be empty but still report the total.
    for (let offset = 0; offset < expectedTotal + limit; offset += limit) {
      const reply = yield* get(`/api/tasks?${query}&limit=${limit}&offset=${offset}`, { token })
      expect(reply.status, reply.text).toBe(200)
      expect(reply.body.success).toBe(true)
      expect(reply.body.data).toMatchObject({ total_count: expectedTotal, limit, offset })
      expect(reply.body.data.tasks).toHaveLength(Math.max(0, Math.min(limit, expectedTotal - offset)))
      ids.push(...reply.body.data.tasks.map((task: { id: string }) => task.id))
    }
    return ids
  })

it.layer(TestService())("GET /api/tasks paging and sorting", (it) => {
  for (const field of SORT_FIELDS) {
    for (const order of ["asc", "desc"] as const) {
      it.effect(`sort_by=${field}&sort_order=${order}: pages of 3 cover every task once, in order`, () =>
        Effect.gen(function*() {
          const { owner, rows } = yield* seed
          const ids = yield* readAllPages(owner.token, `sort_by=${field}&sort_order=${order}`, 3, rows.length)
          expect(new Set(ids).size).toBe(rows.length)
          expect(expectedOrders(rows, field, order)).toContainEqual(ids)
        }))
    }
  }

  it.effect("the default order is created_at desc (ties by id desc), with limit 50 and offset 0", () =>
    Effect.gen(function*() {
      const { owner, rows } = yield* seed
      const reply = yield* get("/api/tasks", { token: owner.token })
      expect(reply.status).toBe(200)
      expect(reply.body.data).toMatchObject({ total_count: rows.length, limit: 50, offset: 0 })
      const [expected] = expectedOrders(rows, "created_at", "desc")
      expect(reply.body.data.tasks.map((task: { id: string }) => task.id)).toEqual(expected)
      // Each listed task is its row.
      const byId = new Map(rows.map((row) => [row.id, row]))
      for (const task of reply.body.data.tasks) expect(task).toMatchObject(asJson(byId.get(task.id)!))
      // Paging with the defaults for sort gives the same sequence.
      expect(yield* readAllPages(owner.token, "", 4, rows.length)).toEqual(expected)
    }))

  it.effect("total_count counts only the tasks matching the filters, on every page", () =>
    Effect.gen(function*() {
      const { owner, rows } = yield* seed
      const cases: ReadonlyArray<readonly [string, (row: TaskRow) => boolean]> = [
        ["priority=urgent_important", (r) => r.priority === "urgent_important"],
        ["priority=not_urgent_not_important", (r) => r.priority === "not_urgent_not_important"],
        ["completed=true", (r) => r.is_completed],
        ["completed=false", (r) => !r.is_completed],
        ["priority=urgent_important&completed=true", (r) => r.priority === "urgent_important" && r.is_completed]
      ]
      for (const [filter, matches] of cases) {
        const matching = rows.filter(matches)
        expect(matching.length, filter).toBeGreaterThan(1) // the fixture must make each case meaningful
        for (const order of ["asc", "desc"] as const) {
          const ids = yield* readAllPages(
            owner.token,
            `${filter}&sort_by=title&sort_order=${order}`,
            2,
            matching.length
          )
          expect(expectedOrders(matching, "title", order)).toContainEqual(ids)
        }
      }
    }))
})

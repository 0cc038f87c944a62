/**
 * GET /api/tasks keyset paging (`cursor` / `next_cursor`) over rows with many ties, NULL due dates
 * and timestamps that differ only in their microseconds: paging by cursor visits exactly what
 * paging by offset visits, in the same order, for every sort; bad cursors answer 422; a cursor
 * is opaque (sealed: it shows no task's content, and a tampered, forged or another user's cursor
 * answers 422), never reaches another user's tasks, opens on every instance of one configuration
 * and on none of another; and a cursor page is an index scan however far it goes.
 */
import { expect, it } from "@effect/vitest"
import { Array as Arr, Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { UserId } from "../../src/domain/auth/User.js"
import { SORT_FIELDS, type SortField, type SortOrder, type TaskPage } from "../../src/domain/tasks/Task.js"
import { listCursorKeyOf, makeListCursors, sealListCursorText } from "../../src/infra/tasks/ListCursors.js"
import { pageStatement } from "../../src/infra/tasks/TaskRepo.js"
import { failure } from "../rpc/rpc-helpers.js"
import { get, type Reply, signup } from "../support/http.js"
import { onSecondInstance, SecondInstanceLive } from "../support/SecondInstance.js"
import { readyService } from "../support/serviceProcess.js"
import { rpcClient, TEST_JWT_SECRET, TestServer, TestService } from "../support/TestService.js"
import { PRIORITIES, rowsOf } from "./tasks-helpers.js"

const ORDERS = ["asc", "desc"] as const

/** An instant as PostgreSQL reads it: microseconds that a JS Date would round away. */
const instant = (minute: number, micros: number) =>
  `2026-01-01T12:${String(minute).padStart(2, "0")}:00.${String(micros).padStart(6, "0")}Z`

const FIXTURE_SIZE = 23

/**
 * Rows inserted directly, since the API cannot set timestamps. Ids are a permutation of the
 * insertion order; every sort column has ties, `updated_at` values all fall in one millisecond,
 * and a third of the due dates are NULL (more than a page of them, so pages straddle the boundary
 * in both directions). Titles are lower-case ASCII words so any collation orders them alike.
 */
const fixtureRows = (userId: string, idPrefix: string) =>
  Arr.makeBy(FIXTURE_SIZE, (n) => ({
    id: `${idPrefix}-0000-4000-8000-0000000000${((n * 7) % FIXTURE_SIZE).toString(16).padStart(2, "0")}`,
    user_id: userId,
    title: ["alpha", "bravo", "charlie"][Math.floor(n / 2) % 3],
    description: null,
    due_datetime: n % 3 === 0 ? null : instant(30 + (n % 2), n % 3),
    priority: PRIORITIES[n % 4],
    is_completed: n % 5 < 2,
    created_at: instant(n % 4, n % 2),
    updated_at: instant(59, n % 5)
  }))

let seeds = 0

/** A user owning the fixture, plus a second user owning look-alikes that must never show. */
const seed = Effect.gen(function*() {
  const prefix = (seeds++).toString(16).padStart(7, "0")
  const sql = yield* SqlClient.SqlClient
  const owner = yield* signup("cursor")
  const other = yield* signup("other")
  yield* sql`INSERT INTO task ${
    sql.insert(Arr.appendAll(fixtureRows(owner.userId, `0${prefix}`), fixtureRows(other.userId, `f${prefix}`)))
  }`
  // The microseconds must have survived the insert, or the fixture tests nothing.
  const [distinct] = yield* sql<{ readonly n: number }>`
    SELECT count(DISTINCT updated_at)::int AS n FROM task WHERE user_id = ${owner.userId}`
  expect(distinct.n).toBe(5)
  const rows = yield* rowsOf(owner.userId)
  expect(rows).toHaveLength(FIXTURE_SIZE)
  return { owner, other, rows }
})

interface Page {
  readonly ids: ReadonlyArray<string>
  readonly userIds: ReadonlyArray<string>
  readonly nextCursor: string | null
  readonly total: number
}

const pageOf = (reply: Reply): Page => {
  expect(reply.status, reply.text).toBe(200)
  expect(reply.body.success).toBe(true)
  const { next_cursor, tasks, total_count } = reply.body.data
  expect(next_cursor === null || typeof next_cursor === "string").toBe(true)
  if (typeof next_cursor === "string") expect(next_cursor).toMatch(/^[A-Za-z0-9_-]+$/) // base64url
  return {
    ids: tasks.map((task: { id: string }) => task.id),
    userIds: tasks.map((task: { user_id: string }) => task.user_id),
    nextCursor: next_cursor,
    total: total_count
  }
}

const list = (token: string, query: string) => get(`/api/tasks?${query}`, { token })

/** Every page of `query` by offset; every page but the last must offer a cursor. */
const readByOffset = (token: string, query: string, limit: number, total: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    for (let offset = 0; offset < total; offset += limit) {
      const page = pageOf(yield* list(token, `${query}&limit=${limit}&offset=${offset}`))
      expect(page.total).toBe(total)
      expect(page.nextCursor === null, `offset ${offset}`).toBe(offset + limit >= total)
      ids.push(...page.ids)
    }
    return ids
  })

/** A first page by the usual query, then every next page by its cursor until `next_cursor` is null. */
const readByCursor = (token: string, query: string, limit: number, total: number) =>
  Effect.gen(function*() {
    const ids: Array<string> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page = pageOf(yield* list(token, `${query}&limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`))
      expect(page.total).toBe(total) // the count is of every match, not of what is left
      // Full pages until the last: a client may take a short page as the end.
      if (page.nextCursor !== null) expect(page.ids).toHaveLength(limit)
      ids.push(...page.ids)
      cursor = page.nextCursor
      expect(++pages).toBeLessThanOrEqual(total + 1)
    } while (cursor !== null)
    return ids
  })

/** Cursor paging visits exactly what offset paging visits, in the same order, once each. */
const expectSameWalk = (token: string, query: string, limit: number, total: number) =>
  Effect.gen(function*() {
    const byOffset = yield* readByOffset(token, query, limit, total)
    const byCursor = yield* readByCursor(token, query, limit, total)
    expect(byOffset).toHaveLength(total)
    expect(new Set(byCursor).size, query).toBe(total)
    expect(byCursor, query).toEqual(byOffset)
  })

/**
 * What the service's key (the suite's JWT secret) opens a cursor of `userId` to, and any JSON sealed
 * with that key as a cursor of `userId`: what only the service can do, to show that contents the
 * service did not write (a future or past version's) never fail the query, and that even a cursor
 * of another user's position only ever selects among the caller's own tasks.
 */
const serviceCursors = makeListCursors(TEST_JWT_SECRET, [])
const cursorJson = (cursor: string, userId: string) =>
  Option.getOrThrow(serviceCursors.open(UserId.make(userId), cursor))
const asCursor = (value: unknown, userId: string) =>
  sealListCursorText(listCursorKeyOf(TEST_JWT_SECRET), UserId.make(userId), JSON.stringify(value))

/** The exact 422 body of the contract for one issue in the query. */
const expectQueryIssue = (reply: Reply, parameter: "cursor" | "offset") => {
  expect(reply.status, reply.text).toBe(422)
  expect(reply.body).toEqual({
    detail: [{ loc: ["query", parameter], msg: expect.any(String), type: "value_error" }],
    error_code: "validation_error"
  })
}

const firstCursor = (token: string, query: string) =>
  Effect.map(list(token, query), (reply) => {
    const { nextCursor } = pageOf(reply)
    expect(nextCursor).not.toBeNull()
    return nextCursor!
  })

it.layer(TestService())("GET /api/tasks keyset paging", (it) => {
  for (const field of SORT_FIELDS) {
    for (const order of ORDERS) {
      it.effect(`sort_by=${field}&sort_order=${order}: cursor pages of 3 and of 2 walk the offset order`, () =>
        Effect.gen(function*() {
          const { owner } = yield* seed
          for (const limit of [3, 2]) {
            yield* expectSameWalk(owner.token, `sort_by=${field}&sort_order=${order}`, limit, FIXTURE_SIZE)
          }
        }))
    }
  }

  it.effect("the default sort, a single page, and continuing by cursor from an offset page", () =>
    Effect.gen(function*() {
      const { owner } = yield* seed
      yield* expectSameWalk(owner.token, "", 4, FIXTURE_SIZE)
      // Everything on one page: no next page.
      expect(pageOf(yield* list(owner.token, "limit=100")).nextCursor).toBeNull()
      expect(pageOf(yield* list(owner.token, `limit=${FIXTURE_SIZE}`)).nextCursor).toBeNull()
      expect(pageOf(yield* list(owner.token, `limit=${FIXTURE_SIZE - 1}`)).nextCursor).not.toBeNull()
      // Past the end by offset: empty, no cursor.
      expect(pageOf(yield* list(owner.token, "offset=500"))).toMatchObject({ ids: [], nextCursor: null })
      // An offset page's cursor continues right after it.
      const all = yield* readByOffset(owner.token, "sort_by=title&sort_order=asc", 100, FIXTURE_SIZE)
      const middle = pageOf(yield* list(owner.token, "sort_by=title&sort_order=asc&limit=5&offset=7"))
      expect(middle.ids).toEqual(all.slice(7, 12))
      const rest = pageOf(
        yield* list(owner.token, `sort_by=title&sort_order=asc&limit=100&cursor=${middle.nextCursor}`)
      )
      expect(rest).toMatchObject({ ids: all.slice(12), nextCursor: null, total: FIXTURE_SIZE })
      // offset=0 with a cursor is the same request as without an offset.
      const zero = yield* list(
        owner.token,
        `sort_by=title&sort_order=asc&limit=100&offset=0&cursor=${middle.nextCursor}`
      )
      expect(pageOf(zero).ids).toEqual(all.slice(12))
    }))

  it.effect("filters combine with the cursor: the walk is the filtered offset walk", () =>
    Effect.gen(function*() {
      const { owner, rows } = yield* seed
      const cases = [
        ["priority=urgent_important", rows.filter((r) => r.priority === "urgent_important").length],
        ["completed=true", rows.filter((r) => r.is_completed).length],
        ["completed=false", rows.filter((r) => !r.is_completed).length],
        [
          "priority=not_urgent_important&completed=false",
          rows.filter((r) => r.priority === "not_urgent_important" && !r.is_completed).length
        ]
      ] as const
      for (const [filter, total] of cases) {
        expect(total, filter).toBeGreaterThan(2) // more than one page of 2
        for (const field of ["due_datetime", "title", "updated_at"] as const) {
          for (const order of ORDERS) {
            yield* expectSameWalk(owner.token, `${filter}&sort_by=${field}&sort_order=${order}`, 2, total)
          }
        }
      }
    }))

  it.effect("a cursor that does not decode, or was tampered into nonsense, answers 422 at query.cursor", () =>
    Effect.gen(function*() {
      const { owner } = yield* seed
      const query = "sort_by=created_at&sort_order=desc&limit=3"
      const good = yield* firstCursor(owner.token, query)
      const contents = cursorJson(good, owner.userId)
      const sealed = (value: unknown) => asCursor(value, owner.userId)
      const bytes = Buffer.from(good, "base64url")
      // One byte changed anywhere: the format byte, the salt, the contents, the tag.
      const flipped = [0, 1, bytes.length >> 1, bytes.length - 1].map((at) => {
        const copy = Buffer.from(bytes)
        copy[at] ^= 0x01
        return copy.toString("base64url")
      })
      const tampered = [
        "",
        "garbage",
        "%%%",
        good.slice(0, -3),
        `${good}x`,
        `${good.slice(0, -1)}${good.endsWith("A") ? "B" : "A"}`,
        ...flipped,
        // The clear JSON of earlier versions, which a client can write: no cursor of ours.
        Buffer.from(JSON.stringify(contents), "utf8").toString("base64url"),
        // Sealed under a key the service does not hold, and sealed for another user.
        sealListCursorText(
          listCursorKeyOf("another-secret-0123456789abcdefghijklmnop"),
          UserId.make(owner.userId),
          JSON.stringify(contents)
        ),
        asCursor(contents, crypto.randomUUID()),
        sealed("just a string"),
        sealed({ ...contents, v: 2 }),
        sealed({ ...contents, key: "yesterday" }),
        sealed({ ...contents, key: "2026-02-30T12:00:00.000000Z AD" }),
        sealed({ ...contents, key: "2027-02-29T12:00:00.000000Z AD" }),
        sealed({ ...contents, key: "0002-02-29T00:00:00.000000Z BC" }), // 2 BC is no leap year
        sealed({ ...contents, key: "0000-01-01T00:00:00.000000Z AD" }),
        sealed({ ...contents, key: "2026-01-01T24:00:00.000000Z AD" }),
        sealed({ ...contents, key: "4714-11-23T23:59:59.999999Z BC" }), // before PostgreSQL's range
        sealed({ ...contents, key: "294277-01-01T00:00:00.000000Z AD" }), // after it
        sealed({ ...contents, key: "2026-01-01T12:00:00.000Z" }),
        sealed({ ...contents, key: null }), // created_at is never NULL
        sealed({ ...contents, key: 17 }),
        sealed({ ...contents, id: "a\u0000b" }),
        sealed({ ...contents, sort_by: "description" }),
        sealed({ id: contents.id })
      ]
      for (const cursor of tampered) {
        const reply = yield* list(owner.token, `${query}&cursor=${encodeURIComponent(cursor)}`)
        expectQueryIssue(reply, "cursor")
        expect(reply.body.detail[0].msg, cursor).toBe("Invalid cursor")
      }
      // Well-formed contents the service did not write are just a position among the caller's tasks.
      const made = yield* list(
        owner.token,
        `${query}&cursor=${sealed({ ...contents, key: "2026-01-01T12:01:30.000000Z AD" })}`
      )
      const all = yield* readByOffset(owner.token, "sort_by=created_at&sort_order=desc", 100, FIXTURE_SIZE)
      const expected = yield* SqlClient.SqlClient.pipe(
        Effect.flatMap((sql) =>
          sql<{ readonly id: string }>`SELECT id FROM task WHERE user_id = ${owner.userId}
          AND (created_at, id) < ('2026-01-01T12:01:30Z', ${contents.id}) ORDER BY created_at DESC, id DESC LIMIT 3`
        )
      )
      expect(pageOf(made).ids).toEqual(expected.map((row) => row.id))
      expect(all).toEqual(expect.arrayContaining([...pageOf(made).ids]))
      // Every instant PostgreSQL can hold is a position (never a failed query).
      for (
        const [key, count] of [
          ["infinity", 3],
          ["-infinity", 0],
          ["0044-03-15T12:00:00.000001Z BC", 0],
          ["0001-02-29T00:00:00.000000Z BC", 0], // 1 BC is a leap year
          ["4714-11-24T00:00:00.000000Z BC", 0], // PostgreSQL's first instant
          ["294276-12-31T23:59:59.999999Z AD", 3], // and its last
          ["12026-01-01T00:00:00.000000Z AD", 3],
          ["2028-02-29T23:59:59.999999Z AD", 3]
        ] as const
      ) {
        const reply = yield* list(owner.token, `${query}&cursor=${sealed({ ...contents, key })}`)
        expect(pageOf(reply).ids, key).toHaveLength(count)
      }
    }))

  it.effect("a cursor made for another sort_by, sort_order or filters answers 422 at query.cursor", () =>
    Effect.gen(function*() {
      const { owner } = yield* seed
      const made = "sort_by=title&sort_order=asc&priority=urgent_important&limit=2"
      const cursor = yield* firstCursor(owner.token, made)
      expect(pageOf(yield* list(owner.token, `${made}&cursor=${cursor}`)).ids).toHaveLength(2) // it works where made
      for (
        const other of [
          "sort_by=created_at&sort_order=asc&priority=urgent_important",
          "sort_by=title&sort_order=desc&priority=urgent_important",
          "sort_order=asc&priority=urgent_important", // sort_by defaults to created_at
          "sort_by=title&priority=urgent_important", // sort_order defaults to desc
          "sort_by=title&sort_order=asc",
          "sort_by=title&sort_order=asc&priority=not_urgent_important",
          "sort_by=title&sort_order=asc&priority=urgent_important&completed=true"
        ]
      ) {
        expectQueryIssue(yield* list(owner.token, `${other}&limit=2&cursor=${cursor}`), "cursor")
      }
      // The old backend's 400s for bad values still come first among value checks, 422s before them.
      const badSort = yield* list(owner.token, `sort_by=nope&cursor=${cursor}`)
      expect(badSort.status, badSort.text).toBe(400)
      expectQueryIssue(yield* list(owner.token, `sort_by=nope&cursor=garbage`), "cursor")
    }))

  it.effect("a cursor with an offset other than 0 answers 422 at query.offset", () =>
    Effect.gen(function*() {
      const { owner } = yield* seed
      const cursor = yield* firstCursor(owner.token, "limit=3")
      const reply = yield* list(owner.token, `limit=3&offset=3&cursor=${cursor}`)
      expectQueryIssue(reply, "offset")
      expect(reply.body.detail[0].msg).toBe("offset must be 0 when a cursor is given")
    }))

  it.effect("another user's cursor answers 422, and another user's position never shows that user's tasks", () =>
    Effect.gen(function*() {
      const { other, owner } = yield* seed
      const ownerIds = new Set((yield* rowsOf(owner.userId)).map((row) => row.id))
      for (const field of SORT_FIELDS) {
        for (const order of ORDERS) {
          const query = `sort_by=${field}&sort_order=${order}&limit=3`
          // Every cursor of the owner's walk, replayed with the other user's token: it does not open.
          // Its position, sealed for the other user, selects among the other user's tasks only.
          let cursor: string | null = yield* firstCursor(owner.token, query)
          while (cursor !== null) {
            expectQueryIssue(yield* list(other.token, `${query}&cursor=${cursor}`), "cursor")
            const position = asCursor(cursorJson(cursor, owner.userId), other.userId)
            const theirs = yield* list(other.token, `${query}&cursor=${position}`)
            const page = pageOf(theirs)
            for (const userId of page.userIds) expect(userId).toBe(other.userId)
            for (const id of page.ids) expect(ownerIds.has(id)).toBe(false)
            cursor = pageOf(yield* list(owner.token, `${query}&cursor=${cursor}`)).nextCursor
          }
        }
      }
    }))

  it.effect("a cursor shows nothing of the tasks it pages through, over REST and RPC, and each is new", () =>
    Effect.gen(function*() {
      const user = yield* signup("opaque")
      const rpc = yield* rpcClient(user.token)
      const secrets = ["zebra-title-7Q", "yak-title-9W"]
      for (const title of secrets) {
        yield* rpc.CreateTask({ title, description: `${title} described`, priority: "urgent_important" })
      }
      const restCursor = yield* firstCursor(user.token, "sort_by=title&sort_order=desc&limit=1")
      const rpcPage = yield* rpc.ListTasks({ sort_by: "title", sort_order: "desc", limit: 1 })
      expect(rpcPage.tasks.map((task) => task.title)).toEqual(["zebra-title-7Q"])
      const rpcCursor = rpcPage.next_cursor!
      // What the service itself reads in them: the title is the position.
      expect(cursorJson(restCursor, user.userId).key).toBe("zebra-title-7Q")
      for (const cursor of [restCursor, rpcCursor]) {
        const bytes = Buffer.from(cursor, "base64url")
        for (const text of [...secrets, "described", "title"]) {
          for (const encoding of ["utf8", "utf16le"] as const) {
            expect(bytes.includes(Buffer.from(text, encoding)), `${text} in ${cursor}`).toBe(false)
          }
          expect(cursor).not.toContain(text)
        }
        expect(bytes.includes(Buffer.from(user.userId))).toBe(false)
      }
      // The same position twice is two cursors: equal positions cannot be told from the cursor.
      expect(restCursor).not.toBe(rpcCursor)
      // Both continue the list, each where it ended.
      expect(pageOf(yield* list(user.token, `sort_by=title&sort_order=desc&cursor=${rpcCursor}`)).ids).toHaveLength(1)
      const next = yield* rpc.ListTasks({ sort_by: "title", sort_order: "desc", cursor: restCursor })
      expect(next.tasks.map((task) => task.title)).toEqual(["yak-title-9W"])
      // Over RPC too, a cursor with one byte changed is the 422 of a bad cursor.
      const bytes = Buffer.from(rpcCursor, "base64url")
      bytes[bytes.length >> 1] ^= 0x80
      const tampered = yield* failure(
        rpc.ListTasks({ sort_by: "title", sort_order: "desc", cursor: bytes.toString("base64url") }),
        "ValidationFailed"
      )
      expect(tampered.detail).toEqual([{ loc: ["query", "cursor"], msg: "Invalid cursor", type: "value_error" }])
    }))

  it.effect("RPC ListTasks takes the same cursor and answers next_cursor", () =>
    Effect.gen(function*() {
      const { owner } = yield* seed
      const rpc = yield* rpcClient(owner.token)
      const query = "sort_by=due_datetime&sort_order=asc"
      const expected = yield* readByOffset(owner.token, query, 100, FIXTURE_SIZE)
      const ids: Array<string> = []
      let cursor: string | undefined = undefined
      do {
        const page: TaskPage = yield* rpc.ListTasks({ sort_by: "due_datetime", sort_order: "asc", limit: 4, cursor })
        expect(page.total_count).toBe(FIXTURE_SIZE)
        ids.push(...page.tasks.map((task) => task.id))
        cursor = page.next_cursor ?? undefined
      } while (cursor !== undefined)
      expect(ids).toEqual(expected)
      // REST's cursors are RPC's, and REST's 422s too.
      const restCursor = yield* firstCursor(owner.token, `${query}&limit=4`)
      const second = yield* rpc.ListTasks({ sort_by: "due_datetime", sort_order: "asc", limit: 4, cursor: restCursor })
      expect(second.tasks.map((task) => task.id)).toEqual(expected.slice(4, 8))
      const invalid = yield* failure(rpc.ListTasks({ cursor: "garbage" }), "ValidationFailed")
      expect(invalid.detail).toEqual([{ loc: ["query", "cursor"], msg: "Invalid cursor", type: "value_error" }])
      const mismatch = yield* failure(rpc.ListTasks({ sort_by: "title", cursor: restCursor }), "ValidationFailed")
      expect(mismatch.detail.map((issue) => issue.loc)).toEqual([["query", "cursor"]])
      const withOffset = yield* failure(
        rpc.ListTasks({ sort_by: "due_datetime", sort_order: "asc", offset: 4, cursor: restCursor }),
        "ValidationFailed"
      )
      expect(withOffset.detail.map((issue) => issue.loc)).toEqual([["query", "offset"]])
    }))

  // -------------------------------------------------------------------------------------------
  // Plans: the statement the repository runs (pageStatement), for a user with 5,000 tasks.
  // `SHOW_PLANS=1 npx vitest run test/tasks-cursor.test.ts` prints each plan with its timings.

  interface PlanNode {
    readonly "Node Type": string
    readonly "Index Name"?: string
    readonly "Relation Name"?: string
    readonly Output?: ReadonlyArray<string>
    readonly Plans?: ReadonlyArray<PlanNode>
  }
  const nodesOf = (node: PlanNode): ReadonlyArray<PlanNode> => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

  const INDEX_OF: Record<SortField, string> = {
    created_at: "task_user_created_idx",
    updated_at: "task_user_updated_idx",
    due_datetime: "task_user_due_idx",
    priority: "task_user_priority_idx",
    title: "task_user_title_idx"
  }

  const BIG = 5_000
  const LIMIT = 50

  it.effect(
    "EXPLAIN: pages far into 5,000 tasks are index scans, never a sort; a deep offset writes no skipped row's sort key",
    () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const user = yield* signup("big")
        // Ties everywhere, a fifth of the due dates NULL, microseconds in created_at.
        yield* sql`
        INSERT INTO task (id, user_id, title, description, due_datetime, priority, is_completed, created_at, updated_at)
        SELECT gen_random_uuid()::text, ${user.userId}, 'task ' || lpad((g % 500)::text, 3, '0'), NULL,
               CASE WHEN g % 5 = 0 THEN NULL ELSE timestamptz '2026-03-01' + (g % 700) * interval '1 hour' END,
               (ARRAY['urgent_important', 'not_urgent_important',
                      'urgent_not_important', 'not_urgent_not_important'])[1 + g % 4],
               g % 3 = 0,
               timestamptz '2026-01-01' + (g % 1000) * interval '1 second' + (g % 7) * interval '1 microsecond',
               timestamptz '2026-02-01' + (g % 2500) * interval '1 second'
        FROM generate_series(1, ${BIG}) AS g`
        yield* sql`ANALYZE task`

        const explain = (sortBy: SortField, sortOrder: SortOrder, cursor: string | undefined) =>
          Effect.gen(function*() {
            const after = cursor === undefined
              ? undefined
              : Option.getOrThrow(
                Option.map(serviceCursors.open(UserId.make(user.userId), cursor), ({ id, key }) => ({ id, key }))
              )
            const statement = pageStatement(sql, user.userId, {
              priority: undefined,
              completed: undefined,
              limit: LIMIT,
              offset: 0,
              sortBy,
              sortOrder,
              after
            })
            const [row] = yield* sql<{ readonly "QUERY PLAN": ReadonlyArray<{ readonly Plan: PlanNode }> }>`
            EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`
            if (process.env.SHOW_PLANS) {
              const lines = yield* sql<Record<string, string>>`EXPLAIN (ANALYZE, COSTS OFF) ${statement}`
              const label = cursor === undefined ? "first page" : `cursor page after ${JSON.stringify(after)}`
              console.log(
                `--- ${sortBy} ${sortOrder}, ${label}\n${lines.map((line) => Object.values(line)[0]).join("\n")}`
              )
            }
            return { nodes: nodesOf(row["QUERY PLAN"][0].Plan) }
          })

        /** The page: only index scans of the sort's index on task, no sort; the count aside. */
        const expectIndexPage = (nodes: ReadonlyArray<PlanNode>, sortBy: SortField, label: string) => {
          expect(nodes.map((node) => node["Node Type"]), label).not.toContain("Sort")
          expect(nodes.map((node) => node["Node Type"]), label).not.toContain("Incremental Sort")
          // Under the Limit is the page (the count is an Aggregate beside it).
          const page = nodes.filter((node) => node["Node Type"] === "Limit").flatMap(nodesOf)
          const scans = page.filter((node) => node["Relation Name"] === "task")
          expect(scans.length, label).toBeGreaterThan(0)
          for (const scan of scans) {
            expect(["Index Scan", "Index Only Scan"], label).toContain(scan["Node Type"])
            expect(scan["Index Name"], label).toBe(INDEX_OF[sortBy])
          }
        }

        for (const sortBy of SORT_FIELDS) {
          for (const sortOrder of ORDERS) {
            const query = `sort_by=${sortBy}&sort_order=${sortOrder}&limit=${LIMIT}`
            const first = yield* explain(sortBy, sortOrder, undefined)
            expectIndexPage(first.nodes, sortBy, `${query} first page`)
            // The cursor of the page ending 50 tasks before the end: the next page is the last.
            const near = yield* firstCursor(user.token, `${query}&offset=${BIG - 2 * LIMIT}`)
            const last = yield* explain(sortBy, sortOrder, near)
            expectIndexPage(last.nodes, sortBy, `${query} cursor page near the end`)
            const reply = pageOf(yield* list(user.token, `${query}&cursor=${near}`))
            expect(reply).toMatchObject({ nextCursor: null, total: BIG })
            expect(reply.ids).toHaveLength(LIMIT)
          }
        }

        // The due-date pages that span the NULLs and the dates: two index ranges, merged in order.
        // Ascending, NULLs come last: a cursor on the last dated page; descending, they come first.
        for (const [sortOrder, offset] of [["asc", 3_900], ["desc", 0]] as const) {
          const query = `sort_by=due_datetime&sort_order=${sortOrder}&limit=${LIMIT}`
          const cursor = yield* firstCursor(user.token, `${query}&offset=${offset}`)
          const spanning = yield* explain("due_datetime", sortOrder, cursor)
          expectIndexPage(spanning.nodes, "due_datetime", `${query} cursor after offset ${offset}`)
          expect(spanning.nodes.map((node) => node["Node Type"])).toContain("Merge Append")
          const byOffset = pageOf(yield* list(user.token, `${query}&offset=${offset + LIMIT}`))
          expect(pageOf(yield* list(user.token, `${query}&cursor=${cursor}`)).ids).toEqual(byOffset.ids)
        }

        // A deep offset: the sort key (a to_char per row) is written above the Limit, for the page's
        // rows only, not for the 4,900 rows the OFFSET skips.
        const deep = pageStatement(sql, user.userId, {
          priority: undefined,
          completed: undefined,
          limit: LIMIT,
          offset: BIG - 2 * LIMIT,
          sortBy: "created_at",
          sortOrder: "desc",
          after: undefined
        })
        const [verbose] = yield* sql<{ readonly "QUERY PLAN": ReadonlyArray<{ readonly Plan: PlanNode }> }>`
          EXPLAIN (VERBOSE, FORMAT JSON) ${deep}`
        const nodes = nodesOf(verbose["QUERY PLAN"][0].Plan)
        const writesSortKey = (node: PlanNode) => (node.Output ?? []).some((output) => output.includes("to_char"))
        expect(nodes.filter(writesSortKey).map((node) => node["Node Type"])).toEqual(["Nested Loop"])
        const belowLimit = nodes.filter((node) => node["Node Type"] === "Limit").flatMap(nodesOf)
        expect(belowLimit.filter(writesSortKey)).toEqual([])
      }),
    { timeout: 120_000 }
  )
})

// Instances of one configuration open each other's cursors (a client's next page may reach any of
// them); an instance whose secret was rotated still opens the cursors sealed before.
it.layer(TestService())("cursors across instances", (it) => {
  it.layer(SecondInstanceLive(), { timeout: "60 seconds" })((it) => {
    it.effect("a cursor opens on every instance of one configuration, and on none with another secret", () =>
      Effect.gen(function*() {
        const { other, owner } = yield* seed
        const query = "sort_by=title&sort_order=asc&limit=5"
        const all = yield* readByOffset(owner.token, "sort_by=title&sort_order=asc", 100, FIXTURE_SIZE)
        const here = yield* firstCursor(owner.token, query)
        const there = pageOf(yield* onSecondInstance(list(owner.token, `${query}&cursor=${here}`)))
        expect(there.ids).toEqual(all.slice(5, 10))
        expect(pageOf(yield* list(owner.token, `${query}&cursor=${there.nextCursor}`)).ids).toEqual(all.slice(10, 15))
        // Another user's cursor is refused on the other instance as here.
        expectQueryIssue(yield* onSecondInstance(list(other.token, `${query}&cursor=${here}`)), "cursor")

        // An instance whose secret was rotated (the old one kept to verify): old cursors still open,
        // and the cursors it seals are under a key the old configuration does not hold.
        const { databaseUrl } = yield* TestServer
        const rotated = yield* readyService({
          DATABASE_URL: databaseUrl,
          MIGRATE_ON_START: "false",
          JWT_SECRET: "rotated-secret-for-tasks-api-0123456789abcdef",
          JWT_PREVIOUS_SECRETS: TEST_JWT_SECRET
        })
        const onRotated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.flatMap(
            TestServer,
            (server) => Effect.provideService(effect, TestServer, { ...server, baseUrl: rotated.baseUrl })
          )
        const continued = pageOf(yield* onRotated(list(owner.token, `${query}&cursor=${here}`)))
        expect(continued.ids).toEqual(all.slice(5, 10))
        expectQueryIssue(yield* list(owner.token, `${query}&cursor=${continued.nextCursor}`), "cursor")
      }).pipe(Effect.scoped))
  })
})

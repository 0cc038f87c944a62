/** Tasks: the stored shape, the request bodies and the list query, as the old backend had them. */
import { Effect, Option, Schema, type SchemaAST, SchemaIssue, SchemaTransformation } from "effect"
import { booleanOfWord, oneOf, pythonList } from "../Choices.js"
import { BadRequest, ValidationFailed } from "../Errors.js"
import { omittable } from "../Fields.js"

export const PRIORITIES = [
  "urgent_important",
  "not_urgent_important",
  "urgent_not_important",
  "not_urgent_not_important"
] as const
export const Priority = Schema.Literals(PRIORITIES)
export type Priority = typeof Priority.Type

export const SORT_FIELDS = ["created_at", "updated_at", "due_datetime", "priority", "title"] as const
export type SortField = (typeof SORT_FIELDS)[number]
export const SORT_ORDERS = ["asc", "desc"] as const
export type SortOrder = (typeof SORT_ORDERS)[number]

// The old backend answered a bad enum value with a 400 and a message, not a 422: the schemas take
// any string and these checks refuse it with the old wording.
export const isPriority = oneOf(PRIORITIES)
export const isSortField = oneOf(SORT_FIELDS)
export const isSortOrder = oneOf(SORT_ORDERS)

export const invalidPriority = () =>
  new BadRequest({
    detail: `Invalid priority value. Must be one of: ${pythonList(PRIORITIES)}`,
    error_code: "invalid_priority"
  })
export const invalidSortField = () =>
  new BadRequest({
    detail: `Invalid sort_by value. Must be one of: ${pythonList(SORT_FIELDS)}`,
    error_code: "invalid_sort_by"
  })
export const invalidSortOrder = () =>
  new BadRequest({
    detail: `Invalid sort_order value. Must be one of: ${pythonList(SORT_ORDERS)}`,
    error_code: "invalid_sort_order"
  })

// Without flags but `u`: OpenAPI carries the pattern only as a JSON Schema (ECMA-262, unicode) one.
const UUID_PATTERN = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/u

/** A task id: a UUID in any case, with or without hyphens, canonicalised as Python's `uuid.UUID` does. */
export const TaskId = Schema.String.check(Schema.isPattern(UUID_PATTERN, { message: "Input should be a valid UUID" }))
  .annotate({ identifier: "TaskId", description: "A UUID" })
  .pipe(
    Schema.decodeTo(
      Schema.String.pipe(Schema.brand("TaskId")),
      SchemaTransformation.transform({
        decode: (s) => {
          const hex = s.replace(/-/g, "").toLowerCase()
          return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
        },
        encode: (id) => id
      })
    )
  )
export type TaskId = typeof TaskId.Type

/** The path of `/api/tasks/:task_id`, which RPC procedures naming a task validate too. */
export const TaskPath = Schema.Struct({ task_id: TaskId })

const ISO_DATETIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/
const HAS_OFFSET = /(?:Z|z|[+-]\d{2}(?::?\d{2})?)$/

/** The instant an ISO 8601 text names, a naive one (no offset) read as UTC; undefined if it names none. */
const parseInstant = (input: string): Date | undefined => {
  const text = input.trim()
  if (!ISO_DATETIME.test(text)) return undefined
  const withTime = text.length > 10
  const normalised = withTime && !HAS_OFFSET.test(text) ? `${text.replace(" ", "T")}Z` : text.replace(" ", "T")
  const date = new Date(normalised)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** An ISO 8601 instant from a request; a naive one (no offset) means UTC. */
export const InstantFromIso = Schema.String.annotate({
  identifier: "DateTimeInput",
  description: "ISO 8601; without an offset it is read as UTC"
}).pipe(
  Schema.decodeTo(
    Schema.Date,
    SchemaTransformation.transformEffect({
      decode: (input, options) => {
        const date = parseInstant(input)
        return date === undefined
          ? Effect.fail(new SchemaIssue.InvalidValue({ message: "Input should be a valid datetime" }, input, options))
          : Effect.succeed(date)
      },
      encode: (date) => Effect.succeed(date.toISOString())
    })
  )
)

/** Title: 1–255 characters once trimmed; stored trimmed. */
export const Title = Schema.Trim.check(
  Schema.isMinLength(1, { message: "String should have at least 1 character" }),
  Schema.isMaxLength(255, { message: "String should have at most 255 characters" })
)
export const Description = Schema.NullOr(
  Schema.String.check(Schema.isMaxLength(10_000, { message: "String should have at most 10000 characters" }))
)

/** A task as every endpoint answers it (instants as ISO 8601 with milliseconds, in UTC). */
export class Task extends Schema.Class<Task>("Task")(Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  due_datetime: Schema.NullOr(Schema.Date),
  priority: Schema.String,
  is_completed: Schema.Boolean,
  created_at: Schema.Date,
  updated_at: Schema.Date
}).annotate({ identifier: "Task" })) {}

/** `POST /api/tasks`. `priority` is any string here so a bad one answers the old 400. */
export const CreateTaskBody = Schema.Struct({
  title: Title,
  description: omittable(Description),
  due_datetime: omittable(Schema.NullOr(InstantFromIso)),
  priority: Schema.String,
  is_completed: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false)))
}).annotate({ identifier: "TaskCreate" })
export type CreateTaskBody = typeof CreateTaskBody.Type

/** `PUT /api/tasks/{task_id}`: only the fields present change. */
export const UpdateTaskBody = Schema.Struct({
  title: omittable(Title),
  description: omittable(Description),
  due_datetime: omittable(Schema.NullOr(InstantFromIso)),
  priority: omittable(Schema.String),
  is_completed: omittable(Schema.Boolean)
}).annotate({ identifier: "TaskUpdate" })
export type UpdateTaskBody = typeof UpdateTaskBody.Type

export const SetCompletedBody = Schema.Struct({ completed: Schema.Boolean }).annotate({
  identifier: "TaskComplete"
})

const invalidQueryValue = (message: string) =>
(input: string, options: SchemaAST.ParseOptions) =>
  Effect.fail(new SchemaIssue.InvalidValue({ message }, input, options))

/** Query booleans as FastAPI read them. */
const QueryBoolean = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Boolean,
    SchemaTransformation.transformEffect({
      decode: (s, options) => {
        const value = booleanOfWord(s)
        return value !== undefined
          ? Effect.succeed(value)
          : invalidQueryValue("Input should be a valid boolean")(s, options)
      },
      encode: (b) => Effect.succeed(String(b))
    })
  )
)

const INVALID_INTEGER = "Input should be a valid integer, unable to parse string as an integer"

/**
 * A query integer: blank text is not a number (as `Number("")` would have it), and whatever is not
 * an integer answers FastAPI's message. `description` documents the parameter (its text).
 */
const queryInt = (
  checks: ReadonlyArray<SchemaAST.Check<number>>,
  annotations: { readonly description?: string } = {}
) =>
  Schema.String.annotate(annotations).pipe(
    Schema.decodeTo(
      Schema.Number.check(Schema.isInt({ message: INVALID_INTEGER }), ...checks),
      SchemaTransformation.transformEffect({
        decode: (s, options) =>
          s.trim() === "" ? invalidQueryValue(INVALID_INTEGER)(s, options) : Effect.succeed(Number(s)),
        encode: (n) => Effect.succeed(String(n))
      })
    )
  )
const atLeast = (min: number) =>
  Schema.isGreaterThanOrEqualTo(min, { message: `Input should be greater than or equal to ${min}` })
const atMost = (max: number) =>
  Schema.isLessThanOrEqualTo(max, { message: `Input should be less than or equal to ${max}` })

// ---------------------------------------------------------------------------------------------
// Keyset pagination. A cursor is opaque to clients: base64url of a small JSON object naming the
// query it continues (sort and filters) and where the previous page ended (the last row's sort
// key and id). It is not signed: whatever it says, it only selects among the caller's own tasks.

/** Where a page ended: the last row's sort key, as the repository renders it, and its id. */
export interface KeysetPosition {
  /** Title and priority as they are; an instant as `INSTANT_KEY` below; null for a null due date. */
  readonly key: string | null
  readonly id: string
}

const INSTANT_FIELDS: ReadonlySet<string> = new Set<SortField>(["created_at", "updated_at", "due_datetime"])

/**
 * An instant as PostgreSQL's `to_char(… AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z" BC')`
 * writes it, or an infinity. Text with microseconds: stored values (legacy rows, `now()` defaults)
 * can have them, and a key rounded to a JS Date's milliseconds would repeat or skip rows.
 */
const INSTANT_KEY = /^(\d{4,6})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z (AD|BC)$/

/** PostgreSQL's first and last days of a timestamptz, as [astronomical year, month, day]. */
const FIRST_DAY = [-4_713, 11, 24]
const LAST_DAY = [294_276, 12, 31]

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
const daysInMonth = (year: number, month: number) =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31
const compareDays = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a[0] - b[0] || a[1] - b[1] || a[2] - b[2]

/** Whether PostgreSQL reads `text` as a timestamptz: a key it refused would fail the query, not the request. */
const isInstantKey = (text: string) => {
  if (text === "infinity" || text === "-infinity") return true
  const match = INSTANT_KEY.exec(text)
  if (match === null) return false
  const [y, month, day, hour, minute, second] = match.slice(1, 7).map(Number)
  // Astronomical numbering (1 BC is year 0), on which PostgreSQL's proleptic Gregorian leap years fall.
  const date = [match[7] === "AD" ? y : 1 - y, month, day]
  return y >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(date[0], month) &&
    hour <= 23 && minute <= 59 && second <= 59 &&
    compareDays(date, FIRST_DAY) >= 0 && compareDays(date, LAST_DAY) <= 0
}

/** PostgreSQL refuses NUL in text: a parameter carrying one would fail the query. */
const isSqlText = (text: string) => !text.includes("\u0000")

/** What a cursor carries. `v` versions the format. */
const CursorFields = Schema.Struct({
  v: Schema.Literal(1),
  sort_by: Schema.Literals(SORT_FIELDS),
  sort_order: Schema.Literals(SORT_ORDERS),
  priority: Schema.NullOr(Schema.String),
  completed: Schema.NullOr(Schema.Boolean),
  key: Schema.NullOr(Schema.String),
  id: Schema.String
})
/** A cursor whose values the list query can use: anything else would fail the query, not the request. */
const CursorContents = CursorFields.check(
  Schema.makeFilter(({ id, key, sort_by }) =>
    isSqlText(id) &&
    (key === null
      ? sort_by === "due_datetime" // the only nullable sort column
      : INSTANT_FIELDS.has(sort_by) ? isInstantKey(key) : isSqlText(key))
  )
)
export type ListCursor = typeof CursorContents.Type

const ListCursorText = Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(CursorContents)))
export const decodeListCursor = Schema.decodeUnknownOption(ListCursorText)
// Encoded without the checks, which cannot fail: what the database wrote, it reads back.
const encodeListCursor = Schema.encodeSync(
  Schema.StringFromBase64Url.pipe(Schema.decodeTo(Schema.fromJsonString(CursorFields)))
)

/** The sort and filters a cursor is made for, and must be used with. */
export interface ListShape {
  readonly sort_by: SortField
  readonly sort_order: SortOrder
  readonly priority: string | undefined
  readonly completed: boolean | undefined
}

/** The cursor of the page after `position`, for the same query. */
export const cursorAfter = (query: ListShape, position: KeysetPosition) =>
  encodeListCursor({
    v: 1,
    sort_by: query.sort_by,
    sort_order: query.sort_order,
    priority: query.priority ?? null,
    completed: query.completed ?? null,
    key: position.key,
    id: position.id
  })

/** Whether `cursor` continues this query: a position is only meaningful in the order it was taken in. */
export const cursorContinues = (cursor: ListCursor, query: ListShape) =>
  cursor.sort_by === query.sort_by &&
  cursor.sort_order === query.sort_order &&
  cursor.priority === (query.priority ?? null) &&
  cursor.completed === (query.completed ?? null)

/** A 422 in FastAPI's shape about one query parameter, as a schema failure there would answer. */
const queryIssue = (parameter: string, msg: string) => ValidationFailed.at(["query", parameter], msg)

export const INVALID_CURSOR = "Invalid cursor"
export const invalidCursor = () => queryIssue("cursor", INVALID_CURSOR)
export const cursorMismatch = () =>
  queryIssue("cursor", "Cursor was made for another sort_by, sort_order or filters; start again without it")
export const cursorWithOffset = () => queryIssue("offset", "offset must be 0 when a cursor is given")

/**
 * `cursor` as the query takes it: opaque text, checked to decode (else 422 at `query.cursor`). The
 * description sits on the text itself: OpenAPI describes query parameters by their encoded side.
 */
const CursorParameter = Schema.String.annotate({
  description: "The `next_cursor` of the previous page: the page after it, for the same query (same " +
    "sort_by, sort_order, priority and completed, else 422), at the same cost however far into the " +
    "list. With a cursor, `offset` must be 0 or absent."
}).check(Schema.makeFilter((text: string) => Option.isSome(decodeListCursor(text)), { message: INVALID_CURSOR }))

/** `GET /api/tasks` query. Enum-like parameters are strings so bad values answer the old 400. */
export const ListTasksQuery = Schema.Struct({
  priority: omittable(Schema.String),
  completed: omittable(QueryBoolean),
  limit: queryInt([atLeast(1), atMost(100)]).pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed(50))),
  offset: queryInt([atLeast(0)], {
    description: "Tasks to skip. Costs grow with it: to read far into a list, page with `cursor` instead."
  }).pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed(0))),
  sort_by: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("created_at"))),
  sort_order: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed("desc"))),
  cursor: omittable(CursorParameter)
})
export type ListTasksQuery = typeof ListTasksQuery.Type

/** A validated list request, as the repository takes it. */
export interface TaskListRequest {
  readonly priority: Priority | undefined
  readonly completed: boolean | undefined
  readonly limit: number
  /** 0 whenever `after` is given. */
  readonly offset: number
  readonly sortBy: SortField
  readonly sortOrder: SortOrder
  /** Keyset paging: the tasks after this position in the sort order. */
  readonly after: KeysetPosition | undefined
}

export class TaskPage extends Schema.Class<TaskPage>("TaskPage")(Schema.Struct({
  tasks: Schema.Array(Task),
  total_count: Schema.Finite.annotate({
    description: "All of the caller's tasks that match the filters, not only this page's"
  }),
  limit: Schema.Finite,
  offset: Schema.Finite,
  next_cursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as `cursor` (with the same query) for the next page; null when this page is the last"
  })
}).annotate({ identifier: "TaskPage" })) {}

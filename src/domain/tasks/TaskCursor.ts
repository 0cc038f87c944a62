/**
 * The cursors of a user's tasks, each format written once here: the task list's keyset cursor
 * (`cursor` / `next_cursor` of `GET /api/tasks` and ListTasks) with the instant key it carries,
 * and the change feed's position (`after` / `cursor` of WatchTasks). No server code: clients
 * import this.
 */
import { Schema } from "effect"
import { ValidationFailed } from "../Errors.js"
import { SORT_FIELDS, SORT_ORDERS, type SortField, type SortOrder } from "./TaskSort.js"

// ---------------------------------------------------------------------------------------------
// The list cursor (keyset pagination): a small JSON object naming the query it continues (sort and
// filters) and where the previous page ended (the last row's sort key and id). The key is content
// (a title, when sorting by title), so clients never see it: the service seals the JSON before it
// hands a cursor out and opens it when it comes back (infra/tasks/ListCursors.ts); to a client a
// cursor is opaque base64url text.

/** Where a page ended: the last row's sort key, as the repository renders it, and its id. */
export interface KeysetPosition {
  /** Title and priority as they are; an instant in `INSTANT_KEY_FORMAT`; null for a null due date. */
  readonly key: string | null
  readonly id: string
}

const INSTANT_FIELDS: ReadonlySet<string> = new Set<SortField>(["created_at", "updated_at", "due_datetime"])

/**
 * An instant as a sort key: PostgreSQL's text of it in UTC, `2026-01-01T12:00:00.000001Z AD`, or
 * an infinity. Text with microseconds: stored values (legacy rows, `now()` defaults) can have them,
 * and a key rounded to a JS Date's milliseconds would repeat or skip rows. Each part as `to_char`
 * writes it and as it is read back: the format is these parts, once.
 */
const INSTANT_KEY_PARTS: ReadonlyArray<readonly [toChar: string, pattern: string]> = [
  ["YYYY", "(\\d{4,6})"],
  ["-", "-"],
  ["MM", "(\\d{2})"],
  ["-", "-"],
  ["DD", "(\\d{2})"],
  ["\"T\"", "T"],
  ["HH24", "(\\d{2})"],
  [":", ":"],
  ["MI", "(\\d{2})"],
  [":", ":"],
  ["SS", "(\\d{2})"],
  [".", "\\."],
  ["US", "\\d{6}"],
  ["\"Z\"", "Z"],
  [" ", " "],
  ["BC", "(AD|BC)"]
]

/**
 * The `to_char` format the repository writes an instant's key with (of the instant `AT TIME ZONE
 * 'UTC'`; infinities as their text): `YYYY-MM-DD"T"HH24:MI:SS.US"Z" BC`.
 */
export const INSTANT_KEY_FORMAT = INSTANT_KEY_PARTS.map(([toChar]) => toChar).join("")

/** The key as read back: year, month, day, hour, minute, second and era captured. */
const INSTANT_KEY = new RegExp(`^${INSTANT_KEY_PARTS.map(([, pattern]) => pattern).join("")}$`)

/** PostgreSQL's first and last days of a timestamptz, as [astronomical year, month, day]. */
const FIRST_DAY = [-4_713, 11, 24]
const LAST_DAY = [294_276, 12, 31]

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
const daysInMonth = (year: number, month: number) =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31
const compareDays = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]

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
      : INSTANT_FIELDS.has(sort_by)
      ? isInstantKey(key)
      : isSqlText(key))
  )
)
export type ListCursor = typeof CursorContents.Type

/** A cursor's JSON, as it is sealed: what the list query can use, or nothing. */
export const decodeListCursorJson = Schema.decodeUnknownOption(Schema.fromJsonString(CursorContents))
// Encoded without the checks, which cannot fail: what the database wrote, it reads back.
export const encodeListCursorJson = Schema.encodeSync(Schema.fromJsonString(CursorFields))

/** The sort and filters a cursor is made for, and must be used with. */
export interface ListShape {
  readonly sort_by: SortField
  readonly sort_order: SortOrder
  readonly priority: string | undefined
  readonly completed: boolean | undefined
}

/** What the cursor of the page after `position` carries, for the same query. */
export const cursorAfter = (query: ListShape, position: KeysetPosition): ListCursor => ({
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
export const invalidListCursor = () => queryIssue("cursor", INVALID_CURSOR)
export const cursorMismatch = () =>
  queryIssue("cursor", "Cursor was made for another sort_by, sort_order or filters; start again without it")
export const cursorWithOffset = () => queryIssue("offset", "offset must be 0 when a cursor is given")

/**
 * The longest cursor the service hands out, with room: a 255-character title escaped to JSON, sealed,
 * in base64url. Anything longer is refused before any work is spent on it.
 */
export const MAX_LIST_CURSOR_LENGTH = 4096

const LIST_CURSOR_TEXT = /^[A-Za-z0-9_-]+$/

/**
 * `cursor` as the query takes it: opaque base64url text (else 422 at `query.cursor`); whether it
 * opens is for the service to say, with the same 422. The description sits on the text itself:
 * OpenAPI describes query parameters by their encoded side.
 */
export const ListCursorParameter = Schema.String.annotate({
  description: "The `next_cursor` of the previous page: the page after it, for the same query (same " +
    "sort_by, sort_order, priority and completed, else 422), at the same cost however far into the " +
    "list. With a cursor, `offset` must be 0 or absent."
}).check(
  Schema.makeFilter((text: string) => text.length <= MAX_LIST_CURSOR_LENGTH && LIST_CURSOR_TEXT.test(text), {
    message: INVALID_CURSOR
  })
)

// ---------------------------------------------------------------------------------------------
// The feed cursor: a position in the change feed (a `task_change` id, a PostgreSQL bigint).

/**
 * A position in the change feed, opaque to clients: pass back the last one received to resume
 * without missing or repeating a change. (A decimal string: a 64-bit id does not fit a JSON number.)
 */
export const TaskChangeCursor = Schema.String.annotate({
  identifier: "TaskChangeCursor",
  description: "A position in the change feed; resume by passing back the last one received"
})
export type TaskChangeCursor = typeof TaskChangeCursor.Type

/** What a valid feed cursor looks like; anything else is refused as a validation error. */
export const FEED_CURSOR_PATTERN = /^(0|[1-9][0-9]{0,18})$/

/** The largest bigint: a larger cursor would fail the query, not the request. */
const MAX_FEED_CURSOR = 9_223_372_036_854_775_807n

/** Whether `value` is a feed cursor the change feed can be read after. */
export const isFeedCursor = (value: string) => FEED_CURSOR_PATTERN.test(value) && BigInt(value) <= MAX_FEED_CURSOR

export const invalidFeedCursor = () =>
  ValidationFailed.at(["body", "after"], "Input should be a cursor received from WatchTasks")

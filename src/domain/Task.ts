/** Tasks: the stored shape, the request bodies and the list query, as the old backend had them. */
import { ParseResult, Schema } from "effect"
import { BadRequest } from "./Errors.js"

export const PRIORITIES = [
  "urgent_important",
  "not_urgent_important",
  "urgent_not_important",
  "not_urgent_not_important"
] as const
export const Priority = Schema.Literal(...PRIORITIES)
export type Priority = typeof Priority.Type

export const SORT_FIELDS = ["created_at", "updated_at", "due_datetime", "priority", "title"] as const
export type SortField = (typeof SORT_FIELDS)[number]
export const SORT_ORDERS = ["asc", "desc"] as const
export type SortOrder = (typeof SORT_ORDERS)[number]

/** Python's list repr, which the old backend put in its 400 messages. */
const pythonList = (values: ReadonlyArray<string>) => `[${values.map((v) => `'${v}'`).join(", ")}]`

/**
 * The old backend answered a bad enum value with a 400 and a message, not a 422: the schemas take
 * any string and these checks refuse it with the old wording.
 */
const oneOf = <const A extends string>(values: ReadonlyArray<A>) => (value: string): value is A =>
  (values as ReadonlyArray<string>).includes(value)

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

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

/** A task id: a UUID in any case, with or without hyphens, canonicalised as Python's `uuid.UUID` does. */
export const TaskId = Schema.transform(
  Schema.String.pipe(
    Schema.pattern(UUID_PATTERN, { message: () => "Input should be a valid UUID" })
  ),
  Schema.String.pipe(Schema.brand("TaskId")),
  {
    strict: true,
    decode: (s) => {
      const hex = s.replace(/-/g, "").toLowerCase()
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    },
    encode: (id) => id
  }
).annotations({ identifier: "TaskId", description: "A UUID" })
export type TaskId = typeof TaskId.Type

const ISO_DATETIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/
const HAS_OFFSET = /(?:Z|z|[+-]\d{2}(?::?\d{2})?)$/

/** An ISO 8601 instant from a request; a naive one (no offset) means UTC. */
export const InstantFromIso = Schema.transformOrFail(
  Schema.String.annotations({ description: "ISO 8601; without an offset it is read as UTC" }),
  Schema.DateFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const text = input.trim()
      const withTime = text.length > 10
      const normalised = ISO_DATETIME.test(text)
        ? withTime && !HAS_OFFSET.test(text) ? `${text.replace(" ", "T")}Z` : text.replace(" ", "T")
        : ""
      const date = new Date(normalised)
      return normalised === "" || Number.isNaN(date.getTime())
        ? ParseResult.fail(new ParseResult.Type(ast, input, "Input should be a valid datetime"))
        : ParseResult.succeed(date)
    },
    encode: (date) => ParseResult.succeed(date.toISOString())
  }
).annotations({ identifier: "DateTimeInput" })

/** Title: 1–255 characters once trimmed; stored trimmed. */
export const Title = Schema.Trim.pipe(
  Schema.minLength(1, { message: () => "String should have at least 1 character" }),
  Schema.maxLength(255, { message: () => "String should have at most 255 characters" })
)
export const Description = Schema.NullOr(
  Schema.String.pipe(Schema.maxLength(10_000, { message: () => "String should have at most 10000 characters" }))
)

/** A task as every endpoint answers it. */
export class Task extends Schema.Class<Task>("Task")({
  id: Schema.String,
  user_id: Schema.String,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  due_datetime: Schema.NullOr(Schema.Date),
  priority: Schema.String,
  is_completed: Schema.Boolean,
  created_at: Schema.Date,
  updated_at: Schema.Date
}) {}

/** `POST /api/tasks`. `priority` is any string here so a bad one answers the old 400. */
export const CreateTaskBody = Schema.Struct({
  title: Title,
  description: Schema.optional(Description),
  due_datetime: Schema.optional(Schema.NullOr(InstantFromIso)),
  priority: Schema.String,
  is_completed: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations({ identifier: "TaskCreate" })
export type CreateTaskBody = typeof CreateTaskBody.Type

/** `PUT /api/tasks/{task_id}`: only the fields present change. */
export const UpdateTaskBody = Schema.Struct({
  title: Schema.optional(Title),
  description: Schema.optional(Description),
  due_datetime: Schema.optional(Schema.NullOr(InstantFromIso)),
  priority: Schema.optional(Schema.String),
  is_completed: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "TaskUpdate" })
export type UpdateTaskBody = typeof UpdateTaskBody.Type

export const SetCompletedBody = Schema.Struct({ completed: Schema.Boolean }).annotations({
  identifier: "TaskComplete"
})

/** Query booleans as FastAPI read them. */
const QueryBoolean = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (s, _, ast) => {
    const v = s.toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return ParseResult.succeed(true)
    if (["false", "0", "no", "off"].includes(v)) return ParseResult.succeed(false)
    return ParseResult.fail(new ParseResult.Type(ast, s, "Input should be a valid boolean"))
  },
  encode: (b) => ParseResult.succeed(String(b))
})

const QueryInt = Schema.NumberFromString.pipe(
  Schema.annotations({ message: () => "Input should be a valid integer, unable to parse string as an integer" }),
  Schema.int({ message: () => "Input should be a valid integer, unable to parse string as an integer" })
)
// Typed for query numbers explicitly: left to inference outside a pipe, the filters' schema
// parameter widens to `Schema.Any` and the query's type to `any` (and its context to `unknown`).
type QueryNumber = Schema.Schema<number, string>
const atLeast = (min: number) =>
  Schema.greaterThanOrEqualTo<QueryNumber>(min, { message: () => `Input should be greater than or equal to ${min}` })
const atMost = (max: number) =>
  Schema.lessThanOrEqualTo<QueryNumber>(max, { message: () => `Input should be less than or equal to ${max}` })

/** `GET /api/tasks` query. Enum-like parameters are strings so bad values answer the old 400. */
export const ListTasksQuery = Schema.Struct({
  priority: Schema.optional(Schema.String),
  completed: Schema.optional(QueryBoolean),
  limit: Schema.optionalWith(QueryInt.pipe(atLeast(1), atMost(100)), { default: () => 50 }),
  offset: Schema.optionalWith(QueryInt.pipe(atLeast(0)), { default: () => 0 }),
  sort_by: Schema.optionalWith(Schema.String, { default: () => "created_at" }),
  sort_order: Schema.optionalWith(Schema.String, { default: () => "desc" })
})
export type ListTasksQuery = typeof ListTasksQuery.Type

/** A validated list request, as the repository takes it. */
export interface TaskListRequest {
  readonly priority: Priority | undefined
  readonly completed: boolean | undefined
  readonly limit: number
  readonly offset: number
  readonly sortBy: SortField
  readonly sortOrder: SortOrder
}

export class TaskPage extends Schema.Class<TaskPage>("TaskPage")({
  tasks: Schema.Array(Task),
  total_count: Schema.Number,
  limit: Schema.Number,
  offset: Schema.Number
}) {}

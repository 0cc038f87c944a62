/** Tasks: the stored shape, the request bodies and the list query, as the old backend had them. */
import { Effect, Schema, type SchemaAST, SchemaIssue, SchemaTransformation } from "effect"
import { booleanOfWord, oneOf, pythonList } from "../Choices.js"
import { BadRequest } from "../Errors.js"
import { isNulFree, omittable, Text } from "../Fields.js"
import { canonicalUuid, UUID_PATTERN } from "../Uuid.js"
import { type KeysetPosition, ListCursorParameter } from "./TaskCursor.js"
import { SORT_FIELDS, SORT_ORDERS, type SortField, type SortOrder } from "./TaskSort.js"

// The list's sort, where the list query is.
export { SORT_FIELDS, SORT_ORDERS, type SortField, type SortOrder } from "./TaskSort.js"

export const PRIORITIES = [
  "urgent_important",
  "not_urgent_important",
  "urgent_not_important",
  "not_urgent_not_important"
] as const
export const Priority = Schema.Literals(PRIORITIES)
export type Priority = typeof Priority.Type

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

/** A task id: a UUID in any case, with or without hyphens, canonicalised as Python's `uuid.UUID` does. */
export const TaskId = Schema.String.check(Schema.isPattern(UUID_PATTERN, { message: "Input should be a valid UUID" }))
  .annotate({ identifier: "TaskId", description: "A UUID" })
  .pipe(
    Schema.decodeTo(
      Schema.String.pipe(Schema.brand("TaskId")),
      SchemaTransformation.transform({
        decode: canonicalUuid,
        encode: (id) => id
      })
    )
  )
export type TaskId = typeof TaskId.Type

/** The path of `/api/tasks/:task_id`, which RPC procedures naming a task validate too. */
export const TaskPath = Schema.Struct({ task_id: TaskId })

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/
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
  isNulFree,
  Schema.isMinLength(1, { message: "String should have at least 1 character" }),
  Schema.isMaxLength(255, { message: "String should have at most 255 characters" })
)
export const Description = Schema.NullOr(
  Text.check(Schema.isMaxLength(10_000, { message: "String should have at most 10000 characters" }))
)

/** A task as every endpoint answers it (instants as ISO 8601 with milliseconds, in UTC). */
export class Task extends Schema.Class<Task>("Task")(
  Schema.Struct({
    id: Schema.String,
    user_id: Schema.String,
    title: Schema.String,
    description: Schema.NullOr(Schema.String),
    due_datetime: Schema.NullOr(Schema.Date),
    priority: Schema.String,
    is_completed: Schema.Boolean,
    created_at: Schema.Date,
    updated_at: Schema.Date
  }).annotate({ identifier: "Task" })
) {}

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

const invalidQueryValue = (message: string) => (input: string, options: SchemaAST.ParseOptions) =>
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
  cursor: omittable(ListCursorParameter)
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

export class TaskPage extends Schema.Class<TaskPage>("TaskPage")(
  Schema.Struct({
    tasks: Schema.Array(Task),
    total_count: Schema.Finite.annotate({
      description: "All of the caller's tasks that match the filters, not only this page's"
    }),
    limit: Schema.Finite,
    offset: Schema.Finite,
    next_cursor: Schema.NullOr(Schema.String).annotate({
      description: "Pass as `cursor` (with the same query) for the next page; null when this page is the last"
    })
  }).annotate({ identifier: "TaskPage" })
) {}

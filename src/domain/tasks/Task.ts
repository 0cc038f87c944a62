/** Tasks: the stored shape, the request bodies and the list query, as the old backend had them. */
import { Effect, Schema, type SchemaAST, SchemaIssue, SchemaTransformation } from "effect"
import { booleanOfWord, choice, oneOf, pythonList } from "../Choices.js"
import { BadRequest } from "../Errors.js"
import { Count, describedAs, Instant, isNulFree, omittable, Text } from "../Fields.js"
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

// The old backend answered a bad enum value with a 400 and a message, not a 422: the request
// schemas take any string (typed as the values, or an `UnlistedChoice`) and these checks refuse it
// with the old wording.
const PriorityChoice = choice(PRIORITIES)
const SortFieldChoice = choice(SORT_FIELDS)
const SortOrderChoice = choice(SORT_ORDERS)
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
export const Title = Schema.String.annotate({ description: "1–255 characters once trimmed; stored trimmed" }).check(
  describedAs({ minLength: 1, maxLength: 255, pattern: "\\S" })
).pipe(
  Schema.decodeTo(
    Schema.Trimmed.check(
      isNulFree,
      Schema.isMinLength(1, { message: "String should have at least 1 character" }),
      Schema.isMaxLength(255, { message: "String should have at most 255 characters" })
    ),
    SchemaTransformation.trim()
  )
)
export const Description = Schema.NullOr(
  Text.check(Schema.isMaxLength(10_000, { message: "String should have at most 10000 characters" }))
)

/**
 * A task as every endpoint answers it (instants as ISO 8601 with milliseconds, in UTC). A struct,
 * not a class: a page's rows are handed on as they are read, without a constructor per task.
 */
export const Task = Schema.Struct({
  id: TaskId,
  user_id: Schema.String,
  title: Schema.String,
  description: Schema.NullOr(Schema.String),
  due_datetime: Schema.NullOr(Instant),
  priority: Priority,
  is_completed: Schema.Boolean,
  created_at: Instant,
  updated_at: Instant
}).annotate({ identifier: "Task" })
export type Task = typeof Task.Type

/** What a create body leaves out: the task is stored (and its retries compared) with these. */
export const CREATE_DEFAULTS = { is_completed: false } as const

/** `POST /api/tasks`. `priority` takes any string so a bad one answers the old 400. */
export const CreateTaskBody = Schema.Struct({
  title: Title,
  description: omittable(Description),
  due_datetime: omittable(Schema.NullOr(InstantFromIso)),
  priority: PriorityChoice,
  // Optional in the type too, so a client may leave it out: `withCreateDefaults` fills it in.
  is_completed: omittable(Schema.Boolean.annotate({ default: CREATE_DEFAULTS.is_completed }))
}).annotate({ identifier: "TaskCreate" })
export type CreateTaskBody = typeof CreateTaskBody.Type

/** A create body with what it left out filled in. */
export const withCreateDefaults = (body: CreateTaskBody) => ({
  ...body,
  is_completed: body.is_completed ?? CREATE_DEFAULTS.is_completed
})

/** `PUT /api/tasks/{task_id}`: only the fields present change. */
export const UpdateTaskBody = Schema.Struct({
  title: omittable(Title),
  description: omittable(Description),
  due_datetime: omittable(Schema.NullOr(InstantFromIso)),
  priority: omittable(PriorityChoice),
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
 * an integer answers FastAPI's message. `annotations` document the parameter, on the number it is
 * read as (OpenAPI describes the list's parameters by their decoded side: see Api.ts).
 */
const queryInt = (
  checks: ReadonlyArray<SchemaAST.Check<number>>,
  annotations: { readonly description?: string; readonly default?: number } = {}
) =>
  Schema.String.pipe(
    Schema.decodeTo(
      Schema.Number.check(Schema.isInt({ message: INVALID_INTEGER }), ...checks).annotate(annotations),
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

/** What a list query leaves out (the old backend's defaults). */
export const LIST_DEFAULTS = { limit: 50, offset: 0, sort_by: "created_at", sort_order: "desc" } as const satisfies {
  readonly limit: number
  readonly offset: number
  readonly sort_by: SortField
  readonly sort_order: SortOrder
}

/**
 * `GET /api/tasks` query. Enum-like parameters take any string so bad values answer the old 400.
 * Every parameter is optional in the type too, so a client may leave any out: the service applies
 * `LIST_DEFAULTS`.
 */
export const ListTasksQuery = Schema.Struct({
  priority: omittable(PriorityChoice),
  completed: omittable(QueryBoolean),
  limit: omittable(queryInt([atLeast(1), atMost(100)], { default: LIST_DEFAULTS.limit })),
  offset: omittable(queryInt([atLeast(0)], {
    description: "Tasks to skip. Costs grow with it: to read far into a list, page with `cursor` instead.",
    default: LIST_DEFAULTS.offset
  })),
  sort_by: omittable(SortFieldChoice.annotate({ default: LIST_DEFAULTS.sort_by })),
  sort_order: omittable(SortOrderChoice.annotate({ default: LIST_DEFAULTS.sort_order })),
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

export const TaskPage = Schema.Struct({
  tasks: Schema.Array(Task),
  total_count: Count.annotate({
    description: "All of the caller's tasks that match the filters, not only this page's"
  }),
  limit: Count,
  offset: Count,
  next_cursor: Schema.NullOr(Schema.String).annotate({
    description: "Pass as `cursor` (with the same query) for the next page; null when this page is the last"
  })
}).annotate({ identifier: "TaskPage" })
export type TaskPage = typeof TaskPage.Type

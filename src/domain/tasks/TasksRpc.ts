/**
 * The tasks group of the internal RPC contract (`POST /rpc`, NDJSON): the task operations, the
 * caller's profile and a change feed, for internal TypeScript clients. The server implements it
 * (src/http/rpc/RpcHandlers.ts) and `RpcClient.make(TasksRpc)` turns it into a typed client. No
 * server code is imported here.
 *
 * Payloads are the REST request in JSON form (a task body as `POST /api/tasks` takes it, instants
 * as ISO 8601 strings). The RPC layer only checks their shape, which a TypeScript client cannot get
 * wrong; the values are validated by the server with the REST API's own schemas, so a bad title or
 * task id is the same `ValidationFailed` (same `loc`, `msg`, `type`) over both transports, and a
 * typed error here rather than a defect.
 */
import { Schema } from "effect"
import { Rpc, RpcGroup, RpcMiddleware } from "effect/rpc"
import { CurrentCaller } from "../auth/AuthApi.js"
import { User } from "../auth/User.js"
import { BadRequest, RateLimited, ServiceUnavailable, TaskNotFound, Unauthorized, ValidationFailed } from "../Errors.js"
import { omittable } from "../Fields.js"
import { IdempotencyKeyReused } from "./Idempotency.js"
import { CreateTaskBody, Task, TaskPage, UpdateTaskBody } from "./Task.js"
import { CursorExpired, TaskChangeCursor, TaskFeedEvent, WatchLimitReached } from "./TaskChange.js"

/**
 * A call refused by the RPC budgets, before it ran: its request carries more calls than
 * RPC_MAX_CALLS_PER_REQUEST (then none of them runs), or its user already has
 * RPC_MAX_IN_FLIGHT_PER_USER calls running. `limit` is the bound: send fewer at once, then retry.
 */
export class RpcLimitReached extends Schema.TaggedError<RpcLimitReached>()("RpcLimitReached", {
  detail: Schema.Literals(["Too many calls in one request", "Too many calls in flight"]),
  error_code: Schema.Literals(["too_many_calls", "too_many_calls_in_flight"]),
  limit: Schema.Int
}) {
  static readonly perRequest = (limit: number) =>
    new RpcLimitReached({ detail: "Too many calls in one request", error_code: "too_many_calls", limit })
  static readonly inFlight = (limit: number) =>
    new RpcLimitReached({ detail: "Too many calls in flight", error_code: "too_many_calls_in_flight", limit })
}

/**
 * Bearer authentication of every procedure, with the same access token as REST. The server side
 * verifies it (and counts the call against the per-user API rate limit and the per-user RPC
 * budget); the client side sets the `Authorization` header (see src/client).
 */
export class RpcAuthentication extends RpcMiddleware.Service<RpcAuthentication, { provides: CurrentCaller }>()(
  "RpcAuthentication",
  {
    error: Schema.Union([Unauthorized, RateLimited, RpcLimitReached, ServiceUnavailable]),
    requiredForClient: true
  }
) {}

/** A task's id as REST has it in the path: a UUID, checked by the server (422 at `path.task_id`). */
const TaskRef = { id: Schema.String }

/** `GET /api/tasks` options, with numbers and booleans as such; all optional, REST's defaults apply. */
export const ListTasksPayload = Schema.Struct({
  priority: omittable(Schema.String),
  completed: omittable(Schema.Boolean),
  limit: omittable(Schema.Number),
  offset: omittable(Schema.Number),
  sort_by: omittable(Schema.String),
  sort_order: omittable(Schema.String),
  /** A page's `next_cursor`: the page after it, for the same query (keyset paging). */
  cursor: omittable(Schema.String)
})
export type ListTasksPayload = typeof ListTasksPayload.Type

/** A `CreateTaskBody` field as its JSON has it, still omittable when the body's field is. */
const taskBodyField = {
  title: Schema.String,
  description: omittable(Schema.NullOr(Schema.String)),
  due_datetime: omittable(Schema.NullOr(Schema.String))
}

/** A `POST /api/tasks` body (`CreateTaskBody`'s JSON), plus the `Idempotency-Key` REST takes as a header. */
export const CreateTaskPayload = Schema.Struct({
  ...taskBodyField,
  priority: Schema.String,
  is_completed: omittable(Schema.Boolean),
  idempotency_key: omittable(Schema.String)
})
export type CreateTaskPayload = typeof CreateTaskPayload.Type

/** A `PUT /api/tasks/{task_id}` body (`UpdateTaskBody`'s JSON) and the task's id: only the fields present change. */
export const UpdateTaskPayload = Schema.Struct({
  ...TaskRef,
  title: omittable(taskBodyField.title),
  description: taskBodyField.description,
  due_datetime: taskBodyField.due_datetime,
  priority: omittable(Schema.String),
  is_completed: omittable(Schema.Boolean)
})
export type UpdateTaskPayload = typeof UpdateTaskPayload.Type

type Same<A, B> = [A] extends [B] ? [B] extends [A] ? true : false : false
type Holds<Check extends true> = Check

/**
 * The payloads are the REST bodies' JSON: whatever a client can send as one, it can send as the
 * other. (A compile-time check, so the two cannot drift apart.)
 */
export type PayloadsMatchBodies = [
  Holds<Same<Omit<CreateTaskPayload, "idempotency_key">, typeof CreateTaskBody.Encoded>>,
  Holds<Same<Omit<UpdateTaskPayload, "id">, typeof UpdateTaskBody.Encoded>>
]

export const WatchTasksPayload = Schema.Struct({
  /** Deliver the changes after this cursor; without one, the changes from the subscription on. */
  after: omittable(TaskChangeCursor)
})
export type WatchTasksPayload = typeof WatchTasksPayload.Type

export class TasksRpc extends RpcGroup.make(
  Rpc.make("ListTasks", {
    payload: ListTasksPayload,
    success: TaskPage,
    error: Schema.Union([BadRequest, ValidationFailed, ServiceUnavailable])
  }),
  Rpc.make("GetTask", {
    payload: TaskRef,
    success: Task,
    error: Schema.Union([TaskNotFound, ValidationFailed, ServiceUnavailable])
  }),
  Rpc.make("CreateTask", {
    payload: CreateTaskPayload,
    success: Task,
    error: Schema.Union([BadRequest, ValidationFailed, IdempotencyKeyReused, ServiceUnavailable])
  }),
  Rpc.make("UpdateTask", {
    payload: UpdateTaskPayload,
    success: Task,
    error: Schema.Union([TaskNotFound, BadRequest, ValidationFailed, ServiceUnavailable])
  }),
  Rpc.make("SetTaskCompleted", {
    payload: { ...TaskRef, completed: Schema.Boolean },
    success: Task,
    error: Schema.Union([TaskNotFound, ValidationFailed, ServiceUnavailable])
  }),
  Rpc.make("DeleteTask", {
    payload: TaskRef,
    error: Schema.Union([TaskNotFound, ValidationFailed, ServiceUnavailable])
  }),
  Rpc.make("CurrentUser", { success: User }),
  /**
   * The caller's task changes, in order, as they happen (REST and RPC alike, on any instance).
   * Ends with `Unauthorized` once the access token expires or its session ends (checked at each
   * heartbeat), and with `ServiceUnavailable` when the instance shuts down or loses its database:
   * reconnect (with a fresh token) from the last cursor received.
   */
  Rpc.make("WatchTasks", {
    payload: WatchTasksPayload,
    success: TaskFeedEvent,
    error: Schema.Union([CursorExpired, WatchLimitReached, ValidationFailed, Unauthorized, ServiceUnavailable]),
    stream: true
  })
).middleware(RpcAuthentication) {}

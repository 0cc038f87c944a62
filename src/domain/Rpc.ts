/**
 * The internal RPC contract (`POST /rpc`, NDJSON): the task operations, the caller's profile and a
 * change feed, for internal TypeScript clients. The server implements it (src/http/RpcHandlers.ts)
 * and `RpcClient.make(TasksRpc)` turns it into a typed client. No server code is imported here.
 *
 * Payloads are the REST request in JSON form (a task body as `POST /api/tasks` takes it, instants
 * as ISO 8601 strings). The RPC layer only checks their shape, which a TypeScript client cannot get
 * wrong; the values are validated by the server with the REST API's own schemas, so a bad title or
 * task id is the same `ValidationFailed` (same `loc`, `msg`, `type`) over both transports, and a
 * typed error here rather than a defect.
 */
import { Rpc, RpcGroup, RpcMiddleware } from "@effect/rpc"
import { Schema } from "effect"
import { CurrentCaller } from "./Api.js"
import {
  BadRequest,
  RateLimited,
  ServiceUnavailable,
  TaskNotFound,
  Unauthorized,
  ValidationFailed
} from "./Errors.js"
import { IdempotencyKeyReused } from "./Idempotency.js"
import { CreateTaskBody, Task, TaskPage, UpdateTaskBody } from "./Task.js"
import { CursorExpired, TaskChangeCursor, TaskFeedEvent } from "./TaskChange.js"
import { User } from "./User.js"

/**
 * Bearer authentication of every procedure, with the same access token as REST. The server side
 * verifies it (and counts the call against the per-user API rate limit); the client side sets the
 * `Authorization` header (see src/client).
 */
export class RpcAuthentication extends RpcMiddleware.Tag<RpcAuthentication>()("RpcAuthentication", {
  provides: CurrentCaller,
  failure: Schema.Union(Unauthorized, RateLimited, ServiceUnavailable),
  requiredForClient: true
}) {}

/** A task's id as REST has it in the path: a UUID, checked by the server (422 at `path.task_id`). */
const TaskRef = { id: Schema.String }

/** `GET /api/tasks` options, with numbers and booleans as such; all optional, REST's defaults apply. */
export const ListTasksPayload = Schema.Struct({
  priority: Schema.optional(Schema.String),
  completed: Schema.optional(Schema.Boolean),
  limit: Schema.optional(Schema.Number),
  offset: Schema.optional(Schema.Number),
  sort_by: Schema.optional(Schema.String),
  sort_order: Schema.optional(Schema.String),
  /** A page's `next_cursor`: the page after it, for the same query (keyset paging). */
  cursor: Schema.optional(Schema.String)
})
export type ListTasksPayload = typeof ListTasksPayload.Type

/** A `POST /api/tasks` body, plus the `Idempotency-Key` REST takes as a header. */
export const CreateTaskPayload = Schema.extend(
  Schema.encodedSchema(CreateTaskBody),
  Schema.Struct({ idempotency_key: Schema.optional(Schema.String) })
)
export type CreateTaskPayload = typeof CreateTaskPayload.Type

/** A `PUT /api/tasks/{task_id}` body and the task's id: only the fields present change. */
export const UpdateTaskPayload = Schema.extend(Schema.encodedSchema(UpdateTaskBody), Schema.Struct(TaskRef))
export type UpdateTaskPayload = typeof UpdateTaskPayload.Type

export const WatchTasksPayload = Schema.Struct({
  /** Deliver the changes after this cursor; without one, the changes from the subscription on. */
  after: Schema.optional(TaskChangeCursor)
})
export type WatchTasksPayload = typeof WatchTasksPayload.Type

export class TasksRpc extends RpcGroup.make(
  Rpc.make("ListTasks", {
    payload: ListTasksPayload,
    success: TaskPage,
    error: Schema.Union(BadRequest, ValidationFailed, ServiceUnavailable)
  }),
  Rpc.make("GetTask", {
    payload: TaskRef,
    success: Task,
    error: Schema.Union(TaskNotFound, ValidationFailed, ServiceUnavailable)
  }),
  Rpc.make("CreateTask", {
    payload: CreateTaskPayload,
    success: Task,
    error: Schema.Union(BadRequest, ValidationFailed, IdempotencyKeyReused, ServiceUnavailable)
  }),
  Rpc.make("UpdateTask", {
    payload: UpdateTaskPayload,
    success: Task,
    error: Schema.Union(TaskNotFound, BadRequest, ValidationFailed, ServiceUnavailable)
  }),
  Rpc.make("SetTaskCompleted", {
    payload: { ...TaskRef, completed: Schema.Boolean },
    success: Task,
    error: Schema.Union(TaskNotFound, ValidationFailed, ServiceUnavailable)
  }),
  Rpc.make("DeleteTask", {
    payload: TaskRef,
    error: Schema.Union(TaskNotFound, ValidationFailed, ServiceUnavailable)
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
    error: Schema.Union(CursorExpired, ValidationFailed, Unauthorized, ServiceUnavailable),
    stream: true
  })
).middleware(RpcAuthentication) {}

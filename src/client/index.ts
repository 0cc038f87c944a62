/**
 * `@tasks-api/client` (packages/client, built from here): everything an internal TypeScript client
 * needs, and no server code — the RPC group and REST API definitions, their schemas and typed
 * errors, and ready clients of both. (test/rpc/rpc-client-entry.test.ts checks that nothing under
 * src/http, src/infra or a server-only package is reachable from here.)
 */
export { type AccessToken, type TasksClientOptions } from "./AccessToken.js"
export { makeTasksRestClient, TasksRestClient, type TasksRestClientShape } from "./TasksRestClient.js"
export {
  makeTasksRpcClient,
  rpcAuthenticationClient,
  TasksRpcClient,
  type TasksRpcClientShape
} from "./TasksRpcClient.js"

export { Api } from "../domain/Api.js"
export * from "../domain/auth/Auth.js"
export { AuthApi } from "../domain/auth/AuthApi.js"
export { User } from "../domain/auth/User.js"
export { UnlistedChoice } from "../domain/Choices.js"
export * from "../domain/Errors.js"
export { HealthApi } from "../domain/health/HealthApi.js"
export * from "../domain/Rpc.js"
export { IdempotencyKeyReused } from "../domain/tasks/Idempotency.js"
export {
  CREATE_DEFAULTS,
  CreateTaskBody,
  LIST_DEFAULTS,
  ListTasksQuery,
  PRIORITIES,
  Priority,
  SORT_FIELDS,
  SORT_ORDERS,
  type SortField,
  type SortOrder,
  Task,
  TaskId,
  TaskPage,
  UpdateTaskBody
} from "../domain/tasks/Task.js"
export * from "../domain/tasks/TaskChange.js"
export { TasksApi } from "../domain/tasks/TasksApi.js"

/** How an RPC call fails when the transport does (unreachable server, a non-RPC answer, …). */
export { RpcClientError } from "effect/rpc/RpcClientError"

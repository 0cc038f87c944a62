/**
 * The internal RPC contract (`POST /rpc`, NDJSON), for internal TypeScript clients: each feature's
 * RpcGroup with its payloads and the middleware its procedures carry. One group today, the tasks
 * group (src/domain/tasks/TasksRpc.ts); a second one would be merged in here. The server serves it
 * (src/http/rpc/RpcServer.ts) and `RpcClient.make(TasksRpc)` turns it into a typed client. No server
 * code is imported here.
 */
export {
  CreateTaskPayload,
  ListTasksPayload,
  RpcAuthentication,
  RpcLimitReached,
  TasksRpc,
  UpdateTaskPayload,
  WatchTasksPayload
} from "./tasks/TasksRpc.js"

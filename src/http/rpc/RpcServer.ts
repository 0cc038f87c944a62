/**
 * `POST /rpc`: the `TasksRpc` group over HTTP, NDJSON framed (a stream's elements are written as
 * they come). It is a route of the REST API's router, so it shares the server and everything
 * around the API: the edge (request id, CORS, shutdown drain), the body limit and REQUEST_TIMEOUT
 * (until the first response bytes), and the same domain services.
 */
import { Layer } from "effect"
import { RpcSerialization, RpcServer } from "effect/rpc"
import { TasksRpc } from "../../domain/Rpc.js"
import { RPC_PATH } from "../edge/Routes.js"
import { RpcAuthenticationLive } from "./RpcAuthentication.js"
import { RpcHandlersLive } from "./RpcHandlers.js"

/** Registers `POST /rpc` on the provided `HttpRouter` (the one the REST API is served from). */
export const RpcHttpLive = RpcServer.layerHttp({
  group: TasksRpc,
  path: RPC_PATH,
  protocol: "http",
  spanPrefix: "Rpc",
  // Not fatal: by default a defect ends every call of the client that made it (a protocol
  // error), where it should only fail its own call (see RpcFailures.ts).
  disableFatalDefects: true
}).pipe(
  Layer.provide([RpcHandlersLive, RpcAuthenticationLive, RpcSerialization.layerNdjson])
)

/**
 * `POST /rpc`: the `TasksRpc` group over HTTP, NDJSON framed (a stream's elements are written as
 * they come). It is a route of the REST API's router, so it shares the server and everything
 * around the API: the edge (request id, CORS, shutdown drain), the body limit and REQUEST_TIMEOUT
 * (until the first response bytes), and the same domain services.
 */
import { HttpApiBuilder } from "@effect/platform"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Layer } from "effect"
import { TasksRpc } from "../domain/Rpc.js"
import { TaskChangeRepoLive } from "../infra/TaskChangeRepo.js"
import { RPC_PATH } from "./Routes.js"
import { RpcAuthenticationLive } from "./RpcAuthentication.js"
import { RpcHandlersLive } from "./RpcHandlers.js"
import { TaskFeedLive } from "./TaskFeed.js"

export const RpcHttpLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    // Not fatal: by default a defect ends every call of the client that made it (a protocol
    // error), where it should only fail its own call (see RpcFailures.ts).
    const app = yield* RpcServer.toHttpApp(TasksRpc, { spanPrefix: "Rpc", disableFatalDefects: true })
    yield* router.post(RPC_PATH, app)
  })
).pipe(
  Layer.provide([RpcHandlersLive, RpcAuthenticationLive, RpcSerialization.layerNdjson]),
  Layer.provide(TaskFeedLive),
  Layer.provide(TaskChangeRepoLive)
)

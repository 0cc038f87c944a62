/**
 * `POST /rpc`: the `TasksRpc` group over HTTP, NDJSON framed (a stream's elements are written as
 * they come). It is a route of the REST API's router, so it shares the server and everything
 * around the API: the edge (request id, CORS, shutdown drain), the body limit and REQUEST_TIMEOUT
 * (until the first response bytes), and the same domain services. The transport is ours
 * (RpcHttpProtocol.ts): it checks each body's messages and bounds the calls of each request.
 */
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { type RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import { TasksRpc } from "../../domain/Rpc.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { RPC_PATH } from "../edge/Routes.js"
import { taskJson, taskPageJson } from "../tasks/TaskJson.js"
import type { AnswerWriters } from "./RpcAnswers.js"
import { RpcAuthenticationLive } from "./RpcAuthentication.js"
import { RpcHandlersLive } from "./RpcHandlers.js"
import { makeRpcHttpProtocol } from "./RpcHttpProtocol.js"

/** The task answers, written as REST writes them (RpcAnswers.ts): a page costs no schema walk. */
const answerWriters: AnswerWriters<RpcGroup.Rpcs<typeof TasksRpc>> = {
  ListTasks: taskPageJson,
  GetTask: taskJson,
  CreateTask: taskJson,
  UpdateTask: taskJson,
  SetTaskCompleted: taskJson
}

/** The transport, registered as `POST /rpc` on the provided `HttpRouter` (the REST API's). */
const RpcProtocolLive = Layer.effect(
  RpcServer.Protocol,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const { httpEffect, protocol } = yield* makeRpcHttpProtocol(TasksRpc.requests, {
      maxCallsPerRequest: config.rpcMaxCallsPerRequest,
      maxInFlightPerRequest: config.rpcMaxInFlightPerRequest
    }, answerWriters)
    const router = yield* HttpRouter.HttpRouter
    yield* router.add("POST", RPC_PATH, httpEffect)
    return protocol
  })
).pipe(Layer.provide(RpcSerialization.layerNdjson))

export const RpcHttpLive = RpcServer.layer(TasksRpc, {
  spanPrefix: "Rpc",
  // Not fatal: by default a defect ends every call of the client that made it (a protocol
  // error), where it should only fail its own call (see RpcFailures.ts).
  disableFatalDefects: true
}).pipe(
  Layer.provide([RpcProtocolLive, RpcHandlersLive, RpcAuthenticationLive])
)

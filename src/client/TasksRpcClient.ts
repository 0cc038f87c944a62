/**
 * A ready `effect/rpc` client of `TasksRpc` over HTTP (`POST /rpc`, NDJSON): typed procedures,
 * typed errors (matched by `_tag`), and `WatchTasks` as a `Stream`.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { FetchHttpClient, Headers, HttpClient, HttpClientRequest } from "effect/http"
import { RpcClient, type RpcClientError, type RpcGroup, RpcMiddleware, RpcSerialization } from "effect/rpc"
import { RpcAuthentication, TasksRpc } from "../domain/Rpc.js"
import { type AccessToken, currentToken, type TasksClientOptions } from "./AccessToken.js"

/** The client: one method per procedure; transport failures are `RpcClientError`. */
export type TasksRpcClientShape = RpcClient.RpcClient<RpcGroup.Rpcs<typeof TasksRpc>, RpcClientError.RpcClientError>

/** The client half of `RpcAuthentication`: puts `Authorization: Bearer <token>` on every call. */
export const rpcAuthenticationClient = (accessToken: AccessToken | undefined) =>
  RpcMiddleware.layerClient(RpcAuthentication, ({ next, request }) =>
    accessToken === undefined
      ? next(request)
      : Effect.flatMap(currentToken(accessToken), (token) =>
        next({ ...request, headers: Headers.set(request.headers, "authorization", `Bearer ${token}`) })))

export const rpcUrl = (baseUrl: string) => `${baseUrl.replace(/\/+$/, "")}/rpc`

/**
 * The client on the given HttpClient, for the scope. An answer that is not 2xx (a proxy's 502, a
 * 413 for an oversized payload, a wrong `baseUrl`) fails the call with an `RpcClientError` instead
 * of being read as an empty stream of messages (which would leave the call waiting forever).
 */
export const makeTasksRpcClient = (
  options: TasksClientOptions
): Effect.Effect<TasksRpcClientShape, never, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.filterStatusOk,
      // The protocol posts to "" and the endpoint is exactly `/rpc`: `prependUrl` would join the
      // two with a slash (`/rpc/`) in Effect 4, a path no route template names.
      HttpClient.mapRequest(HttpClientRequest.setUrl(rpcUrl(options.baseUrl)))
    )
    const protocol = yield* RpcClient.makeProtocolHttp(http).pipe(
      Effect.provideService(RpcSerialization.RpcSerialization, RpcSerialization.ndjson)
    )
    const authentication = yield* Layer.build(rpcAuthenticationClient(options.accessToken))
    return yield* RpcClient.make(TasksRpc).pipe(
      Effect.provideService(RpcClient.Protocol, protocol),
      Effect.provideContext(authentication)
    )
  })

export class TasksRpcClient extends Context.Service<TasksRpcClient, TasksRpcClientShape>()(
  "tasks-api/TasksRpcClient"
) {
  /** A ready client over `fetch` (Node ≥ 20, browsers, Deno, Bun). */
  static readonly layer = (options: TasksClientOptions): Layer.Layer<TasksRpcClient> =>
    Layer.effect(TasksRpcClient, makeTasksRpcClient(options)).pipe(Layer.provide(FetchHttpClient.layer))
}

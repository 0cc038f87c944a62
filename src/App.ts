/** The HTTP server: the REST API, its OpenAPI description and docs page, on Node's http server. */
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder, OpenApi } from "effect/http-api"
import { Api } from "./domain/Api.js"
import { AuthHttpLive } from "./http/auth/AuthHttp.js"
import { DocsLive } from "./http/edge/DocsHttp.js"
import { connectionMiddleware, edgeMiddleware } from "./http/edge/Edge.js"
import { apiErrorMiddleware, ApiErrorsLive } from "./http/edge/Errors.js"
import { GracefulShutdownLive, nodeServerLayer } from "./http/edge/GracefulShutdown.js"
import { HealthHttpLive } from "./http/edge/HealthHttp.js"
import { HealthPortLive } from "./http/edge/HealthPort.js"
import { Lifecycle, LifecycleLive } from "./http/edge/Lifecycle.js"
import { makeRequestDeadlines } from "./http/edge/RequestDeadlines.js"
import { OPENAPI_PATH, ROUTER_CONFIG } from "./http/edge/Routes.js"
import { ServerSpanNamesLive } from "./http/edge/ServerSpans.js"
import { RpcHttpLive } from "./http/rpc/RpcServer.js"
import { TasksHttpLive } from "./http/tasks/TasksHttp.js"
import { AccountsLive } from "./infra/auth/Accounts.js"
import { SessionsLive } from "./infra/auth/Sessions.js"
import { AppConfig } from "./infra/platform/Config.js"
import { DatabaseLive } from "./infra/platform/Database.js"
import { RateLimitsLive } from "./infra/platform/RateLimits.js"
import { TelemetryLive } from "./infra/platform/Telemetry.js"
import { SERVICE_VERSION } from "./infra/platform/Version.js"
import { TasksLive } from "./infra/tasks/Tasks.js"

/**
 * Each feature's services on a migrated database, built beneath the server so that the port opens only once
 * they are up (a Redis store is waited for here). Each layer provides its own dependencies where it is
 * declared, and the HTTP layers provide these same constants: `serve` builds with a memo map forked from this
 * build's, so they get the instances built here (one AccessChecks cache, rate-limit store, hashing pool, key set).
 */
export const ServicesLive = Layer.mergeAll(AccountsLive, SessionsLive, TasksLive, RateLimitsLive).pipe(
  Layer.provideMerge(DatabaseLive)
)

/** The API as served: the domain's, described with the service's version (package.json's). */
const ServedApi = Api.annotate(OpenApi.Version, SERVICE_VERSION)

/** The REST API's routes and `/openapi.json`: each feature's handlers, under the API's own error middleware. */
const ApiLive = HttpApiBuilder.layer(ServedApi, { openapiPath: OPENAPI_PATH }).pipe(
  Layer.provide([TasksHttpLive, AuthHttpLive, HealthHttpLive]),
  Layer.provide(ApiErrorsLive)
)

/**
 * Around every route and the route lookup (so unknown paths too): the edge, and inside it the
 * one error mapping, so the mapper's log lines carry the request's annotations.
 */
const EdgeLive = HttpRouter.middleware(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const deadlines = yield* makeRequestDeadlines(config.requestTimeout)
    const edge = edgeMiddleware(config, yield* Lifecycle, deadlines)
    const errors = yield* apiErrorMiddleware
    return (app) => edge(errors(app))
  }),
  { global: true }
)

/**
 * Node's HTTP server on `listen` (default `HOST`:`PORT`), held (as `NodeServer`) for the shutdown
 * drain, with the Lifecycle its front counts requests in: beneath the HTTP layers, so that they,
 * the drain and the tests share the one instance.
 */
export const nodeServerOn = (listen?: { readonly host: string; readonly port: number }) =>
  Layer.unwrap(Effect.map(AppConfig, ({ host, port }) => nodeServerLayer(listen ?? { host, port }))).pipe(
    Layer.provideMerge(LifecycleLive)
  )

export const NodeServerLive = nodeServerOn()

/**
 * Serves the API on the provided server. The port opens once the services are up, but before the routes
 * here are built: the front answers `503 not_ready` until the router's handler is attached (Front.ts).
 */
export const HttpLive = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* AppConfig
    return HttpRouter.serve(
      // `POST /rpc` (internal RPC): a route of the same router, so the same edge and error mapping.
      Layer.mergeAll(ApiLive, DocsLive, RpcHttpLive, EdgeLive),
      {
        // The edge writes the access line.
        disableLogger: true,
        middleware: connectionMiddleware(config)
      }
    )
  })
).pipe(
  // Server spans are named by route template (the server's tracer middleware makes them).
  Layer.provide(ServerSpanNamesLive),
  // The router matches by the rules the route templates of logs, metrics and spans are found by.
  Layer.provide(Layer.succeed(HttpRouter.RouterConfig, ROUTER_CONFIG))
)

/** The whole service given its configuration; on the way down it drains before anything closes. */
export const AppLive = GracefulShutdownLive.pipe(
  Layer.provide(HttpLive),
  Layer.provide(NodeServerLive),
  // Up from the start (migrations included): it answers liveness, not readiness.
  Layer.merge(HealthPortLive),
  Layer.provide(ServicesLive),
  // Beneath everything: its tracer and header redaction reach every layer and request built after it.
  Layer.provide(TelemetryLive)
)

/** The HTTP server: the REST API, its OpenAPI description and docs page, on Node's http server. */
import { HttpApiBuilder, HttpApiScalar, HttpMiddleware, HttpServer } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Api } from "../domain/Api.js"
import { AccessChecksLive } from "../infra/AccessChecks.js"
import { AccountsLive } from "../infra/Accounts.js"
import { AppConfig } from "../infra/Config.js"
import { DatabaseLive } from "../infra/Database.js"
import { IdempotencyRepoLive } from "../infra/IdempotencyRepo.js"
import { PasswordHasherLive } from "../infra/PasswordHasher.js"
import { RateLimitsLive } from "../infra/RateLimits.js"
import { SessionRepoLive } from "../infra/SessionRepo.js"
import { SessionsLive } from "../infra/Sessions.js"
import { TelemetryLive } from "../infra/Telemetry.js"
import { TaskRepoLive } from "../infra/TaskRepo.js"
import { TasksLive } from "../infra/Tasks.js"
import { TokensLive } from "../infra/Tokens.js"
import { UserRepoLive } from "../infra/UserRepo.js"
import { AuthenticationLive } from "./Authentication.js"
import { AuthHttpLive } from "./AuthHttp.js"
import { edgeMiddleware } from "./Edge.js"
import { apiErrorMiddleware } from "./Errors.js"
import { GracefulShutdownLive, nodeServerLayer } from "./GracefulShutdown.js"
import { HealthHttpLive } from "./HealthHttp.js"
import { Lifecycle, LifecycleLive } from "./Lifecycle.js"
import { makeRequestDeadlines } from "./RequestDeadlines.js"
import { DOCS_PATH, OPENAPI_PATH } from "./Routes.js"
import { RpcHttpLive } from "./RpcServer.js"
import { serverSpanName } from "./ServerSpans.js"
import { TasksHttpLive } from "./TasksHttp.js"

/** The domain services on a migrated database. */
export const ServicesLive = Layer.mergeAll(AccountsLive, TasksLive).pipe(
  Layer.provideMerge(SessionsLive),
  Layer.provideMerge(AccessChecksLive),
  Layer.provideMerge(Layer.mergeAll(UserRepoLive, SessionRepoLive, TaskRepoLive, IdempotencyRepoLive)),
  Layer.provideMerge(Layer.mergeAll(PasswordHasherLive, TokensLive, RateLimitsLive)),
  Layer.provideMerge(DatabaseLive)
)

const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([TasksHttpLive, AuthHttpLive, HealthHttpLive]),
  Layer.provide(AuthenticationLive)
)

/** Node's HTTP server on `HOST`:`PORT`, held (as `NodeServer`) for the shutdown drain. */
export const NodeServerLive = Layer.unwrapEffect(Effect.map(AppConfig, ({ host, port }) => nodeServerLayer({ host, port })))

/** Serves the API on the provided server; the port opens only once everything it needs is up. */
export const HttpLive = Layer.unwrapScoped(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const edge = edgeMiddleware(config, yield* Lifecycle, yield* makeRequestDeadlines(config.requestTimeout))
    return HttpApiBuilder.serve(edge)
  })
).pipe(
  // Server spans are named by route template (the platform's tracer middleware makes them).
  HttpMiddleware.withSpanNameGenerator(serverSpanName),
  Layer.provide(HttpApiScalar.layer({ path: DOCS_PATH })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH })),
  Layer.provide(apiErrorMiddleware),
  Layer.provide(ApiLive),
  // `POST /rpc` (internal RPC): a route of the same router, so the same edge and error middleware.
  Layer.provide(RpcHttpLive),
  HttpServer.withLogAddress,
  Layer.provideMerge(LifecycleLive)
)

/** The whole service given its configuration; on the way down it drains before anything closes. */
export const AppLive = GracefulShutdownLive.pipe(
  Layer.provide(HttpLive),
  Layer.provide(NodeServerLive),
  Layer.provide(ServicesLive),
  // Beneath everything: its tracer and header redaction reach every layer and request built after it.
  Layer.provide(TelemetryLive)
)

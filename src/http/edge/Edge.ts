/**
 * What every request gets, whatever produced its response: a request id, security headers, CORS,
 * the headers code inside the request asked for, and one access-log line. The server writes a
 * response as soon as the app returns it, so these happen in a pre-response handler rather than
 * by mapping the app's result. Every log line written while serving carries `request_id`,
 * `trace_id` and `client_ip`.
 *
 * The edge comes in two parts, because the router's middleware ends when the response is ready
 * and the server's when it has been written:
 * - `connectionMiddleware` (the server's): answers CORS (preflights end there);
 * - `edgeMiddleware` (the router's, around the error mapping): the request id, the access line,
 *   and REQUEST_TIMEOUT until the response is ready (a stream may go on after that); a request
 *   that ran out of time answers 503 `request_timeout`, and closes its connection when its body
 *   had not all arrived (a slow sender is cut, not drained). Once shutdown has begun, it tells the
 *   client to close its connection.
 * Before both, the server's front (Front.ts) answers `/health/live`, sheds load and counts requests
 * in flight for the shutdown drain.
 */
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { HttpEffect, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "effect/http"
import { performance } from "node:perf_hooks"
import { ServiceUnavailable } from "../../domain/Errors.js"
import type { AppConfigShape } from "../../infra/platform/Config.js"
import { makeAccessLog } from "../../infra/platform/Logging.js"
import { clientAddress } from "./ClientInfo.js"
import { errorResponse } from "./Errors.js"
import { CORS_EXPOSED_HEADERS, hasBody, requestIdFrom, RETRY_AFTER_SECONDS, SECURITY_HEADERS } from "./Front.js"
import type { LifecycleShape } from "./Lifecycle.js"
import type { RequestDeadlines } from "./RequestDeadlines.js"
import { requestRecorder } from "./RequestMetrics.js"
import { newRequestState, withRequestState } from "./RequestState.js"
import { routeOfRequest } from "./Routes.js"

/** The request's `X-Request-Id` when it sent a sane one, else a new one. */
export const requestIdOf = (request: HttpServerRequest.HttpServerRequest) =>
  requestIdFrom(request.headers["x-request-id"])

/** Whether Node has not yet received all of the request's body (none to come counts as received). */
const bodyStillArriving = (request: HttpServerRequest.HttpServerRequest) => {
  const incoming = NodeHttpServerRequest.toIncomingMessage(request)
  return incoming.complete === false && hasBody(incoming.headers)
}

/** What a request interrupted by REQUEST_TIMEOUT answers, in the API's error shape. */
const timedOutResponse = () => errorResponse(503, ServiceUnavailable.requestTimeout())

/** The server's middleware: CORS (none with BENCH_GUARDS_OFF=cors). */
export const connectionMiddleware = (config: AppConfigShape) => {
  if (config.benchGuardsOff.has("cors")) {
    return <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) => app
  }
  const cors = HttpMiddleware.cors({
    // A predicate, not the list: given one origin, the middleware would send it to every caller.
    allowedOrigins: config.corsOrigins.includes("*") ? ["*"] : (origin) => config.corsOrigins.includes(origin),
    allowedMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["authorization", "content-type", "x-request-id", "idempotency-key", "traceparent"],
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: true,
    maxAge: 600
  })
  // CORS outside the edge: error responses need its headers too, or browsers hide them from the page.
  return <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) => cors(app)
}

/**
 * The router's middleware: request id, access line, request state and REQUEST_TIMEOUT. A benchmark
 * may switch pieces of it off (BENCH_GUARDS_OFF: metrics, spans, deadline, cors), each check made
 * once here rather than per request.
 */
export const edgeMiddleware = (config: AppConfigShape, lifecycle: LifecycleShape, deadlines: RequestDeadlines) => {
  const clientOf = clientAddress(config.trustProxy)
  const accessLog = makeAccessLog(config)
  const off = config.benchGuardsOff
  const record = requestRecorder(off)
  // Without spans the current span is a no-op one, whose trace id ("noop") names no trace.
  const currentTraceId = off.has("spans")
    ? Effect.succeed(undefined)
    : Effect.map(
      Effect.option(Effect.currentSpan),
      Option.match({ onNone: () => undefined, onSome: (span) => span.traceId })
    )
  const securityHeaders = off.has("cors") ? {} : SECURITY_HEADERS
  const noStore = off.has("cors") ? {} : { "Cache-Control": "no-store" }
  const within: RequestDeadlines["within"] = off.has("deadline") ? (request) => request : deadlines.within

  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function*() {
      const started = performance.now()
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = requestIdOf(request)
      const clientIp = clientOf(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"])
      const traceId = yield* currentTraceId
      const route = routeOfRequest(request)
      const state = newRequestState(clientIp)
      const requestAnnotations = {
        request_id: requestId,
        ...(traceId === undefined ? {} : { trace_id: traceId }),
        ...(clientIp === null ? {} : { client_ip: clientIp })
      }
      yield* HttpEffect.appendPreResponseHandler((_, answered) => {
        const response = state.timedOut ? timedOutResponse() : answered
        const durationMs = Math.round((performance.now() - started) * 100) / 100
        return accessLog({
          ...requestAnnotations,
          event: "http.request",
          method: request.method,
          route,
          status: response.status,
          duration_ms: durationMs,
          ...(state.userId === undefined ? {} : { user_id: state.userId })
        }).pipe(
          Effect.andThen(record({ method: request.method, route, status: response.status, durationMs })),
          Effect.andThen(lifecycle.shuttingDown),
          Effect.map((draining) =>
            HttpServerResponse.setHeaders(response, {
              ...state.headers,
              ...securityHeaders,
              // Tokens and account data must not sit in caches: nothing the API answers is cacheable.
              // Only a route that says otherwise (the docs page and its script) keeps its own.
              ...(response.headers["cache-control"] === undefined ? noStore : {}),
              // Every 503 is "retry later" (overloaded, the database gone, a timeout): say when.
              ...(response.status === 503 && response.headers["retry-after"] === undefined
                ? { "Retry-After": RETRY_AFTER_SECONDS }
                : {}),
              "X-Request-Id": requestId,
              // Draining: a keep-alive connection would hold the drain open and carry requests the
              // server is about to stop serving; Node ends the socket after this response. Timed
              // out with its body still arriving: a slow sender is cut rather than read to its end.
              ...(draining || (state.timedOut && bodyStillArriving(request)) ? { Connection: "close" } : {})
            })
          )
        )
      })
      return yield* within(withRequestState(state, app), () => {
        state.timedOut = true
      }).pipe(Effect.annotateLogs(requestAnnotations))
    })
}

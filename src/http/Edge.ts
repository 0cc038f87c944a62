/**
 * What every request gets, whatever produced its response: a request id, security headers, CORS,
 * the headers code inside the request asked for, and one access-log line. The server writes a
 * response as soon as the app returns it, so these happen in a pre-response handler rather than
 * by mapping the app's result. Every log line written while serving carries `request_id`,
 * `trace_id` and `client_ip`.
 *
 * The edge also counts each request as in flight until its response is written, for the shutdown
 * drain, and once shutdown has begun tells the client to close its connection. It bounds each
 * request by REQUEST_TIMEOUT until the response is ready (a stream may go on after that), and
 * answers a request that ran out of time 503 `request_timeout`.
 */
import { HttpApp, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import { performance } from "node:perf_hooks"
import { ServiceUnavailable } from "../domain/Errors.js"
import type { AppConfigShape } from "../infra/Config.js"
import { makeAccessLog } from "../infra/Logging.js"
import { clientAddress } from "./ClientInfo.js"
import type { LifecycleShape } from "./Lifecycle.js"
import type { RequestDeadlines } from "./RequestDeadlines.js"
import { newRequestState, withRequestState } from "./RequestState.js"
import { recordRequest } from "./RequestMetrics.js"
import { routeOfRequest } from "./Routes.js"

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The request's `X-Request-Id` when it sent a sane one, else a new one. */
export const requestIdOf = (request: HttpServerRequest.HttpServerRequest) => {
  const sent = request.headers["x-request-id"]
  return sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : randomUUID()
}

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer"
} as const

/** What a request interrupted by REQUEST_TIMEOUT answers, in the API's error shape. */
const timedOutResponse = () => {
  const { detail, error_code } = ServiceUnavailable.requestTimeout()
  return HttpServerResponse.unsafeJson({ detail, error_code }, { status: 503 })
}

export const edgeMiddleware = (config: AppConfigShape, lifecycle: LifecycleShape, deadlines: RequestDeadlines) => {
  const cors = HttpMiddleware.cors({
    // A predicate, not the list: given one origin, the middleware would send it to every caller.
    allowedOrigins: config.corsOrigins.includes("*") ? ["*"] : (origin) => config.corsOrigins.includes(origin),
    allowedMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["authorization", "content-type", "x-request-id", "idempotency-key", "traceparent"],
    exposedHeaders: ["x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
    credentials: true,
    maxAge: 600
  })
  const clientOf = clientAddress(config.trustProxy)
  const accessLog = makeAccessLog(config)

  const edge = HttpMiddleware.make((app) =>
    Effect.gen(function*() {
      const started = performance.now()
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = requestIdOf(request)
      const clientIp = clientOf(Option.getOrUndefined(request.remoteAddress), request.headers["x-forwarded-for"])
      const traceId = Option.match(yield* Effect.currentSpan.pipe(Effect.option), {
        onNone: () => undefined,
        onSome: (span) => span.traceId
      })
      const route = routeOfRequest(request)
      const state = newRequestState(clientIp)
      const requestAnnotations = {
        request_id: requestId,
        ...(traceId === undefined ? {} : { trace_id: traceId }),
        ...(clientIp === null ? {} : { client_ip: clientIp })
      }
      yield* HttpApp.appendPreResponseHandler((_, answered) => {
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
          Effect.zipRight(recordRequest({ method: request.method, route, status: response.status, durationMs })),
          Effect.zipRight(lifecycle.shuttingDown),
          Effect.map((draining) =>
            HttpServerResponse.setHeaders(response, {
              ...state.headers,
              ...SECURITY_HEADERS,
              // Tokens and account data must not sit in caches; nothing this API answers is cacheable.
              "Cache-Control": "no-store",
              "X-Request-Id": requestId,
              // Draining: a keep-alive connection would hold the drain open and carry requests the
              // server is about to stop serving; Node ends the socket after this response.
              ...(draining ? { Connection: "close" } : {})
            })
          )
        )
      })
      return yield* deadlines.within(withRequestState(state, app), () => {
        state.timedOut = true
      }).pipe(Effect.annotateLogs(requestAnnotations))
    })
  )
  // CORS outside the edge: error responses need its headers too, or browsers hide them from the page.
  // Tracking outermost: the middleware's effect ends only once the response has been written.
  return HttpMiddleware.make((app) => lifecycle.track(cors(edge(app))))
}

/**
 * What every response gets, whatever produced it: a request id, security headers and CORS. The server writes a response as soon as the app returns
 * it, so these are pre-response handlers rather than a mapping of the app's result.
 * The edge also counts each request as in flight until its response is written, for the shutdown
 * drain, and once shutdown has begun tells the client to close its connection.
 */
import { HttpApp, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { AppConfigShape } from "../infra/Config.js"
import type { LifecycleShape } from "./Lifecycle.js"

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

export const edgeMiddleware = (config: AppConfigShape, lifecycle: LifecycleShape) => {
  const cors = HttpMiddleware.cors({
    // A predicate, not the list: given one origin, the middleware would send it to every caller.
    allowedOrigins: config.corsOrigins.includes("*") ? ["*"] : (origin) => config.corsOrigins.includes(origin),
    allowedMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["authorization", "content-type", "x-request-id", "idempotency-key", "traceparent"],
    exposedHeaders: ["x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"],
    credentials: true,
    maxAge: 600
  })
  const edge = HttpMiddleware.make((app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const requestId = requestIdOf(request)
      yield* HttpApp.appendPreResponseHandler((_, response) =>
        Effect.map(lifecycle.shuttingDown, (shuttingDown) =>
          HttpServerResponse.setHeaders(response, {
            ...SECURITY_HEADERS,
            // Tokens and account data must not sit in caches; nothing this API answers is cacheable.
            "Cache-Control": "no-store",
            "X-Request-Id": requestId,
            // Draining: a keep-alive connection would hold the drain open and carry requests the
            // server is about to stop serving; Node ends the socket after this response.
            ...(shuttingDown ? { Connection: "close" } : {})
          })
        )
      )
      return yield* Effect.annotateLogs(app, "request_id", requestId)
    })
  )
  // CORS outside the edge: error responses need its headers too, or browsers hide them from the page.
  // Tracking outermost: the middleware's effect ends only once the response has been written.
  return HttpMiddleware.make((app) => lifecycle.track(cors(edge(app))))
}

/**
 * What every response gets, whatever produced it: a request id, security headers and CORS. The server writes a response as soon as the app returns
 * it, so these are pre-response handlers rather than a mapping of the app's result.
 */
import { HttpApp, HttpMiddleware, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { AppConfigShape } from "../infra/Config.js"

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

export const edgeMiddleware = (config: AppConfigShape) => {
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
        Effect.succeed(
          // Tokens and account data must not sit in caches; nothing this API answers is cacheable.
          HttpServerResponse.setHeaders(response, {
            ...SECURITY_HEADERS,
            "Cache-Control": "no-store",
            "X-Request-Id": requestId
          })
        )
      )
      return yield* Effect.annotateLogs(app, "request_id", requestId)
    })
  )
  // CORS outermost: error responses need its headers too, or browsers hide them from the page.
  return HttpMiddleware.make((app) => cors(edge(app)))
}

/**
 * The server span's name: method and route template (`GET /api/tasks/:task_id`), never the raw
 * path, so spans group by endpoint and ids or tokens in a path never become span names.
 */
import type { HttpServerRequest } from "@effect/platform"
import { routeOfRequest } from "./Routes.js"

/** For `HttpMiddleware.withSpanNameGenerator`: the platform's tracer middleware names its span with it. */
export const serverSpanName = (request: HttpServerRequest.HttpServerRequest): string =>
  `${request.method} ${routeOfRequest(request)}`

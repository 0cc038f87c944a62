/**
 * The server span's name: method and route template (`GET /api/tasks/:task_id`), never the raw
 * path, so spans group by endpoint and ids or tokens in a path never become span names.
 */
import { Layer } from "effect"
import { HttpMiddleware, type HttpServerRequest } from "effect/http"
import { routeOfRequest } from "./Routes.js"

/** For `HttpMiddleware.SpanNameGenerator`: the server's tracer middleware names its span with it. */
export const serverSpanName = (request: HttpServerRequest.HttpServerRequest): string =>
  `${request.method} ${routeOfRequest(request)}`

/** Server spans named by `serverSpanName`; provide it to the layer that serves (its requests read it). */
export const ServerSpanNamesLive: Layer.Layer<never> = Layer.succeed(HttpMiddleware.SpanNameGenerator, serverSpanName)

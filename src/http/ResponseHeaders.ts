/**
 * Headers that code deep inside a request (a rate-limit check, the auth middleware) adds to the
 * response, whether the request then succeeds or fails. The request's fiber holds one mutable
 * record (a FiberRef inherited by every fiber the request forks, so writes are seen however the
 * router runs the handler); a pre-response handler copies it onto the outgoing response.
 */
import { HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect, FiberRef, GlobalValue } from "effect"

const current = GlobalValue.globalValue(
  Symbol.for("tasks-api/ResponseHeaders"),
  () => FiberRef.unsafeMake<Record<string, string> | undefined>(undefined)
)

/** Adds headers to the current request's response (a no-op outside a request). */
export const addResponseHeaders = (headers: Record<string, string>) =>
  Effect.flatMap(FiberRef.get(current), (holder) =>
    Effect.sync(() => {
      if (holder !== undefined) Object.assign(holder, headers)
    }))

/** Gives each request its own record and applies it to the response. */
export const withResponseHeaders = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.suspend(() => {
    const holder: Record<string, string> = {}
    return HttpApp.appendPreResponseHandler((_, response) =>
      Effect.succeed(HttpServerResponse.setHeaders(response, holder))
    ).pipe(Effect.zipRight(Effect.locally(app, current, holder)))
  })

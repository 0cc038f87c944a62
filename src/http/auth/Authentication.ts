/** The Bearer authentication middleware: one place where every protected endpoint is guarded. */
import { Effect, Layer } from "effect"
import { type Headers, HttpServerRequest } from "effect/http"
import { Authentication, CurrentCaller } from "../../domain/auth/AuthApi.js"
import { Unauthorized } from "../../domain/Errors.js"
import { AccessChecks, AccessChecksLive } from "../../infra/auth/AccessChecks.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { RateLimits, RateLimitsLive } from "../../infra/platform/RateLimits.js"
import { enforceWith } from "../edge/RateLimitGuard.js"
import { addResponseHeaders, noteCaller } from "../edge/RequestState.js"

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i

/**
 * RFC 6750's challenge, on the 401s of this middleware only (a wrong password on
 * change-password is a 401 too, but says nothing about the token).
 */
const challenge = (error: Unauthorized) =>
  addResponseHeaders({
    "WWW-Authenticate": error.error_code === "not_authenticated" ? "Bearer" : "Bearer error=\"invalid_token\""
  })

/**
 * The access token of a request's `Authorization` header. A missing header and a wrong scheme
 * answer differently, as the contract says.
 */
export const bearerToken = (headers: Headers.Headers): Effect.Effect<string, Unauthorized> => {
  const header = headers["authorization"]
  if (header === undefined || header.trim() === "") return Effect.fail(Unauthorized.missing())
  const token = BEARER.exec(header)?.[1]
  return token === undefined ? Effect.fail(Unauthorized.invalid()) : Effect.succeed(token)
}

/**
 * Authenticates a request's headers, for REST and RPC alike: verifies the token and its session,
 * notes the caller for the access log, and counts the call against the per-user API limit (one
 * budget for both APIs; an unreachable store lets the task API go on). The count is taken once the
 * token's signature holds and before its session is read, so a user past the limit costs no read.
 */
export const makeAuthenticateHeaders = Effect.gen(function*() {
  const accessChecks = yield* AccessChecks
  const { rateLimit } = yield* AppConfig
  const limits = yield* RateLimits
  const admit = (userId: string) =>
    Effect.andThen(
      noteCaller(userId),
      enforceWith(limits, [{ name: "api:user", rule: rateLimit.apiPerUser, subject: userId }], "open")
    )
  return (headers: Headers.Headers) => Effect.flatMap(bearerToken(headers), (token) => accessChecks.check(token, admit))
})

/**
 * The middleware reads the `Authorization` header itself rather than HttpApi's decoded bearer
 * credential: a missing header and a malformed one answer differently, and RPC shares the rules.
 */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.map(makeAuthenticateHeaders, (authenticate) =>
    Authentication.of({
      bearer: (httpEffect) =>
        HttpServerRequest.HttpServerRequest.pipe(
          Effect.flatMap((request) => authenticate(request.headers)),
          Effect.tapErrorTag("Unauthorized", challenge),
          Effect.flatMap((caller) => Effect.provideService(httpEffect, CurrentCaller, caller))
        )
    }))
).pipe(Layer.provide([AccessChecksLive, RateLimitsLive]))

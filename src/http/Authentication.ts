/** The Bearer authentication middleware: one place where every protected endpoint is guarded. */
import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Authentication } from "../domain/Api.js"
import { Unauthorized } from "../domain/Errors.js"
import { Accounts } from "../infra/Accounts.js"
import { RateLimits } from "../infra/RateLimits.js"
import { AppConfig } from "../infra/Config.js"
import { enforce } from "./RateLimit.js"
import { addResponseHeaders } from "./ResponseHeaders.js"

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i

/**
 * RFC 6750's challenge, on the 401s of this middleware only (a wrong password on
 * change-password is a 401 too, but says nothing about the token).
 */
const challenge = (error: Unauthorized) =>
  addResponseHeaders({
    "WWW-Authenticate": error.error_code === "not_authenticated" ? "Bearer" : "Bearer error=\"invalid_token\""
  })

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const { rateLimit } = yield* AppConfig
    const limits = yield* RateLimits
    return {
      // The raw header is read here (not the pre-sliced token) so a missing header and a wrong
      // scheme answer differently, as the contract says.
      bearer: () =>
        Effect.gen(function*() {
          const header = (yield* HttpServerRequest.HttpServerRequest).headers.authorization
          if (header === undefined || header.trim() === "") return yield* Unauthorized.missing()
          const token = BEARER.exec(header)?.[1]
          if (token === undefined) return yield* Unauthorized.invalid()
          const caller = yield* accounts.authenticate(token)
          // Every authenticated call counts per user; an unreachable store lets the task API go on.
          yield* enforce([{ name: "api:user", rule: rateLimit.apiPerUser, subject: caller.user.id }], "open").pipe(
            Effect.provideService(RateLimits, limits)
          )
          return caller
        }).pipe(Effect.tapErrorTag("Unauthorized", challenge))
    }
  })
)

/** The Bearer authentication middleware: one place where every protected endpoint is guarded. */
import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Authentication } from "../domain/Api.js"
import { Unauthorized } from "../domain/Errors.js"
import { Accounts } from "../infra/Accounts.js"

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i

/**
 * RFC 6750's challenge, on the 401s of this middleware only (a wrong password on
 * change-password is a 401 too, but says nothing about the token).
 */
const challenge = (error: Unauthorized) =>
  HttpApp.appendPreResponseHandler((_, response) =>
    Effect.succeed(
      HttpServerResponse.setHeader(
        response,
        "WWW-Authenticate",
        error.error_code === "not_authenticated" ? "Bearer" : "Bearer error=\"invalid_token\""
      )
    )
  )

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const accounts = yield* Accounts
    return {
      // The raw header is read here (not the pre-sliced token) so a missing header and a wrong
      // scheme answer differently, as the contract says.
      bearer: () =>
        Effect.gen(function*() {
          const header = (yield* HttpServerRequest.HttpServerRequest).headers.authorization
          if (header === undefined || header.trim() === "") return yield* Unauthorized.missing()
          const token = BEARER.exec(header)?.[1]
          if (token === undefined) return yield* Unauthorized.invalid()
          return yield* accounts.authenticate(token)
        }).pipe(Effect.tapErrorTag("Unauthorized", challenge))
    }
  })
)

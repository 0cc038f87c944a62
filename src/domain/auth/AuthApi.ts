/**
 * The auth part of the REST contract: who a caller is, the Bearer authentication middleware every
 * protected endpoint carries (REST and RPC alike provide `CurrentCaller`), and the `auth` group.
 */
import { Context, Effect, Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { Envelope, NoContent } from "../Envelope.js"
import {
  AccountBanned,
  BadRequest,
  InvalidCredentials,
  PasswordRejected,
  RateLimited,
  RefreshRefused,
  ServiceUnavailable,
  SessionNotFound,
  Unauthorized,
  WrongPassword
} from "../Errors.js"
import {
  AccountList,
  ChangePasswordBody,
  Jwks,
  LogoutBody,
  RefreshBody,
  RevokeBody,
  SessionList,
  SessionView,
  SigninBody,
  SignupBody,
  TokenInfo,
  TokenPair,
  VerifyResult
} from "./Auth.js"
import type { CallerSessionId } from "./Session.js"
import { User } from "./User.js"

/** Who is calling: the verified access token's claims, its active session and its user. */
export interface Caller {
  readonly user: User
  readonly session: {
    readonly id: CallerSessionId
    readonly expiresAt: Date
    readonly ipAddress: string | null
    readonly userAgent: string | null
  }
  /** When the access token was issued and when it expires. */
  readonly issuedAt: Date
  readonly expiresAt: Date
}
export class CurrentCaller extends Context.Service<CurrentCaller, Caller>()("tasks-api/CurrentCaller") {}

/** The calling user's id: what the task operations are scoped to. */
export const callerId = Effect.map(CurrentCaller, (caller) => caller.user.id)

/** Bearer authentication: verifies the access token and that its session is still active. */
export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentCaller }>()(
  "Authentication",
  {
    error: [Unauthorized.Response, RateLimited.Response, ServiceUnavailable.Response],
    security: { bearer: HttpApiSecurity.bearer }
  }
) {}

export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("signup", "/api/v1/auth/signup", {
      payload: SignupBody,
      success: Envelope(TokenPair),
      error: [BadRequest.Response, PasswordRejected.Response]
    }).annotate(OpenApi.Summary, "Create an account and sign in"),
    HttpApiEndpoint.post("signin", "/api/v1/auth/signin", {
      payload: SigninBody,
      success: Envelope(TokenPair),
      error: [InvalidCredentials.Response, AccountBanned.Response]
    }).annotate(OpenApi.Summary, "Sign in with email and password"),
    HttpApiEndpoint.get("me", "/api/v1/auth/me", { success: User })
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "The caller's account"),
    HttpApiEndpoint.get("session", "/api/v1/auth/session", { success: SessionView })
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "The session of this access token, and its user"),
    HttpApiEndpoint.get("tokenInfo", "/api/v1/auth/token-info", { success: TokenInfo })
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "The claims of this access token"),
    HttpApiEndpoint.post("verify", "/api/v1/auth/verify", { success: VerifyResult })
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "Check that this access token is valid"),
    HttpApiEndpoint.get("accounts", "/api/v1/auth/accounts", { success: AccountList })
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "The caller's linked OAuth accounts"),
    HttpApiEndpoint.post("refresh", "/api/v1/auth/refresh", {
      payload: RefreshBody,
      success: Envelope(TokenPair),
      error: RefreshRefused.Response
    }).annotate(OpenApi.Summary, "Rotate a refresh token for a new token pair"),
    HttpApiEndpoint.post("logout", "/api/v1/auth/logout", {
      // Its members, not the union: HttpApi reads an empty body as `null` only for a `Schema.Null` payload.
      payload: LogoutBody.members,
      success: NoContent,
      error: BadRequest.Response
    }).middleware(Authentication).annotate(OpenApi.Summary, "End this session, all of them or the others"),
    HttpApiEndpoint.post("revoke", "/api/v1/auth/revoke", { payload: RevokeBody, success: Schema.Struct({}) })
      .annotate(OpenApi.Summary, "Revoke a token (RFC 7009)"),
    HttpApiEndpoint.get("sessions", "/api/v1/auth/sessions", { success: SessionList })
      .middleware(Authentication)
      .annotate(OpenApi.Summary, "The caller's active sessions"),
    HttpApiEndpoint.delete("deleteSession", "/api/v1/auth/sessions/:session_id", {
      params: { session_id: Schema.String },
      success: NoContent,
      error: SessionNotFound.Response
    }).middleware(Authentication).annotate(OpenApi.Summary, "End one of the caller's sessions"),
    HttpApiEndpoint.post("changePassword", "/api/v1/auth/change-password", {
      payload: ChangePasswordBody,
      success: NoContent,
      error: [WrongPassword.Response, PasswordRejected.Response]
    }).middleware(Authentication).annotate(OpenApi.Summary, "Change the caller's password"),
    HttpApiEndpoint.get("jwks", "/.well-known/jwks.json", { success: Jwks })
      .annotate(OpenApi.Summary, "The public keys access tokens are verified with")
  )
  .annotate(OpenApi.Description, "Accounts, sign-in and sessions.")
{}

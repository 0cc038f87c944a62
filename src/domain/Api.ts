/**
 * The REST contract as an `HttpApi`: the server implements it, `/openapi.json` is generated from it,
 * and `HttpApiClient.make(Api)` turns it into a typed client. No server code is imported here.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, Effect, Schema } from "effect"
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
import {
  AccountBanned,
  BadRequest,
  InvalidCredentials,
  PasswordRejected,
  PayloadTooLarge,
  RateLimited,
  RefreshRefused,
  ServiceUnavailable,
  SessionNotFound,
  TaskNotFound,
  Unauthorized,
  ValidationFailed,
  WrongPassword
} from "./Errors.js"
import { HealthReport, LegacyHealth, NotReady } from "./Health.js"
import { IdempotencyHeaders, IdempotencyKeyReused } from "./Idempotency.js"
import { removeDecodeError } from "./OpenApiCleanup.js"
import { Envelope } from "./Envelope.js"
import { CreateTaskBody, ListTasksQuery, SetCompletedBody, Task, TaskPage, TaskPath, UpdateTaskBody } from "./Task.js"
import { User } from "./User.js"

/** Who is calling: the verified access token's claims, its active session and its user. */
export interface Caller {
  readonly user: User
  readonly session: {
    readonly id: string
    readonly expiresAt: Date
    readonly ipAddress: string | null
    readonly userAgent: string | null
  }
  /** When the access token was issued and when it expires. */
  readonly issuedAt: Date
  readonly expiresAt: Date
}
export class CurrentCaller extends Context.Tag("tasks-api/CurrentCaller")<CurrentCaller, Caller>() {}

/** The calling user's id: what the task operations are scoped to. */
export const callerId = Effect.map(CurrentCaller, (caller) => caller.user.id)

/** Bearer authentication: verifies the access token and that its session is still active. */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: Schema.Union(Unauthorized.Response, RateLimited.Response, ServiceUnavailable.Response),
  provides: CurrentCaller,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

export class TasksApi extends HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.post("create", "/api/tasks")
      .setPayload(CreateTaskBody)
      .setHeaders(IdempotencyHeaders)
      .addSuccess(Envelope(Task), { status: 201 })
      .addError(BadRequest.Response)
      .addError(IdempotencyKeyReused.Response)
      .annotate(
        OpenApi.Description,
        "With an `Idempotency-Key` header, a retry with the same key and body within 24 hours answers the " +
          "original 201 (same task) and creates nothing; the same key with another body answers 422 " +
          "`idempotency_key_reused`. Keys are per user."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/api/tasks")
      .setUrlParams(ListTasksQuery)
      .addSuccess(Envelope(TaskPage))
      .addError(BadRequest.Response)
  )
  .add(
    HttpApiEndpoint.get("get", "/api/tasks/:task_id")
      .setPath(TaskPath)
      .addSuccess(Envelope(Task))
      .addError(TaskNotFound.Response)
  )
  .add(
    HttpApiEndpoint.put("update", "/api/tasks/:task_id")
      .setPath(TaskPath)
      .setPayload(UpdateTaskBody)
      .addSuccess(Envelope(Task))
      .addError(TaskNotFound.Response)
      .addError(BadRequest.Response)
  )
  .add(
    HttpApiEndpoint.patch("setCompleted", "/api/tasks/:task_id/complete")
      .setPath(TaskPath)
      .setPayload(SetCompletedBody)
      .addSuccess(Envelope(Task))
      .addError(TaskNotFound.Response)
  )
  .add(
    HttpApiEndpoint.del("delete", "/api/tasks/:task_id")
      .setPath(TaskPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(TaskNotFound.Response)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "A user's tasks. Another user's task answers 404, never 403.")
{}

export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("signup", "/api/v1/auth/signup")
      .setPayload(SignupBody)
      .addSuccess(Envelope(TokenPair))
      .addError(BadRequest.Response)
      .addError(PasswordRejected.Response)
  )
  .add(
    HttpApiEndpoint.post("signin", "/api/v1/auth/signin")
      .setPayload(SigninBody)
      .addSuccess(Envelope(TokenPair))
      .addError(InvalidCredentials.Response)
      .addError(AccountBanned.Response)
  )
  .add(HttpApiEndpoint.get("me", "/api/v1/auth/me").addSuccess(User).middleware(Authentication))
  .add(HttpApiEndpoint.get("session", "/api/v1/auth/session").addSuccess(SessionView).middleware(Authentication))
  .add(HttpApiEndpoint.get("tokenInfo", "/api/v1/auth/token-info").addSuccess(TokenInfo).middleware(Authentication))
  .add(HttpApiEndpoint.post("verify", "/api/v1/auth/verify").addSuccess(VerifyResult).middleware(Authentication))
  .add(HttpApiEndpoint.get("accounts", "/api/v1/auth/accounts").addSuccess(AccountList).middleware(Authentication))
  .add(
    HttpApiEndpoint.post("refresh", "/api/v1/auth/refresh")
      .setPayload(RefreshBody)
      .addSuccess(Envelope(TokenPair))
      .addError(RefreshRefused.Response)
  )
  .add(
    HttpApiEndpoint.post("logout", "/api/v1/auth/logout")
      .setPayload(LogoutBody)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(BadRequest.Response)
      .middleware(Authentication)
  )
  .add(HttpApiEndpoint.post("revoke", "/api/v1/auth/revoke").setPayload(RevokeBody).addSuccess(Schema.Struct({})))
  .add(HttpApiEndpoint.get("sessions", "/api/v1/auth/sessions").addSuccess(SessionList).middleware(Authentication))
  .add(
    HttpApiEndpoint.del("deleteSession", "/api/v1/auth/sessions/:session_id")
      .setPath(Schema.Struct({ session_id: Schema.String }))
      .addSuccess(HttpApiSchema.NoContent)
      .addError(SessionNotFound.Response)
      .middleware(Authentication)
  )
  .add(
    HttpApiEndpoint.post("changePassword", "/api/v1/auth/change-password")
      .setPayload(ChangePasswordBody)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(WrongPassword.Response)
      .addError(PasswordRejected.Response)
      .middleware(Authentication)
  )
  .add(HttpApiEndpoint.get("jwks", "/.well-known/jwks.json").addSuccess(Jwks))
  .annotate(OpenApi.Description, "Accounts, sign-in and sessions.")
{}

export class HealthApi extends HttpApiGroup.make("health")
  .add(HttpApiEndpoint.get("legacy", "/health").addSuccess(LegacyHealth))
  .add(HttpApiEndpoint.get("live", "/health/live").addSuccess(HealthReport))
  .add(HttpApiEndpoint.get("ready", "/health/ready").addSuccess(HealthReport).addError(NotReady.Response))
  .annotate(OpenApi.Description, "Liveness and readiness probes.")
{}

export class Api extends HttpApi.make("tasks-api")
  .add(TasksApi)
  .add(AuthApi)
  .add(HealthApi)
  .addError(ValidationFailed.Response)
  .addError(PayloadTooLarge.Response)
  .addError(RateLimited.Response)
  .addError(ServiceUnavailable.Response)
  .annotate(OpenApi.Transform, removeDecodeError)
  .annotate(OpenApi.Title, "tasks-api")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(
    OpenApi.Description,
    "Task management API: the old FastAPI backend's REST contract, hardened. Errors carry `detail` and `error_code`."
  )
{}

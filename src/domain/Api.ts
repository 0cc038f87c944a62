/**
 * The REST contract as an `HttpApi`: the server implements it, `/openapi.json` is generated from it,
 * and `HttpApiClient.make(Api)` turns it into a typed client. No server code is imported here.
 */
import { Context, Effect, Schema } from "effect"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
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
} from "./auth/Auth.js"
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
import { HealthReport, LegacyHealth, NotReady } from "./health/Health.js"
import { IdempotencyHeaders, IdempotencyKeyReused } from "./tasks/Idempotency.js"
import { describeBadRequest } from "./OpenApiCleanup.js"
import { Envelope } from "./Envelope.js"
import { CreateTaskBody, ListTasksQuery, SetCompletedBody, Task, TaskPage, TaskPath, UpdateTaskBody } from "./tasks/Task.js"
import type { CallerSessionId } from "./auth/Session.js"
import { User } from "./auth/User.js"

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

/**
 * What any endpoint may answer besides its own errors: a body over `MAX_BODY_BYTES` (413), a
 * request that does not decode (422 in FastAPI's shape, never HttpApi's own 400), a rate limit
 * (429) and a lost dependency (503). The whole API carries it, outermost (src/http implements it),
 * so handlers may fail with these too and OpenAPI lists them on every operation.
 */
export class ApiErrors extends HttpApiMiddleware.Service<ApiErrors>()("ApiErrors", {
  error: [ValidationFailed.Response, PayloadTooLarge.Response, RateLimited.Response, ServiceUnavailable.Response]
}) {}

/** An empty success (204), described as the other successes are. */
const NoContent = HttpApiSchema.NoContent.annotate({ description: "Success" })

export class TasksApi extends HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.post("create", "/api/tasks", {
      payload: CreateTaskBody,
      headers: IdempotencyHeaders,
      success: Envelope(Task).pipe(HttpApiSchema.status(201)),
      error: [BadRequest.Response, IdempotencyKeyReused.Response]
    }).annotate(
      OpenApi.Description,
      "With an `Idempotency-Key` header, a retry with the same key and body within 24 hours answers the " +
        "original 201 (same task) and creates nothing; the same key with another body answers 422 " +
        "`idempotency_key_reused`. Keys are per user."
    ),
    HttpApiEndpoint.get("list", "/api/tasks", {
      query: ListTasksQuery,
      success: Envelope(TaskPage),
      error: BadRequest.Response
    }),
    HttpApiEndpoint.get("get", "/api/tasks/:task_id", {
      params: TaskPath,
      success: Envelope(Task),
      error: TaskNotFound.Response
    }),
    HttpApiEndpoint.put("update", "/api/tasks/:task_id", {
      params: TaskPath,
      payload: UpdateTaskBody,
      success: Envelope(Task),
      error: [TaskNotFound.Response, BadRequest.Response]
    }),
    HttpApiEndpoint.patch("setCompleted", "/api/tasks/:task_id/complete", {
      params: TaskPath,
      payload: SetCompletedBody,
      success: Envelope(Task),
      error: TaskNotFound.Response
    }),
    HttpApiEndpoint.delete("delete", "/api/tasks/:task_id", {
      params: TaskPath,
      success: NoContent,
      error: TaskNotFound.Response
    })
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "A user's tasks. Another user's task answers 404, never 403.")
{}

export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("signup", "/api/v1/auth/signup", {
      payload: SignupBody,
      success: Envelope(TokenPair),
      error: [BadRequest.Response, PasswordRejected.Response]
    }),
    HttpApiEndpoint.post("signin", "/api/v1/auth/signin", {
      payload: SigninBody,
      success: Envelope(TokenPair),
      error: [InvalidCredentials.Response, AccountBanned.Response]
    }),
    HttpApiEndpoint.get("me", "/api/v1/auth/me", { success: User }).middleware(Authentication),
    HttpApiEndpoint.get("session", "/api/v1/auth/session", { success: SessionView }).middleware(Authentication),
    HttpApiEndpoint.get("tokenInfo", "/api/v1/auth/token-info", { success: TokenInfo }).middleware(Authentication),
    HttpApiEndpoint.post("verify", "/api/v1/auth/verify", { success: VerifyResult }).middleware(Authentication),
    HttpApiEndpoint.get("accounts", "/api/v1/auth/accounts", { success: AccountList }).middleware(Authentication),
    HttpApiEndpoint.post("refresh", "/api/v1/auth/refresh", {
      payload: RefreshBody,
      success: Envelope(TokenPair),
      error: RefreshRefused.Response
    }),
    HttpApiEndpoint.post("logout", "/api/v1/auth/logout", {
      // Its members, not the union: HttpApi reads an empty body as `null` only for a `Schema.Null` payload.
      payload: LogoutBody.members,
      success: NoContent,
      error: BadRequest.Response
    }).middleware(Authentication),
    HttpApiEndpoint.post("revoke", "/api/v1/auth/revoke", { payload: RevokeBody, success: Schema.Struct({}) }),
    HttpApiEndpoint.get("sessions", "/api/v1/auth/sessions", { success: SessionList }).middleware(Authentication),
    HttpApiEndpoint.delete("deleteSession", "/api/v1/auth/sessions/:session_id", {
      params: { session_id: Schema.String },
      success: NoContent,
      error: SessionNotFound.Response
    }).middleware(Authentication),
    HttpApiEndpoint.post("changePassword", "/api/v1/auth/change-password", {
      payload: ChangePasswordBody,
      success: NoContent,
      error: [WrongPassword.Response, PasswordRejected.Response]
    }).middleware(Authentication),
    HttpApiEndpoint.get("jwks", "/.well-known/jwks.json", { success: Jwks })
  )
  .annotate(OpenApi.Description, "Accounts, sign-in and sessions.")
{}

export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("legacy", "/health", { success: LegacyHealth }),
    HttpApiEndpoint.get("live", "/health/live", { success: HealthReport }),
    HttpApiEndpoint.get("ready", "/health/ready", { success: HealthReport, error: NotReady.Response })
  )
  .annotate(OpenApi.Description, "Liveness and readiness probes.")
{}

export class Api extends HttpApi.make("tasks-api")
  .add(TasksApi, AuthApi, HealthApi)
  .middleware(ApiErrors)
  .annotate(OpenApi.Transform, describeBadRequest)
  .annotate(OpenApi.Title, "tasks-api")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(
    OpenApi.Description,
    "Task management API: the old FastAPI backend's REST contract, hardened. Errors carry `detail` and `error_code`."
  )
{}

/**
 * The API's typed errors. Each is a `Schema.TaggedError` (so handlers can `catchTag` it) and has a
 * wire schema, `X.Response`, that drops `_tag`: the bodies stay byte-compatible with the old
 * backend (`{"detail": …, "error_code": …}`) while typed clients still decode them by status.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** A field whose value is fixed: filled in by the constructor, still part of the wire schema. */
export const fixed = <const A extends string>(value: A) =>
  Schema.Literal(value).pipe(Schema.propertySignature, Schema.withConstructorDefault(() => value))

/** Encodes a tagged error without its `_tag` (restored from the class on decode), answered with `status`. */
export const onTheWire = <Self extends { readonly _tag: string }, Fields extends Schema.Struct.Fields>(
  errorClass: Schema.Schema<Self, Schema.Struct.Encoded<Fields> & { readonly _tag: string }> & {
    readonly fields: Fields
    readonly _tag: Self["_tag"]
  },
  status: number
) => {
  const { _tag: _, ...wireFields } = errorClass.fields as Fields & { readonly _tag: unknown }
  const tag = errorClass._tag
  return Schema.transform(Schema.Struct(wireFields as unknown as Fields), errorClass, {
    strict: false,
    decode: (body) => ({ ...body, _tag: tag }),
    encode: ({ _tag: _, ...body }) => body
  }).annotations(HttpApiSchema.annotations({ status }))
}

/** One entry of a FastAPI-style validation error. */
export const ValidationIssue = Schema.Struct({
  loc: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  msg: Schema.String,
  type: Schema.String
})
export type ValidationIssue = typeof ValidationIssue.Type

/** 422 in FastAPI's shape, which existing clients parse. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()("ValidationFailed", {
  detail: Schema.Array(ValidationIssue),
  error_code: fixed("validation_error")
}) {
  static readonly Response = onTheWire(ValidationFailed, 422)
  /** A 422 with one issue, at `loc` (`["body", "email"]`, `["query", "cursor"]`, …). */
  static at(loc: ValidationIssue["loc"], msg: string, type = "value_error") {
    return new ValidationFailed({ detail: [{ loc, msg, type }] })
  }
}

/** 422 with the old backend's password-policy shape. */
export class PasswordRejected extends Schema.TaggedError<PasswordRejected>()("PasswordRejected", {
  detail: Schema.Struct({
    error: Schema.Literal("Validation failed"),
    error_code: Schema.Literal("VALIDATION_ERROR"),
    details: Schema.Struct({ password: Schema.String })
  })
}) {
  static readonly Response = onTheWire(PasswordRejected, 422)
  static because(why: string) {
    return new PasswordRejected({
      detail: { error: "Validation failed", error_code: "VALIDATION_ERROR", details: { password: why } }
    })
  }
}

/** 400: a value the old backend refused with a message rather than a 422. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  detail: Schema.String,
  error_code: Schema.String
}) {
  static readonly Response = onTheWire(BadRequest, 400)
}

/** 401 on an authenticated endpoint: no credentials, or credentials that do not hold. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  detail: Schema.Literal("Not authenticated", "Could not validate credentials"),
  error_code: Schema.Literal("not_authenticated", "invalid_token")
}) {
  static readonly Response = onTheWire(Unauthorized, 401)
  static readonly missing = () => new Unauthorized({ detail: "Not authenticated", error_code: "not_authenticated" })
  static readonly invalid = () =>
    new Unauthorized({ detail: "Could not validate credentials", error_code: "invalid_token" })
}

/** 401 from signin: the same bytes for an unknown email and a wrong password. */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {
  detail: fixed("Invalid email or password"),
  error_code: fixed("invalid_credentials")
}) {
  static readonly Response = onTheWire(InvalidCredentials, 401)
}

/** 401 from `/refresh`: why the refresh token was refused (the client signs in again). */
export class RefreshRefused extends Schema.TaggedError<RefreshRefused>()("RefreshRefused", {
  detail: Schema.String,
  error_code: Schema.Literal("invalid_refresh_token", "refresh_token_reused", "session_expired", "session_revoked")
}) {
  static readonly Response = onTheWire(RefreshRefused, 401)
  static readonly invalid = () =>
    new RefreshRefused({ detail: "Invalid refresh token", error_code: "invalid_refresh_token" })
  static readonly reused = () =>
    new RefreshRefused({
      detail: "Refresh token reuse detected; the session has been revoked",
      error_code: "refresh_token_reused"
    })
  static readonly expired = () =>
    new RefreshRefused({ detail: "Session expired; sign in again", error_code: "session_expired" })
  static readonly revoked = () =>
    new RefreshRefused({ detail: "Session revoked; sign in again", error_code: "session_revoked" })
}

/** 401 from change-password: the current password given is wrong. */
export class WrongPassword extends Schema.TaggedError<WrongPassword>()("WrongPassword", {
  detail: fixed("Current password is incorrect"),
  error_code: fixed("invalid_current_password")
}) {
  static readonly Response = onTheWire(WrongPassword, 401)
}

/** 404: not one of the caller's active sessions. */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  detail: fixed("Session not found"),
  error_code: fixed("session_not_found")
}) {
  static readonly Response = onTheWire(SessionNotFound, 404)
}

/** 403: the account is banned. */
export class AccountBanned extends Schema.TaggedError<AccountBanned>()("AccountBanned", {
  detail: fixed("Account is banned"),
  error_code: fixed("account_banned")
}) {
  static readonly Response = onTheWire(AccountBanned, 403)
}

/** 404 for a task that does not exist or belongs to someone else: the two are indistinguishable. */
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  detail: Schema.Literal("Task not found", "Task not found or does not belong to user"),
  error_code: Schema.Literal("task_not_found")
}) {
  static readonly Response = onTheWire(TaskNotFound, 404)
  /** The wording the old backend used on reads. */
  static readonly onRead = () => new TaskNotFound({ detail: "Task not found", error_code: "task_not_found" })
  /** The wording the old backend used on writes. */
  static readonly onWrite = () =>
    new TaskNotFound({ detail: "Task not found or does not belong to user", error_code: "task_not_found" })
}

/** 503: a dependency (the database) is unreachable; retrying later may succeed. */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  detail: fixed("Service temporarily unavailable"),
  error_code: Schema.String
}) {
  static readonly Response = onTheWire(ServiceUnavailable, 503)
  static readonly database = () => new ServiceUnavailable({ error_code: "database_unavailable" })
  static readonly rateLimiter = () => new ServiceUnavailable({ error_code: "rate_limiter_unavailable" })
  static readonly requestTimeout = () => new ServiceUnavailable({ error_code: "request_timeout" })
  /** The instance is draining: a long-lived call ends so the drain need not wait; reconnect elsewhere. */
  static readonly shuttingDown = () => new ServiceUnavailable({ error_code: "shutting_down" })
}

/** 429: a rate limit is exhausted; `Retry-After` says when to try again. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  detail: fixed("Too many requests"),
  error_code: fixed("rate_limited")
}) {
  static readonly Response = onTheWire(RateLimited, 429)
}

/** 413: the body is larger than `MAX_BODY_BYTES`. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  detail: fixed("Request body too large"),
  error_code: fixed("payload_too_large")
}) {
  static readonly Response = onTheWire(PayloadTooLarge, 413)
}

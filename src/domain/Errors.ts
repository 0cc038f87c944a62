/**
 * The API's typed errors. Each is a `Schema.TaggedError` annotated with its HTTP status (so
 * handlers can `catchTag` it, and RPC carries it with its `_tag`), and has a wire schema,
 * `X.Response`, that drops `_tag`: the REST bodies stay byte-compatible with the old backend
 * (`{"detail": …, "error_code": …}`) while typed clients still decode them, by status, back into
 * the class.
 */
import { Effect, Schema, SchemaTransformation } from "effect"
import { Count } from "./Fields.js"

/** A field whose value is fixed: filled in by the constructor, still part of the wire schema. */
export const fixed = <const A extends string>(value: A) =>
  Schema.Literal(value).pipe(Schema.withConstructorDefault(Effect.succeed(value)))

/**
 * The REST body of an error class built from `body`: the body's fields without `_tag` (restored
 * from the class on decode), answered with the class's `httpApiStatus`. Encoding passes the
 * class's fields through `body`, whose struct keeps only its own keys, so `_tag` is dropped.
 * Without the class's identifier, OpenAPI shows the body inline at each operation (the codes a
 * client reads there) rather than as an `XEncoded` component, as the old document did.
 */
export const onTheWire = <Self, const Tag extends string, Body extends object, RD, RE>(
  errorClass:
    & Schema.Codec<Self, NoInfer<Body> & { readonly _tag: Tag }, RD, RE>
    & { readonly fields: { readonly _tag: Schema.tag<Tag> } },
  body: Schema.Encoder<Body>
) => {
  const tag = errorClass.fields._tag.schema.literal
  return Schema.toEncoded(body).pipe(
    Schema.decodeTo(
      errorClass,
      SchemaTransformation.transform({
        decode: (wire: Body) => ({ ...wire, _tag: tag }),
        encode: (encoded: Body & { readonly _tag: Tag }): Body => encoded
      })
    )
  ).annotate({ identifier: undefined })
}

/** One entry of a FastAPI-style validation error. */
export const ValidationIssue = Schema.Struct({
  loc: Schema.Array(Schema.Union([Schema.String, Count])),
  msg: Schema.String,
  type: Schema.String
})
export type ValidationIssue = typeof ValidationIssue.Type

const ValidationFailedBody = Schema.Struct({
  detail: Schema.Array(ValidationIssue),
  error_code: fixed("validation_error")
})

/** 422 in FastAPI's shape, which existing clients parse. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()(
  "ValidationFailed",
  ValidationFailedBody,
  { httpApiStatus: 422 }
) {
  static readonly Response = onTheWire(ValidationFailed, ValidationFailedBody)
  /** A 422 with one issue, at `loc` (`["body", "email"]`, `["query", "cursor"]`, …). */
  static at(loc: ValidationIssue["loc"], msg: string, type = "value_error") {
    return new ValidationFailed({ detail: [{ loc, msg, type }] })
  }
}

const PasswordRejectedBody = Schema.Struct({
  detail: Schema.String,
  error_code: Schema.Literal("weak_password"),
  /** Why, by field: the one place a client reads the reason per field from. */
  errors: Schema.Struct({ password: Schema.String })
}).annotate({
  description: "The password policy refused the password: `detail` says why as a sentence (the old front " +
    "end shows it as text), `errors.password` says the same for the field"
})

/** 422: the password policy refused the password (signup, change-password). */
export class PasswordRejected extends Schema.TaggedError<PasswordRejected>()(
  "PasswordRejected",
  PasswordRejectedBody,
  { httpApiStatus: 422 }
) {
  static readonly Response = onTheWire(PasswordRejected, PasswordRejectedBody)
  static because(why: string) {
    return new PasswordRejected({ detail: why, error_code: "weak_password", errors: { password: why } })
  }
}

const BadRequestBody = Schema.Struct({
  detail: Schema.String,
  error_code: Schema.String
})

/** 400: a value the old backend refused with a message rather than a 422. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", BadRequestBody, {
  httpApiStatus: 400
}) {
  static readonly Response = onTheWire(BadRequest, BadRequestBody)
}

const UnauthorizedBody = Schema.Struct({
  detail: Schema.Literals(["Not authenticated", "Could not validate credentials"]),
  error_code: Schema.Literals(["not_authenticated", "invalid_token"])
})

/** 401 on an authenticated endpoint: no credentials, or credentials that do not hold. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", UnauthorizedBody, {
  httpApiStatus: 401
}) {
  static readonly Response = onTheWire(Unauthorized, UnauthorizedBody)
  static readonly missing = () => new Unauthorized({ detail: "Not authenticated", error_code: "not_authenticated" })
  static readonly invalid = () =>
    new Unauthorized({ detail: "Could not validate credentials", error_code: "invalid_token" })
}

const InvalidCredentialsBody = Schema.Struct({
  detail: fixed("Invalid email or password"),
  error_code: fixed("invalid_credentials")
})

/** 401 from signin: the same bytes for an unknown email and a wrong password. */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()(
  "InvalidCredentials",
  InvalidCredentialsBody,
  { httpApiStatus: 401 }
) {
  static readonly Response = onTheWire(InvalidCredentials, InvalidCredentialsBody)
}

const RefreshRefusedBody = Schema.Struct({
  detail: Schema.String,
  error_code: Schema.Literals(["invalid_refresh_token", "refresh_token_reused", "session_expired", "session_revoked"])
})

/** 401 from `/refresh`: why the refresh token was refused (the client signs in again). */
export class RefreshRefused extends Schema.TaggedError<RefreshRefused>()("RefreshRefused", RefreshRefusedBody, {
  httpApiStatus: 401
}) {
  static readonly Response = onTheWire(RefreshRefused, RefreshRefusedBody)
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

const WrongPasswordBody = Schema.Struct({
  detail: fixed("Current password is incorrect"),
  error_code: fixed("invalid_current_password")
})

/** 401 from change-password: the current password given is wrong. */
export class WrongPassword extends Schema.TaggedError<WrongPassword>()("WrongPassword", WrongPasswordBody, {
  httpApiStatus: 401
}) {
  static readonly Response = onTheWire(WrongPassword, WrongPasswordBody)
}

const SessionNotFoundBody = Schema.Struct({
  detail: fixed("Session not found"),
  error_code: fixed("session_not_found")
})

/** 404: not one of the caller's active sessions. */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", SessionNotFoundBody, {
  httpApiStatus: 404
}) {
  static readonly Response = onTheWire(SessionNotFound, SessionNotFoundBody)
}

const AccountBannedBody = Schema.Struct({
  detail: fixed("Account is banned"),
  error_code: fixed("account_banned")
})

/** 403: the account is banned. */
export class AccountBanned extends Schema.TaggedError<AccountBanned>()("AccountBanned", AccountBannedBody, {
  httpApiStatus: 403
}) {
  static readonly Response = onTheWire(AccountBanned, AccountBannedBody)
}

const TaskNotFoundBody = Schema.Struct({
  detail: Schema.Literals(["Task not found", "Task not found or does not belong to user"]),
  error_code: Schema.Literal("task_not_found")
})

/** 404 for a task that does not exist or belongs to someone else: the two are indistinguishable. */
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", TaskNotFoundBody, {
  httpApiStatus: 404
}) {
  static readonly Response = onTheWire(TaskNotFound, TaskNotFoundBody)
  /** The wording the old backend used on reads. */
  static readonly onRead = () => new TaskNotFound({ detail: "Task not found", error_code: "task_not_found" })
  /** The wording the old backend used on writes. */
  static readonly onWrite = () =>
    new TaskNotFound({ detail: "Task not found or does not belong to user", error_code: "task_not_found" })
}

const ServiceUnavailableBody = Schema.Struct({
  detail: fixed("Service temporarily unavailable"),
  error_code: Schema.String
})

/**
 * 503: a dependency (the database) is unreachable, or the instance is past its load bounds
 * (`overloaded`, with `Retry-After`); retrying later may succeed.
 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  ServiceUnavailableBody,
  { httpApiStatus: 503 }
) {
  static readonly Response = onTheWire(ServiceUnavailable, ServiceUnavailableBody)
  static readonly database = () => new ServiceUnavailable({ error_code: "database_unavailable" })
  static readonly rateLimiter = () => new ServiceUnavailable({ error_code: "rate_limiter_unavailable" })
  static readonly requestTimeout = () => new ServiceUnavailable({ error_code: "request_timeout" })
  /** Shed: too many requests in flight, an event loop running late, or the pool's wait queue full. */
  static readonly overloaded = () => new ServiceUnavailable({ error_code: "overloaded" })
  /** The instance is draining: a long-lived call ends so the drain need not wait; reconnect elsewhere. */
  static readonly shuttingDown = () => new ServiceUnavailable({ error_code: "shutting_down" })
}

const RateLimitedBody = Schema.Struct({
  detail: fixed("Too many requests"),
  error_code: fixed("rate_limited")
})

/** 429: a rate limit is exhausted; `Retry-After` says when to try again. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", RateLimitedBody, {
  httpApiStatus: 429
}) {
  static readonly Response = onTheWire(RateLimited, RateLimitedBody)
}

const PayloadTooLargeBody = Schema.Struct({
  detail: fixed("Request body too large"),
  error_code: fixed("payload_too_large")
})

/** 413: the body is larger than `MAX_BODY_BYTES`. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", PayloadTooLargeBody, {
  httpApiStatus: 413
}) {
  static readonly Response = onTheWire(PayloadTooLarge, PayloadTooLargeBody)
}

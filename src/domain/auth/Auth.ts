/** Request and response bodies of `/api/v1/auth`. */
import { Schema } from "effect"
import { choice, oneOf } from "../Choices.js"
import { Count, Instant, omittable, Text } from "../Fields.js"
import { LinkedAccount, User } from "./User.js"

/**
 * Passwords are checked by the policy in the handler (so a refusal has the old 422 shape); here only
 * as text, so a NUL is a validation error wherever a password is given.
 */
const Password = Text

export const SignupBody = Schema.Struct({
  email: Text,
  password: Password,
  name: omittable(Schema.NullOr(Text.check(Schema.isMaxLength(255))))
}).annotate({ identifier: "SignupRequest" })

export const SigninBody = Schema.Struct({
  email: Text,
  password: Password
}).annotate({ identifier: "SigninRequest" })

export class TokenPair extends Schema.Class<TokenPair>("TokenPair")(
  Schema.Struct({
    token: Schema.String,
    user_id: Schema.String,
    expires_at: Instant,
    refresh_token: Schema.String,
    refresh_expires_at: Instant,
    token_type: Schema.Literal("Bearer"),
    expires_in: Count.annotate({ description: "Seconds until the access token expires" })
  }).annotate({ identifier: "TokenPair" })
) {}

export const SessionView = Schema.Struct({
  session: Schema.Struct({
    session_id: Schema.String,
    user_id: Schema.String,
    expires_at: Instant,
    ip_address: Schema.NullOr(Schema.String),
    user_agent: Schema.NullOr(Schema.String),
    is_impersonated: Schema.Boolean
  }),
  user: User
}).annotate({ identifier: "SessionView" })

export const TokenInfo = Schema.Struct({
  user_id: Schema.String,
  email: Schema.String,
  role: Schema.String,
  issued_at: Instant,
  expires_at: Instant
}).annotate({ identifier: "TokenInfo" })

export const VerifyResult = Schema.Struct({
  valid: Schema.Literal(true),
  user_id: Schema.String
}).annotate({ identifier: "VerifyResult" })

export const AccountList = Schema.Struct({
  accounts: Schema.Array(LinkedAccount)
}).annotate({ identifier: "AccountList" })

export const RefreshBody = Schema.Struct({ refresh_token: Schema.String }).annotate({ identifier: "RefreshRequest" })

export const LOGOUT_SCOPES = ["local", "global", "others"] as const
export type LogoutScope = (typeof LOGOUT_SCOPES)[number]
export const isLogoutScope = oneOf(LOGOUT_SCOPES)

/**
 * The body is optional (no body, or `null`, means `local`); `scope` takes any string and is checked
 * in the handler for the 400. (An endpoint takes `LogoutBody.members` as its payloads: HttpApi
 * reads an empty body as `null` only when one of them is `Schema.Null`.)
 */
export const LogoutBody = Schema.NullOr(
  Schema.Struct({ scope: omittable(choice(LOGOUT_SCOPES).annotate({ default: "local" })) })
).annotate({ identifier: "LogoutRequest" })

/** RFC 7009 revocation request. */
export const RevokeBody = Schema.Struct({
  token: Schema.String,
  token_type_hint: omittable(Schema.String)
}).annotate({ identifier: "RevokeRequest" })

/** What a change-password body leaves out. */
export const CHANGE_PASSWORD_DEFAULTS = { revoke_other_sessions: true } as const

export const ChangePasswordBody = Schema.Struct({
  current_password: Password,
  new_password: Password,
  // Optional in the type too, so a client may leave it out: `withChangePasswordDefaults` fills it in.
  revoke_other_sessions: omittable(
    Schema.Boolean.annotate({ default: CHANGE_PASSWORD_DEFAULTS.revoke_other_sessions })
  )
}).annotate({ identifier: "ChangePasswordRequest" })

/** A change-password body with what it left out filled in. */
export const withChangePasswordDefaults = (body: typeof ChangePasswordBody.Type) => ({
  ...body,
  revoke_other_sessions: body.revoke_other_sessions ?? CHANGE_PASSWORD_DEFAULTS.revoke_other_sessions
})

export const SessionSummary = Schema.Struct({
  id: Schema.String,
  created_at: Instant,
  last_used_at: Instant,
  expires_at: Instant,
  ip_address: Schema.NullOr(Schema.String),
  user_agent: Schema.NullOr(Schema.String),
  current: Schema.Boolean
})

export const SessionList = Schema.Struct({
  sessions: Schema.Array(SessionSummary),
  total: Count
}).annotate({ identifier: "SessionList" })

export const Jwks = Schema.Struct({
  keys: Schema.Array(Schema.Record(Schema.String, Schema.Unknown))
}).annotate({ identifier: "JWKS" })

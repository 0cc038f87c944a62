/** Request and response bodies of `/api/v1/auth`. */
import { Effect, Schema } from "effect"
import { oneOf } from "../Choices.js"
import { omittable, Text } from "../Fields.js"
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
    expires_at: Schema.Date,
    refresh_token: Schema.String,
    refresh_expires_at: Schema.Date,
    token_type: Schema.Literal("Bearer"),
    expires_in: Schema.Finite
  }).annotate({ identifier: "TokenPair" })
) {}

export const SessionView = Schema.Struct({
  session: Schema.Struct({
    session_id: Schema.String,
    user_id: Schema.String,
    expires_at: Schema.Date,
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
  issued_at: Schema.Date,
  expires_at: Schema.Date
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
 * The body is optional (no body, or `null`, means `local`); `scope` is checked in the handler for
 * the 400. (An endpoint takes `LogoutBody.members` as its payloads: HttpApi reads an empty body as
 * `null` only when one of them is `Schema.Null`.)
 */
export const LogoutBody = Schema.NullOr(Schema.Struct({ scope: omittable(Schema.String) })).annotate({
  identifier: "LogoutRequest"
})

/** RFC 7009 revocation request. */
export const RevokeBody = Schema.Struct({
  token: Schema.String,
  token_type_hint: omittable(Schema.String)
}).annotate({ identifier: "RevokeRequest" })

export const ChangePasswordBody = Schema.Struct({
  current_password: Password,
  new_password: Password,
  revoke_other_sessions: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(true)))
}).annotate({ identifier: "ChangePasswordRequest" })

export const SessionSummary = Schema.Struct({
  id: Schema.String,
  created_at: Schema.Date,
  last_used_at: Schema.Date,
  expires_at: Schema.Date,
  ip_address: Schema.NullOr(Schema.String),
  user_agent: Schema.NullOr(Schema.String),
  current: Schema.Boolean
})

export const SessionList = Schema.Struct({
  sessions: Schema.Array(SessionSummary),
  total: Schema.Finite
}).annotate({ identifier: "SessionList" })

export const Jwks = Schema.Struct({
  keys: Schema.Array(Schema.Record(Schema.String, Schema.Unknown))
}).annotate({ identifier: "JWKS" })

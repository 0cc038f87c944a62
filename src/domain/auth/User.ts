/** Accounts as the old backend (Better-Auth-style tables) stored them. */
import { Schema, SchemaTransformation } from "effect"
import { Instant } from "../Fields.js"

/** Emails compare case-insensitively: stored and looked up trimmed and lower-cased. */
export const normaliseEmail = (email: string) => email.trim().toLowerCase()

/** What a malformed email answers (422, in FastAPI's wording). */
export const INVALID_EMAIL = "value is not a valid email address"

/** An email as a request gives it: normalised, then checked. */
export const Email = Schema.String.pipe(
  Schema.decodeTo(
    Schema.String.check(
      Schema.isMinLength(3, { message: INVALID_EMAIL }),
      Schema.isMaxLength(320, { message: INVALID_EMAIL }),
      Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: INVALID_EMAIL })
    ),
    SchemaTransformation.transform({ decode: normaliseEmail, encode: (email) => email })
  )
).annotate({ identifier: "Email", format: "email" })

/** A user's id: text the server (or the old backend) chose, branded where it is read from a row or a token. */
export const UserId = Schema.String.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

export class User extends Schema.Class<User>("User")(
  Schema.Struct({
    id: UserId,
    email: Schema.String,
    email_verified: Schema.Boolean,
    name: Schema.NullOr(Schema.String),
    image: Schema.NullOr(Schema.String),
    role: Schema.String,
    banned: Schema.Boolean,
    ban_reason: Schema.NullOr(Schema.String),
    ban_expires: Schema.NullOr(Instant),
    created_at: Instant,
    updated_at: Instant
  }).annotate({ identifier: "User" })
) {}

/** A linked OAuth account (never the password credential). */
export const LinkedAccount = Schema.Struct({
  id: Schema.String,
  provider_id: Schema.String,
  account_id: Schema.String,
  created_at: Instant
})
export type LinkedAccount = typeof LinkedAccount.Type

/** A ban holds until `ban_expires`, forever when that is unset (Better Auth's rule). */
export const isBanned = (user: { readonly banned: boolean; readonly ban_expires: Date | null }, now: Date) =>
  user.banned && (user.ban_expires === null || user.ban_expires.getTime() > now.getTime())

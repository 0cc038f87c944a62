/** Messages between the service and its bcrypt worker threads. */
import { Schema } from "effect"

export class HashPassword extends Schema.TaggedRequest<HashPassword>()("HashPassword", {
  failure: Schema.Never,
  success: Schema.String,
  payload: { password: Schema.String, cost: Schema.Number }
}) {}

export class ComparePassword extends Schema.TaggedRequest<ComparePassword>()("ComparePassword", {
  failure: Schema.Never,
  success: Schema.Boolean,
  payload: { password: Schema.String, hash: Schema.String }
}) {}

export const PasswordRequest = Schema.Union(HashPassword, ComparePassword)
export type PasswordRequest = typeof PasswordRequest.Type

/**
 * Idempotent creation (`Idempotency-Key`, as Stripe and the IETF httpapi draft use it): a client
 * on a flaky network retries a POST with the same key and gets the original answer instead of a
 * second task. Keys are per user and live for `IDEMPOTENCY_KEY_TTL`.
 */
import { Duration, Schema } from "effect"
import { fixed, onTheWire } from "../Errors.js"
import { omittable } from "../Fields.js"

/** How long a key keeps answering the original response; older entries are ignored. */
export const IDEMPOTENCY_KEY_TTL = Duration.hours(24)

/**
 * 1–255 visible ASCII characters: enough for a UUID or a ULID with a prefix, and nothing that
 * could smuggle whitespace or control characters into logs.
 */
export const IdempotencyKey = Schema.String.check(
  Schema.isPattern(/^[\x21-\x7E]{1,255}$/u, {
    message: "Idempotency-Key must be 1 to 255 visible ASCII characters"
  })
).annotate({
  identifier: "IdempotencyKey",
  description: "A client-chosen key (1–255 visible ASCII characters) that makes retries of this request safe"
})

/** The request headers of an idempotent endpoint (header names arrive lower-cased). */
export const IdempotencyHeaders = Schema.Struct({ "idempotency-key": omittable(IdempotencyKey) })

const IdempotencyKeyReusedBody = Schema.Struct({
  detail: fixed("Idempotency-Key was already used with a different request body"),
  error_code: fixed("idempotency_key_reused")
})

/** 422: the key is already bound to another request body; the client must pick a new key. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()(
  "IdempotencyKeyReused",
  IdempotencyKeyReusedBody,
  { httpApiStatus: 422 }
) {
  static readonly Response = onTheWire(IdempotencyKeyReused, IdempotencyKeyReusedBody)
}

/**
 * Validation of RPC payloads with the REST API's own schemas, failing as REST does: a
 * `ValidationFailed` whose issues are located like REST's (`body.title`, `query.limit`,
 * `path.task_id`, `header.idempotency-key`), through the one mapping in Errors.ts.
 */
import { Effect, Schema } from "effect"
import type { ValidationFailed } from "../../domain/Errors.js"
import type { ListTasksPayload } from "../../domain/tasks/TasksRpc.js"
import { toValidationFailed } from "../edge/Errors.js"

/** The REST method the values would have come with: it decides `body` versus `query`. */
export type RestMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/** Decodes `input` as REST decodes one part of a request (the first issue only, as REST reports). */
export const validate = <A>(
  schema: Schema.Decoder<A>,
  input: unknown,
  method: RestMethod
): Effect.Effect<A, ValidationFailed> =>
  Schema.decodeUnknownEffect(schema)(input).pipe(
    Effect.mapError((error) => toValidationFailed(error, method))
  )

/** The list options as REST receives them, query-string text, so REST's schema and messages apply. */
export const asQueryParameters = (options: ListTasksPayload): Record<string, string> =>
  Object.fromEntries(
    Object.entries(options).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)]]))
  )

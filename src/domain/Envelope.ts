/** The success shapes: the old backend's envelope, `{"success": true, "data": …}`, and the empty 204. */
import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"

export const Envelope = <S extends Schema.Top>(data: S) => Schema.Struct({ success: Schema.Literal(true), data })

export const envelope = <A>(data: A) => ({ success: true as const, data })

/** An empty success (204), described as the other successes are. */
export const NoContent = HttpApiSchema.NoContent.annotate({ description: "Success" })

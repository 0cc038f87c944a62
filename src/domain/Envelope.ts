/** The old backend's success envelope: `{"success": true, "data": …}`. */
import { Schema } from "effect"

export const Envelope = <A, I, R>(data: Schema.Schema<A, I, R>) => Schema.Struct({ success: Schema.Literal(true), data })

export const envelope = <A>(data: A) => ({ success: true as const, data })

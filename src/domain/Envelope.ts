/** The old backend's success envelope: `{"success": true, "data": …}`. */
import { Schema } from "effect"

export const Envelope = <S extends Schema.Top>(data: S) => Schema.Struct({ success: Schema.Literal(true), data })

export const envelope = <A>(data: A) => ({ success: true as const, data })

import { Schema } from "effect"
import { CreateTaskBody, UpdateTaskBody } from "../src/domain/Task.js"
const Wire = Schema.extend(Schema.encodedSchema(CreateTaskBody), Schema.Struct({ idempotency_key: Schema.optional(Schema.String) }))
type W = typeof Wire.Type
const w: W = { title: "  x ", priority: "p", due_datetime: "2020-01-01" , idempotency_key: "k"}
console.log(Schema.decodeUnknownSync(Wire)(w))
console.log(Schema.decodeUnknownEither(Wire)({ title: 1 }))
console.log(String(Schema.encodedSchema(UpdateTaskBody)))
console.log(String(Wire))

/** Field schemas shared by the request and response bodies. */
import { type JsonSchema, Option, Predicate, Schema, SchemaTransformation } from "effect"

/**
 * A field that may be absent: `T | undefined` in code, and absent on the wire when undefined.
 * (`Schema.optional` would send an `undefined` as `null` in JSON, and read a `null` as undefined,
 * where `null` means something else for a nullable field; `Schema.optionalKey` would refuse an
 * `undefined` that TypeScript lets a caller pass.)
 */
export const omittable = <S extends Schema.Top>(schema: S) =>
  Schema.optionalKey(Schema.toEncoded(schema)).pipe(
    Schema.decodeTo(
      Schema.optional(schema),
      SchemaTransformation.transformOptional({
        decode: (present) => present,
        encode: (value) => Option.filter(value, Predicate.isNotUndefined)
      })
    )
  )

/** What a text field holding U+0000 answers: a 422 at its `loc`. */
const NUL_IN_TEXT = "String should not contain the NUL character (\\u0000)"

/**
 * PostgreSQL's `text` cannot hold U+0000: a request carrying one must be refused as invalid input,
 * not fail the query. (No JSON Schema: it would add a pattern to every string of the contract.)
 */
export const isNulFree = Schema.makeFilter((text: string) => !text.includes("\u0000"), { message: NUL_IN_TEXT })

/** Text from a request, as the database can store it (no NUL). Every free-text request field is one. */
export const Text = Schema.String.check(isNulFree)

/**
 * An instant as the API answers it: a `Date` in code (and in rows), ISO 8601 in UTC with
 * milliseconds in JSON, which its JSON Schema names (`format: date-time`).
 */
export const Instant = Schema.Date.annotate({
  toCodecJson: () =>
    Schema.link<Date>()(Schema.String.annotate({ format: "date-time" }), SchemaTransformation.dateFromString)
})

/** A count or an offset: a whole number, never negative. */
export const Count = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/**
 * Documents `fragment` in the API description and checks nothing: for a constraint the value meets
 * only once decoded (a title's length after trimming), which the encoded side cannot check without
 * refusing what the server accepts.
 */
export const describedAs = (fragment: JsonSchema.JsonSchema) =>
  Schema.makeFilter<string>(() => true, { toJsonSchema: () => fragment })

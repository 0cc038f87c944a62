/** Field schemas shared by the request and response bodies. */
import { Option, Predicate, Schema, SchemaTransformation } from "effect"

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

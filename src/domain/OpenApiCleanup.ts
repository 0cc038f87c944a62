/**
 * Post-processing of the generated OpenAPI document. HttpApi declares `HttpApiDecodeError` (400)
 * on every endpoint, but this service never answers it: decode failures become FastAPI-shaped
 * 422s (`ValidationFailed`). Drop it so the document describes the wire as it is.
 */
const DECODE_ERROR_REF = "#/components/schemas/HttpApiDecodeError"

type Json = { [key: string]: unknown }

const isDecodeErrorRef = (schema: unknown) =>
  typeof schema === "object" && schema !== null && (schema as Json)["$ref"] === DECODE_ERROR_REF

/** The schema without the decode error: `undefined` when nothing else is left. */
const withoutDecodeError = (schema: Json): Json | undefined => {
  if (isDecodeErrorRef(schema)) return undefined
  const anyOf = schema["anyOf"]
  if (!Array.isArray(anyOf)) return schema
  const rest = anyOf.filter((s) => !isDecodeErrorRef(s))
  return rest.length === 0 ? undefined : rest.length === 1 ? (rest[0] as Json) : { ...schema, anyOf: rest }
}

export const removeDecodeError = (spec: Json): Json => {
  const copy = structuredClone(spec)
  const paths = copy["paths"] as Record<string, Record<string, Json>>
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const responses = operation["responses"] as Record<string, Json> | undefined
      const badRequest = responses?.["400"]
      const media = (badRequest?.["content"] as Record<string, Json> | undefined)?.["application/json"]
      if (responses === undefined || media === undefined) continue
      const schema = withoutDecodeError(media["schema"] as Json)
      if (schema === undefined) {
        delete responses["400"]
      } else {
        media["schema"] = schema
        badRequest!["description"] = "A value the API refuses with a message (e.g. an unknown priority)"
      }
    }
  }
  const schemas = (copy["components"] as Json)["schemas"] as Json
  for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete schemas[name]
  return copy
}

/**
 * Post-processing of the generated OpenAPI document. This service never answers HttpApi's own
 * decode error (400): decode failures become FastAPI-shaped 422s (`ValidationFailed`). HttpApi 4
 * no longer declares one, but a document generated with it (or a schema of it left in the
 * components) would describe a wire that is not there: drop it, and describe the 400 that is
 * left as what it is.
 */
const DECODE_ERROR_SCHEMAS = ["HttpApiDecodeError", "HttpApiSchemaError", "Issue", "PropertyKey"]
const DECODE_ERROR_REFS = new Set(DECODE_ERROR_SCHEMAS.map((name) => `#/components/schemas/${name}`))

type Json = { readonly [key: string]: unknown }

const isJson = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isDecodeErrorRef = (schema: unknown) => isJson(schema) && DECODE_ERROR_REFS.has(String(schema["$ref"]))

/** The schema without the decode error: `undefined` when nothing else is left. */
const withoutDecodeError = (schema: unknown): unknown => {
  if (isDecodeErrorRef(schema)) return undefined
  if (!isJson(schema)) return schema
  const anyOf = schema["anyOf"]
  if (!Array.isArray(anyOf)) return schema
  const rest = anyOf.filter((s) => !isDecodeErrorRef(s))
  return rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : { ...schema, anyOf: rest }
}

/** A 400 as this service answers it, or `undefined` when the response was only the decode error. */
const cleanBadRequest = (response: unknown): unknown => {
  if (!isJson(response)) return response
  const content = response["content"]
  const media = isJson(content) ? content["application/json"] : undefined
  if (!isJson(content) || !isJson(media)) return response
  const schema = withoutDecodeError(media["schema"])
  return schema === undefined ? undefined : {
    ...response,
    description: "A value the API refuses with a message (e.g. an unknown priority)",
    content: { ...content, "application/json": { ...media, schema } }
  }
}

const cleanOperation = (operation: unknown): unknown => {
  if (!isJson(operation) || !isJson(operation["responses"])) return operation
  const { "400": badRequest, ...others } = operation["responses"]
  const cleaned = cleanBadRequest(badRequest)
  return { ...operation, responses: cleaned === undefined ? others : { ...others, "400": cleaned } }
}

const mapValues = (record: Json, f: (value: unknown) => unknown): Json =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]))

export const removeDecodeError = (spec: Json): Json => {
  const paths = spec["paths"]
  const components = spec["components"]
  const schemas = isJson(components) ? components["schemas"] : undefined
  return {
    ...spec,
    ...(isJson(paths)
      ? { paths: mapValues(paths, (operations) => isJson(operations) ? mapValues(operations, cleanOperation) : operations) }
      : {}),
    ...(isJson(components) && isJson(schemas)
      ? {
        components: {
          ...components,
          schemas: Object.fromEntries(
            Object.entries(schemas).filter(([name]) => !DECODE_ERROR_SCHEMAS.includes(name))
          )
        }
      }
      : {})
  }
}

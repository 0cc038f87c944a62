/**
 * Post-processing of the generated OpenAPI document. Request decode failures answer
 * FastAPI-shaped 422s (`ValidationFailed`), never a 400: a 400 here is only `BadRequest`, so its
 * description says what it is rather than the generic one.
 */
type Json = { readonly [key: string]: unknown }

const isJson = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const BAD_REQUEST_DESCRIPTION = "A value the API refuses with a message (e.g. an unknown priority)"

const describeOperation = (operation: unknown): unknown => {
  if (!isJson(operation) || !isJson(operation["responses"])) return operation
  const { "400": badRequest, ...others } = operation["responses"]
  if (!isJson(badRequest)) return operation
  return { ...operation, responses: { ...others, "400": { ...badRequest, description: BAD_REQUEST_DESCRIPTION } } }
}

const mapValues = (record: Json, f: (value: unknown) => unknown): Json =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]))

export const describeBadRequest = (spec: Json): Json => {
  const paths = spec["paths"]
  if (!isJson(paths)) return spec
  return {
    ...spec,
    paths: mapValues(paths, (operations) => isJson(operations) ? mapValues(operations, describeOperation) : operations)
  }
}

/**
 * Post-processing of the generated OpenAPI document: what HttpApi's generator cannot say from the
 * schemas alone, so that the document describes what the server does (test/ops/openapi-live.test.ts
 * holds live responses to it; `npm run lint:openapi` lints it).
 * - A 400 here is only `BadRequest` (request decode failures answer FastAPI-shaped 422s): its
 *   description says what it is rather than the generic one.
 * - Query parameters are text on the wire, so the generator types them as strings: they are
 *   described by the values the server reads them as (an integer and its bounds, a boolean).
 * - A choice's `UnlistedChoice` (other text, which the server answers with a 400) is leniency, not
 *   contract: a choice is described by its values.
 * - Unknown request body fields are ignored, as the contract says: request bodies are open.
 * - A body the server reads as `null` when absent (logout's) is optional.
 * - The response headers the edge sets: `X-Request-Id` on every response, the Bearer challenge on
 *   the authentication's 401s, `Retry-After` and `RateLimit-*` on 429s.
 */
import { JsonSchema, Schema } from "effect"

type Json = { readonly [key: string]: unknown }

const isJson = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const mapValues = (record: Json, f: (value: unknown, key: string) => unknown): Json =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value, key)]))

/** `spec` with `f` applied to each operation (the value under a path and a method). */
const mapOperations = (spec: Json, f: (operation: Json) => Json): Json => {
  const paths = spec["paths"]
  if (!isJson(paths)) return spec
  return {
    ...spec,
    paths: mapValues(paths, (operations) =>
      isJson(operations)
        ? mapValues(operations, (operation) => (isJson(operation) ? f(operation) : operation))
        : operations)
  }
}

/** `value` with `f` applied to every object in it, innermost first. */
const mapObjectsDeep = (value: unknown, f: (object: Json) => Json): unknown =>
  Array.isArray(value)
    ? value.map((item) => mapObjectsDeep(item, f))
    : isJson(value)
    ? f(mapValues(value, (inner) => mapObjectsDeep(inner, f)))
    : value

const SCHEMA_REF = "#/components/schemas/"

/** The document's `components` and their `schemas` (empty where the document has none). */
const componentsOf = (spec: Json): { readonly components: Json; readonly schemas: Json } => {
  const components = isJson(spec["components"]) ? spec["components"] : {}
  return { components, schemas: isJson(components["schemas"]) ? components["schemas"] : {} }
}

// ---------------------------------------------------------------------------------------------

const BAD_REQUEST_DESCRIPTION = "A value the API refuses with a message (e.g. an unknown priority)"

const describeBadRequest = (operation: Json): Json => {
  const responses = operation["responses"]
  if (!isJson(responses) || !isJson(responses["400"])) return operation
  return {
    ...operation,
    responses: { ...responses, "400": { ...responses["400"], description: BAD_REQUEST_DESCRIPTION } }
  }
}

/** `schema` without the `anyOf` members `drop` matches; a lone member left stands for the union. */
const withoutMembers = (schema: Json, drop: (member: unknown) => boolean): Json => {
  const members = schema["anyOf"]
  if (!Array.isArray(members) || !members.some(drop)) return schema
  const kept = members.filter((member) => !drop(member))
  const { anyOf: _, ...rest } = schema
  return kept.length === 1 && isJson(kept[0]) ? { ...kept[0], ...rest } : { ...rest, anyOf: kept }
}

const isNull = (schema: unknown) => isJson(schema) && schema["type"] === "null"

/**
 * An optional field's type admits `undefined`, which JSON Schema says as `null`: a parameter is
 * absent instead (`required: false`), never null.
 */
const withoutNull = (schema: Json): Json => withoutMembers(schema, isNull)

/**
 * Each query parameter of the operations named in `queries` (by operation id) described by its
 * schema's decoded side; the definitions that refers to join the components.
 */
const queryParametersAsRead = (queries: Readonly<Record<string, Schema.Top>>) => (spec: Json): Json => {
  const definitions: Record<string, unknown> = {}
  const described = mapOperations(spec, (operation) => {
    const query = queries[String(operation["operationId"])]
    const parameters = operation["parameters"]
    if (query === undefined || !Array.isArray(parameters)) return operation
    const document = Schema.toJsonSchemaDocument(Schema.toType(query))
    const openApi = JsonSchema.toMultiDocumentOpenApi3_1({
      dialect: document.dialect,
      schemas: [document.schema],
      definitions: document.definitions
    })
    Object.assign(definitions, openApi.definitions)
    const properties: Json = isJson(openApi.schemas[0].properties) ? openApi.schemas[0].properties : {}
    return {
      ...operation,
      parameters: parameters.map((parameter) => {
        const schema = isJson(parameter) && parameter["in"] === "query"
          ? properties[String(parameter["name"])]
          : undefined
        return isJson(schema) ? { ...parameter, schema: withoutNull(schema) } : parameter
      })
    }
  })
  const { components, schemas } = componentsOf(described)
  return { ...described, components: { ...components, schemas: { ...definitions, ...schemas } } }
}

const UNLISTED_CHOICE = "UnlistedChoice"

/** A choice (`anyOf` its values and an `UnlistedChoice`) as its values alone. */
const listedChoicesOnly = (spec: Json): Json => {
  const isUnlisted = (member: unknown) => isJson(member) && member["$ref"] === `${SCHEMA_REF}${UNLISTED_CHOICE}`
  const mapped = mapObjectsDeep(spec, (object) => withoutMembers(object, isUnlisted))
  const collapsed = isJson(mapped) ? mapped : spec
  const { components, schemas: { [UNLISTED_CHOICE]: _, ...schemas } } = componentsOf(collapsed)
  return { ...collapsed, components: { ...components, schemas } }
}

/** The names of the component schemas `value` refers to, and those they refer to, in `schemas`. */
const referencedSchemas = (value: unknown, schemas: Json, found = new Set<string>()): Set<string> => {
  mapObjectsDeep(value, (object) => {
    const ref = object["$ref"]
    if (typeof ref === "string" && ref.startsWith(SCHEMA_REF)) {
      const name = ref.slice(SCHEMA_REF.length)
      if (!found.has(name)) {
        found.add(name)
        referencedSchemas(schemas[name], schemas, found)
      }
    }
    return object
  })
  return found
}

const withoutClosedObjects = (schema: unknown) =>
  mapObjectsDeep(schema, (object) => {
    if (object["additionalProperties"] !== false) return object
    const { additionalProperties: _, ...open } = object
    return open
  })

/** Request bodies, and the components they use, without `additionalProperties: false`. */
const openRequestBodies = (spec: Json): Json => {
  const { components, schemas } = componentsOf(spec)
  const bodies: Array<unknown> = []
  const opened = mapOperations(spec, (operation) => {
    const body = operation["requestBody"]
    if (!isJson(body)) return operation
    bodies.push(body)
    return { ...operation, requestBody: withoutClosedObjects(body) }
  })
  const used = referencedSchemas(bodies, schemas)
  return {
    ...opened,
    components: {
      ...components,
      schemas: mapValues(schemas, (schema, name) => used.has(name) ? withoutClosedObjects(schema) : schema)
    }
  }
}

const admitsNull = (schema: unknown): boolean =>
  isJson(schema) &&
  (schema["type"] === "null" || (Array.isArray(schema["anyOf"]) && schema["anyOf"].some(admitsNull)))

/** A body whose every media type admits `null` (what the server reads an empty body as) is optional. */
const optionalNullableBodies = (spec: Json): Json =>
  mapOperations(spec, (operation) => {
    const body = operation["requestBody"]
    if (!isJson(body) || !isJson(body["content"])) return operation
    const nullable = Object.values(body["content"]).every((media) => isJson(media) && admitsNull(media["schema"]))
    return nullable ? { ...operation, requestBody: { ...body, required: false } } : operation
  })

// ---------------------------------------------------------------------------------------------
// Response headers (src/http/edge/Edge.ts, src/http/auth/Authentication.ts, RateLimitGuard.ts).

/** A header whose value is a whole number of seconds or requests. */
const countHeader = (description: string) => ({ description, schema: { type: "integer", minimum: 0 } })

const HEADERS = {
  "X-Request-Id": {
    description: "The request's id: the one it sent when sane (1–128 of `A-Za-z0-9._:-`), else a new UUID",
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" }
  },
  "WWW-Authenticate": {
    description: "The Bearer challenge (RFC 6750): `Bearer`, or `Bearer error=\"invalid_token\"`",
    schema: { type: "string", enum: ["Bearer", "Bearer error=\"invalid_token\""] }
  },
  "Retry-After": countHeader("Seconds until the limit lets a request through again"),
  "RateLimit-Limit": countHeader("Requests the exhausted limit allows per window"),
  "RateLimit-Remaining": countHeader("Requests left in the window"),
  "RateLimit-Reset": countHeader("Seconds until the window resets")
} as const

type HeaderName = keyof typeof HEADERS

const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` })

const RATE_LIMITED_HEADERS: ReadonlyArray<HeaderName> = [
  "Retry-After",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset"
]

/**
 * The headers a response with `status` carries. `challenge`: whether the operation's 401s carry
 * the Bearer challenge always (the authentication's 401s only), maybe (it has a 401 of its own,
 * such as a wrong current password, which has none) or never (not authenticated).
 */
const headersOf = (status: string, challenge: "always" | "maybe" | "never"): Json => ({
  "X-Request-Id": headerRef("X-Request-Id"),
  ...(status !== "401" || challenge === "never"
    ? {}
    : {
      "WWW-Authenticate": challenge === "always"
        ? headerRef("WWW-Authenticate")
        : { ...HEADERS["WWW-Authenticate"], required: false }
    }),
  ...(status === "429" ? Object.fromEntries(RATE_LIMITED_HEADERS.map((name) => [name, headerRef(name)])) : {})
})

const withResponseHeaders = (ownUnauthorized: ReadonlySet<string>) => (spec: Json): Json => {
  const described = mapOperations(spec, (operation) => {
    const responses = operation["responses"]
    if (!isJson(responses)) return operation
    const secured = Array.isArray(operation["security"]) && operation["security"].length > 0
    const challenge = !secured ? "never" : ownUnauthorized.has(String(operation["operationId"])) ? "maybe" : "always"
    return {
      ...operation,
      responses: mapValues(responses, (response, status) =>
        isJson(response)
          ? {
            ...response,
            headers: { ...(isJson(response["headers"]) ? response["headers"] : {}), ...headersOf(status, challenge) }
          }
          : response)
    }
  })
  const { components } = componentsOf(described)
  const headers = Object.fromEntries(
    Object.entries(HEADERS).map(([name, header]) => [name, { ...header, required: true }])
  )
  return { ...described, components: { ...components, headers } }
}

// ---------------------------------------------------------------------------------------------

export interface DescriptionFacts {
  /** Per operation id, the query schema its parameters are described by (decoded side). */
  readonly queries: Readonly<Record<string, Schema.Top>>
  /** Operation ids whose own errors include a 401 other than the authentication's. */
  readonly ownUnauthorized: ReadonlySet<string>
}

/** The document HttpApi generates, made to say what the server does (see the module's comment). */
export const describeServer = (facts: DescriptionFacts) => (spec: Json): Json =>
  [
    (document: Json) => mapOperations(document, describeBadRequest),
    queryParametersAsRead(facts.queries),
    listedChoicesOnly,
    openRequestBodies,
    optionalNullableBodies,
    withResponseHeaders(facts.ownUnauthorized)
  ].reduce((document, step) => step(document), spec)

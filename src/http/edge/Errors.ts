/**
 * The one error mapping of the API, in two places by necessity:
 * - `ApiErrorsLive` implements the API's `ApiErrors` middleware (src/domain/Api.ts), inside the
 *   HttpApi before its errors are encoded: it turns request decode failures (path, query, header,
 *   body; malformed JSON) into FastAPI's 422 shape, where HttpApi itself answers an empty 400.
 * - `apiErrorMiddleware` wraps the whole router (every route, `/rpc` too, and the route lookup)
 *   inside the edge: it enforces the body limit and the nesting bound (JsonDepth.ts) before anything
 *   parses the body; an unknown route answers a JSON 404, and a bug a JSON 500 (logged, never
 *   detailed). A database failure that escaped its repository's mapping still answers 503
 *   `database_unavailable`, not 500.
 * `edgeMiddleware` (Edge.ts) adds the headers every response carries and enforces REQUEST_TIMEOUT.
 */
import { ByteSize, Cause, Effect, Fiber, Schema, SchemaIssue } from "effect"
import { HttpIncomingMessage, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { type HttpApiError, HttpApiMiddleware } from "effect/http-api"
import { ApiErrors } from "../../domain/Api.js"
import { PayloadTooLarge, ServiceUnavailable, ValidationFailed, type ValidationIssue } from "../../domain/Errors.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { isSqlError, isUnavailable } from "../../infra/platform/DatabaseErrors.js"
import { MAX_JSON_DEPTH, pathPastDepth } from "./JsonDepth.js"

/** Path parameters of the API: an issue under one of these is located in the path. */
const PATH_PARAMETERS = new Set<PropertyKey>(["task_id", "session_id"])
/** Request headers the API decodes: an issue under one of these is located in the header. */
const HEADER_PARAMETERS = new Set<PropertyKey>(["idempotency-key"])
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"])

/** One leaf of a schema issue tree: where it is and what kind of leaf it is. */
interface Leaf {
  readonly path: ReadonlyArray<PropertyKey>
  readonly tag: string
}

/**
 * The leaves of an issue tree, in the order (and number) `makeFormatterStandardSchemaV1` reports
 * their messages: the formatter gives the message, this walk the kind of each.
 */
const leavesOf = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): Array<Leaf> => {
  switch (issue._tag) {
    case "Filter":
    case "Encoding":
      return leavesOf(issue.issue, path)
    case "Pointer":
      return leavesOf(issue.issue, [...path, ...issue.path])
    case "Composite":
      return issue.issues.flatMap((inner) => leavesOf(inner, path))
    case "AnyOf":
      return issue.issues.length > 0 ? issue.issues.flatMap((inner) => leavesOf(inner, path)) : [{ path, tag: "AnyOf" }]
    default:
      return [{ path, tag: issue._tag }]
  }
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const issueType = (tag: string) =>
  tag === "MissingKey" ? "missing" : tag === "UnexpectedKey" ? "extra_forbidden" : "value_error"

/** A schema decode failure as FastAPI reports it: `loc` starts with `body`, `query`, `path` or `header`. */
export const toValidationFailed = (error: Schema.SchemaError, method: string): ValidationFailed => {
  const messages = formatIssues(error.issue).issues
  const issues = leavesOf(error.issue, []).map((leaf, index): ValidationIssue => {
    const first = leaf.path[0] ?? ""
    const source = PATH_PARAMETERS.has(first)
      ? "path"
      : HEADER_PARAMETERS.has(first)
      ? "header"
      : METHODS_WITH_BODY.has(method)
      ? "body"
      : "query"
    return {
      loc: [source, ...leaf.path.map((key) => (typeof key === "number" ? key : String(key)))],
      msg: leaf.tag === "MissingKey" ? "Field required" : messages[index]?.message ?? "Invalid value",
      type: issueType(leaf.tag)
    }
  })
  // A failing optional field also reports its `undefined` alternative: keep one issue per location.
  const seen = new Set<string>()
  return new ValidationFailed({
    detail: issues.filter((issue) => {
      const key = JSON.stringify(issue.loc)
      return seen.has(key) ? false : (seen.add(key), true)
    })
  })
}

/** What the API answers for one of its own errors: its `detail` and `error_code`, with its status. */
export const errorResponse = (
  status: number,
  error: { readonly detail: unknown; readonly error_code: string }
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe({ detail: error.detail, error_code: error.error_code }, { status })

const payloadTooLarge = () => errorResponse(413, new PayloadTooLarge())
const notFound = () => errorResponse(404, { detail: "Not Found", error_code: "not_found" })
const internalError = () => errorResponse(500, { detail: "Internal Server Error", error_code: "internal_error" })

/**
 * The message HttpApi's JSON payload decoder gives a body that is not JSON at all (`decodePayload`
 * in effect/http-api/HttpApiBuilder): a bare `InvalidValue` at the root of a `Payload` failure.
 */
const MALFORMED_JSON_MESSAGE = "Expected a valid JSON body"

const isMalformedJson = (error: HttpApiError.HttpApiSchemaError) =>
  error.kind === "Payload" && error.cause.issue._tag === "InvalidValue" &&
  error.cause.issue.annotations?.message === MALFORMED_JSON_MESSAGE

const malformedJson = () => ValidationFailed.at(["body"], "JSON decode error", "json_invalid")

/**
 * Reads the body once, under `MAX_BODY_BYTES`, before the API decodes it (the read is cached):
 * an oversized body is refused with 413 without being buffered whole. A body without
 * Content-Length that overflows while streaming is refused the same way once the reader stops at
 * the limit; the connection closes after the answer (platform-node discards no more than a little
 * of an unread body).
 *
 * The read runs in a fiber of its own, awaited interruptibly: the router runs this middleware
 * uninterruptibly, so a read awaited in it would hold a slow sender's request past REQUEST_TIMEOUT,
 * and interrupting the read itself would destroy the request's stream, and with it the socket the
 * 503 is to be written on. Timed out, the request answers without waiting for the read, closing the
 * connection (Edge.ts), which ends the read.
 */
const readBodyWithin = (request: HttpServerRequest.HttpServerRequest, maxBytes: ByteSize.ByteSize) =>
  Effect.flatMap(
    Effect.forkDetach(request.text.pipe(Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBytes))),
    (read) => Effect.interruptible(Fiber.join(read))
  )

/** A body nested past the bound: 422 at the first value past it, before a schema or a log recurses into it. */
const nestedTooDeep = (path: ReadonlyArray<string | number>) =>
  errorResponse(422, ValidationFailed.at(["body", ...path], `JSON nested deeper than ${MAX_JSON_DEPTH} levels`))

/** A lost database connection is never a bug, even where a repository did not map it: "retry later". */
export const isLostDatabase = (error: unknown) => isSqlError(error) && isUnavailable(error)

const logLostDatabase = (cause: Cause.Cause<unknown>) => Effect.logWarning("database unavailable (unmapped)", cause)

/** What a lost database answers, REST and RPC alike: logged with its cause, then 503. */
export const answerLostDatabase = (cause: Cause.Cause<unknown>): Effect.Effect<never, ServiceUnavailable> =>
  Effect.andThen(logLostDatabase(cause), Effect.fail(ServiceUnavailable.database()))

/** A bug, REST and RPC alike: logged with its cause; the caller is answered without details. */
export const logUnhandled = (cause: Cause.Cause<unknown>) => Effect.logError("unhandled error", cause)

/**
 * The API's `ApiErrors` middleware: a request that does not decode fails `ValidationFailed`,
 * which the HttpApi encodes like any error the API declares. A response that does not encode
 * stays what it is, a bug: HttpApi dies with it, and `apiErrorMiddleware` answers 500.
 */
export const ApiErrorsLive = HttpApiMiddleware.layerSchemaErrorTransform(
  ApiErrors,
  (error, { endpoint }) =>
    error.kind === "Body" || error.kind === "ResponseHeaders"
      ? Effect.fail(error)
      : Effect.fail(isMalformedJson(error) ? malformedJson() : toValidationFailed(error.cause, endpoint.method))
)

/**
 * What a failed or crashed request answers. Interruptions (REQUEST_TIMEOUT, a client gone) and
 * failures the server answers itself (their `Respondable` response) pass through.
 */
const answerFor = <E>(cause: Cause.Cause<E>): Effect.Effect<HttpServerResponse.HttpServerResponse, E> => {
  const error: unknown = Cause.squash(cause)
  if (HttpServerError.isHttpServerError(error) && error.reason._tag === "RouteNotFound") {
    return Effect.succeed(notFound())
  }
  // A failure or a defect alike (RPC looks at defects only: its failures are typed answers).
  if (isLostDatabase(error)) return Effect.as(logLostDatabase(cause), errorResponse(503, ServiceUnavailable.database()))
  if (Cause.hasFails(cause) || !Cause.hasDies(cause)) return Effect.failCause(cause)
  return Effect.as(logUnhandled(cause), internalError())
}

/** The error mapping around the router (a global `HttpRouter` middleware), given the configuration. */
export const apiErrorMiddleware = Effect.map(AppConfig, ({ maxBodyBytes }) => {
  const maxBytes = ByteSize.bytes(maxBodyBytes)
  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const answered = Effect.catchCause(app, answerFor)
      if (!METHODS_WITH_BODY.has(request.method)) return answered
      if (Number(request.headers["content-length"] ?? "0") > maxBodyBytes) return Effect.succeed(payloadTooLarge())
      return Effect.matchEffect(readBodyWithin(request, maxBytes), {
        onFailure: () => Effect.succeed(payloadTooLarge()),
        onSuccess: (body) => {
          const tooDeep = pathPastDepth(body)
          return tooDeep === undefined ? answered : Effect.succeed(nestedTooDeep(tooDeep))
        }
      })
    })
})

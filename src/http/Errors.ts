/**
 * The one error mapping of the API, in two places by necessity:
 * - `apiErrorMiddleware` runs inside the HttpApi, before its errors are encoded: it enforces the
 *   body limit and turns schema decode failures (and malformed JSON) into FastAPI's 422 shape.
 *   Unknown routes answer a JSON 404, and bugs a JSON 500 (logged, never detailed). A database
 *   failure that escaped its repository's mapping still answers 503 `database_unavailable`, not 500.
 * - `edgeMiddleware` (Edge.ts) adds the headers every response carries and enforces REQUEST_TIMEOUT.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { RouteNotFound } from "@effect/platform/HttpServerError"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { withMaxBodySize } from "@effect/platform/HttpIncomingMessage"
import { Cause, Effect, Layer, Option, Predicate } from "effect"
import { Api } from "../domain/Api.js"
import { PayloadTooLarge, ServiceUnavailable, ValidationFailed, type ValidationIssue } from "../domain/Errors.js"
import { AppConfig } from "../infra/Config.js"
import { isSqlError, isUnavailable } from "../infra/DatabaseErrors.js"

/** Path parameters of the API: an issue under one of these is located in the path. */
const PATH_PARAMETERS = new Set<PropertyKey>(["task_id", "session_id"])
/** Request headers the API decodes: an issue under one of these is located in the header. */
const HEADER_PARAMETERS = new Set<PropertyKey>(["idempotency-key"])
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"])

const issueType = (tag: string) => (tag === "Missing" ? "missing" : tag === "Unexpected" ? "extra_forbidden" : "value_error")

/** A schema decode failure as FastAPI reports it: `loc` starts with `body`, `query`, `path` or `header`. */
export const toValidationFailed = (error: HttpApiDecodeError, method: string) => {
  const issues = error.issues.map((issue): ValidationIssue => {
    const path = issue.path.map((key) => (typeof key === "number" ? key : String(key)))
      const source = PATH_PARAMETERS.has(issue.path[0] ?? "")
        ? "path"
        : HEADER_PARAMETERS.has(issue.path[0] ?? "")
        ? "header"
        : METHODS_WITH_BODY.has(method)
        ? "body"
        : "query"
      return {
        loc: [source, ...path],
        msg: issue._tag === "Missing" ? "Field required" : issue.message,
        type: issueType(issue._tag)
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

const json = (status: number, body: unknown) => HttpServerResponse.unsafeJson(body, { status })

const malformedJson = () => ValidationFailed.at(["body"], "JSON decode error", "json_invalid")

/** A defect raised by the HttpApi when the body is not JSON at all. */
const isBodyDecodeDefect = (defect: unknown) =>
  Predicate.isTagged(defect, "RequestError") && Predicate.hasProperty(defect, "reason") && defect.reason === "Decode"

/**
 * Reads the body once, under `MAX_BODY_BYTES`, before the API decodes it (the read is cached):
 * an oversized body is refused with 413 without being buffered whole. A body without
 * Content-Length that overflows while streaming ends with the connection closed instead
 * (platform-node destroys the request stream when its reader stops).
 */
const readBodyWithin = (maxBytes: number) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!METHODS_WITH_BODY.has(request.method)) return
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBytes) return yield* new PayloadTooLarge()
    yield* request.text.pipe(
      withMaxBodySize(Option.some(maxBytes)),
      Effect.catchAll(() => new PayloadTooLarge())
    )
  })

/** A lost database connection is never a bug, even where a repository did not map it: "retry later". */
export const isLostDatabase = (error: unknown) => isSqlError(error) && isUnavailable(error)

/** What a lost database answers, REST and RPC alike: logged with its cause, then 503. */
export const answerLostDatabase = (cause: Cause.Cause<unknown>) =>
  Effect.zipRight(
    Effect.logWarning("database unavailable (unmapped)", cause),
    Effect.fail(ServiceUnavailable.database())
  )

/** A bug, REST and RPC alike: logged with its cause; the caller is answered without details. */
export const logUnhandled = (cause: Cause.Cause<unknown>) => Effect.logError("unhandled error", cause)

/** What a failed or crashed request answers; failures the API declares pass through to be encoded. */
const answerFor = (
  // `never`: the app's error type is erased here; its failures are still there at run time.
  cause: Cause.Cause<never>,
  method: string
): Effect.Effect<HttpServerResponse.HttpServerResponse, ValidationFailed | ServiceUnavailable> => {
  const error: unknown = Cause.squash(cause)
  if (error instanceof HttpApiDecodeError) return Effect.fail(toValidationFailed(error, method))
  if (isBodyDecodeDefect(error)) return Effect.fail(malformedJson())
  if (error instanceof RouteNotFound) return Effect.succeed(json(404, { detail: "Not Found", error_code: "not_found" }))
  // A failure or a defect alike (RPC looks at defects only: its failures are typed answers).
  if (isLostDatabase(error)) return answerLostDatabase(cause)
  if (Cause.isFailure(cause) || !Cause.isDie(cause)) return Effect.failCause(cause)
  return Effect.as(logUnhandled(cause), json(500, { detail: "Internal Server Error", error_code: "internal_error" }))
}

export const apiErrorMiddleware = Layer.unwrapEffect(
  Effect.gen(function*() {
    const { maxBodyBytes } = yield* AppConfig
    return HttpApiBuilder.middleware(Api, (app) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        yield* readBodyWithin(maxBodyBytes)
        return yield* Effect.catchAllCause(app, (cause) => answerFor(cause, request.method))
      }))
  })
)

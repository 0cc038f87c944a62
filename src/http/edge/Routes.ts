/**
 * The route template of a request (`/api/tasks/:task_id`), for span names, access logs and
 * metrics. The server span is named before the router runs, so the template cannot be read from
 * the router's match; it comes from a second instance of the router's own matcher (effect's
 * FindMyWay, with the same configuration, the same routes and the router's HEAD→GET fallback),
 * so whatever the router serves (`/API/TASKS`, `/api/tasks/`, `HEAD /api/tasks`) is labelled by
 * the route it was served by. Unknown paths are one label, so metrics cannot be flooded with
 * made-up routes.
 */
import type { HttpServerRequest } from "effect/http"
import { FindMyWay } from "effect/http"
import { HttpApi } from "effect/http-api"
import { Api } from "../../domain/Api.js"

export const UNMATCHED_ROUTE = "unmatched"

/**
 * The router's matching rules, provided to the router as `HttpRouter.RouterConfig` (App.ts) and
 * used by the matcher below: one value, so the two cannot drift. FindMyWay's defaults
 * (case-insensitive, trailing and duplicate slashes ignored, parameters up to 100 characters).
 */
export const ROUTER_CONFIG: Partial<FindMyWay.RouterConfig> = {}

/** The routes served beside the HttpApi's endpoints (App.ts, RpcServer.ts), with their methods. */
export const OPENAPI_PATH = "/openapi.json"
export const DOCS_PATH = "/docs"
export const RPC_PATH = "/rpc"
/** The docs page's script, named by its content's hash (`/docs/scalar.<hash>.js`, DocsHttp.ts). */
export const DOCS_SCRIPT_PREFIX = `${DOCS_PATH}/scalar.`
const DOCS_SCRIPT_ROUTE = `${DOCS_SCRIPT_PREFIX}:hash.js`

const matcher: FindMyWay.Router<string> = (() => {
  const router = FindMyWay.make<string>(ROUTER_CONFIG)
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => router.on(endpoint.method, endpoint.path as FindMyWay.PathInput, endpoint.path)
  })
  router.on("GET", OPENAPI_PATH, OPENAPI_PATH)
  router.on("GET", DOCS_PATH, DOCS_PATH)
  router.on("GET", DOCS_SCRIPT_ROUTE, DOCS_SCRIPT_ROUTE)
  router.on("POST", RPC_PATH, RPC_PATH)
  return router
})()

/** The template for `method` and the request's URL (query included, as the router gets it). */
export const routeOf = (method: string, url: string): string =>
  // As the router: a HEAD with no route of its own is served by the GET route.
  (matcher.find(method, url) ?? (method === "HEAD" ? matcher.find("GET", url) : undefined))?.handler ??
    UNMATCHED_ROUTE

// Keyed by the request object: the span name and the edge both ask, and the entry goes with it.
const routesOfRequests = new WeakMap<HttpServerRequest.HttpServerRequest, string>()

/** `routeOf` a request, matched once however many times it is asked. */
export const routeOfRequest = (request: HttpServerRequest.HttpServerRequest): string => {
  const known = routesOfRequests.get(request)
  if (known !== undefined) return known
  const route = routeOf(request.method, request.url)
  routesOfRequests.set(request, route)
  return route
}

/**
 * The route template of a request (`/api/tasks/:task_id`), for span names, access logs and
 * metrics: matched against the paths the HttpApi declares, so it never drifts from the router.
 * Unknown paths are one label, so metrics cannot be flooded with made-up routes.
 */
import type { HttpServerRequest } from "effect/http"
import { HttpApi } from "effect/http-api"
import { Api } from "../../domain/Api.js"

export const UNMATCHED_ROUTE = "unmatched"

interface Template {
  readonly method: string
  readonly path: string
  readonly pattern: RegExp
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const templates: ReadonlyArray<Template> = (() => {
  const found: Array<Template> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      const pattern = endpoint.path.split("/").map((part) => (part.startsWith(":") ? "[^/]+" : escape(part))).join("/")
      found.push({ method: endpoint.method, path: endpoint.path, pattern: new RegExp(`^${pattern}/?$`) })
    }
  })
  // Fewer parameters first: a literal path wins over a parameterised one it also matches.
  const parameters = (t: Template) => t.path.split(":").length
  return found.sort((a, b) => parameters(a) - parameters(b))
})()

/** The routes served beside the HttpApi's endpoints (Server.ts, RpcServer.ts). */
export const OPENAPI_PATH = "/openapi.json"
export const DOCS_PATH = "/docs"
export const RPC_PATH = "/rpc"
/** The docs page's script, named by its content's hash (`/docs/scalar.<hash>.js`, DocsHttp.ts). */
export const DOCS_SCRIPT_PREFIX = `${DOCS_PATH}/scalar.`
const DOCS_SCRIPT_ROUTE = `${DOCS_SCRIPT_PREFIX}:hash.js`

const EXTRA_ROUTES: ReadonlyArray<string> = [OPENAPI_PATH, DOCS_PATH, RPC_PATH]

/** The template for `method` and the URL's path (query excluded). */
export const routeOf = (method: string, url: string): string => {
  const path = url.split("?")[0] ?? url
  for (const template of templates) {
    if (template.method === method && template.pattern.test(path)) return template.path
  }
  if (path.startsWith(DOCS_SCRIPT_PREFIX)) return DOCS_SCRIPT_ROUTE
  return EXTRA_ROUTES.find((route) => route === path) ?? UNMATCHED_ROUTE
}

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

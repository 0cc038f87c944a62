/**
 * The REST contract as an `HttpApi`: each feature's group (tasks/, auth/, health/), and what the whole API
 * shares. The server implements it, `/openapi.json` is generated from it, and `HttpApiClient.make(Api)`
 * turns it into a typed client. No server code is imported here.
 */
import { HttpApi, HttpApiMiddleware, OpenApi } from "effect/http-api"
import { AuthApi } from "./auth/AuthApi.js"
import { PayloadTooLarge, RateLimited, ServiceUnavailable, ValidationFailed } from "./Errors.js"
import { HealthApi } from "./health/HealthApi.js"
import { describeServer } from "./OpenApiCleanup.js"
import { ListTasksQuery } from "./tasks/Task.js"
import { TasksApi } from "./tasks/TasksApi.js"

/**
 * What any endpoint may answer besides its own errors: a body over `MAX_BODY_BYTES` (413), a
 * request that does not decode (422 in FastAPI's shape, never HttpApi's own 400), a rate limit
 * (429) and a lost dependency (503). The whole API carries it, outermost (src/http implements it),
 * so handlers may fail with these too and OpenAPI lists them on every operation.
 */
export class ApiErrors extends HttpApiMiddleware.Service<ApiErrors>()("ApiErrors", {
  error: [ValidationFailed.Response, PayloadTooLarge.Response, RateLimited.Response, ServiceUnavailable.Response]
}) {}

/**
 * The API. `info.version` is the service's, which the server adds where it serves the document
 * (src/App.ts): the domain reads no files.
 */
export class Api extends HttpApi.make("tasks-api")
  .add(TasksApi, AuthApi, HealthApi)
  .middleware(ApiErrors)
  .annotate(
    OpenApi.Transform,
    describeServer({
      queries: { "tasks.list": ListTasksQuery },
      ownUnauthorized: new Set(["auth.changePassword"])
    })
  )
  .annotate(OpenApi.Title, "tasks-api")
  .annotate(
    OpenApi.Description,
    "Task management API: the old FastAPI backend's REST contract, hardened. Errors carry `detail` and `error_code`."
  )
  // No open-source licence: the SPDX form of a licence of its own.
  .annotate(OpenApi.License, { name: "Proprietary", identifier: "LicenseRef-Proprietary" })
  // Relative: the server this document is served from, wherever that is.
  .annotate(OpenApi.Servers, [{ url: "/", description: "The server this document is served from" }])
{}

/**
 * The gap between the port opening and the app answering on it: effect's NodeHttpServer listens
 * when its layer is built, and `HttpRouter.serve` attaches the router's handler only once every
 * route on it is built. A request in that gap is answered `503 not_ready` (with `Retry-After`) at
 * once rather than left waiting for an answer nobody writes, and counted in the request metrics as
 * a 503 of its route. Built without the app on it, the server stays in that gap.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { HttpServer } from "effect/http"
import { nodeServerOn } from "../../src/App.js"
import { appConfigFrom } from "../../src/infra/platform/Config.js"
import { TEST_JWT_SECRET } from "../support/TestService.js"

const ServerWithoutApp = nodeServerOn({ host: "127.0.0.1", port: 0 }).pipe(
  Layer.provide(appConfigFrom({ APP_ENV: "test", JWT_SECRET: TEST_JWT_SECRET }))
)

it.layer(ServerWithoutApp)("the port open before the app's handler", (it) => {
  it.effect("answers 503 not_ready with Retry-After at once, counted as a 503; /health/live answers 200", () =>
    Effect.gen(function*() {
      const { address } = yield* HttpServer.HttpServer
      const port = address._tag === "UnixPathAddress" ? 0 : address.port
      const get = (path: string) =>
        Effect.promise(async () => {
          const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) })
          return {
            status: response.status,
            retryAfter: response.headers.get("retry-after"),
            body: await response.json()
          }
        })
      /** The requests of GET /api/tasks answered 503 so far, in `http.server.request.duration`. */
      const refusedCount = Effect.map(
        Metric.snapshot,
        (snapshots) =>
          snapshots.filter((metric) =>
            metric.id === "http.server.request.duration" && metric.attributes?.["http.route"] === "/api/tasks" &&
            metric.attributes["http.request.method"] === "GET" &&
            metric.attributes["http.response.status_code"] === "503"
          ).reduce((sum, metric) => sum + Number((metric.state as { readonly count: number }).count), 0)
      )
      const before = yield* refusedCount
      expect(yield* get("/api/tasks")).toEqual({
        status: 503,
        retryAfter: "1",
        body: { detail: "Service not ready", error_code: "not_ready" }
      })
      expect((yield* refusedCount) - before).toBe(1)
      expect(yield* get("/health/live")).toMatchObject({ status: 200, body: { status: "pass" } })
    }))
})

/**
 * Route templates as the router matches them (issue 13, item 15): what the router serves whatever
 * the path's case, its trailing or doubled slashes, or HEAD for a GET route, is counted, timed and
 * traced as its route; a path the router does not serve is still the one `unmatched` label.
 *
 * Its own file, so its own process: this suite's service is the only one recording, the counts are exact.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { request, signup } from "../support/http.js"
import {
  attributeOf,
  awaitExport,
  dataPointsOf,
  latestMetricsOf,
  OtlpReceiver,
  SERVER,
  spansOf,
  TracedService
} from "./telemetry-helpers.js"

const randomHex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("")

it.layer(TracedService())("route templates", (it) => {
  it.effect("any case, trailing and doubled slashes, HEAD as GET: counted and traced as the route that served", () =>
    Effect.gen(function*() {
      const user = yield* signup("routes")
      const created = yield* request("POST", "/api/tasks", {
        token: user.token,
        json: { title: "routed", priority: "urgent_important" }
      })
      expect(created.status, created.text).toBe(201)
      const taskId: string = created.body.data.id
      const sent: Array<readonly [method: string, path: string, status: number, route: string]> = [
        ["GET", "/API/TASKS", 200, "/api/tasks"],
        ["GET", "/api/tasks/", 200, "/api/tasks"],
        ["HEAD", "/api/tasks", 200, "/api/tasks"],
        ["HEAD", "//Api//Tasks?limit=1", 200, "/api/tasks"],
        ["GET", `/api/Tasks/${taskId.toUpperCase()}`, 200, "/api/tasks/:task_id"],
        ["GET", "/api/taskz", 404, "unmatched"],
        ["DELETE", "/api/tasks", 404, "unmatched"]
      ]
      const traced: Array<string> = []
      for (const [method, path, status] of sent) {
        const traceId = randomHex(16)
        traced.push(traceId)
        const reply = yield* request(method, path, {
          token: user.token,
          headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` }
        })
        expect(reply.status, `${method} ${path}`).toBe(status)
      }

      const receiver = yield* OtlpReceiver
      const count = (method: string, route: string, status: number) => {
        // The duration histogram's count is the number of requests.
        const point = dataPointsOf(latestMetricsOf(receiver), "http.server.request.duration").find((p) =>
          attributeOf(p, "http.request.method") === method && attributeOf(p, "http.route") === route &&
          Number(attributeOf(p, "http.response.status_code")) === status
        )
        return Number(point?.count ?? 0)
      }
      const expected: Array<readonly [string, string, number, number]> = [
        ["GET", "/api/tasks", 200, 2],
        ["HEAD", "/api/tasks", 200, 2],
        ["GET", "/api/tasks/:task_id", 200, 1],
        ["GET", "unmatched", 404, 1],
        ["DELETE", "unmatched", 404, 1]
      ]
      const counts = yield* awaitExport(() => {
        const counts = expected.map(([method, route, status]) => [method, route, status, count(method, route, status)])
        return counts.every(([, , , n], i) => n === expected[i][3]) ? counts : undefined
      }, "the requests counted by route")
      expect(counts).toEqual(expected)

      // Each request's server span is named by the same route.
      const names = yield* awaitExport(() => {
        const spans = spansOf(receiver).filter((s) => s.kind === SERVER)
        const names = traced.map((traceId) => spans.find((s) => s.traceId === traceId)?.name)
        return names.every((name) => name !== undefined) ? names : undefined
      }, "the server spans of the requests")
      expect(names).toEqual(sent.map(([method, , , route]) => `${method} ${route}`))
    }))
})

/**
 * A request the front sheds (503 overloaded, before the router) is still a request the service
 * answered: it is counted and timed in `http.server.request.duration` under its route, so a dashboard
 * shows the shedding instead of a drop in traffic.
 *
 * Its own file, so its own process: this suite's service is the only one recording, the counts are exact.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { get, put, signup } from "../support/http.js"
import { holdRow, untilWaiting } from "../support/locks.js"
import { TestServer } from "../support/TestService.js"
import { createTask } from "../tasks/tasks-helpers.js"
import {
  attributeOf,
  awaitExport,
  dataPointsOf,
  latestMetricsOf,
  OtlpReceiver,
  TracedService
} from "./telemetry-helpers.js"

it.layer(TracedService({ MAX_REQUESTS_IN_FLIGHT: "1" }))("shed requests in the metrics", (it) => {
  it.effect("each shed request counts as a 503 of its route", () =>
    Effect.gen(function*() {
      const { databaseUrl } = yield* TestServer
      const user = yield* signup("shed-metrics")
      const taskId = (yield* createTask(user.token, { title: "t" })).id
      // An update waiting on the task's row holds the one request allowed in flight.
      const lock = yield* holdRow(databaseUrl, "task", taskId)
      yield* Effect.forkChild(put(`/api/tasks/${taskId}`, { token: user.token, json: { title: "held" } }))
      expect(yield* untilWaiting(lock, (n) => n === 1)).toBe(1)
      for (let i = 0; i < 3; i++) {
        expect((yield* get("/api/tasks", { token: user.token })).status).toBe(503)
      }
      expect((yield* get("/api/taskz")).status).toBe(503)

      const receiver = yield* OtlpReceiver
      const count = (route: string) =>
        Number(
          dataPointsOf(latestMetricsOf(receiver), "http.server.request.duration").find((p) =>
            attributeOf(p, "http.request.method") === "GET" && attributeOf(p, "http.route") === route &&
            Number(attributeOf(p, "http.response.status_code")) === 503
          )?.count ?? 0
        )
      const counts = yield* awaitExport(() => {
        const counts = [count("/api/tasks"), count("unmatched")]
        return counts[0] === 3 && counts[1] === 1 ? counts : undefined
      }, "the shed requests counted")
      expect(counts).toEqual([3, 1])
      yield* Effect.promise(() => lock.query("ROLLBACK"))
    }))
})

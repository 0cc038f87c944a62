/**
 * Metrics over the OTLP exporter (issue #5): requests timed by route template, method and status
 * (recorded once per request, by the edge) as OpenTelemetry's HTTP conventions say (issue 14,
 * item 10), signin outcomes, refresh-token reuse, rate-limit rejections by rule, and the database
 * pool's connections in use.
 *
 * Each test file runs in a process of its own, and this suite's service is the only thing in it
 * that records: the counts are exact.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { get, post, signup } from "../support/http.js"
import { UNKNOWN_TASK_ID } from "../tasks/tasks-helpers.js"
import {
  attributeOf,
  awaitExport,
  dataPointsOf,
  latestMetricsOf,
  type OtlpDataPoint,
  OtlpReceiver,
  TracedService
} from "./telemetry-helpers.js"

const AUTH = "/api/v1/auth"

type Attributes = Record<string, string | number>

const withAttributes = (points: ReadonlyArray<OtlpDataPoint>, attributes: Attributes) =>
  points.find((p) => Object.entries(attributes).every(([key, value]) => attributeOf(p, key) === value))

/** Waits until the latest export has the data point of `metric` with `attributes` and `value`. */
const awaitPoint = (metric: string, attributes: Attributes, value: (p: OtlpDataPoint) => boolean) =>
  Effect.gen(function*() {
    const receiver = yield* OtlpReceiver
    return yield* awaitExport(() => {
      const point = withAttributes(dataPointsOf(latestMetricsOf(receiver), metric), attributes)
      return point !== undefined && value(point) ? point : undefined
    }, `${metric} ${JSON.stringify(attributes)}`)
  })

/** A number data point's value (Effect's counters export as doubles). */
const valueOf = (p: OtlpDataPoint) => p.asInt ?? p.asDouble

const countIs = (n: number) => (p: OtlpDataPoint) => valueOf(p) === n

/** A histogram point's count: the number of requests. */
const requestsAre = (n: number) => (p: OtlpDataPoint) => p.count === n

const DURATION = "http.server.request.duration"

/** The semantic conventions' advised boundaries for `http.server.request.duration`, in seconds. */
const ADVISED_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

// Signin limited to 3 a minute per IP, so the fourth is refused (429) by rule signin:ip.
it.layer(TracedService({ RATE_LIMIT_ENABLED: "true", RATE_LIMIT_SIGNIN_PER_IP: "3/1m" }))("metrics", (it) => {
  it.effect("requests are timed in seconds by route template, method, integer status and scheme (semconv)", () =>
    Effect.gen(function*() {
      const user = yield* signup("metered")
      for (let i = 0; i < 3; i++) {
        expect((yield* get(`/api/tasks/${UNKNOWN_TASK_ID}`, { token: user.token })).status).toBe(404)
      }
      expect((yield* get("/api/tasks", { token: user.token })).status).toBe(200)
      // Prometheus is off by default: the API's port has no /metrics.
      expect((yield* get("/metrics")).status).toBe(404)

      const byTask = {
        "http.route": "/api/tasks/:task_id",
        "http.request.method": "GET",
        // An integer (intValue), not the string "404".
        "http.response.status_code": 404,
        "url.scheme": "http"
      }
      const duration = yield* awaitPoint(DURATION, byTask, requestsAre(3))
      expect(duration.explicitBounds).toEqual(ADVISED_BOUNDARIES)
      // Seconds: three quick requests sit in the lowest buckets, none past 10 s.
      expect(duration.bucketCounts?.at(-1)).toBe(0)
      // The unit is the metric's, not a data point attribute; no 5xx, so no error.type.
      expect(duration.attributes.map((a) => a.key).sort()).toEqual(
        ["http.request.method", "http.response.status_code", "http.route", "url.scheme"]
      )
      yield* awaitPoint(DURATION, { "http.route": "/api/tasks", "http.response.status_code": 200 }, requestsAre(1))
      yield* awaitPoint(
        DURATION,
        { "http.route": "/api/v1/auth/signup", "http.response.status_code": 200 },
        requestsAre(1)
      )
      const receiver = yield* OtlpReceiver
      const metrics = latestMetricsOf(receiver)
      expect(metrics.find((m) => m.name === DURATION)?.unit).toBe("s")
      // The old names (milliseconds reported with unit "1", a separate counter) are gone.
      expect(metrics.filter((m) => m.name === "http.server.duration" || m.name === "http.server.requests")).toEqual([])
      // A raw path is never a label: the route template is.
      const routes = dataPointsOf(metrics, DURATION).map((p) => attributeOf(p, "http.route"))
      expect(routes.some((route) => String(route).includes("5f0c6a8e"))).toBe(false)
    }))

  it.effect("signin outcomes, rate-limit rejections by rule, refresh reuse and the pool gauge are exported", () =>
    Effect.gen(function*() {
      const user = yield* signup("outcomes")
      expect((yield* post(`${AUTH}/signin`, { json: { email: user.email, password: user.password } })).status).toBe(200)
      expect((yield* post(`${AUTH}/signin`, { json: { email: user.email, password: "wrong password!" } })).status).toBe(
        401
      )
      expect((yield* post(`${AUTH}/signin`, { json: { email: user.email, password: user.password } })).status).toBe(200)
      expect((yield* post(`${AUTH}/signin`, { json: { email: user.email, password: user.password } })).status).toBe(429)

      // Refresh, then present the rotated-away token again after the reuse grace (10 s).
      const refreshed = yield* post(`${AUTH}/refresh`, { json: { refresh_token: user.refreshToken } })
      expect(refreshed.status, refreshed.text).toBe(200)
      yield* TestClock.adjust("11 seconds")
      const reused = yield* post(`${AUTH}/refresh`, { json: { refresh_token: user.refreshToken } })
      expect(reused.status).toBe(401)
      expect(reused.body.error_code).toBe("refresh_token_reused")

      yield* awaitPoint("auth.signins", { outcome: "succeeded" }, countIs(2))
      yield* awaitPoint("auth.signins", { outcome: "failed" }, countIs(1))
      yield* awaitPoint("ratelimit.rejections", { rule: "signin:ip" }, countIs(1))
      yield* awaitPoint("auth.refresh.reuse_detected", {}, countIs(1))
      yield* awaitPoint(DURATION, {
        "http.route": "/api/v1/auth/signin",
        "http.response.status_code": 429
      }, requestsAre(1))
      // The pool gauge follows checkouts: a transaction holds one connection (the service's own
      // pool: the kit's SqlClient is the service's), and none is held once it ends.
      const sql = yield* SqlClient.SqlClient
      yield* sql.withTransaction(awaitPoint("db.client.connections.in_use", {}, countIs(1)))
      yield* awaitPoint("db.client.connections.in_use", {}, countIs(0))
    }))
})

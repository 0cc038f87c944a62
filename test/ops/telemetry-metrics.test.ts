/**
 * Metrics over the OTLP exporter (issue #5): requests counted and timed by route template, method
 * and status (recorded once per request, by the edge), signin outcomes, refresh-token reuse,
 * rate-limit rejections by rule, and the database pool's connections in use.
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

const withAttributes = (points: ReadonlyArray<OtlpDataPoint>, attributes: Record<string, string>) =>
  points.find((p) => Object.entries(attributes).every(([key, value]) => attributeOf(p, key) === value))

/** Waits until the latest export has the data point of `metric` with `attributes` and `value`. */
const awaitPoint = (metric: string, attributes: Record<string, string>, value: (p: OtlpDataPoint) => boolean) =>
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

// Signin limited to 3 a minute per IP, so the fourth is refused (429) by rule signin:ip.
it.layer(TracedService({ RATE_LIMIT_ENABLED: "true", RATE_LIMIT_SIGNIN_PER_IP: "3/1m" }))("metrics", (it) => {
  it.effect("requests are counted and timed by route template, method and status", () =>
    Effect.gen(function*() {
      const user = yield* signup("metered")
      for (let i = 0; i < 3; i++) {
        expect((yield* get(`/api/tasks/${UNKNOWN_TASK_ID}`, { token: user.token })).status).toBe(404)
      }
      expect((yield* get("/api/tasks", { token: user.token })).status).toBe(200)

      const byTask = {
        "http.route": "/api/tasks/:task_id",
        "http.request.method": "GET",
        "http.response.status_code": "404"
      }
      yield* awaitPoint("http.server.requests", byTask, countIs(3))
      yield* awaitPoint(
        "http.server.requests",
        { "http.route": "/api/tasks", "http.response.status_code": "200" },
        countIs(1)
      )
      yield* awaitPoint("http.server.requests", {
        "http.route": "/api/v1/auth/signup",
        "http.response.status_code": "200"
      }, countIs(1))
      const duration = yield* awaitPoint("http.server.duration", byTask, (p) => p.count === 3)
      expect(duration.count).toBe(3)
      // A raw path is never a label: the route template is.
      const receiver = yield* OtlpReceiver
      const routes = dataPointsOf(latestMetricsOf(receiver), "http.server.requests").map((p) =>
        attributeOf(p, "http.route")
      )
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
      yield* awaitPoint("http.server.requests", {
        "http.route": "/api/v1/auth/signin",
        "http.response.status_code": "429"
      }, countIs(1))
      // The pool gauge follows checkouts: a transaction holds one connection (the service's own
      // pool: the kit's SqlClient is the service's), and none is held once it ends.
      const sql = yield* SqlClient.SqlClient
      yield* sql.withTransaction(awaitPoint("db.client.connections.in_use", {}, countIs(1)))
      yield* awaitPoint("db.client.connections.in_use", {}, countIs(0))
    }))
})

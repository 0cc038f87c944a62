/**
 * The service's metrics (Effect `Metric`s, exported over OTLP with the traces when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set). Labels are bounded: route templates, status codes, outcomes.
 */
import { Metric, MetricBoundaries } from "effect"

export const httpRequests = Metric.counter("http.server.requests", {
  description: "HTTP requests served, by route template, method and status",
  incremental: true
})

export const httpRequestDuration = Metric.histogram(
  "http.server.duration",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 14 }),
  "HTTP request duration in milliseconds, by route template, method and status"
)

export const signins = Metric.counter("auth.signins", {
  description: "Signin attempts by outcome (succeeded, failed, banned)",
  incremental: true
})

export const refreshReuses = Metric.counter("auth.refresh.reuse_detected", {
  description: "Refresh tokens presented again after rotation (theft evidence)",
  incremental: true
})

export const rateLimitRejections = Metric.counter("ratelimit.rejections", {
  description: "Requests refused with 429, by rule",
  incremental: true
})

export const databasePoolInUse = Metric.gauge("db.client.connections.in_use", {
  description: "PostgreSQL pool connections checked out"
})

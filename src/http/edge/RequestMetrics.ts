/**
 * Per-request metrics, recorded once by the edge: `http.server.request.duration` (its count is
 * the request count) with OpenTelemetry's HTTP attributes.
 */
import { Effect, Metric } from "effect"
import type { BenchGuard } from "../../infra/platform/Config.js"
import { httpRequestDuration } from "../../infra/platform/Metrics.js"

export interface RequestOutcome {
  readonly method: string
  /** The route template (bounded), never the raw path. */
  readonly route: string
  readonly status: number
  readonly durationMs: number
}

/**
 * The metric with the attributes of one route, method and status, made once: attributing
 * builds and hashes a new metric key, too much to do on every request. Routes are templates and
 * methods and statuses few, so this stays small.
 */
const attributed = new Map<string, typeof httpRequestDuration>()

const metricsFor = (method: string, route: string, status: number) => {
  const key = `${method} ${route} ${status}`
  let found = attributed.get(key)
  if (found === undefined) {
    found = Metric.withAttributes(httpRequestDuration, {
      "http.request.method": method,
      "http.route": route,
      // An integer in OTLP (Metrics.ts INTEGER_ATTRIBUTES); Effect's attributes are strings.
      "http.response.status_code": String(status),
      // The server speaks plain HTTP; TLS, where there is any, ends at a proxy in front.
      "url.scheme": "http",
      // The conventions' error type for a response the server failed: its status code.
      ...(status >= 500 ? { "error.type": String(status) } : {})
    })
    attributed.set(key, found)
  }
  return found
}

/** Once per request, from the edge's pre-response handler: the status is the one written. */
export const recordRequest = ({ durationMs, method, route, status }: RequestOutcome): Effect.Effect<void> =>
  Metric.update(metricsFor(method, route, status), durationMs / 1000)

/**
 * What records a request for a service with the guards `off`: nothing with BENCH_GUARDS_OFF=metrics,
 * for the requests the edge serves and those the front refuses alike. Decided once, at build.
 */
export const requestRecorder = (off: ReadonlySet<BenchGuard>): typeof recordRequest =>
  off.has("metrics") ? () => Effect.void : recordRequest

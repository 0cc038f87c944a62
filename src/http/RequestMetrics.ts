/** Per-request metrics, recorded once by the edge: count and duration by route, method and status. */
import { Effect, Metric, MetricLabel } from "effect"
import { httpRequestDuration, httpRequests } from "../infra/Metrics.js"

export interface RequestOutcome {
  readonly method: string
  /** The route template (bounded), never the raw path. */
  readonly route: string
  readonly status: number
  readonly durationMs: number
}

/** Once per request, from the edge's pre-response handler: the status is the one written. */
export const recordRequest = ({ durationMs, method, route, status }: RequestOutcome): Effect.Effect<void> => {
  const labels = [
    MetricLabel.make("http.route", route),
    MetricLabel.make("http.request.method", method),
    MetricLabel.make("http.response.status_code", String(status))
  ]
  return Effect.zipRight(
    Metric.increment(Metric.taggedWithLabels(httpRequests, labels)),
    Metric.update(Metric.taggedWithLabels(httpRequestDuration, labels), durationMs)
  )
}

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

/**
 * The two metrics tagged for one route, method and status, made once: tagging builds and hashes a
 * new metric key, too much to do on every request. Routes are templates and methods and statuses
 * few, so this stays small.
 */
const tagged = new Map<string, { readonly count: Effect.Effect<void>; readonly duration: typeof httpRequestDuration }>()

const metricsFor = (method: string, route: string, status: number) => {
  const key = `${method} ${route} ${status}`
  let found = tagged.get(key)
  if (found === undefined) {
    const labels = [
      MetricLabel.make("http.route", route),
      MetricLabel.make("http.request.method", method),
      MetricLabel.make("http.response.status_code", String(status))
    ]
    found = {
      count: Metric.increment(Metric.taggedWithLabels(httpRequests, labels)),
      duration: Metric.taggedWithLabels(httpRequestDuration, labels)
    }
    tagged.set(key, found)
  }
  return found
}

/** Once per request, from the edge's pre-response handler: the status is the one written. */
export const recordRequest = ({ durationMs, method, route, status }: RequestOutcome): Effect.Effect<void> => {
  const metrics = metricsFor(method, route, status)
  return Effect.zipRight(metrics.count, Metric.update(metrics.duration, durationMs))
}

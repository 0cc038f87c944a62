/** Per-request metrics, recorded once by the edge: count and duration by route, method and status. */
import { Effect, Metric } from "effect"
import { httpRequestDuration, httpRequests } from "../../infra/platform/Metrics.js"

export interface RequestOutcome {
  readonly method: string
  /** The route template (bounded), never the raw path. */
  readonly route: string
  readonly status: number
  readonly durationMs: number
}

/**
 * The two metrics with the attributes of one route, method and status, made once: attributing
 * builds and hashes a new metric key, too much to do on every request. Routes are templates and
 * methods and statuses few, so this stays small.
 */
const attributed = new Map<
  string,
  { readonly count: Effect.Effect<void>; readonly duration: typeof httpRequestDuration }
>()

const metricsFor = (method: string, route: string, status: number) => {
  const key = `${method} ${route} ${status}`
  let found = attributed.get(key)
  if (found === undefined) {
    const attributes = {
      "http.route": route,
      "http.request.method": method,
      "http.response.status_code": String(status)
    }
    found = {
      count: Metric.update(Metric.withAttributes(httpRequests, attributes), 1),
      duration: Metric.withAttributes(httpRequestDuration, attributes)
    }
    attributed.set(key, found)
  }
  return found
}

/** Once per request, from the edge's pre-response handler: the status is the one written. */
export const recordRequest = ({ durationMs, method, route, status }: RequestOutcome): Effect.Effect<void> => {
  const metrics = metricsFor(method, route, status)
  return Effect.andThen(metrics.count, Metric.update(metrics.duration, durationMs))
}

/**
 * The service's metrics (Effect `Metric`s, exported over OTLP with the traces when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set). Labels are bounded: route templates, status codes, outcomes.
 */
import { Effect, Metric, MetricBoundaries } from "effect"
import type pg from "pg"

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

/** One signin attempt's outcome; a store outage is no outcome of the attempt and is not counted. */
export type SigninOutcome = "succeeded" | "failed" | "banned"

const signinOutcomeOf = (error: { readonly _tag: string }): SigninOutcome | undefined =>
  error._tag === "InvalidCredentials" ? "failed" : error._tag === "AccountBanned" ? "banned" : undefined

const countSignin = (outcome: SigninOutcome) => Metric.increment(Metric.tagged(signins, "outcome", outcome))

/** Counts a signin by its outcome (pipe it onto the signin effect). */
export const countSigninOutcome = <A, E extends { readonly _tag: string }, R>(signin: Effect.Effect<A, E, R>) =>
  signin.pipe(
    Effect.tap(() => countSignin("succeeded")),
    Effect.tapError((error) => {
      const outcome = signinOutcomeOf(error)
      return outcome === undefined ? Effect.void : countSignin(outcome)
    })
  )

/** A refresh token presented again after rotation. */
export const countRefreshReuse = Metric.increment(refreshReuses)

/** A request refused with 429 by `rule` (a bounded rule name such as `signin:ip`). */
export const countRateLimitRejection = (rule: string) => Metric.increment(Metric.tagged(rateLimitRejections, "rule", rule))

/**
 * Keeps `databasePoolInUse` equal to the pool's checked-out connections. Driven by the pool's own
 * events rather than a timer: always current, and no schedule to drive under TestClock (where a
 * sampling loop would also slow every long `TestClock.adjust` to a crawl).
 */
export const trackPoolInUse = (pool: pg.Pool) => {
  const sample = () => databasePoolInUse.unsafeUpdate(pool.totalCount - pool.idleCount, [])
  pool.on("acquire", sample)
  pool.on("remove", sample)
  // pg emits "release" before it puts the client back among the idle ones, within the same call.
  pool.on("release", () => queueMicrotask(sample))
  sample()
}

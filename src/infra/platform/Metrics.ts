/**
 * The service's metrics (Effect `Metric`s, exported over OTLP with the traces, or served to
 * Prometheus: Telemetry.ts). Labels are bounded: route templates, status codes, outcomes.
 */
import { Duration, Effect, Metric } from "effect"
import type { SqlClient } from "effect/sql"

/**
 * OpenTelemetry's HTTP server metric (semantic conventions 1.x, stable): seconds, with the
 * conventions' advised bucket boundaries. Its count is the number of requests. Effect carries a
 * metric's unit as its `unit` attribute; the OTLP serialization (Telemetry.ts) moves it out of
 * the data points.
 */
export const httpRequestDuration = Metric.histogram("http.server.request.duration", {
  description: "Duration of HTTP server requests",
  attributes: { unit: "seconds" },
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
})

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

/**
 * PostgreSQL connections of this instance busy with a statement or a transaction, set by
 * `trackPoolInUse` (sampled, see there).
 */
export const databasePoolInUse = Metric.gauge("db.client.connections.in_use", {
  description: "PostgreSQL pool connections checked out"
})

/** The longest time between two samples of `databasePoolInUse`, however rarely metrics are sent. */
const POOL_SAMPLE_PERIOD_MAX = Duration.seconds(10)

/**
 * Keeps `databasePoolInUse` current, for as long as it runs (fork it; it never fails): every
 * metrics export interval (at most POOL_SAMPLE_PERIOD_MAX), it counts the server sessions named
 * `applicationName` (the instance's own, see Database.ts) that are running a statement or are
 * inside a transaction, the sampling session excepted. A failed sample leaves the gauge as it was.
 *
 * Sampled because `@effect/sql-pg` offers no hook on checkouts (its pool and `Pool.stats` are
 * private, and it emits no events). Since the client checks out per statement and a transaction
 * holds its connection, this comes close to the checkout count. Not seen: the time between
 * samples; connections held without a statement or transaction (`sql.reserve`, LISTEN: unused
 * here); sessions of other roles (without `pg_read_all_stats`); and, behind a transaction-mode
 * pooler, checkouts waiting at the pooler (its server connections count only if it passes
 * `application_name` on, as PgBouncer does). Each sample briefly takes a pool connection (at
 * saturation it waits, and reads at most the pool size less one), runs untraced, and keeps the
 * database from idling (Neon's scale to zero) while metrics are exported.
 */
export const trackPoolInUse = (
  sql: SqlClient.SqlClient,
  applicationName: string,
  exportInterval: Duration.Duration
): Effect.Effect<never> => {
  const sample = sql<{ readonly n: number }>`SELECT count(*)::int4 AS n FROM pg_stat_activity
    WHERE application_name = ${applicationName} AND state <> 'idle' AND pid <> pg_backend_pid()`.pipe(
    Effect.flatMap((rows) => Metric.update(databasePoolInUse, rows[0]?.n ?? 0)),
    Effect.catchCause((cause) => Effect.logDebug("pool gauge not sampled", cause)),
    Effect.withTracerEnabled(false)
  )
  // Slept on the fiber's clock, as the exporter sleeps its interval (so TestClock moves both).
  return Effect.forever(Effect.andThen(sample, Effect.sleep(Duration.min(exportInterval, POOL_SAMPLE_PERIOD_MAX))))
}

/** One signin attempt's outcome; a store outage is no outcome of the attempt and is not counted. */
export type SigninOutcome = "succeeded" | "failed" | "banned"

const signinOutcomeOf = (error: { readonly _tag: string }): SigninOutcome | undefined =>
  error._tag === "InvalidCredentials" ? "failed" : error._tag === "AccountBanned" ? "banned" : undefined

const countSignin = (outcome: SigninOutcome) => Metric.update(Metric.withAttributes(signins, { outcome }), 1)

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
export const countRefreshReuse = Metric.update(refreshReuses, 1)

/** A request refused with 429 by `rule` (a bounded rule name such as `signin:ip`). */
export const countRateLimitRejection = (rule: string) =>
  Metric.update(Metric.withAttributes(rateLimitRejections, { rule }), 1)

/**
 * Metric attributes whose OpenTelemetry type is an integer. Effect's attributes are strings; the
 * OTLP serialization (Telemetry.ts) writes these as integers.
 */
export const INTEGER_ATTRIBUTES: ReadonlySet<string> = new Set(["http.response.status_code"])

/**
 * Prometheus names by OpenTelemetry's compatibility rules: the unit as a suffix, `_total` on
 * counters (the formatter then turns dots into underscores).
 */
const PROMETHEUS_SUFFIXES: ReadonlyMap<string, string> = new Map([
  ["http.server.request.duration", "_seconds"],
  ["auth.signins", "_total"],
  ["auth.refresh.reuse_detected", "_total"],
  ["ratelimit.rejections", "_total"]
])

export const prometheusNameOf = (name: string): string => name + (PROMETHEUS_SUFFIXES.get(name) ?? "")

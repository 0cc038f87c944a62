/** Liveness (checks nothing external) and readiness (database reachable, migrations current). */
import { Clock, Effect, Layer, Result } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { SqlClient } from "effect/sql"
import { Api } from "../../domain/Api.js"
import { type HealthCheck, type HealthReport, NotReady } from "../../domain/health/Health.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { migrationsCurrent } from "../../infra/platform/Migrations.js"
import { RateLimits, RateLimitsLive } from "../../infra/platform/RateLimits.js"
import { Lifecycle } from "./Lifecycle.js"

const READINESS_TIMEOUT = "2 seconds"

const overall = (checks: Record<string, ReadonlyArray<HealthCheck>>) => {
  const statuses = Object.values(checks).flat().map((c) => c.status)
  return statuses.includes("fail") ? "fail" : statuses.includes("warn") ? "warn" : "pass"
}

export const HealthHttpLive = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const limits = yield* RateLimits
    const { rateLimit } = yield* AppConfig
    const lifecycle = yield* Lifecycle

    const databaseCheck = Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const outcome = yield* sql`SELECT 1`.pipe(Effect.timeout(READINESS_TIMEOUT), Effect.result)
      const finished = yield* Clock.currentTimeMillis
      return {
        componentType: "datastore",
        status: Result.isSuccess(outcome) ? "pass" : "fail",
        observedValue: finished - started,
        observedUnit: "ms",
        time: new Date(finished).toISOString(),
        ...(Result.isFailure(outcome) ? { output: "database unreachable" } : {})
      } satisfies HealthCheck
    })

    const migrationsCheck = Effect.gen(function*() {
      const state = yield* migrationsCurrent.pipe(Effect.timeout(READINESS_TIMEOUT), Effect.result)
      const time = new Date(yield* Clock.currentTimeMillis).toISOString()
      if (Result.isFailure(state)) {
        return {
          componentType: "datastore",
          status: "fail",
          time,
          output: "migration state unknown"
        } satisfies HealthCheck
      }
      const { latestApplied, latestShipped } = state.success
      return {
        componentType: "datastore",
        status: latestApplied >= latestShipped ? "pass" : "fail",
        observedValue: latestApplied,
        observedUnit: "migration",
        time,
        ...(latestApplied < latestShipped ? { output: `expected migration ${latestShipped}` } : {})
      } satisfies HealthCheck
    })

    // An unreachable rate-limit store is a warning, not a failure: the task API keeps serving
    // (its limiter fails open) while credential endpoints answer 503.
    const rateLimitStoreCheck = Effect.gen(function*() {
      const reachable = yield* limits.probe
      return {
        componentType: "datastore",
        status: reachable ? "pass" : "warn",
        observedValue: rateLimit.store,
        time: new Date(yield* Clock.currentTimeMillis).toISOString(),
        ...(reachable ? {} : { output: "rate-limit store unreachable: credential endpoints answer 503" })
      } satisfies HealthCheck
    })

    // The breaker in front of the shared store: open, the task API fails open without calling it.
    const circuitCheck = Effect.gen(function*() {
      const state = yield* limits.circuit
      return {
        componentType: "component",
        status: state === "closed" ? "pass" : "warn",
        observedValue: state,
        time: new Date(yield* Clock.currentTimeMillis).toISOString(),
        ...(state === "closed" ? {} : { output: "rate-limit store not called until the circuit closes" })
      } satisfies HealthCheck
    })

    const ready = Effect.gen(function*() {
      // Draining (SIGTERM): out of rotation at once, without waiting on any dependency.
      if (yield* lifecycle.shuttingDown) {
        const time = new Date(yield* Clock.currentTimeMillis).toISOString()
        const checks = { shutdown: [{ status: "fail", time, output: "shutting down" } satisfies HealthCheck] }
        return yield* new NotReady({ report: { status: "fail", checks } })
      }
      const [database, migrations, rateLimitStore] = yield* Effect.all(
        [databaseCheck, migrationsCheck, rateLimitStoreCheck],
        { concurrency: 3 }
      )
      const checks = {
        "database:responseTime": [database],
        "migrations:current": [migrations],
        "ratelimit:store": [rateLimitStore],
        ...(rateLimit.store === "redis" ? { "ratelimit:circuit": [yield* circuitCheck] } : {})
      }
      const report: HealthReport = { status: overall(checks), checks }
      return report.status === "fail" ? yield* new NotReady({ report }) : report
    })

    return handlers
      .handle("legacy", () => Effect.succeed({ status: "healthy" as const }))
      .handle("live", () => Effect.succeed({ status: "pass" as const }))
      .handle("ready", () => ready)
  })).pipe(Layer.provide(RateLimitsLive))

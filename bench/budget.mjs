/**
 * The cost budget per guard (`npm run bench -- --budget`, or `budget` in BENCH_SCENARIOS): what each
 * piece of the service's per-request work costs, in CPU µs per request, measured by switching that
 * piece alone off in the built service (a config value or the bench-only BENCH_GUARDS_OFF, never a
 * code edit) and comparing with everything on.
 *
 * Each configuration is a fresh service process (the switches are read at boot), which runs get and
 * list at 32 connections, and a create with an `Idempotency-Key` (the only path the idempotency
 * lookup is on). The configurations alternate with an all-on one (on, piece 1 off, on, piece 2 off,
 * …, on), and each piece is compared with the mean of the all-on runs on either side of it, so that
 * drift on a shared machine (a neighbour's load, the database warming up) cancels out rather than
 * landing on one piece. How far those two all-on runs differ is the noise the delta is read against.
 */
import { writeFileSync } from "node:fs"
import { measure } from "./load.mjs"
import { fromBuild, log, stopChild } from "./processes.mjs"
import { startService } from "./servers.mjs"

/** The scenarios of each configuration, by the column they fill. */
export const BUDGET_SCENARIOS = ["get", "list", "create (Idempotency-Key)"]
const CONNECTIONS = 32

/**
 * The pieces, each with the environment that switches it alone off. The access line and the rate
 * limiter have switches of their own; the rest go through BENCH_GUARDS_OFF (Settings.ts says what
 * each removes), acknowledged since the bench runs the service in production mode.
 */
const pieces = (ack) => {
  const guardOff = (guard) => ({ BENCH_GUARDS_OFF: guard, BENCH_GUARDS_OFF_ACK: ack })
  return [
    { piece: "access line", off: "LOG_LEVEL=warn", env: { LOG_LEVEL: "warn" } },
    { piece: "request metrics", off: "BENCH_GUARDS_OFF=metrics", env: guardOff("metrics") },
    { piece: "spans / tracer", off: "BENCH_GUARDS_OFF=spans", env: guardOff("spans") },
    { piece: "rate limiter", off: "RATE_LIMIT_ENABLED=false", env: { RATE_LIMIT_ENABLED: "false" } },
    { piece: "session check", off: "BENCH_GUARDS_OFF=session-check", env: guardOff("session-check") },
    { piece: "request deadline", off: "BENCH_GUARDS_OFF=deadline", env: guardOff("deadline") },
    { piece: "CORS / security headers", off: "BENCH_GUARDS_OFF=cors", env: guardOff("cors") },
    { piece: "idempotency lookup", off: "BENCH_GUARDS_OFF=idempotency", env: guardOff("idempotency") },
    {
      piece: "response encoding",
      off: "BENCH_GUARDS_OFF=response-encoding",
      env: guardOff("response-encoding")
    }
  ]
}

/**
 * One configuration: a fresh service with `env` on the seed's data (the writers' creates of the
 * configuration before removed), each scenario measured on it, then stopped.
 */
const measureConfiguration = async ({ databaseUrl, jwtSecret, logFile, scripts }, label, env) => {
  await scripts.resetWriters()
  const service = await startService(databaseUrl, jwtSecret, logFile, { env, append: true })
  try {
    const results = {}
    for (const scenario of BUDGET_SCENARIOS) {
      results[scenario] = await measure(service, [{ ...scripts[scenario], connections: CONNECTIONS }])
      log(`  ${label} · ${scenario}: ${results[scenario].cpuUsPerRequest?.toFixed(0) ?? "–"} µs/req`)
    }
    return results
  } finally {
    await stopChild(service.child, 15_000)
  }
}

const mean = (a, b) => (typeof a === "number" && typeof b === "number" ? (a + b) / 2 : null)

/**
 * Runs the budget. `scripts` maps each of BUDGET_SCENARIOS to a load ({ script, prepare? }), and has
 * `resetWriters` (scenarios.mjs); the services' output goes to `logFile`. Answers
 * { connections, allOn: [results…], pieces: [{ piece, off, results, delta, noise }] } where `delta`
 * and `noise` are µs/req by scenario: the mean of the neighbouring all-on runs minus the piece-off
 * run, and half the difference between those two all-on runs.
 */
export const runBudget = async (context) => {
  const { BENCH_GUARDS_OFF_ACK } = await fromBuild("config/Settings")
  const list = pieces(BENCH_GUARDS_OFF_ACK)
  log(`budget: ${list.length} pieces, each off alone between all-on runs (${2 * list.length + 1} services)`)
  log(`  their logs in ${context.logFile}`)
  writeFileSync(context.logFile, "")
  const allOn = [await measureConfiguration(context, "all on", {})]
  const measured = []
  for (const { env, off, piece } of list) {
    const results = await measureConfiguration(context, `${piece} off`, env)
    allOn.push(await measureConfiguration(context, "all on", {}))
    const [before, after] = allOn.slice(-2)
    const delta = {}
    const noise = {}
    for (const scenario of BUDGET_SCENARIOS) {
      const on = mean(before[scenario].cpuUsPerRequest, after[scenario].cpuUsPerRequest)
      const cpuOff = results[scenario].cpuUsPerRequest
      delta[scenario] = on !== null && typeof cpuOff === "number" ? on - cpuOff : null
      noise[scenario] = on !== null
        ? Math.abs(before[scenario].cpuUsPerRequest - after[scenario].cpuUsPerRequest) / 2
        : null
    }
    measured.push({ piece, off, results, delta, noise })
  }
  return { connections: CONNECTIONS, scenarios: BUDGET_SCENARIOS, allOn, pieces: measured }
}

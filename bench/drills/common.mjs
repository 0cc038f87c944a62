/** The bounds the issue sets, and the checks several drills share (liveness probes, memory, the process alive). */
import { alive } from "./stack.mjs"
import { atMost, below, check, holds, percentile } from "./verdict.mjs"

export const LIVE_PROBE_BOUND_MS = 100
export const ACCEPTED_P99_BOUND_MS = 1000
/** The memory bound of the service's whole process tree: a 512 MiB container by default. */
export const RSS_BOUND_MB = Number(process.env.DRILL_RSS_BOUND_MB ?? 512)
/** How soon after a dependency is back the service must serve again (no restart). */
export const RECOVERY_BOUND_S = 5

/**
 * /health/live on the health port (the orchestrator's probe): p99 latency (an unanswered probe counts
 * as its timeout) and unanswered probes.
 */
export const probeChecks = (probes, label = "") => {
  const failed = probes.filter((p) => p.status !== 200)
  const p99 = percentile(probes.map((p) => (p.status === 200 ? p.ms : Infinity)), 99)
  return [
    below(
      `/health/live p99${label}`,
      Number.isFinite(p99) ? p99 : null,
      LIVE_PROBE_BOUND_MS,
      " ms",
      `${probes.length} probes on the health port${Number.isFinite(p99) ? "" : "; p99 not answered"}`
    ),
    atMost(`/health/live probes not answered 200${label}`, failed.length, 0)
  ]
}

/** The service process is still running (not OOM-killed, not crashed). */
export const aliveCheck = (service, label = "") => {
  const running = service.child.exitCode === null && service.child.signalCode === null && alive(service.child.pid)
  return holds(
    `the service lives${label}`,
    running,
    running ? undefined : `exit ${service.child.exitCode ?? service.child.signalCode} (see ${service.logFile})`
  )
}

export const rssCheck = (peakKb, label = "") =>
  atMost(`peak RSS of the service's tree${label}`, peakKb / 1024, RSS_BOUND_MB, " MB")

export const acceptedP99Check = (okMs, label = "") =>
  below(`2xx answer p99${label}`, percentile(okMs, 99), ACCEPTED_P99_BOUND_MS, " ms", `${okMs.length} answers`)

/** The write verification of writes.mjs as checks. */
export const writeChecks = (verified, { unacknowledged = true } = {}) => [
  atMost(
    "acknowledged writes lost",
    verified.lost,
    0,
    "",
    `${verified.acknowledged} acknowledged of ${verified.attempted} sent, ${verified.rows} rows`
  ),
  atMost("writes duplicated (rows per key > 1)", verified.duplicated, 0),
  atMost("phantom rows (written, never acknowledged)", verified.phantom, 0),
  ...(unacknowledged ? [atMost("writes never acknowledged (retries exhausted)", verified.unacknowledged, 0)] : [])
]

/** An informational line: a figure the table shows, with no bound. */
export const figure = (what, value, unit = "") => ({
  ...check({ what, value, unit, bound: "–", pass: null }),
  status: "info"
})

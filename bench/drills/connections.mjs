/**
 * connections: many keep-alive connections, each sending a request every few seconds, at an offered
 * rate above what the service can answer. It must live, shed the excess (fast 503 `overloaded` with
 * Retry-After), stay under the memory bound, keep /health/live under 100 ms and answer what it
 * accepts within 1 s (p99). A fresh service per step, so each step's memory is its own.
 */
import { rssSampler, stopChild } from "../processes.mjs"
import { acceptedP99Check, aliveCheck, figure, probeChecks, rssCheck } from "./common.mjs"
import { livenessProbe, seedAndSignIn, service } from "./stack.mjs"
import { atMost, check, percentile } from "./verdict.mjs"
import { openLoop } from "./wire.mjs"

const intervalFor = (connections) => (connections >= 5000 ? 4000 : 1000)

const SCALES = {
  small: { steps: [{ connections: 300, intervalMs: 400 }], rampSeconds: 3, holdSeconds: 15 },
  full: {
    steps: [1000, 5000, 10_000].map((connections) => ({ connections, intervalMs: intervalFor(connections) })),
    rampSeconds: 10,
    holdSeconds: 30
  }
}
const TOKEN_USERS = 32
const REQUEST_TIMEOUT_MS = 10_000

const stepChecks = (step, p, tally, peakKb, probes, svc) => {
  const label = ` @ ${step.connections}`
  const failures = Object.values(tally.failures).reduce((a, b) => a + b, 0)
  const answered = Object.values(tally.statuses).reduce((a, b) => a + b, 0)
  // What the nominal rate asks for (half of it during the ramp): a service that kept up answered it all.
  const asked = (step.connections * (p.holdSeconds + p.rampSeconds / 2) * 1000) / step.intervalMs
  const keptUp = failures === 0 && answered >= 0.95 * asked && (percentile(tally.okMs, 99) ?? 0) < 1000
  return [
    figure(`offered${label}`, tally.offered / tally.seconds, " req/s"),
    figure(`answered 2xx${label}`, tally.okMs.length / tally.seconds, " req/s"),
    aliveCheck(svc, label),
    check({
      what: `shed: 503 overloaded with Retry-After${label}`,
      value: tally.shedWithRetryAfter,
      bound: "> 0 when over capacity",
      pass: tally.shedWithRetryAfter > 0 ? true : keptUp ? null : false,
      note: keptUp && tally.shedWithRetryAfter === 0 ? "the service kept up: nothing to shed" : undefined
    }),
    rssCheck(peakKb, label),
    ...probeChecks(probes, label),
    acceptedP99Check(tally.okMs, label),
    atMost(
      `requests reset, refused or unanswered in ${REQUEST_TIMEOUT_MS / 1000} s${label}`,
      failures,
      0,
      "",
      Object.keys(tally.failures).length > 0 ? JSON.stringify(tally.failures) : undefined
    )
  ]
}

/** The main port's /health/live: answered on the main loop, so it waits its turn among the connections. */
const mainPortFigure = (probes, step) => {
  const p99 = percentile(probes.map((p) => (p.status === 200 ? p.ms : Infinity)), 99)
  const unanswered = probes.filter((p) => p.status !== 200).length
  return {
    ...figure(`/health/live on the main port p99 @ ${step.connections}`, Number.isFinite(p99) ? p99 : null, " ms"),
    note: `${probes.length} probes, ${unanswered} not answered 200`
  }
}

export default {
  name: "connections",
  summary: "keep-alive connections above capacity (full: 1k/5k/10k): lives, sheds, RSS, /health/live, p99",
  parameters: (flags) => {
    const scale = SCALES[flags.scale]
    const steps = flags.connections?.map((connections) => ({ connections, intervalMs: intervalFor(connections) }))
    return { ...scale, steps: steps ?? scale.steps }
  },
  budgetSeconds: (p) => p.steps.length * (p.rampSeconds + p.holdSeconds + REQUEST_TIMEOUT_MS / 1000 + 10),
  run: async (stack, p) => {
    const checks = []
    const notes = []
    let seeded = null
    for (const step of p.steps) {
      const svc = await service(stack, `connections-${step.connections}`)
      seeded ??= await seedAndSignIn(stack, svc.baseUrl, TOKEN_USERS)
      const { sessions } = seeded
      // Mostly reads of one task, every fifth a list page: a token per connection, its user's tasks.
      const pick = (connection, n) => {
        const session = sessions[connection % sessions.length]
        const headers = { Authorization: `Bearer ${session.pair.token}` }
        if (n % 5 === 4) return { path: "/api/tasks?limit=20", headers }
        return { path: `/api/tasks/${session.taskIds[(connection + n) % session.taskIds.length]}`, headers }
      }
      const probe = livenessProbe(svc.healthUrl)
      // The main port's /health/live too (still served, ahead of the pipeline): for comparison.
      const mainPortProbe = livenessProbe(svc.baseUrl)
      const stopSampling = rssSampler(svc.child.pid)
      const tally = await openLoop({
        port: svc.port,
        connections: step.connections,
        intervalMs: step.intervalMs,
        rampMs: p.rampSeconds * 1000,
        durationMs: (p.rampSeconds + p.holdSeconds) * 1000,
        pick,
        timeoutMs: REQUEST_TIMEOUT_MS
      })
      const peakKb = stopSampling()
      const probes = await probe.stop()
      const mainPortProbes = await mainPortProbe.stop()
      checks.push(...stepChecks(step, p, tally, peakKb, probes, svc), mainPortFigure(mainPortProbes, step))
      notes.push(
        `${step.connections} connections, one request every ${step.intervalMs} ms each (nominal ${
          Math.round((step.connections * 1000) / step.intervalMs)
        } req/s; a connection waits for its answer): statuses ${JSON.stringify(tally.statuses)}, 503 by error_code ${
          JSON.stringify(tally.codes503)
        }, failures ${JSON.stringify(tally.failures)}`
      )
      await stopChild(svc.child, 15_000)
    }
    return { checks, notes }
  }
}

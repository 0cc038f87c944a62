/**
 * crash: (1) the service SIGKILLed under idempotent writes and started again: clients retry with
 * the same Idempotency-Key, and every acknowledged write exists exactly once, none that was never
 * acknowledged. (2) SIGTERM with 50 writes in flight: the service drains them and exits 0; every
 * write answered 2xx is in the database, and no write that was not is (no phantom).
 */
import { sleep } from "../processes.mjs"
import { figure, RECOVERY_BOUND_S, writeChecks } from "./common.mjs"
import { seedAndSignIn, service, signalAndWait } from "./stack.mjs"
import { atLeast, atMost, holds } from "./verdict.mjs"
import { firstAcknowledgedAfter, rowsOfRun, startWriter, verifyWrites, WriteLedger, writesOutAt } from "./writes.mjs"

const SCALES = {
  small: { writers: 8, steadySeconds: 3, inFlight: 50 },
  full: { writers: 16, steadySeconds: 10, inFlight: 50 }
}
/** SHUTDOWN_GRACE's default, and a margin: past it the drain is cut. */
const SHUTDOWN_BOUND_S = 10

/** Part 1: SIGKILL, restart, retries. */
const killAndRestart = async (stack, p, sessions, first) => {
  let current = first
  const ledger = new WriteLedger()
  const answers = []
  const writers = sessions.map((s) =>
    startWriter({
      baseUrl: () => current.baseUrl,
      token: s.pair.token,
      ledger,
      retry: true,
      answers,
      timeoutMs: 10_000
    })
  )
  await sleep(p.steadySeconds * 1000)
  const inFlight = writers.filter((w) => w.inFlight()).length
  await signalAndWait(current.child, "SIGKILL")
  const restartFrom = Date.now()
  current = await service(stack, "crash-restarted")
  const restartSeconds = (Date.now() - restartFrom) / 1000
  const afterRestart = await firstAcknowledgedAfter(answers, Date.now())
  await sleep(p.steadySeconds * 1000)
  await Promise.all(writers.map((w) => w.stop(30_000)))
  const verified = verifyWrites(ledger, await rowsOfRun(stack.databaseUrl, ledger.runId))
  return { current, inFlight, restartSeconds, afterRestart, verified }
}

/** Part 2: SIGTERM with `p.inFlight` writes out, each sent once (no retry). */
const terminateInFlight = async (stack, p, sessions, current) => {
  const ledger = new WriteLedger()
  const answers = []
  const writers = Array.from({ length: p.inFlight }, (_, i) =>
    startWriter({
      baseUrl: () => current.baseUrl,
      token: sessions[i % sessions.length].pair.token,
      ledger,
      retry: false,
      answers,
      timeoutMs: 30_000
    }))
  await sleep(2000)
  const inFlight = writers.filter((w) => w.inFlight()).length
  const exited = new Promise((resolve) => current.child.once("exit", (code, signal) => resolve({ code, signal })))
  const termAt = Date.now()
  current.child.kill("SIGTERM")
  // No new writes after the signal: what is measured is the fate of those already out.
  const stopped = Promise.all(writers.map((w) => w.stop(0)))
  const exit = await Promise.race([exited, sleep((SHUTDOWN_BOUND_S + 10) * 1000).then(() => null)])
  const exitSeconds = exit === null ? null : (Date.now() - termAt) / 1000
  if (exit === null) await signalAndWait(current.child, "SIGKILL")
  await stopped
  const verified = verifyWrites(ledger, await rowsOfRun(stack.databaseUrl, ledger.runId))
  // A write the front shed (the loop saturated by the writers) was never in flight; that it left no
  // row is the phantom check's.
  const { out: outAtSignal, refused, failed: failedOut } = writesOutAt(answers, termAt)
  return { inFlight, exit, exitSeconds, verified, outAtSignal, refused, failedOut }
}

export default {
  name: "crash",
  summary: "service SIGKILLed and restarted under retried writes; SIGTERM with 50 writes in flight",
  parameters: (flags) => SCALES[flags.scale],
  budgetSeconds: (p) => 2 * p.steadySeconds + 15 + 2 + SHUTDOWN_BOUND_S + 20,
  run: async (stack, p) => {
    const first = await service(stack, "crash")
    const { sessions } = await seedAndSignIn(stack, first.baseUrl, p.writers)
    const killed = await killAndRestart(stack, p, sessions, first)
    const termed = await terminateInFlight(stack, p, sessions, killed.current)
    return {
      checks: [
        figure("SIGKILL: writes in flight at the kill", killed.inFlight),
        figure("SIGKILL: restart to /health/ready", killed.restartSeconds, " s"),
        atMost("SIGKILL: first acknowledged write after the restart", killed.afterRestart, RECOVERY_BOUND_S, " s"),
        ...writeChecks(killed.verified).map((c) => ({ ...c, what: `SIGKILL: ${c.what}` })),
        atLeast(
          "SIGTERM: writes in flight at the signal",
          termed.inFlight,
          p.inFlight,
          "",
          "a writer between two requests is not in flight"
        ),
        holds(
          "SIGTERM: exited 0",
          termed.exit?.code === 0,
          termed.exit === null ? "did not exit in time: killed" : `exit ${termed.exit.code ?? termed.exit.signal}`
        ),
        atMost("SIGTERM: signal to exit", termed.exitSeconds, SHUTDOWN_BOUND_S, " s"),
        figure("SIGTERM: writes out at the signal shed (503 overloaded, before any work)", termed.refused.length),
        atMost(
          "SIGTERM: writes out at the signal not answered 2xx (nor shed)",
          termed.failedOut.length,
          0,
          "",
          `${termed.outAtSignal.length} out; statuses ${
            JSON.stringify(termed.failedOut.map((a) => a.status).slice(0, 10))
          }`
        ),
        ...writeChecks(termed.verified, { unacknowledged: false }).map((c) => ({ ...c, what: `SIGTERM: ${c.what}` }))
      ],
      notes: [
        `SIGKILL: ${p.writers} clients retrying each write with its Idempotency-Key (to the restarted service) ` +
        "until acknowledged",
        `SIGTERM: ${p.inFlight} clients, each write sent once; none sent after the signal`
      ]
    }
  }
}

/**
 * database: PostgreSQL SIGKILLed (then started again), later frozen with SIGSTOP (then SIGCONT),
 * while clients create tasks with Idempotency-Key and retry every failure with the same key. While
 * it is gone the service must answer 503 fast, serve again within seconds of its return without a
 * restart, keep /health/live up, and in the end every acknowledged write exists exactly once.
 */
import { sleep } from "../processes.mjs"
import { aliveCheck, figure, probeChecks, RECOVERY_BOUND_S, writeChecks } from "./common.mjs"
import { livenessProbe, postmasterPid, seedAndSignIn, service, signalTree } from "./stack.mjs"
import { atLeast, atMost, below, percentile } from "./verdict.mjs"
import { firstAcknowledgedAfter, rowsOfRun, startWriter, verifyWrites, WriteLedger } from "./writes.mjs"

const SCALES = {
  small: { writers: 8, steadySeconds: 4, downSeconds: 5, freezeSeconds: 8 },
  // The freeze outlasts REQUEST_TIMEOUT (30 s): the case that answered at ~35 s.
  full: { writers: 16, steadySeconds: 10, downSeconds: 15, freezeSeconds: 40 }
}
/**
 * The longest the service may take to answer with PostgreSQL frozen, from its defaults: a wait for a
 * pooled connection (DATABASE_POOL_ACQUIRE_TIMEOUT, 1 s), then the operation's own bound
 * (DATABASE_STATEMENT_TIMEOUT, 5 s, plus the 500 ms the gate gives a live server to enforce it).
 */
const FROZEN_ANSWER_BOUND_MS = 1000 + 5000 + 500 + 100

/** Restarts the killed server: its orphaned backends hold shared memory for a moment, so retry. */
const restartPostgres = async (stack) => {
  for (let attempt = 0;; attempt++) {
    try {
      await stack.postgres.server.start()
      return
    } catch (error) {
      if (attempt >= 40) throw new Error(`PostgreSQL did not start again: ${error?.message ?? error}`)
      await sleep(250)
    }
  }
}

const outcomes = (during) => {
  const wrong = during.filter((a) => a.status !== 503 && !(a.status >= 200 && a.status < 300))
  const ms = during.map((a) => a.ms)
  return { wrong, ms, count503: during.filter((a) => a.status === 503).length }
}

export default {
  name: "database",
  summary: "PostgreSQL SIGKILLed then SIGSTOPped under idempotent writes: 503 during, recovery, 0 lost/duplicated",
  parameters: (flags) => SCALES[flags.scale],
  budgetSeconds: (p) => 3 * p.steadySeconds + p.downSeconds + p.freezeSeconds + 30 + 15,
  run: async (stack, p) => {
    const svc = await service(stack, "database")
    const { sessions } = await seedAndSignIn(stack, svc.baseUrl, p.writers)
    const ledger = new WriteLedger()
    const answers = []
    const writers = sessions.map((s) =>
      startWriter({ baseUrl: () => svc.baseUrl, token: s.pair.token, ledger, retry: true, answers, timeoutMs: 60_000 })
    )
    const probe = livenessProbe(svc.healthUrl)
    await sleep(p.steadySeconds * 1000)

    const killedAt = Date.now()
    process.kill(postmasterPid(stack), "SIGKILL")
    await sleep(p.downSeconds * 1000)
    await restartPostgres(stack)
    const backAt = Date.now()
    const afterKill = await firstAcknowledgedAfter(answers, backAt)
    await sleep(p.steadySeconds * 1000)

    const frozenAt = Date.now()
    const postmaster = postmasterPid(stack)
    signalTree(postmaster, "SIGSTOP")
    await sleep(p.freezeSeconds * 1000)
    signalTree(postmaster, "SIGCONT")
    const thawedAt = Date.now()
    const afterThaw = await firstAcknowledgedAfter(answers, thawedAt)
    await sleep(p.steadySeconds * 1000)

    await Promise.all(writers.map((w) => w.stop(30_000)))
    const probes = await probe.stop()
    const verified = verifyWrites(ledger, await rowsOfRun(stack.databaseUrl, ledger.runId))

    const killed = outcomes(answers.filter((a) => a.at >= killedAt && a.at < backAt))
    const frozen = outcomes(answers.filter((a) => a.at >= frozenAt && a.at < thawedAt))
    const wrongNote = (
      o
    ) => (o.wrong.length > 0 ? `statuses ${JSON.stringify(o.wrong.map((a) => a.status).slice(0, 10))}` : undefined)
    return {
      checks: [
        figure("writes answered in all", answers.length),
        atLeast("503 answers while PostgreSQL was killed", killed.count503, 1),
        atMost(
          "other answers while killed (not 2xx or 503; 0 = no answer)",
          killed.wrong.length,
          0,
          "",
          wrongNote(killed)
        ),
        below("answer time p99 while killed", percentile(killed.ms, 99), 1000, " ms"),
        atMost("first acknowledged write after PostgreSQL restarted", afterKill, RECOVERY_BOUND_S, " s"),
        atLeast("503 answers while PostgreSQL was frozen", frozen.count503, 1),
        atMost("other answers while frozen", frozen.wrong.length, 0, "", wrongNote(frozen)),
        atMost(
          "answer time max while frozen",
          frozen.ms.length > 0 ? Math.max(...frozen.ms) : null,
          FROZEN_ANSWER_BOUND_MS,
          " ms",
          `${p.freezeSeconds} s freeze`
        ),
        atMost("first acknowledged write after SIGCONT", afterThaw, RECOVERY_BOUND_S, " s"),
        aliveCheck(svc, " (never restarted)"),
        ...probeChecks(probes),
        ...writeChecks(verified)
      ],
      notes: [
        `PostgreSQL SIGKILLed ${p.downSeconds} s, started again; ` +
        `later SIGSTOPped (whole process tree) ${p.freezeSeconds} s`,
        `PostgreSQL runs with synchronous_commit on (fsync off): a killed server keeps every commit it acknowledged`,
        `${verified.attempted} writes by ${p.writers} clients, each retried with its Idempotency-Key until acknowledged`
      ]
    }
  }
}

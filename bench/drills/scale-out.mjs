/**
 * scale-out: three instances behind nginx on one PostgreSQL and one Redis (RATE_LIMIT_STORE=redis).
 * The signin limit holds across instances (one account's failures are counted once for the fleet);
 * one instance SIGKILLed under load costs no acknowledged write and (nearly) no read; Redis stopped:
 * frozen (SIGSTOP, as a partition) and later killed, the task API keeps serving fast (fails open)
 * while signin fails closed, and when Redis is back signins work again without a restart.
 */
import { PASSWORD } from "../knobs.mjs"
import { sleep } from "../processes.mjs"
import { aliveCheck, figure, RECOVERY_BOUND_S, writeChecks } from "./common.mjs"
import { seedAndSignIn, service, signalAndWait, startNginx, startRedis } from "./stack.mjs"
import { atLeast, atMost, below, holds, percentile } from "./verdict.mjs"
import { openLoop } from "./wire.mjs"
import { rowsOfRun, startWriter, verifyWrites, WriteLedger } from "./writes.mjs"

const SCALES = {
  small: { writers: 4, readers: 8, readIntervalMs: 100, steadySeconds: 4, afterKillSeconds: 5, redisDownSeconds: 5 },
  full: { writers: 8, readers: 32, readIntervalMs: 100, steadySeconds: 10, afterKillSeconds: 15, redisDownSeconds: 15 }
}
const FAILURES_PER_ACCOUNT = 5
const WRONG_SIGNINS = 15

const signin = async (baseUrl, email, password) => {
  const response = await fetch(`${baseUrl}/api/v1/auth/signin`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
    signal: AbortSignal.timeout(10_000)
  }).catch(() => null)
  if (response === null) return 0
  await response.arrayBuffer()
  return response.status
}

const share2xx = (answers) =>
  answers.length === 0 ? null : (100 * answers.filter((a) => a.status >= 200 && a.status < 300).length) / answers.length

export default {
  name: "scale-out",
  summary: "3 instances behind nginx, one PostgreSQL, one Redis: limits across, one killed, Redis stopped",
  parameters: (flags) => SCALES[flags.scale],
  budgetSeconds: (p) => p.steadySeconds + p.afterKillSeconds + 2 * (p.redisDownSeconds + 2 * RECOVERY_BOUND_S) + 40,
  run: async (stack, p) => {
    const redis = await startRedis()
    const env = {
      RATE_LIMIT_STORE: "redis",
      REDIS_URL: redis.url,
      TRUST_PROXY: "1",
      RATE_LIMIT_SIGNIN_FAILURES_PER_ACCOUNT: `${FAILURES_PER_ACCOUNT}/15m`
    }
    const instances = []
    for (const i of [1, 2, 3]) instances.push(await service(stack, `scale-out-${i}`, { env }))
    const nginx = await startNginx(instances.map((s) => s.port))
    const { users, sessions } = await seedAndSignIn(stack, nginx.baseUrl, Math.max(p.writers, p.readers))

    // The limit across instances: one account's wrong passwords, round robin over the three.
    const wrong = []
    for (let i = 0; i < WRONG_SIGNINS; i++) {
      wrong.push(await signin(nginx.baseUrl, users[100].email, "not the password"))
    }

    const ledger = new WriteLedger()
    const writes = []
    const writers = sessions.slice(0, p.writers).map((s) =>
      startWriter({
        baseUrl: () => nginx.baseUrl,
        token: s.pair.token,
        ledger,
        retry: true,
        answers: writes,
        pauseMs: 50
      })
    )
    const reads = []
    const totalMs = (p.steadySeconds + p.afterKillSeconds + 2 * (p.redisDownSeconds + 1) + 2) * 1000
    const load = openLoop({
      port: nginx.port,
      connections: p.readers,
      intervalMs: p.readIntervalMs,
      rampMs: 500,
      durationMs: totalMs,
      pick: (c, n) => ({
        path: `/api/tasks/${sessions[c].taskIds[n % sessions[c].taskIds.length]}`,
        headers: { Authorization: `Bearer ${sessions[c].pair.token}` }
      }),
      onAnswer: (_, response) =>
        reads.push({ at: Date.now() - (response?.ms ?? 0), status: response?.status ?? 0, ms: response?.ms ?? null })
    })
    await sleep(p.steadySeconds * 1000)
    const killedAt = Date.now()
    await signalAndWait(instances[2].child, "SIGKILL")
    await sleep(p.afterKillSeconds * 1000)

    // Redis frozen (SIGSTOP: connections hang, as in a network partition), then killed and started empty.
    const outages = []
    for (const kind of ["frozen", "killed"]) {
      const from = Date.now()
      await (kind === "frozen" ? redis.signal("SIGSTOP") : redis.stop())
      await sleep(1000)
      const signinWhileDown = await signin(nginx.baseUrl, users[150].email, PASSWORD)
      await sleep(Math.max(0, from + p.redisDownSeconds * 1000 - Date.now()))
      await (kind === "frozen" ? redis.signal("SIGCONT") : redis.start())
      const backAt = Date.now()
      let signinBackAfter = null
      while (Date.now() < backAt + 2 * RECOVERY_BOUND_S * 1000) {
        if ((await signin(nginx.baseUrl, users[151].email, PASSWORD)) === 200) {
          signinBackAfter = (Date.now() - backAt) / 1000
          break
        }
        await sleep(250)
      }
      outages.push({ kind, from, backAt, signinWhileDown, signinBackAfter })
    }
    await load
    await Promise.all(writers.map((w) => w.stop(30_000)))
    const verified = verifyWrites(ledger, await rowsOfRun(stack.databaseUrl, ledger.runId))

    const before = reads.filter((r) => r.at < killedAt)
    const afterKill = reads.filter((r) => r.at >= killedAt && r.at < outages[0].from)
    const okMs = (rs) => rs.filter((r) => r.status === 200).map((r) => r.ms)
    const wrong401 = wrong.filter((s) => s === 401).length
    return {
      checks: [
        atMost(
          `signin limit across 3 instances: wrong passwords answered 401 of ${WRONG_SIGNINS}`,
          wrong401,
          FAILURES_PER_ACCOUNT,
          "",
          `statuses ${JSON.stringify(wrong)}`
        ),
        atLeast(
          "reads answered 2xx after one instance was killed",
          share2xx(afterKill),
          99,
          " %",
          `${afterKill.length} reads; ${afterKill.filter((r) => r.status === 0).length} without an answer`
        ),
        ...instances.slice(0, 2).map((s, i) => aliveCheck(s, ` (instance ${i + 1})`)),
        ...writeChecks(verified),
        figure("read p50 before the Redis outage", percentile(okMs(before), 50), " ms"),
        ...outages.flatMap((o) => {
          const down = reads.filter((r) => r.at >= o.from + 1000 && r.at < o.backAt)
          return [
            atLeast(
              `Redis ${o.kind}: reads answered 2xx`,
              share2xx(down),
              99,
              " %",
              `${down.length} reads; statuses ${
                JSON.stringify(
                  Object.fromEntries(
                    Object.entries(Object.groupBy(down, (r) => r.status)).map(([k, v]) => [k, v.length])
                  )
                )
              } (0: no answer in 10 s)`
            ),
            below(`Redis ${o.kind}: read p99`, percentile(okMs(down), 99), 1000, " ms"),
            holds(
              `Redis ${o.kind}: signin answered 503 (fails closed)`,
              o.signinWhileDown === 503,
              `answered ${o.signinWhileDown}`
            ),
            atMost(`Redis ${o.kind}: signin works again after it is back`, o.signinBackAfter, RECOVERY_BOUND_S, " s")
          ]
        })
      ],
      notes: [
        "nginx round robin (proxy_next_upstream error timeout http_502) over 3 instances; TRUST_PROXY=1; " +
        `RATE_LIMIT_SIGNIN_FAILURES_PER_ACCOUNT=${FAILURES_PER_ACCOUNT}/15m`,
        `${p.readers} readers (one request per ${p.readIntervalMs} ms each) and ${p.writers} writers retrying ` +
        `with Idempotency-Key; instance 3 SIGKILLed after ${p.steadySeconds} s; Redis then frozen (SIGSTOP) ` +
        `${p.redisDownSeconds} s, later SIGKILLed ${p.redisDownSeconds} s and started empty`
      ]
    }
  }
}

/**
 * soak: a mixed load (reads, lists, idempotent creates) for N minutes over many distinct access
 * tokens, each used more often than SESSION_CHECK_INTERVAL, so the access-check cache re-checks
 * them all the time. The live heap after a full GC (read through the V8 inspector) must stay flat,
 * the service must answer everything, and every acknowledged write must be in the database once.
 */
import { freePort, rssSampler, sleep } from "../processes.mjs"
import { acceptedP99Check, aliveCheck, figure, probeChecks, rssCheck, writeChecks } from "./common.mjs"
import { connectInspector } from "./inspector.mjs"
import { livenessProbe, seedAndSignIn, service, tokens } from "./stack.mjs"
import { atMost, slope } from "./verdict.mjs"
import { openLoop } from "./wire.mjs"
import { rowsOfRun, verifyWrites, WriteLedger } from "./writes.mjs"

// A soak looks for leaks under sustained load below capacity (overload is the connections drill's):
// on a 2-core machine this mix keeps the event loop near 0.9 busy at 250 req/s, where shedding starts.
const SCALES = {
  small: { minutes: 1.5, tokens: 200, ratePerSecond: 60, sampleSeconds: 5, warmupSeconds: 30 },
  full: { minutes: 2, tokens: 1000, ratePerSecond: 150, sampleSeconds: 10, warmupSeconds: 20 }
}
const CONNECTIONS = 32
/** Growth of the live heap past which it is not flat: 30 MB an hour. */
const HEAP_SLOPE_BOUND_MB_PER_MIN = 0.5

export default {
  name: "soak",
  summary: "mixed load for --minutes: live heap after GC flat, every acknowledged write verified",
  parameters: (flags) => ({ ...SCALES[flags.scale], ...(flags.minutes ? { minutes: flags.minutes } : {}) }),
  budgetSeconds: (p) => Math.ceil(p.minutes * 60) + 30,
  run: async (stack, p) => {
    const inspectPort = await freePort()
    const svc = await service(stack, "soak", { nodeArgs: [`--inspect=127.0.0.1:${inspectPort}`] })
    const { sessions } = await seedAndSignIn(stack, svc.baseUrl, 16)
    const minted = await tokens(svc.baseUrl, sessions, p.tokens)
    const inspector = await connectInspector(inspectPort)
    const ledger = new WriteLedger()
    let next = 0
    // A write answered otherwise than 201 (shed, timed out, reset) is sent again with its key, as a
    // client honouring Retry-After would: what the drill verifies is that nothing is lost.
    const retries = []
    // 3 in 5 read one task, 1 in 5 a list page, 1 in 5 create; the tokens in turn.
    const pick = () => {
      const n = next++
      const { token, session } = minted[n % minted.length]
      const headers = { Authorization: `Bearer ${token}` }
      if (n % 5 === 3) return { path: "/api/tasks?limit=20", headers }
      if (n % 5 === 4) {
        const write = retries.shift() ?? ledger.next()
        return {
          method: "POST",
          path: "/api/tasks",
          headers: { ...headers, "Idempotency-Key": write.key },
          body: write.body,
          write
        }
      }
      return { path: `/api/tasks/${session.taskIds[n % session.taskIds.length]}`, headers }
    }
    const onAnswer = (request, response) => {
      if (!request.write) return
      if (response?.status === 201) {
        ledger.acknowledge(request.write.key, JSON.parse(response.body.toString("utf8")).data.id)
      } else {
        retries.push(request.write)
      }
    }
    const probe = livenessProbe(svc.healthUrl)
    const stopSampling = rssSampler(svc.child.pid)
    const started = Date.now()
    const durationMs = p.minutes * 60_000
    const load = openLoop({
      port: svc.port,
      connections: CONNECTIONS,
      intervalMs: (CONNECTIONS * 1000) / p.ratePerSecond,
      rampMs: 1000,
      durationMs,
      pick,
      onAnswer
    })
    const heap = []
    const pauses = []
    for (let at = p.warmupSeconds * 1000; at <= durationMs; at += p.sampleSeconds * 1000) {
      await sleep(Math.max(0, started + at - Date.now()))
      const from = Date.now()
      heap.push({ x: (from - started) / 60_000, y: (await inspector.liveHeapBytes()) / 2 ** 20 })
      pauses.push({ from, to: Date.now() })
    }
    const tally = await load
    inspector.close()
    const peakKb = stopSampling()
    // A probe that overlapped one of our forced collections measured the drill, not the service.
    const allProbes = await probe.stop()
    const probes = allProbes.filter((pr) => !pauses.some((g) => pr.at <= g.to && pr.at + pr.ms >= g.from))
    const verified = verifyWrites(ledger, await rowsOfRun(stack.databaseUrl, ledger.runId))
    const non2xx = Object.entries(tally.statuses).filter(([s]) => !s.startsWith("2")).reduce((n, [, c]) => n + c, 0)
    const failures = Object.values(tally.failures).reduce((a, b) => a + b, 0)
    return {
      checks: [
        figure("requests answered 2xx", tally.okMs.length),
        figure(
          "live heap after GC, first → last sample",
          heap.length > 0 ? `${heap[0].y.toFixed(1)} → ${heap.at(-1).y.toFixed(1)} MB` : null
        ),
        atMost(
          "live heap growth after GC (least-squares slope)",
          slope(heap),
          HEAP_SLOPE_BOUND_MB_PER_MIN,
          " MB/min",
          `${heap.length} samples over ${p.minutes} min, after ${p.warmupSeconds} s warm-up: ` +
            heap.map((h) => h.y.toFixed(1)).join(" ")
        ),
        aliveCheck(svc),
        rssCheck(peakKb),
        ...probeChecks(probes),
        acceptedP99Check(tally.okMs),
        atMost("answers not 2xx", non2xx, 0, "", non2xx > 0 ? JSON.stringify(tally.statuses) : undefined),
        atMost(
          "requests reset, refused or unanswered",
          failures,
          0,
          "",
          failures > 0 ? JSON.stringify(tally.failures) : undefined
        ),
        ...writeChecks(verified)
      ],
      notes: [
        `${p.ratePerSecond} req/s offered over ${CONNECTIONS} connections for ${p.minutes} min; ${p.tokens} ` +
        `distinct access tokens (${sessions.length} sessions, the rest minted by refresh)`,
        `live heap: the inspector's HeapProfiler.collectGarbage then Runtime.getHeapUsage every ${p.sampleSeconds} s ` +
        `(the service runs with --inspect on loopback); each sample is a full GC pause, so the ` +
        `${allProbes.length - probes.length} /health/live probes that overlapped one are left out`
      ]
    }
  }
}

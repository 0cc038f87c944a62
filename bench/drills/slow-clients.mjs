/**
 * slow-clients: slowloris. Many connections send a request's headers one byte a second (never
 * ending them), as many send a POST's body one byte a second, while a few ordinary clients keep
 * reading tasks. The service must keep answering the others (p99 < 1 s), keep /health/live fast,
 * stay under its memory bound, and cut every slow sender within REQUEST_TIMEOUT (set to 5 s here,
 * so the drill fits its budget) and a margin.
 */
import { connect } from "node:net"
import { rssSampler, sleep } from "../processes.mjs"
import { acceptedP99Check, aliveCheck, figure, probeChecks, rssCheck } from "./common.mjs"
import { livenessProbe, seedAndSignIn, service } from "./stack.mjs"
import { atMost, percentile } from "./verdict.mjs"
import { Connection } from "./wire.mjs"

const SCALES = {
  small: { slowHeaders: 200, slowBodies: 200, ordinaryClients: 8, seconds: 20 },
  full: { slowHeaders: 1000, slowBodies: 1000, ordinaryClients: 16, seconds: 45 }
}
const REQUEST_TIMEOUT_S = 5
const CUT_BOUND_S = REQUEST_TIMEOUT_S + 2
const MAX_RETRIES = 3
/**
 * The share of ordinary requests that may be shed: cutting a thousand slow senders at once is a
 * burst of work (a 503, an access line and an interrupted fiber each) that saturates the loop for
 * a moment, and the loop then rightly sheds.
 */
const SHED_SHARE_BOUND_PERCENT = 5

/**
 * A connection that sends `head` at once, then `trickle` one byte a second until the server answers
 * or closes it, or `endAt`. Resolves with seconds from connect to the server's cut (null: never).
 */
const slowSender = (port, head, trickle, endAt) =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    let openedAt = null
    let timer = null
    const finish = (cut) => {
      clearInterval(timer)
      socket.destroy()
      resolve(cut && openedAt !== null ? (Date.now() - openedAt) / 1000 : null)
    }
    socket.on("connect", () => {
      openedAt = Date.now()
      socket.write(head)
      let i = 0
      timer = setInterval(() => {
        if (Date.now() >= endAt) return finish(false)
        socket.write(trickle[i++ % trickle.length])
      }, 1000)
    })
    socket.on("data", () => finish(true))
    socket.on("close", () => finish(true))
    socket.on("error", () => {})
  })

const cutChecks = (label, cuts, count) => {
  const cutInTime = cuts.filter((s) => s !== null && s <= CUT_BOUND_S).length
  return [
    figure(`${label}: median time to the server's cut`, percentile(cuts.filter((s) => s !== null), 50), " s"),
    atMost(
      `${label}: connections not cut within ${CUT_BOUND_S} s`,
      count - cutInTime,
      0,
      "",
      `${count} connections; ${cuts.filter((s) => s === null).length} still open at the end`
    )
  ]
}

export default {
  name: "slow-clients",
  summary: "slowloris headers and bodies byte by byte: others still served, /health/live fast, senders cut",
  parameters: (flags) => SCALES[flags.scale],
  budgetSeconds: (p) => p.seconds + 15,
  run: async (stack, p) => {
    const svc = await service(stack, "slow-clients", { env: { REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_S}s` } })
    const { sessions } = await seedAndSignIn(stack, svc.baseUrl, p.ordinaryClients)
    const probe = livenessProbe(svc.healthUrl)
    const stopSampling = rssSampler(svc.child.pid)
    const endAt = Date.now() + p.seconds * 1000
    const token = sessions[0].pair.token
    const headerHead = "GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    const bodyHead = `POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
      "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    // Opened over 2 s, as a slowloris ramps.
    const opening = (count, head, trickle) =>
      Array.from(
        { length: count },
        (_, i) => sleep((i / count) * 2000).then(() => slowSender(svc.port, head, trickle, endAt))
      )
    const headerCuts = Promise.all(opening(p.slowHeaders, headerHead, "abcdefghij"))
    const bodyCuts = Promise.all(opening(p.slowBodies, bodyHead, "          "))
    const okMs = []
    const failures = {}
    const statuses = {}
    let shed = 0
    // An ordinary client honours a shed answer's Retry-After (up to MAX_RETRIES times), as the
    // service asks: what must not happen is a request that never gets served, or many shed.
    const ordinary = sessions.map(async (session) => {
      const connection = new Connection(svc.port)
      for (let n = 0; Date.now() < endAt; n++) {
        for (let attempt = 0; attempt <= MAX_RETRIES; attempt++) {
          try {
            const response = await connection.request({
              path: `/api/tasks/${session.taskIds[n % session.taskIds.length]}`,
              headers: { Authorization: `Bearer ${session.pair.token}` }
            })
            const retryAfter = Number(response.headers["retry-after"])
            if (response.status === 503 && attempt < MAX_RETRIES && retryAfter > 0) {
              shed += 1
              await sleep(retryAfter * 1000)
              continue
            }
            statuses[response.status] = (statuses[response.status] ?? 0) + 1
            if (response.status === 200) okMs.push(response.ms)
          } catch (error) {
            failures[error.code] = (failures[error.code] ?? 0) + 1
          }
          break
        }
        await sleep(50)
      }
      connection.drop()
    })
    await Promise.all(ordinary)
    const [headers, bodies] = await Promise.all([headerCuts, bodyCuts])
    const peakKb = stopSampling()
    const probes = await probe.stop()
    const failed = Object.values(failures).reduce((a, b) => a + b, 0)
    const non200 = Object.entries(statuses).filter(([s]) => s !== "200").reduce((n, [, c]) => n + c, 0)
    return {
      checks: [
        figure("ordinary requests answered 200", okMs.length),
        aliveCheck(svc),
        acceptedP99Check(okMs, " (ordinary clients)"),
        atMost(
          "ordinary requests shed (503 with Retry-After, then retried)",
          (100 * shed) / Math.max(1, okMs.length + shed),
          SHED_SHARE_BOUND_PERCENT,
          " %",
          `${shed} shed answers`
        ),
        atMost(
          "ordinary requests not answered 200 (after honouring Retry-After)",
          failed + non200,
          0,
          "",
          failed + non200 > 0 ? JSON.stringify({ statuses, failures }) : undefined
        ),
        ...probeChecks(probes),
        rssCheck(peakKb),
        ...cutChecks("slow headers", headers, p.slowHeaders),
        ...cutChecks("slow bodies", bodies, p.slowBodies)
      ],
      notes: [
        `${p.slowHeaders} connections trickling headers and ${p.slowBodies} trickling a 100,000-byte body, ` +
        `1 byte/s each, for ${p.seconds} s; ${p.ordinaryClients} ordinary clients reading tasks meanwhile`,
        `the service runs with REQUEST_TIMEOUT=${REQUEST_TIMEOUT_S}s; a slow sender counts as cut when the server ` +
        "answers or closes its connection"
      ]
    }
  }
}

/**
 * HTTP/1.1 on raw sockets, for the drills that hold thousands of connections or send slowly: a
 * keep-alive connection that answers one request at a time (cheap enough to hold 10,000 in one
 * process, unlike a pool of fetch clients) and an open-loop load over many of them.
 */
import { connect } from "node:net"

/** Parses one response from the front of `buffer`: { status, headers, body, rest } or null if incomplete. */
export const parseResponse = (buffer) => {
  const end = buffer.indexOf("\r\n\r\n")
  if (end === -1) return null
  const head = buffer.subarray(0, end).toString("latin1").split("\r\n")
  const status = Number(head[0].split(" ")[1])
  const headers = {}
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":")
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const start = end + 4
  if (headers["transfer-encoding"]?.includes("chunked")) {
    const chunks = []
    let at = start
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at)
      if (lineEnd === -1) return null
      const size = parseInt(buffer.subarray(at, lineEnd).toString("latin1"), 16)
      if (buffer.length < lineEnd + 2 + size + 2) return null
      if (size === 0) return { status, headers, body: Buffer.concat(chunks), rest: buffer.subarray(lineEnd + 4) }
      chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
  const length = Number(headers["content-length"] ?? 0)
  if (buffer.length < start + length) return null
  return { status, headers, body: buffer.subarray(start, start + length), rest: buffer.subarray(start + length) }
}

/** The bytes of a request (keep-alive; a body gets its Content-Length). */
export const formatRequest = ({ method = "GET", path, headers = {}, body }) => {
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: keep-alive"]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  if (body !== undefined) lines.push("Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`)
  return `${lines.join("\r\n")}\r\n\r\n${body ?? ""}`
}

/** An error with a short code the drills count by: refused, reset, timeout. */
const failure = (code) => Object.assign(new Error(code), { code })

/** One keep-alive connection, opened on first use and again after the server closed it. */
export class Connection {
  constructor(port) {
    this.port = port
    this.socket = null
    this.pending = null
    this.buffer = Buffer.alloc(0)
  }

  open() {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: this.port })
      let connected = false
      socket.setNoDelay(true)
      socket.once("connect", () => {
        connected = true
        resolve()
      })
      socket.on("error", (error) => {
        if (!connected) reject(failure(error.code === "ECONNREFUSED" ? "refused" : "reset"))
      })
      socket.on("data", (chunk) => {
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
        const response = parseResponse(this.buffer)
        if (response === null || this.pending === null) return
        this.buffer = response.rest
        const { resolve: settle } = this.pending
        this.pending = null
        if (response.headers.connection === "close") this.drop()
        settle(response)
      })
      socket.on("close", () => {
        if (this.socket === socket) this.socket = null
        if (this.pending !== null) {
          const { reject: fail } = this.pending
          this.pending = null
          fail(failure("reset"))
        }
      })
      this.socket = socket
    })
  }

  /** Sends one request; resolves with { status, headers, body, ms }, rejects with a code. */
  request(request, timeoutMs = 10_000) {
    const started = performance.now()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null
        this.drop()
        reject(failure("timeout"))
      }, timeoutMs)
      const fail = (error) => {
        clearTimeout(timer)
        reject(error)
      }
      const send = () => {
        this.buffer = Buffer.alloc(0)
        this.pending = {
          resolve: (response) => {
            clearTimeout(timer)
            resolve({ ...response, ms: performance.now() - started })
          },
          reject: fail
        }
        this.socket.write(formatRequest(request))
      }
      if (this.socket !== null) send()
      else this.open().then(() => (this.socket === null ? fail(failure("reset")) : send()), fail)
    })
  }

  drop() {
    this.socket?.destroy()
    this.socket = null
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Open-loop load: `connections` keep-alive connections opened over `rampMs`, each sending
 * `pick(connection, n)` every `intervalMs` (from a random phase; a request whose slot came while
 * the previous one was still out goes as soon as that one is answered) until `durationMs` after the
 * first connection; `onAnswer(request, response, failureCode)` sees each outcome. Answers the tally: offered,
 * answered by status, latencies of 2xx answers, 503s by error_code, and failures by code.
 */
export const openLoop = async (
  { port, connections, intervalMs, rampMs, durationMs, pick, timeoutMs = 10_000, onAnswer = () => {} }
) => {
  const tally = { offered: 0, statuses: {}, okMs: [], shed: 0, shedWithRetryAfter: 0, codes503: {}, failures: {} }
  const started = Date.now()
  const endAt = started + durationMs
  const pool = []
  const run = async (index) => {
    await sleep((index / connections) * rampMs)
    const connection = new Connection(port)
    pool.push(connection)
    let next = Date.now() + Math.random() * intervalMs
    for (let n = 0; Date.now() < endAt; n++) {
      await sleep(Math.max(0, next - Date.now()))
      if (Date.now() >= endAt) break
      next += intervalMs
      tally.offered += 1
      const request = pick(index, n)
      try {
        const response = await connection.request(request, timeoutMs)
        onAnswer(request, response)
        tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1
        if (response.status >= 200 && response.status < 300) tally.okMs.push(response.ms)
        if (response.status === 503) {
          let code = "?"
          try {
            code = JSON.parse(response.body.toString("utf8")).error_code ?? "?"
          } catch {
            // not JSON
          }
          tally.codes503[code] = (tally.codes503[code] ?? 0) + 1
          if (code === "overloaded") {
            tally.shed += 1
            if (response.headers["retry-after"] !== undefined) tally.shedWithRetryAfter += 1
          }
        }
      } catch (error) {
        onAnswer(request, null, error.code ?? "error")
        tally.failures[error.code ?? "error"] = (tally.failures[error.code ?? "error"] ?? 0) + 1
        // A refused connection (service gone) would otherwise retry in a hot loop.
        if (error.code === "refused") await sleep(intervalMs)
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, (_, i) => run(i)))
  for (const connection of pool) connection.drop()
  return { ...tally, seconds: (Date.now() - started) / 1000 }
}

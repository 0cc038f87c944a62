/**
 * `GET /health/live` on HEALTH_PORT, answered by a worker thread: off the main event loop, so a
 * liveness probe is answered in milliseconds however busy that loop is (on the main port the answer
 * waits its turn among thousands of connections; the drills measured hundreds of ms when saturated).
 * Busy is not dead, but hung is: the main thread writes a heartbeat (a monotonic timestamp) into
 * shared memory every HEARTBEAT_INTERVAL_MS, and the worker answers 200 while the heartbeat is
 * younger than HEALTH_STALL_TIMEOUT, 503 past it (the main loop stuck in a synchronous turn). Only
 * `/health/live`: everything else on this port is 404, and it carries no data of the API's.
 */
import { Data, Duration, Effect, Layer } from "effect"
import { Worker } from "node:worker_threads"
import { AppConfig } from "../../infra/platform/Config.js"

export class HealthPortUnavailable extends Data.TaggedError("HealthPortUnavailable")<{
  readonly port: number
  readonly reason: string
}> {
  override get message() {
    return `the health port ${this.port} could not be opened: ${this.reason}`
  }
}

const HEARTBEAT_INTERVAL_MS = 100

/**
 * The worker's code, plain JavaScript with Node's modules only: evaluated (not a file), so it runs
 * the same from dist/ and from the sources under the tests.
 */
const WORKER_SOURCE = String.raw`
const { createServer } = require("node:http")
const { parentPort, workerData } = require("node:worker_threads")
const { host, port, stallMs, heartbeat } = workerData
const beats = new BigInt64Array(heartbeat)
const headers = (body, type) => ({
  "Content-Type": type,
  "Content-Length": Buffer.byteLength(body),
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff"
})
const server = createServer((request, response) => {
  const url = request.url ?? ""
  if (request.method !== "GET" || (url !== "/health/live" && !url.startsWith("/health/live?"))) {
    const body = JSON.stringify({ detail: "Not Found", error_code: "not_found" })
    response.writeHead(404, headers(body, "application/json"))
    return response.end(body)
  }
  const silentMs = Number(process.hrtime.bigint() - Atomics.load(beats, 0)) / 1e6
  const live = silentMs <= stallMs
  const output = "the event loop has not run for " + Math.round(silentMs) + " ms"
  const body = JSON.stringify(live ? { status: "pass" } : { status: "fail", output })
  response.writeHead(live ? 200 : 503, headers(body, "application/health+json"))
  response.end(body)
})
server.on("error", (error) => parentPort.postMessage({ error: error.message }))
server.listen(port, host, () => parentPort.postMessage({ listening: true }))
`

/** Starts the worker on `host`:`port` and the heartbeat; stops both with the scope. */
const healthPort = (options: { readonly host: string; readonly port: number; readonly stallMs: number }) =>
  Effect.gen(function*() {
    const heartbeat = new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT)
    const beats = new BigInt64Array(heartbeat)
    const beat = () => Atomics.store(beats, 0, process.hrtime.bigint())
    beat()
    const timer = setInterval(beat, HEARTBEAT_INTERVAL_MS)
    timer.unref()
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...options, heartbeat } })
    // The process ends when the service does, not when its health port does.
    worker.unref()
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        clearInterval(timer)
        await worker.terminate()
      })
    )
    yield* Effect.callback<void, HealthPortUnavailable>((resume) => {
      const fail = (reason: string) => resume(Effect.fail(new HealthPortUnavailable({ port: options.port, reason })))
      worker.once(
        "message",
        (message: { readonly listening?: true; readonly error?: string }) =>
          message.listening === true ? resume(Effect.void) : fail(message.error ?? "unknown")
      )
      worker.once("error", (error) => fail(error.message))
    })
    yield* Effect.logInfo("health port listening").pipe(
      Effect.annotateLogs({ event: "health.port", port: options.port, stall_timeout_ms: options.stallMs })
    )
  })

/** The health port when HEALTH_PORT is set (not 0), on HOST. */
export const HealthPortLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const { healthPort: port, healthStallTimeout, host } = yield* AppConfig
    if (port === 0) return
    yield* healthPort({ host, port, stallMs: Duration.toMillis(healthStallTimeout) })
  })
)

/**
 * The liveness probe, on its own thread so that the drill's load (on the main thread) does not
 * delay it: GET /health/live on a new connection every `everyMs`, as an orchestrator probes.
 * Posts { at, ms, status } per probe (status 0: no answer within `timeoutMs`) when told to stop.
 */
import { request } from "node:http"
import { parentPort, workerData } from "node:worker_threads"

const { url, everyMs, timeoutMs } = workerData
const probes = []
let stopped = false

const probe = () =>
  new Promise((resolve) => {
    const at = Date.now()
    const started = performance.now()
    const done = (status) => resolve({ at, ms: performance.now() - started, status })
    const req = request(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume()
      response.on("end", () => done(response.statusCode))
      response.on("error", () => done(0))
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => done(0))
    req.end()
  })

parentPort.on("message", () => {
  stopped = true
})

while (!stopped) {
  const next = Date.now() + everyMs
  probes.push(await probe())
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())))
}
parentPort.postMessage(probes)

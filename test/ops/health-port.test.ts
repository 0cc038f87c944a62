/**
 * The health port (issue 15, item 1: "/health/live answers from outside the request pipeline, in
 * milliseconds whatever the load"): a worker thread answers `GET /health/live` on HEALTH_PORT while
 * the main event loop is held, and tells a hung loop (silent past HEALTH_STALL_TIMEOUT) from a busy
 * one. The main loop is held structurally: the probe runs in a child process the test waits for with
 * `spawnSync`, which blocks this thread (the service's main thread here) until the probe has answered.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { HealthPortLive } from "../../src/http/edge/HealthPort.js"
import { appConfigFrom } from "../../src/infra/platform/Config.js"
import { freePort } from "../../src/infra/platform/FreePort.js"
import { pause } from "../support/locks.js"
import { TEST_JWT_SECRET } from "../support/TestService.js"

class HealthPortUrl extends Context.Service<HealthPortUrl, string>()("test/HealthPortUrl") {}

const STALL_TIMEOUT_MS = 2000

const HealthPortTest = Layer.unwrap(
  Effect.map(Effect.promise(freePort), (port) =>
    Layer.merge(
      HealthPortLive.pipe(
        Layer.provide(
          appConfigFrom({
            APP_ENV: "test",
            JWT_SECRET: TEST_JWT_SECRET,
            HOST: "127.0.0.1",
            HEALTH_PORT: String(port),
            HEALTH_STALL_TIMEOUT: `${STALL_TIMEOUT_MS}ms`
          })
        )
      ),
      Layer.succeed(HealthPortUrl, `http://127.0.0.1:${port}`)
    ))
)

/** GET `url` from a child process after `afterMs`, this thread blocked until it answers: { status, body }. */
const probeWhileHeld = (url: string, afterMs: number) => {
  const script = `setTimeout(() => fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then(
    async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })),
    (e) => console.log(JSON.stringify({ status: 0, body: String(e) }))), ${afterMs})`
  const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000 })
  return JSON.parse(child.stdout) as { status: number; body: unknown }
}

it.layer(HealthPortTest)("the health port", (it) => {
  it.effect("answers /health/live while the main loop is held; 503 once silent past HEALTH_STALL_TIMEOUT", () =>
    Effect.gen(function*() {
      const base = yield* HealthPortUrl
      // Held only as long as the probe takes (well under the stall timeout): busy, not hung.
      expect(probeWhileHeld(`${base}/health/live`, 0)).toEqual({ status: 200, body: { status: "pass" } })
      // Held past the stall timeout: the main loop has not run, the worker says so.
      const hung = probeWhileHeld(`${base}/health/live`, STALL_TIMEOUT_MS + 1000)
      expect(hung.status).toBe(503)
      expect(hung.body).toMatchObject({ status: "fail" })
      // The loop runs again (its next heartbeat): live again.
      let status = 503
      for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
        status = (yield* Effect.promise(() => fetch(`${base}/health/live`))).status
        if (status !== 200) yield* pause(50)
      }
      expect(status).toBe(200)
      // Only liveness is served there.
      const other = yield* Effect.promise(() => fetch(`${base}/api/tasks`))
      expect(other.status).toBe(404)
      expect(other.headers.get("cache-control")).toBe("no-store")
    }))
})

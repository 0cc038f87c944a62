/**
 * A second service process on the suite's database: the built service (`dist/main.js`, built by
 * `npm test`) started as a child process with the same JWT secret, and killed when the suite ends.
 */
import { Context, Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "./postgres.js"
import { TEST_JWT_SECRET, TestServer } from "./TestService.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const READY_ATTEMPTS = 150
const READY_GAP_MS = 100

/** Where the second instance listens. */
export class SecondInstance extends Context.Tag("test/SecondInstance")<SecondInstance, { readonly baseUrl: string }>() {}

/** A real-time pause (TestClock drives Effect.sleep in suites): only for waiting on a process. */
const pause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

const killed = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** Polls GET /health/ready a bounded number of times; fails with the output if it never answers 200. */
const waitUntilReady = (baseUrl: string, child: ChildProcess, output: () => string) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
      if (child.exitCode !== null || child.signalCode !== null) {
        return yield* Effect.dieMessage(`second instance exited (${child.exitCode ?? child.signalCode}):\n${output()}`)
      }
      const status = yield* Effect.promise(() =>
        fetch(`${baseUrl}/health/ready`).then((r) => r.status, () => 0)
      )
      if (status === 200) return
      yield* pause(READY_GAP_MS)
    }
    return yield* Effect.dieMessage(`second instance not ready after ${READY_ATTEMPTS} attempts:\n${output()}`)
  })

/** The second instance, with `env` added to its environment (rate limits are off unless given). */
export const SecondInstanceLive = (env: Record<string, string> = {}) =>
  Layer.scoped(
    SecondInstance,
    Effect.gen(function*() {
      const { databaseUrl } = yield* TestServer
      const port = yield* Effect.promise(freePort)
      const dataDir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "tasks-api-instance-b-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      let output = ""
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(process.execPath, ["dist/main.js"], {
            cwd: ROOT,
            env: {
              PATH: process.env.PATH ?? "/usr/bin:/bin",
              APP_ENV: "test",
              DATABASE_URL: databaseUrl,
              JWT_SECRET: TEST_JWT_SECRET,
              HOST: "127.0.0.1",
              PORT: String(port),
              MIGRATE_ON_START: "false",
              DATA_DIR: dataDir,
              BCRYPT_COST: "10",
              LOG_LEVEL: "warn",
              RATE_LIMIT_ENABLED: "false",
              ...env
            },
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        killed
      )
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
      const baseUrl = `http://127.0.0.1:${port}`
      yield* waitUntilReady(baseUrl, child, () => output)
      return { baseUrl }
    })
  )

/** Runs HTTP helpers against the second instance instead of the in-process one. */
export const onSecondInstance = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const first = yield* TestServer
    const { baseUrl } = yield* SecondInstance
    return yield* Effect.provideService(effect, TestServer, { ...first, baseUrl })
  })

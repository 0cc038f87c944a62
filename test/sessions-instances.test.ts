/**
 * Cross-instance revocation (security.md, "Access tokens"): a session ended on one instance is
 * refused by every other instance within 5 seconds. Instance A is the in-process TestService;
 * instance B is the built service (`dist/main.js`, built by `npm test`) started as a child process
 * on A's database, with the same JWT secret, and killed when the suite ends.
 *
 * Every request checks that its session is active in the shared database, so the refusal on the
 * other instance is expected at once: it is asserted on the first request after the logout.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { post } from "./support/http.js"
import { freePort } from "./support/postgres.js"
import { TEST_JWT_SECRET, TestServer } from "./support/TestService.js"
import {
  AUTH,
  expectAccepted,
  expectRefreshRefused,
  expectRefused,
  newUser,
  serviceWith,
  signinPair
} from "./sessions-helpers.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const READY_ATTEMPTS = 150
const READY_GAP_MS = 100

/** Where instance B listens. */
class InstanceB extends Context.Tag("test/InstanceB")<InstanceB, { readonly baseUrl: string }>() {}

/** A real-time pause (TestClock drives Effect.sleep here): only for waiting on B's start. */
const pause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

const killed = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** Polls GET /health/ready a bounded number of times; fails with B's output if it never answers 200. */
const waitUntilReady = (baseUrl: string, child: ChildProcess, output: () => string) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
      if (child.exitCode !== null || child.signalCode !== null) {
        return yield* Effect.dieMessage(`instance B exited (${child.exitCode ?? child.signalCode}):\n${output()}`)
      }
      const status = yield* Effect.promise(() =>
        fetch(`${baseUrl}/health/ready`).then((r) => r.status, () => 0)
      )
      if (status === 200) return
      yield* pause(READY_GAP_MS)
    }
    return yield* Effect.dieMessage(`instance B not ready after ${READY_ATTEMPTS} attempts:\n${output()}`)
  })

/** Instance B: `node dist/main.js` on A's database, with the same secret; killed in a finalizer. */
const InstanceBLive = Layer.scoped(
  InstanceB,
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
            RATE_LIMIT_ENABLED: "false"
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

/** Runs HTTP helpers against instance B instead of A. */
const onB = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const a = yield* TestServer
    const { baseUrl } = yield* InstanceB
    return yield* Effect.provideService(effect, TestServer, { ...a, baseUrl })
  })

it.layer(serviceWith())("two instances on one database", (it) => {
  it.layer(InstanceBLive, { timeout: "60 seconds" })((it) => {
    it.effect("a logout through A is refused by B at once (access token 401, refresh session_revoked)", () =>
      Effect.gen(function*() {
        const user = yield* newUser("instances-a")
        const pair = yield* signinPair(user.email, user.password) // through A
        yield* onB(expectAccepted(pair.token, user.userId))

        const logout = yield* post(`${AUTH}/logout`, { token: pair.token }) // through A
        expect(logout.status).toBe(204)

        yield* onB(expectRefused(pair.token)) // the first request to B after the logout
        yield* onB(expectRefreshRefused(pair.refreshToken, "session_revoked"))
        yield* expectRefused(pair.token) // and A, of course
        yield* onB(expectAccepted(user.pair.token, user.userId)) // the user's other session is untouched
      }))

    it.effect("a logout through B is refused by A at once", () =>
      Effect.gen(function*() {
        const user = yield* newUser("instances-b")
        const pair = yield* onB(signinPair(user.email, user.password))
        yield* expectAccepted(pair.token, user.userId)

        const logout = yield* onB(post(`${AUTH}/logout`, { token: pair.token }))
        expect(logout.status).toBe(204)

        yield* expectRefused(pair.token)
        yield* expectRefreshRefused(pair.refreshToken, "session_revoked")
      }))
  })
})

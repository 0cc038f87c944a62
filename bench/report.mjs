/** The report: the table, the targets (pass / fail / n/a) and the result files. */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DURATION, ROOT } from "./knobs.mjs"

const RESULTS_DIR = join(ROOT, "bench", "results")

export const fmt = (n, digits = 0) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–")
/** req/s: whole numbers, but a tenth below 100 (signin runs at a few per second). */
export const fmtRps = (n) => fmt(n, typeof n === "number" && n < 100 ? 1 : 0)
export const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? (a / b).toFixed(2) : "–")

/**
 * The targets, one entry each: { target, measured, status: "pass" | "fail" | "n/a" }.
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
    const missing = !r
      ? `no ${label} row`
      : r.reference.requests === 0
      ? `the reference completed no request in ${DURATION} s`
      : undefined
    const s = r?.service, ref = r?.reference
    const non2xx = errors(s, ref)
    if (minRps !== undefined) {
      add(
        `${label}: service req/s ≥ ${minRps} × reference`,
        missing ? { missing } : {
          measured: `${fmtRps(s.rps)} vs ${fmtRps(ref.rps)} req/s = ${ratio(s.rps, ref.rps)} ×`,
          pass: s.rps >= minRps * ref.rps,
          non2xx
        }
      )
    }
    if (maxP99 !== undefined) {
      add(
        `${label}: service p99 ≤ ${maxP99} × reference`,
        missing ? { missing } : {
          measured: `${fmt(s.p99, 1)} vs ${fmt(ref.p99, 1)} ms = ${ratio(s.p99, ref.p99)} ×`,
          pass: s.p99 !== null && ref.p99 !== null && s.p99 <= maxP99 * ref.p99,
          non2xx
        }
      )
    }
  }
  for (const scenario of ["list", "get", "create"]) vsReference(scenario, 32, 0.7, 1.5)
  vsReference("offset", 32, 2)
  vsReference("signin", 16, 1.8)

  const mixed = row("mixed (list; signin alongside)", 16)
  add(
    "mixed: service list p99 < 100 ms while signins run",
    mixed ?
      {
        measured: `${fmt(mixed.service.p99, 1)} ms (signin alongside: ${fmt(mixed.service.others[0]?.rps, 1)} req/s)`,
        pass: mixed.service.p99 !== null && mixed.service.p99 < 100,
        non2xx: errors(mixed.service, ...mixed.service.others)
      } :
      { missing: "mixed not run" }
  )

  const firstPage = row("first page (10k tasks)", 32)?.service
  const cursorPage = row("cursor page at end (10k tasks)", 32)?.service
  const cursorMissing = firstPage && cursorPage
    ? (firstPage.requests === 0 ? `the first page completed no request in ${DURATION} s` : undefined)
    : cursorSkip
    ? `cursor skipped: ${cursorSkip}`
    : "cursor not run"
  for (const key of ["p50", "p99"]) {
    add(
      `cursor page at end: ${key} ≤ 1.5 × first page's`,
      cursorMissing ? { missing: cursorMissing } : {
        measured: `${fmt(cursorPage[key], 1)} vs ${fmt(firstPage[key], 1)} ms = ${
          ratio(cursorPage[key], firstPage[key])
        } ×`,
        pass: cursorPage[key] !== null && firstPage[key] !== null && cursorPage[key] <= 1.5 * firstPage[key],
        non2xx: errors(firstPage, cursorPage)
      }
    )
  }

  const peak = rows.reduce((best, r) => (r.service && r.service.rssMb > (best?.service.rssMb ?? -1) ? r : best), null)
  add(
    "memory: service peak RSS ≤ 250 MB over the run",
    peak ?
      {
        measured: `${fmt(peak.service.rssMb)} MB (in ${peak.scenario} @ ${peak.connections})`,
        pass: peak.service.rssMb <= 250
      } :
      { missing: "no rows" }
  )

  const largeRow = row("list (1M tasks)", 32)
  const smallList = row("list", 32)
  add(
    "1M rows: service list p99 ≤ 1.5 × its list p99 on the small dataset",
    !large ?
      { missing: "run with --large" }
      : !largeRow ?
      { missing: "no list (1M tasks) row" }
      : !smallList ?
      { missing: "no list @ 32 row on the small dataset" }
      : smallList.service.requests === 0 ?
      { missing: "the small-dataset list completed no request" }
      : {
        measured: `${fmt(largeRow.service.p99, 1)} vs ${fmt(smallList.service.p99, 1)} ms = ${
          ratio(largeRow.service.p99, smallList.service.p99)
        } ×`,
        pass: largeRow.service.p99 !== null && smallList.service.p99 !== null &&
          largeRow.service.p99 <= 1.5 * smallList.service.p99,
        non2xx: errors(largeRow.service)
      }
  )

  add(
    "start: service ready < 5 s on a fresh embedded database",
    start
      ? { measured: `${fmt(start.freshMs / 1000, 2)} s`, pass: start.freshMs < 5000 }
      : { missing: "start not run" }
  )
  add(
    "start: service ready < 2 s on an existing embedded database",
    start
      ? { measured: `${fmt(start.existingMs / 1000, 2)} s`, pass: start.existingMs < 2000 }
      : { missing: "start not run" }
  )
  return targets
}

const toMarkdown = ({ rows, meta, start, targets, cursorSkip }) => {
  const header = "| scenario | conns | server | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB | CPU µs/req " +
    "| req/s ratio | p99 ratio | RSS ratio |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
  const lines = rows.flatMap((row) => [
    `| ${row.scenario} | ${row.connections} | service | ${fmtRps(row.service.rps)} | ${fmt(row.service.p50, 1)} | ${
      fmt(row.service.p99, 1)
    } | ${row.service.non2xx} | ${fmt(row.service.rssMb)} | ${fmt(row.service.cpuUsPerRequest)} | ${
      ratio(row.service.rps, row.reference?.rps)
    } | ${ratio(row.service.p99, row.reference?.p99)} | ${ratio(row.service.rssMb, row.reference?.rssMb)} |`,
    row.reference
      ? `| | | reference | ${fmtRps(row.reference.rps)} | ${fmt(row.reference.p50, 1)} | ${
        fmt(row.reference.p99, 1)
      } | ${row.reference.non2xx} | ${fmt(row.reference.rssMb)} | ${fmt(row.reference.cpuUsPerRequest)} | | | |`
      : "| | | reference | – | – | – | – | – | – | | | |"
  ])
  const notes = []
  if (start) {
    notes.push(
      `Start (service alone, embedded PostgreSQL, spawn → /health/ready 200): fresh data dir ${
        fmt(start.freshMs / 1000, 2)
      } s, existing ${fmt(start.existingMs / 1000, 2)} s.`
    )
  }
  if (cursorSkip) notes.push(`Cursor scenario skipped: ${cursorSkip}.`)
  if (meta.large) {
    notes.push(
      `--large: ${meta.large.users.toLocaleString("en")} users × ${meta.large.tasksPerUser} tasks seeded in ${
        fmt(meta.large.seedSeconds, 1)
      } s (triggers ${meta.large.triggers}; ${
        meta.large.taskRows.toLocaleString("en")
      } task rows in all), ${meta.large.tokenUsers} of them signed in.`
    )
  }
  const targetLines = targets.map((t) =>
    `| ${t.target} | ${t.measured} | ${t.status === "pass" ? "pass" : t.status === "fail" ? "**FAIL**" : "n/a"} |`
  )
  const counts = ["pass", "fail", "n/a"].map((status) =>
    `${targets.filter((t) => t.status === status).length} ${status}`
  ).join(", ")
  const conditions = [
    meta.date,
    `${meta.cpus} CPUs`,
    `load generator: ${meta.wrkVersion}`,
    `${meta.durationSeconds} s per run (after ${meta.warmupSeconds} s warm-up)`,
    meta.database,
    `${meta.totalSeconds} s in all`
  ].join(" · ")
  return `# tasks-api benchmark: service vs reference

${conditions}

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

/** Evaluates the targets, writes bench/results/latest.json and latest.md, and prints the table. */
export const writeReport = ({ rows, meta, start, cursorSkip, large }) => {
  const targets = evaluateTargets({ rows, start, cursorSkip, large })
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(
    join(RESULTS_DIR, "latest.json"),
    JSON.stringify({ meta, start, cursorSkip, rows, targets }, null, 2) + "\n"
  )
  const markdown = toMarkdown({ rows, meta, start, targets, cursorSkip })
  writeFileSync(join(RESULTS_DIR, "latest.md"), markdown)
  console.log("\n" + markdown)
}

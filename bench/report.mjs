/** The report: the rows, issue 16's targets (pass / fail / n/a), the per-guard budget, and the result files. */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DURATION, ROOT } from "./knobs.mjs"

const RESULTS_DIR = join(ROOT, "bench", "results")

export const fmt = (n, digits = 0) => (typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : "–")
/** req/s: whole numbers, but a tenth below 100 (signin runs at a few per second). */
export const fmtRps = (n) => fmt(n, typeof n === "number" && n < 100 ? 1 : 0)
export const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? (a / b).toFixed(2) : "–")

/** The ratio columns: service ÷ a yardstick, for req/s, p99 and CPU per request. */
const ratioCells = (
  s,
  peer
) => [ratio(s?.rps, peer?.rps), ratio(s?.p99, peer?.p99), ratio(s?.cpuUsPerRequest, peer?.cpuUsPerRequest)]

/**
 * Issue 16's targets, one entry each: { target, measured, bound, status: "pass" | "fail" | "n/a" }.
 * "n/a" (with the reason as `measured`) when what a target needs was not run, or a yardstick lacks
 * the endpoint. A measured load with non-2xx answers fails its target: an error answered fast is not
 * a fast answer.
 */
const evaluateTargets = ({ rows, start, cursorSkip, large }) => {
  const targets = []
  const row = (scenario, connections) => rows.find((r) => r.scenario === scenario && r.connections === connections)
  const errors = (...results) =>
    results.reduce((n, r) => n + (r?.non2xx ?? 0) + ((r?.others ?? []).reduce((m, o) => m + o.non2xx, 0)), 0)
  const add = (target, bound, { measured, pass, missing, non2xx = 0 }) => {
    if (missing !== undefined) return targets.push({ target, measured: missing, bound, status: "n/a" })
    const note = non2xx > 0 ? ` · ${non2xx} non-2xx` : ""
    targets.push({ target, measured: measured + note, bound, status: pass && non2xx === 0 ? "pass" : "fail" })
  }
  /** Why `r` (a row) cannot be compared with `peer`: not run, the peer lacks it, or it answered nothing. */
  const missingOf = (r, label, peer) =>
    !r
      ? `no ${label} row`
      : peer && r.serviceOnly
      ? `n/a: ${r.serviceOnly}`
      : peer && !r[peer]
      ? `no ${peer} run`
      : (peer ? r[peer] : r.service).requests === 0
      ? `${peer ?? "the service"} completed no request in ${DURATION} s`
      : undefined
  const rpsVs = (r, label, peer, factor) => {
    const missing = missingOf(r, label, peer)
    add(
      `${label}: req/s vs ${peer}`,
      `≥ ${factor} × ${peer}`,
      missing ? { missing } : {
        measured: `${fmtRps(r.service.rps)} vs ${fmtRps(r[peer].rps)} = ${ratio(r.service.rps, r[peer].rps)} ×`,
        pass: r.service.rps >= factor * r[peer].rps,
        non2xx: errors(r.service, r[peer])
      }
    )
  }
  const p99Vs = (r, label, peer, factor) => {
    const missing = missingOf(r, label, peer)
    add(
      `${label}: p99 vs ${peer}`,
      `≤ ${factor} × ${peer}'s`,
      missing ? { missing } : {
        measured: `${fmt(r.service.p99, 1)} vs ${fmt(r[peer].p99, 1)} ms = ${ratio(r.service.p99, r[peer].p99)} ×`,
        pass: r.service.p99 !== null && r[peer].p99 !== null && r.service.p99 <= factor * r[peer].p99,
        non2xx: errors(r.service, r[peer])
      }
    )
  }

  for (const scenario of ["get", "list", "create", "update"]) {
    const at32 = row(scenario, 32)
    rpsVs(at32, `${scenario} @ 32`, "hardened", 0.5)
    p99Vs(at32, `${scenario} @ 32`, "hardened", 2)
  }
  for (const scenario of ["get", "list", "create", "update"]) {
    const at32 = row(scenario, 32)
    const at128 = row(scenario, 128)
    const label = `${scenario} @ 128`
    const missing = missingOf(at128, label) ?? (at32 ? undefined : `no ${scenario} @ 32 row`)
    add(
      `${label}: req/s vs its own @ 32 (no collapse)`,
      "≥ 0.9 × service @ 32",
      missing ? { missing } : {
        measured: `${fmtRps(at128.service.rps)} vs ${fmtRps(at32.service.rps)} = ${
          ratio(at128.service.rps, at32.service.rps)
        } ×`,
        pass: at128.service.rps >= 0.9 * at32.service.rps,
        non2xx: errors(at128.service)
      }
    )
    p99Vs(at128, label, "hardened", 3)
    add(
      `${label}: errors`,
      "0 non-2xx",
      missing ? { missing } : {
        measured: `${errors(at128.service)} non-2xx of ${at128.service.requests}`,
        pass: errors(at128.service) === 0
      }
    )
  }
  rpsVs(row("offset", 32), "offset=4900 @ 32", "hardened", 0.8)

  for (const [rpc, rest] of [["rpc GetTask", "get"], ["rpc ListTasks", "list"]]) {
    const r = row(rpc, 32)
    const restRow = row(rest, 32)
    const missing = missingOf(r, `${rpc} @ 32`) ?? (restRow ? undefined : `no ${rest} @ 32 row`)
    add(
      `${rpc} @ 32: CPU per call vs REST ${rest}`,
      `≤ 1.1 × REST`,
      missing ? { missing } : {
        measured: `${fmt(r.service.cpuUsPerRequest)} vs ${fmt(restRow.service.cpuUsPerRequest)} µs = ${
          ratio(r.service.cpuUsPerRequest, restRow.service.cpuUsPerRequest)
        } ×`,
        pass: r.service.cpuUsPerRequest <= 1.1 * restRow.service.cpuUsPerRequest,
        non2xx: errors(r.service)
      }
    )
  }

  const signin = row("signin", 16)
  rpsVs(signin, "signin @ 16 (cost 12)", "hardened", 0.9)
  rpsVs(signin, "signin @ 16 (cost 12)", "bare", 1.8)

  const mixed = row("mixed (list; signin alongside)", 16)
  add(
    "mixed: service list p99 while signins run",
    "< 50 ms",
    mixed ?
      {
        measured: `${fmt(mixed.service.p99, 1)} ms (signin alongside: ${fmt(mixed.service.others[0]?.rps, 1)} req/s)`,
        pass: mixed.service.p99 !== null && mixed.service.p99 < 50,
        non2xx: errors(mixed.service)
      } :
      { missing: "mixed not run" }
  )

  const measuredRows = rows.filter((r) => r.service)
  const peak = measuredRows.reduce((best, r) => (r.service.rssMb > (best?.service.rssMb ?? -1) ? r : best), null)
  const over = measuredRows.filter((r) => r.service.rssMb > 300)
  add(
    "memory: peak RSS of the service and its workers, in every row",
    "≤ 300 MB",
    peak ?
      {
        measured: `${fmt(peak.service.rssMb)} MB at most (${peak.scenario} @ ${peak.connections})` +
          (over.length > 0 ? `; over in ${over.length} of ${measuredRows.length} rows` : ""),
        pass: over.length === 0
      } :
      { missing: "no rows" }
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
      `cursor page at the end of 10,000 tasks: ${key} vs the first page's`,
      "≤ 1.2 ×",
      cursorMissing ? { missing: cursorMissing } : {
        measured: `${fmt(cursorPage[key], 1)} vs ${fmt(firstPage[key], 1)} ms = ${
          ratio(cursorPage[key], firstPage[key])
        } ×`,
        pass: cursorPage[key] !== null && firstPage[key] !== null && cursorPage[key] <= 1.2 * firstPage[key],
        non2xx: errors(firstPage, cursorPage)
      }
    )
  }

  const largeRow = row("list (1M tasks)", 32)
  const smallList = row("list", 32)
  add(
    "1M-task table: list p99 vs the small dataset's list @ 32",
    "≤ 1.3 ×",
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
          largeRow.service.p99 <= 1.3 * smallList.service.p99,
        non2xx: errors(largeRow.service)
      }
  )

  add(
    "start: ready on a fresh embedded database",
    "< 3 s",
    start
      ? { measured: `${fmt(start.freshMs / 1000, 2)} s`, pass: start.freshMs < 3000 }
      : { missing: "start not run" }
  )
  add(
    "start: ready on an existing embedded database",
    "< 1.5 s",
    start
      ? { measured: `${fmt(start.existingMs / 1000, 2)} s`, pass: start.existingMs < 1500 }
      : { missing: "start not run" }
  )
  return targets
}

const SERVER_LABELS = { service: "service", hardened: "hardened peer", bare: "bare reference" }

const rowsTable = (rows) => {
  const header = "| scenario | conns | server | req/s | p50 ms | p99 ms | non-2xx | peak RSS MB | CPU µs/req " +
    "| req/s ÷ hardened | p99 ÷ hardened | CPU ÷ hardened | req/s ÷ bare | p99 ÷ bare | CPU ÷ bare |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  const figures = (r) =>
    [fmtRps(r.rps), fmt(r.p50, 1), fmt(r.p99, 1), r.non2xx, fmt(r.rssMb), fmt(r.cpuUsPerRequest)].join(" | ")
  const lines = rows.flatMap((row) => {
    const s = row.service
    const scenario = row.serviceOnly ? `${row.scenario} (service only)` : row.scenario
    const serviceLine = `| ${scenario} | ${row.connections} | service | ${s ? figures(s) : "– | – | – | – | – | –"} | ${
      row.serviceOnly ? "| | | | |" : [...ratioCells(s, row.hardened), ...ratioCells(s, row.bare)].join(" | ")
    } |`
    const peerLines = ["hardened", "bare"].filter((name) => row[name]).map((name) =>
      `| | | ${SERVER_LABELS[name]} | ${figures(row[name])} | | | | | | |`
    )
    return [serviceLine, ...peerLines]
  })
  return `${header}\n${lines.join("\n")}`
}

const budgetTable = (budget) => {
  const { allOn, pieces, scenarios } = budget
  const cell = (delta, noise) => (delta === null ? "–" : `${fmt(delta)} ± ${fmt(noise)}`)
  const meanOn = (scenario) => allOn.reduce((sum, r) => sum + (r[scenario].cpuUsPerRequest ?? 0), 0) / allOn.length
  // How much identical all-on services differ: the noise floor of every figure below, beside ±.
  const sdOn = (scenario) =>
    Math.sqrt(
      allOn.reduce((sum, r) => sum + ((r[scenario].cpuUsPerRequest ?? 0) - meanOn(scenario)) ** 2, 0) / allOn.length
    )
  const sum = (scenario) => pieces.reduce((total, p) => total + (p.delta[scenario] ?? 0), 0)
  const lines = [
    `| everything on (mean and sd of ${allOn.length} runs) | — | ${
      scenarios.map((s) => `${fmt(meanOn(s))} (sd ${fmt(sdOn(s))})`).join(" | ")
    } |`,
    ...pieces.map((p) =>
      `| ${p.piece} | \`${p.off}\` | ${scenarios.map((s) => cell(p.delta[s], p.noise[s])).join(" | ")} |`
    ),
    `| the pieces together | | ${scenarios.map((s) => fmt(sum(s))).join(" | ")} |`,
    `| the rest (framework, routing, decoding, auth cache, handler, SQL driver) | | ${
      scenarios.map((s) => fmt(meanOn(s) - sum(s))).join(" | ")
    } |`
  ]
  return `| piece | switched off by | ${scenarios.map((s) => `${s} µs/req`).join(" | ")} |
|---|---|${scenarios.map(() => "---").join("|")}|
${lines.join("\n")}`
}

const toMarkdown = ({ rows, meta, start, targets, cursorSkip, budget }) => {
  const notes = []
  if (start) {
    notes.push(
      `Start (service alone, embedded PostgreSQL, spawn → /health/ready 200): fresh data dir ${
        fmt(start.freshMs / 1000, 2)
      } s, existing ${fmt(start.existingMs / 1000, 2)} s.`
    )
  }
  const serviceOnly = [...new Map(rows.filter((r) => r.serviceOnly).map((r) => [r.scenario, r.serviceOnly]))]
  if (serviceOnly.length > 0) {
    notes.push(`Service-only rows: ${serviceOnly.map(([scenario, why]) => `${scenario} (${why})`).join("; ")}.`)
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
    `| ${t.target} | ${t.measured} | ${t.bound} | ${
      t.status === "pass" ? "PASS" : t.status === "fail" ? "**FAIL**" : "n/a"
    } |`
  )
  const counts = ["pass", "fail", "n/a"].map((status) =>
    `${targets.filter((t) => t.status === status).length} ${status}`
  )
    .join(", ")
  const conditions = [
    meta.date,
    `${meta.cpus} CPUs`,
    `load generator: ${meta.wrkVersion}`,
    `${meta.durationSeconds} s per run (after ${meta.warmupSeconds} s warm-up)`,
    meta.database,
    `${meta.totalSeconds} s in all`
  ].join(" · ")
  const budgetSection = budget === null ? "" : `
## Cost per guard

CPU µs per request that each piece costs: the mean of the all-on runs just before and after, minus
the run with that piece alone switched off (each a fresh service, ${budget.connections} connections; ± is half the
difference of those two all-on runs; the sd of all the all-on runs is the larger noise of a fresh
process, and what a figure must clear to mean something). A piece not on a path (the idempotency
lookup on get and list) measures that noise alone.

${budgetTable(budget)}
`
  return `# tasks-api benchmark: service vs the hardened peer and the bare reference

${conditions}

Three servers on one database, with the service's tokens: the service (every guard on), the
hardened peer (the same endpoints on Fastify with the same guards: ../shared/bench-reference/
hardened.mjs) and the bare reference (the endpoints alone: server.mjs). Each row alternates which
goes first. Ratios are service ÷ peer (req/s above 1 is faster; p99 and CPU below 1 are better).
CPU µs/req is the server's CPU time (its process tree, every thread) over the requests it answered;
peak RSS is its process tree's too. The mixed row reports the list load; its signin load ran at the
same time (see latest.json). An RPC call answered with an error counts as non-2xx.
${notes.length > 0 ? "\n" + notes.join("\n") + "\n" : ""}
${rowsTable(rows)}

## Targets (issue 16)

${counts}. A target whose measured loads had non-2xx answers fails.

| target | measured | bound | result |
|---|---|---|---|
${targetLines.join("\n")}
${budgetSection}`
}

/** Evaluates the targets, writes bench/results/latest.json and latest.md, and prints the report. */
export const writeReport = ({ rows, meta, start, cursorSkip, large, budget = null }) => {
  const targets = evaluateTargets({ rows, start, cursorSkip, large })
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(
    join(RESULTS_DIR, "latest.json"),
    JSON.stringify({ meta, start, cursorSkip, rows, targets, budget }, null, 2) + "\n"
  )
  const markdown = toMarkdown({ rows, meta, start, targets, cursorSkip, budget })
  writeFileSync(join(RESULTS_DIR, "latest.md"), markdown)
  console.log("\n" + markdown)
}

/**
 * A drill's table, printed and kept: bench/results/drills-<date>.json holds every drill run that day
 * (the latest run of each drill at each scale), and drills-<date>.md is written from it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ROOT } from "../knobs.mjs"
import { fmt } from "../report.mjs"

const RESULTS_DIR = join(ROOT, "bench", "results")

/** A measured value for the table: numbers rounded to their size, with the unit. */
export const shown = (value, unit = "") => {
  if (value === null || value === undefined) return "–"
  if (typeof value !== "number") return String(value)
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2
  return `${fmt(value, digits)}${unit}`
}

const STATUS = { pass: "PASS", fail: "FAIL", "n/a": "n/a", info: "" }

const rowsOf = (checks) => checks.map((c) => [c.what, shown(c.value, c.unit), c.bound, STATUS[c.status], c.note ?? ""])

/** The table as aligned text, for the terminal. */
export const textTable = (checks) => {
  const rows = [["check", "measured", "bound", "result", "note"], ...rowsOf(checks)]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n")
}

const markdownTable = (checks) =>
  [
    "| check | measured | bound | result | note |",
    "|---|---|---|---|---|",
    ...rowsOf(checks).map((r) => `| ${r.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`)
  ].join("\n")

const markdownOf = (date, runs) =>
  [
    `# Drills, ${date}`,
    "",
    "Written by `npm run drill -- <name>` (bench/drills/run.mjs): the latest run of each drill, scale and " +
    "parameters that day.",
    ...runs.flatMap((run) => [
      "",
      `## ${run.drill} (${run.scale}): ${run.verdict.toUpperCase()}`,
      "",
      `${run.started} · ${run.seconds} s (budget ${run.budgetSeconds} s) · ${run.machine}`,
      "",
      `Parameters: ${Object.entries(run.parameters).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(", ")}`,
      "",
      markdownTable(run.checks),
      ...(run.notes.length > 0 ? ["", ...run.notes.map((n) => `- ${n}`)] : [])
    ]),
    ""
  ].join("\n")

const sameKind = (a, b) =>
  a.drill === b.drill && a.scale === b.scale && JSON.stringify(a.parameters) === JSON.stringify(b.parameters)

/**
 * Adds `run` to the day's files (replacing an earlier run of the same drill, scale and parameters);
 * answers their paths.
 */
export const recordRun = (run) => {
  const date = run.started.slice(0, 10)
  mkdirSync(RESULTS_DIR, { recursive: true })
  const jsonFile = join(RESULTS_DIR, `drills-${date}.json`)
  const mdFile = join(RESULTS_DIR, `drills-${date}.md`)
  const earlier = existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, "utf8")).runs : []
  const runs = [...earlier.filter((r) => !sameKind(r, run)), run]
  writeFileSync(jsonFile, `${JSON.stringify({ date, runs }, null, 2)}\n`)
  writeFileSync(mdFile, markdownOf(date, runs))
  return { jsonFile, mdFile }
}

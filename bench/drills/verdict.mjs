/**
 * The drills' verdicts: percentiles of measured latencies, one check per bound (pass / fail / n/a)
 * and a drill's verdict from its checks. Pure functions, unit-tested in test/ops/drills.test.ts.
 */

/** The nearest-rank percentile (`p` in 0–100) of `values`; null when there are none. */
export const percentile = (values, p) => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** Count, p50, p99 and max of `values` (nulls when empty). */
export const summarize = (values) => ({
  n: values.length,
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length === 0 ? null : values.reduce((a, b) => Math.max(a, b), -Infinity)
})

/**
 * One line of a drill's table: what was checked, the measured value (with its unit), the bound and
 * the outcome. `pass` null means not applicable (what it needs did not happen), with `note` saying why.
 */
export const check = ({ what, value, unit = "", bound, pass, note }) => ({
  what,
  value: value ?? null,
  unit,
  bound,
  status: pass === null ? "n/a" : pass ? "pass" : "fail",
  ...(note === undefined ? {} : { note })
})

/** A measured value that must not exceed `limit`; a missing value (nothing measured) fails. */
export const atMost = (what, value, limit, unit = "", note) =>
  check({ what, value, unit, bound: `≤ ${limit}${unit}`, pass: typeof value === "number" && value <= limit, note })

/** A measured value that must stay under `limit`; a missing value fails. */
export const below = (what, value, limit, unit = "", note) =>
  check({ what, value, unit, bound: `< ${limit}${unit}`, pass: typeof value === "number" && value < limit, note })

/** A measured value that must reach `limit`; a missing value fails. */
export const atLeast = (what, value, limit, unit = "", note) =>
  check({ what, value, unit, bound: `≥ ${limit}${unit}`, pass: typeof value === "number" && value >= limit, note })

/** A yes/no fact that must hold. */
export const holds = (what, fact, note) =>
  check({ what, value: fact ? "yes" : "no", bound: "yes", pass: Boolean(fact), note })

/** A drill passes when none of its checks failed and at least one passed. */
export const verdictOf = (checks) =>
  checks.some((c) => c.status === "fail") || !checks.some((c) => c.status === "pass") ? "fail" : "pass"

/** Least-squares slope of `points` ({ x, y }); null with fewer than two distinct x. */
export const slope = (points) => {
  if (points.length < 2) return null
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length
  const my = points.reduce((s, p) => s + p.y, 0) / points.length
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0)
  if (sxx === 0) return null
  return points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx
}

/** The bench's knobs (BENCH_* variables, `--large`, `--budget`: see bench/run.mjs's header), its data set's sizes. */
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("..", import.meta.url))

const FLAGS = ["--large", "--budget"]
const flags = process.argv.slice(2)

export const DURATION = Number(process.env.BENCH_DURATION ?? 10)
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2)
export const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "32,128").split(",").map(Number)
/** Every scenario `npm run bench` runs by default; `budget` is its own mode (`--budget`). */
export const DEFAULT_SCENARIOS = [
  "start",
  "list",
  "get",
  "create",
  "update",
  "delete",
  "offset",
  "rpc",
  "cursor",
  "signin",
  "mixed"
]
export const BUDGET = flags.includes("--budget")
/** BENCH_SCENARIOS when given (with `budget` added by --budget); else all, or with --budget the budget alone. */
export const SCENARIOS = new Set([
  ...(process.env.BENCH_SCENARIOS?.split(",") ?? (BUDGET ? [] : DEFAULT_SCENARIOS)),
  ...(BUDGET ? ["budget"] : [])
])
export const TOKEN_USERS = Number(process.env.BENCH_TOKEN_USERS ?? 64)

/** The bench's own flags; run.mjs refuses any other (the drills import these modules with flags of theirs). */
export const checkBenchFlags = () => {
  for (const flag of flags) {
    if (!FLAGS.includes(flag)) {
      console.error(
        `unknown argument ${flag}\nusage: node bench/run.mjs [--large] [--budget]   (knobs: see bench/run.mjs's header)`
      )
      process.exit(2)
    }
  }
}
export const LARGE = flags.includes("--large") || process.env.BENCH_LARGE === "1"

export const USERS = 200
export const TASKS_PER_USER = 50
export const BIG_USER_TASKS = 5000
export const CURSOR_USER_TASKS = 10_000
/**
 * Users whose tasks only the write rows touch (create adds to them, delete empties a pool of
 * theirs), so that the read rows' users keep their 50 tasks however many writes ran before.
 */
export const WRITER_USERS = 64
/**
 * Deletes per second the pool of a delete run is sized for: above what two cores delete (≈ 2–3k/s),
 * so a run does not run out (it would show as 404s, counted as non-2xx).
 */
export const DELETE_POOL_RATE = 8000
export const PAGE = 50
export const LARGE_USERS = 10_000
export const LARGE_TASKS_PER_USER = 100
export const LARGE_TOKEN_USERS = 32
export const LARGE_EMAIL_PREFIX = "bench-large-" // within EMAIL_PREFIX…EMAIL_DOMAIN, so a re-seed removes them too
export const PASSWORD = "Bench-password-1234"
export const EMAIL_PREFIX = "bench-"
export const EMAIL_DOMAIN = "@bench.example"

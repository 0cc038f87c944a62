/** The bench's knobs (BENCH_* variables, `--large`; see the header of bench/run.mjs) and its data set's sizes. */
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("..", import.meta.url))

export const DURATION = Number(process.env.BENCH_DURATION ?? 10)
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2)
export const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "32,128").split(",").map(Number)
export const SCENARIOS = new Set(
  (process.env.BENCH_SCENARIOS ?? "start,list,get,create,offset,cursor,signin,mixed").split(",")
)
export const TOKEN_USERS = Number(process.env.BENCH_TOKEN_USERS ?? 64)

/** The bench's own flags; run.mjs refuses any other (the drills import these modules with flags of theirs). */
export const checkBenchFlags = () => {
  for (const flag of process.argv.slice(2)) {
    if (flag !== "--large") {
      console.error(
        `unknown argument ${flag}\nusage: node bench/run.mjs [--large]   (knobs: see the header of bench/run.mjs)`
      )
      process.exit(2)
    }
  }
}
export const LARGE = process.argv.slice(2).includes("--large") || process.env.BENCH_LARGE === "1"

export const USERS = 200
export const TASKS_PER_USER = 50
export const BIG_USER_TASKS = 5000
export const CURSOR_USER_TASKS = 10_000
export const PAGE = 50
export const LARGE_USERS = 10_000
export const LARGE_TASKS_PER_USER = 100
export const LARGE_TOKEN_USERS = 32
export const LARGE_EMAIL_PREFIX = "bench-large-" // within EMAIL_PREFIX…EMAIL_DOMAIN, so a re-seed removes them too
export const PASSWORD = "Bench-password-1234"
export const EMAIL_PREFIX = "bench-"
export const EMAIL_DOMAIN = "@bench.example"

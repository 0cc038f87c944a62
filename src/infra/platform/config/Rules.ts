/**
 * The rules across settings, read from the raw environment so they are reported together with
 * every parsing problem, in one diagnostic.
 */
import type { Environment } from "./Environment.js"
import type { ConfigProblem } from "./Problems.js"
import { BENCH_GUARDS_OFF_ACK } from "./Settings.js"

/** In production nothing is embedded or generated, and CORS lists exact origins. */
const productionProblems = (env: Map<string, string>, aliasUsed: Map<string, string>): Array<ConfigProblem> => {
  if (env.get("APP_ENV")?.trim().toLowerCase() !== "production") return []
  const problems: Array<ConfigProblem> = []
  if (!env.has("DATABASE_URL")) {
    problems.push({ variable: "DATABASE_URL", problem: "required in production (nothing is embedded there)" })
  }
  // An asymmetric algorithm signs with its private key; refresh-token keys are then derived from it.
  const algorithm = env.get("JWT_ALGORITHM")?.trim().toLowerCase()
  const asymmetric = algorithm !== undefined && algorithm !== "hs256"
  if (!env.has("JWT_SECRET") && !(asymmetric && env.has("JWT_PRIVATE_KEY"))) {
    problems.push({ variable: "JWT_SECRET", problem: "required in production (nothing is generated there)" })
  }
  if (env.get("CORS_ORIGINS")?.split(",").some((origin) => origin.trim() === "*")) {
    problems.push({
      variable: aliasUsed.get("CORS_ORIGINS") ?? "CORS_ORIGINS",
      problem: "'*' is refused in production; list the exact origins"
    })
  }
  return problems
}

/**
 * Guards switched off for a benchmark must not reach a production deployment by a stray variable:
 * there they need the acknowledgement too (the bench sets both; Settings.ts).
 */
const benchGuardsProblems = (env: Map<string, string>): Array<ConfigProblem> => {
  if (env.get("APP_ENV")?.trim().toLowerCase() !== "production") return []
  const off = (env.get("BENCH_GUARDS_OFF") ?? "").split(",").map((s) => s.trim().toLowerCase())
  if (off.every((guard) => guard === "" || guard === "none")) return []
  return env.get("BENCH_GUARDS_OFF_ACK")?.trim().toLowerCase() === BENCH_GUARDS_OFF_ACK
    ? []
    : [{
      variable: "BENCH_GUARDS_OFF",
      problem: `bench-only: refused in production unless BENCH_GUARDS_OFF_ACK=${BENCH_GUARDS_OFF_ACK}`
    }]
}

/** The Redis store needs its server. */
const rateLimitStoreProblems = (env: Map<string, string>): Array<ConfigProblem> =>
  env.get("RATE_LIMIT_STORE")?.trim().toLowerCase() === "redis" && !env.has("REDIS_URL")
    ? [{ variable: "REDIS_URL", problem: "required when RATE_LIMIT_STORE is redis" }]
    : []

/**
 * Legacy tokens are HS256 with the old backend's shared secret: enabling them without that secret
 * would accept none of them, silently.
 */
const legacyProblems = (env: Map<string, string>): Array<ConfigProblem> =>
  env.has("LEGACY_TOKENS_UNTIL") && !env.has("JWT_SECRET")
    ? [{ variable: "LEGACY_TOKENS_UNTIL", problem: "needs JWT_SECRET, the old backend's shared secret" }]
    : []

/**
 * Every problem across settings, in the diagnostic's order: production, bench-only guards, the
 * rate-limit store, legacy tokens.
 */
export const crossFieldProblems = ({ aliasUsed, env }: Environment): Array<ConfigProblem> => [
  ...productionProblems(env, aliasUsed),
  ...benchGuardsProblems(env),
  ...rateLimitStoreProblems(env),
  ...legacyProblems(env)
]

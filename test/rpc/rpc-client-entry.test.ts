/**
 * The client package (`@tasks-api/client`, packages/client) pulls in no server code:
 * - loaded through the package's "exports" in a fresh Node process, every module it resolves is
 *   recorded (a module resolve hook): each of ours is under packages/client/dist/client or
 *   packages/client/dist/domain, and none is a server-only package;
 * - compiled alone (packages/client/tsconfig.json, its build), its program holds no source file
 *   outside src/client and src/domain, and no Node types.
 * The first check runs the build `npm test` makes; the second reads the sources as they are.
 * (test/rpc/rpc-client-package.test.ts packs it and installs it where a consumer would.)
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFile, writeFile } from "node:fs/promises"
import { join, relative, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import {
  CLIENT_PACKAGE,
  CLIENT_PACKAGE_NAME,
  packageOf,
  ROOT,
  run,
  SERVER_ONLY_PACKAGES,
  TSC
} from "../support/clientPackage.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"

/** The `effect` module a path under node_modules/effect belongs to (`rpc` for dist/rpc/…), if any. */
const effectModuleOf = (path: string) => {
  const parts = path.split(`node_modules${sep}`).at(-1)!.split(sep)
  return parts[0] === "effect" && parts[1] === "dist" && parts.length > 3 ? parts[2] : undefined
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
  "loaded through its package.json exports, @tasks-api/client resolves no server module",
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
      // Imported by the package's own name from inside it (a self-reference, which needs no install):
      // Node resolves it through "exports".
      const script = `const client = await import(${
        JSON.stringify(CLIENT_PACKAGE_NAME)
      }); console.log(JSON.stringify(Object.keys(client)))`
      const result = yield* run(process.execPath, [
        "--import",
        pathToFileURL(join(dir, "register.mjs")).href,
        "--input-type=module",
        "-e",
        script
      ], { cwd: CLIENT_PACKAGE, env: { ...process.env, MODULE_LOG: log } })
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
          "TaskId",
          "PRIORITIES",
          "SORT_FIELDS",
          "SORT_ORDERS",
          "LOGOUT_SCOPES",
          "LIST_DEFAULTS",
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
      const ours = files.filter((file) => !file.includes(`node_modules${sep}`)).map((file) =>
        relative(CLIENT_PACKAGE, file)
      )
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
    const result = yield* run(process.execPath, [TSC, "-p", join(CLIENT_PACKAGE, "tsconfig.json"), "--listFilesOnly"])
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const files = result.stdout.split("\n").map((line) => line.trim()).filter((line) => line.length > 0)
    const sources = files.filter((file) => !file.includes("/node_modules/")).map((file) => relative(ROOT, file))
    expect(sources).toContain(join("src", "client", "index.ts"))
    for (const file of sources) expect(file).toMatch(/^src[/\\](client|domain)[/\\](?:[^/\\]+[/\\])*[^/\\]+\.ts$/)
    const packages = new Set(files.filter((file) => file.includes("/node_modules/")).map(packageOf))
    for (const name of SERVER_ONLY_PACKAGES) expect(packages.has(name), name).toBe(false)
    // The declarations it emits need no @types/node: a consumer without them typechecks.
    expect(packages.has("@types/node")).toBe(false)
  }), { timeout: 60_000 })

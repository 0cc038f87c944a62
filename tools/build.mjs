/**
 * `npm run build`: compiles `src/` into `dist/` (the service), then the client package
 * (`packages/client`: src/client and the domain it reaches, JS + declarations, into
 * packages/client/dist, emptied first so the package never ships a removed module).
 * `--client` builds only the client package (its `build`; its `prepack` adds `--if-stale`).
 * `--if-stale` (before `npm start`, `npm test`, `npm run migrate`, `npm run config:check`) builds only
 * when a source is newer than the last build or an output is missing, so a start does not pay `tsc`
 * (6-8 s) every time; with dev dependencies omitted (`npm ci --omit=dev`) it keeps the existing
 * build, or, when the service has none, exits 1 with one line saying what to run.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const tsc = join(root, "node_modules", "typescript", "bin", "tsc")

/** The newest modification time under `path` (a file or a directory), in ms. */
const newest = (path) => {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs)
}

const SERVICE = {
  name: "dist/",
  project: "tsconfig.build.json",
  inputs: ["src", "package.json", "tsconfig.json", "tsconfig.build.json"],
  output: "dist/main.js",
  stamp: "dist/.built"
}
const CLIENT = {
  name: "packages/client/dist/",
  project: "packages/client/tsconfig.json",
  inputs: [
    "src/client",
    "src/domain",
    "tsconfig.json",
    "packages/client/tsconfig.json",
    "packages/client/package.json"
  ],
  output: "packages/client/dist/client/index.js",
  // Outside the package's dist/, so the tarball does not carry it.
  stamp: "dist/.built-client",
  clean: "packages/client/dist"
}

const ifStale = process.argv.includes("--if-stale")
const targets = process.argv.includes("--client") ? [CLIENT] : [SERVICE, CLIENT]

const isStale = (target) => {
  if (!existsSync(join(root, target.output))) return true
  const built = existsSync(join(root, target.stamp)) ? statSync(join(root, target.stamp)).mtimeMs : 0
  return built < target.inputs.reduce((latest, input) => Math.max(latest, newest(join(root, input))), 0)
}

for (const target of targets) {
  if (ifStale && !isStale(target)) continue
  if (!existsSync(tsc)) {
    // A production install (`npm ci --omit=dev`) over a shipped build: run what was built. The
    // service does not need the client package; only its own build (`--client`) does.
    if (!existsSync(join(root, target.output)) && (target === SERVICE || targets.length === 1)) {
      console.error(
        `tasks-api: ${target.name} is missing and TypeScript is not installed: run \`npm ci\` and \`npm run build\``
      )
      process.exit(1)
    }
    continue
  }
  if (target.clean !== undefined) rmSync(join(root, target.clean), { recursive: true, force: true })
  const run = spawnSync(process.execPath, [tsc, "-p", target.project], { cwd: root, stdio: "inherit" })
  if (run.status !== 0) process.exit(run.status ?? 1)
  mkdirSync(dirname(join(root, target.stamp)), { recursive: true })
  writeFileSync(join(root, target.stamp), `${new Date().toISOString()}\n`)
}

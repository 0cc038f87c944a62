/**
 * `npm run build`: compiles `src/` into `dist/` (the service, then the client's declarations).
 * `--if-stale` (before `npm start`, `npm test`, `npm run migrate`, `npm run config:check`) builds only
 * when a source is newer than the last build, so a start does not pay `tsc` (6-8 s) every time; with
 * dev dependencies omitted (`npm ci --omit=dev`) it keeps the existing build, or, when there is none,
 * exits 1 with one line saying what to run.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const stamp = join(root, "dist", ".built")
const tsc = join(root, "node_modules", "typescript", "bin", "tsc")

/** The newest modification time under `path` (a file or a directory), in ms. */
const newest = (path) => {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs)
}

const inputs = ["src", "package.json", "tsconfig.json", "tsconfig.build.json", "tsconfig.client.json"]
const sourcesChanged = inputs.reduce((latest, input) => Math.max(latest, newest(join(root, input))), 0)
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0
const ifStale = process.argv.includes("--if-stale")

if (!ifStale || built < sourcesChanged) {
  if (!existsSync(tsc)) {
    if (!existsSync(join(root, "dist", "main.js"))) {
      console.error("tasks-api: dist/ is missing and TypeScript is not installed: run `npm ci` and `npm run build`")
      process.exit(1)
    }
    // A production install (`npm ci --omit=dev`) over a shipped build: run what was built.
  } else {
    for (const project of ["tsconfig.build.json", "tsconfig.client.json"]) {
      const run = spawnSync(process.execPath, [tsc, "-p", project], { cwd: root, stdio: "inherit" })
      if (run.status !== 0) process.exit(run.status ?? 1)
    }
    writeFileSync(stamp, `${new Date().toISOString()}\n`)
  }
}

/**
 * What a user takes as it is: `npm start` (built once, signals reach Node), the entry points' `--help`,
 * the image's start command, and `.env.example` listing every setting the configuration reads.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { spawnService, START_ARGS, waitForStatus } from "../support/serviceProcess.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"
import { suiteDatabase } from "../support/TestService.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const read = (path: string) => readFileSync(join(ROOT, path), "utf8")

/** Runs a built entry point with `args`, under an environment that would fail any config or database access. */
const runBuilt = (script: string, args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [script, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
    env: {
      PATH: process.env.PATH,
      APP_ENV: "bogus",
      PORT: "not-a-port",
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/x"
    }
  })

/** Every variable the configuration reads, from the field readers' first arguments in its sources. */
const variablesTheConfigReads = () => {
  const directory = join(ROOT, "src/infra/platform")
  const sources = [
    join(directory, "Config.ts"),
    ...readdirSync(join(directory, "config")).map((f) => join(directory, "config", f))
  ]
  const readers =
    "boolean|choices?|rateRule|integer|duration|instant|secretOfAtLeast32Bytes|origins|otlpUrl|ratio|Config\\.\\w+"
  const reader = new RegExp(`\\b(?:${readers})\\(\\s*"([A-Z][A-Z_]+)"`, "g")
  return new Set(sources.flatMap((file) => [...readFileSync(file, "utf8").matchAll(reader)].map((m) => m[1])))
}

it.live("npm start: SIGTERM to npm reaches Node, which drains and exits 0", () =>
  Effect.gen(function*() {
    const database = yield* suiteDatabase()
    const service = yield* spawnService({ DATABASE_URL: database.url, LOG_LEVEL: "info", LOG_FORMAT: "json" }, {
      viaNpm: true
    })
    yield* waitForStatus(service, "/health/ready", 200)
    service.child.kill("SIGTERM")
    const exited = yield* service.exited
    expect(exited).toEqual({ code: 0, signal: null })
    expect(service.output()).toContain("shutdown: drained")
  }), 90_000)

it.effect("the prestart build is a no-op when dist/ is current (npm test has just built it)", () =>
  Effect.sync(() => {
    const stamp = join(ROOT, "dist/.built")
    const before = statSync(stamp).mtimeMs
    const run = spawnSync(process.execPath, ["tools/build.mjs", "--if-stale"], { cwd: ROOT, encoding: "utf8" })
    expect(run.status).toBe(0)
    expect(run.stdout + run.stderr).toBe("")
    expect(statSync(stamp).mtimeMs).toBe(before)
  }))

it.effect("without TypeScript (npm ci --omit=dev) and without a build, the prestart fails in one line", () =>
  Effect.gen(function*() {
    const root = yield* temporaryDirectory("tasks-api-nobuild-")
    mkdirSync(join(root, "tools"))
    mkdirSync(join(root, "src"))
    copyFileSync(join(ROOT, "tools/build.mjs"), join(root, "tools/build.mjs"))
    writeFileSync(join(root, "src/main.ts"), "export {}\n")
    const run = spawnSync(process.execPath, ["tools/build.mjs", "--if-stale"], { cwd: root, encoding: "utf8" })
    expect(run.status).toBe(1)
    expect(run.stderr.trim().split("\n")).toEqual([
      "tasks-api: dist/ is missing and TypeScript is not installed: run `npm ci` and `npm run build`"
    ])
  }))

it.effect("--help of the service and of every command prints the usage and exits 0, reading no settings", () =>
  Effect.sync(() => {
    for (const script of ["dist/main.js", "dist/cli/migrate.js", "dist/cli/config-check.js"]) {
      const run = runBuilt(script, ["--help"])
      expect(run.status, `${script}: ${run.stderr}`).toBe(0)
      expect(run.stdout).toMatch(/^usage: /)
      expect(run.stdout).toContain(".env.example")
      // A configuration read would have refused APP_ENV and PORT (exit 78).
      expect(run.stderr).toBe("")
    }
  }))

it.effect("an unknown argument exits 64 with the usage, before anything starts", () =>
  Effect.sync(() => {
    const run = runBuilt("dist/cli/migrate.js", ["--force"])
    expect(run.status).toBe(64)
    expect(run.stderr).toMatch(/^unknown argument: --force\n\nusage: /)
  }))

it.effect("the image: non-root, production install, HOST=0.0.0.0, health check, SIGTERM, npm start's command", () =>
  Effect.sync(() => {
    const dockerfile = read("Dockerfile")
    const stages = dockerfile.split(/^FROM /m).slice(1)
    expect(stages.map((stage) => stage.split(/\s/)[0])).toEqual(["node:24-slim", "node:24-slim"])
    const runtime = stages[1]
    expect(runtime).toMatch(/^USER node$/m)
    expect(runtime).toMatch(/npm ci --omit=dev/)
    expect(runtime).toMatch(/HOST=0\.0\.0\.0/)
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/health\/live/m)
    expect(runtime).toMatch(/^STOPSIGNAL SIGTERM$/m)
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)?.[1] ?? "null")
    expect(cmd).toEqual(["node", ...START_ARGS])
    expect(JSON.parse(read("package.json")).scripts.start).toBe(`exec ${cmd.join(" ")}`)
  }))

it.effect(".env.example and the README list every variable the configuration reads, and nothing else", () =>
  Effect.sync(() => {
    const configured = variablesTheConfigReads()
    expect(configured.size).toBeGreaterThan(40)
    const example = new Set([...read(".env.example").matchAll(/^# ([A-Z][A-Z_]+)=/gm)].map((m) => m[1]))
    expect([...example].sort()).toEqual([...configured].sort())
    const readmeTable = read("README.md").split("## Configuration")[1]?.split("\n## ")[0] ?? ""
    const documented = new Set([...readmeTable.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]))
    expect([...configured].filter((name) => !documented.has(name))).toEqual([])
  }))

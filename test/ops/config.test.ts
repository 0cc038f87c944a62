/**
 * Configuration: the built service and `config-check` refuse a bad environment with one JSON
 * diagnostic listing every problem (never a secret) and exit 78; old variable names still work.
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { spawn } from "node:child_process"
import { readdir } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { describe } from "vitest"
import { type ConfigProblem, loadConfig, readEnvironment } from "../../src/infra/platform/Config.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const SECRET = "a-valid-signing-secret-of-more-than-32-bytes"

interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `node <script>` in the project with exactly `env` (no inherited variables); at most 20 s. */
const runNode = (script: string, env: Record<string, string>) =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, [script], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 20_000,
          killSignal: "SIGKILL"
        })
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    return yield* Effect.callback<Exit, Error>((resume) => {
      let stdout = ""
      let stderr = ""
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
      child.once("error", (error) => resume(Effect.fail(error)))
      child.once("close", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    })
  }).pipe(Effect.scoped)

/** The one-line diagnostic on stderr, parsed. */
const diagnosticOf = (exit: Exit) => {
  expect(exit.signal, `killed: ${exit.stderr}`).toBeNull()
  expect(exit.stderr.endsWith("\n")).toBe(true)
  const lines = exit.stderr.trimEnd().split("\n")
  expect(lines).toHaveLength(1)
  const diagnostic = JSON.parse(lines[0]!) as { level: string; event: string; errors: Array<ConfigProblem> }
  expect(diagnostic).toMatchObject({ level: "fatal", event: "config_invalid" })
  expect(diagnostic.errors.length).toBeGreaterThan(0)
  for (const error of diagnostic.errors) {
    expect(typeof error.variable).toBe("string")
    expect(typeof error.problem).toBe("string")
    expect(error.problem.length).toBeGreaterThan(0)
  }
  return diagnostic
}

const variablesOf = (errors: ReadonlyArray<ConfigProblem>) => [...new Set(errors.map((e) => e.variable))].sort()

describe("the built service with a bad environment", () => {
  it.live("exits 78 with one JSON line naming every bad variable and no secret", () =>
    Effect.gen(function*() {
      const exit = yield* runNode("dist/main.js", {
        PORT: "abc",
        JWT_SECRET: "short-but-secret-value-XYZ",
        BCRYPT_COST: "9",
        ACCESS_TOKEN_TTL: "15minutes",
        DATABASE_URL: "mysql://user:hunter2hunter2@db/x",
        APP_ENV: "staging",
        CORS_ORIGINS: "ftp//not-an-origin"
      })
      expect(exit.code).toBe(78)
      const { errors } = diagnosticOf(exit)
      expect(variablesOf(errors)).toEqual(
        ["ACCESS_TOKEN_TTL", "APP_ENV", "BCRYPT_COST", "CORS_ORIGINS", "DATABASE_URL", "JWT_SECRET", "PORT"]
      )
      expect(errors.find((e) => e.variable === "PORT")).toMatchObject({ received: "abc" })
      const output = exit.stdout + exit.stderr
      for (const secret of ["short-but-secret-value-XYZ", "mysql://user:hunter2hunter2@db/x", "hunter2hunter2"]) {
        expect(output).not.toContain(secret)
      }
    }))

  it.live("reports the old variable names under the name that was set, still without secrets", () =>
    Effect.gen(function*() {
      const exit = yield* runNode("dist/main.js", {
        ENVIRONMENT: "bogus",
        NEON_DATABASE_URL: "mysql://user:hunter2hunter2@db/x",
        BETTER_AUTH_SECRET: "short-but-secret-value-XYZ"
      })
      expect(exit.code).toBe(78)
      const { errors } = diagnosticOf(exit)
      expect(variablesOf(errors)).toEqual(["BETTER_AUTH_SECRET", "ENVIRONMENT", "NEON_DATABASE_URL"])
      const output = exit.stdout + exit.stderr
      expect(output).not.toContain("hunter2hunter2")
      expect(output).not.toContain("short-but-secret-value-XYZ")
    }))

  it.live(
    "production without DATABASE_URL and JWT_SECRET exits 78 naming both, generating nothing",
    () =>
      Effect.gen(function*() {
        const dataDir = yield* temporaryDirectory("tasks-api-config-")
        const exit = yield* runNode("dist/main.js", { APP_ENV: "production", DATA_DIR: dataDir })
        expect(exit.code).toBe(78)
        expect(variablesOf(diagnosticOf(exit).errors)).toEqual(["DATABASE_URL", "JWT_SECRET"])
        expect(yield* Effect.promise(() => readdir(dataDir))).toEqual([])
      }).pipe(Effect.scoped),
    30_000
  )
})

describe("config-check", () => {
  it.live("exits 0 with a valid environment", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDirectory("tasks-api-config-")
      const exit = yield* runNode("dist/cli/config-check.js", {
        APP_ENV: "test",
        DATA_DIR: dataDir,
        JWT_SECRET: SECRET
      })
      expect(exit.stderr).toBe("")
      expect(exit.code).toBe(0)
      expect(exit.stdout + exit.stderr).not.toContain(SECRET)
    }).pipe(Effect.scoped))

  it.live("exits 78 with a bad one", () =>
    Effect.gen(function*() {
      const dataDir = yield* temporaryDirectory("tasks-api-config-")
      const exit = yield* runNode("dist/cli/config-check.js", {
        APP_ENV: "test",
        DATA_DIR: dataDir,
        JWT_SECRET: SECRET,
        REFRESH_TOKEN_TTL: "a week"
      })
      expect(exit.code).toBe(78)
      expect(variablesOf(diagnosticOf(exit).errors)).toEqual(["REFRESH_TOKEN_TTL"])
      expect(exit.stdout + exit.stderr).not.toContain(SECRET)
    }).pipe(Effect.scoped))
})

describe("loadConfig", () => {
  const load = (variables: Record<string, string>) => loadConfig(readEnvironment(variables, "/nonexistent"))
  const problemsOf = (variables: Record<string, string>) =>
    Effect.map(Effect.flip(load(variables)), (error) => error.problems)
  const base = { APP_ENV: "test", JWT_SECRET: SECRET }

  it.effect("defaults", () =>
    Effect.gen(function*() {
      const config = yield* load(base)
      expect(config).toMatchObject({
        env: "test",
        host: "127.0.0.1",
        port: 8000,
        bcryptCost: 12,
        maxBodyBytes: 1_048_576
      })
      expect(config.corsOrigins).toEqual(["http://localhost:3000"])
      expect(Duration.toMillis(config.accessTokenTtl)).toBe(15 * 60_000)
      expect(Duration.toMillis(config.refreshTokenTtl)).toBe(7 * 86_400_000)
      expect(Duration.toMillis(config.sessionMaxAge)).toBe(30 * 86_400_000)
      expect(Duration.toMillis(config.refreshReuseGrace)).toBe(10_000)
      expect(Duration.toMillis(config.sessionCheckInterval)).toBe(5_000)
    }))

  it.effect("SESSION_CHECK_INTERVAL: 0 or up to 5s; longer would break the contract's revocation bound", () =>
    Effect.gen(function*() {
      expect(Duration.toMillis((yield* load({ ...base, SESSION_CHECK_INTERVAL: "0" })).sessionCheckInterval)).toBe(0)
      expect(Duration.toMillis((yield* load({ ...base, SESSION_CHECK_INTERVAL: "1500ms" })).sessionCheckInterval)).toBe(
        1_500
      )
      const problems = yield* problemsOf({ ...base, SESSION_CHECK_INTERVAL: "6s" })
      expect(problems).toEqual([
        {
          variable: "SESSION_CHECK_INTERVAL",
          problem: "at most 5s: revocations must reach every instance within 5 seconds",
          received: "6s"
        }
      ])
      expect(variablesOf(yield* problemsOf({ ...base, SESSION_CHECK_INTERVAL: "soon" }))).toEqual([
        "SESSION_CHECK_INTERVAL"
      ])
    }))

  it.effect("durations like 90s, 15m, 7d parse", () =>
    Effect.gen(function*() {
      const config = yield* load({
        ...base,
        REFRESH_REUSE_GRACE: "90s",
        ACCESS_TOKEN_TTL: "15m",
        REFRESH_TOKEN_TTL: "7d"
      })
      expect(Duration.toMillis(config.refreshReuseGrace)).toBe(90_000)
      expect(Duration.toMillis(config.accessTokenTtl)).toBe(900_000)
      expect(Duration.toMillis(config.refreshTokenTtl)).toBe(604_800_000)
    }))

  it.effect("'15 minutes' and a bare number are refused", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ ...base, ACCESS_TOKEN_TTL: "15 minutes", SESSION_MAX_AGE: "30" })
      expect(variablesOf(problems)).toEqual(["ACCESS_TOKEN_TTL", "SESSION_MAX_AGE"])
    }))

  it.effect("old variable names are aliases", () =>
    Effect.gen(function*() {
      const config = yield* load({
        ENVIRONMENT: "production",
        NEON_DATABASE_URL: "postgresql://app:pw@db.example.com:5432/tasks?sslmode=require",
        BETTER_AUTH_SECRET: SECRET,
        ALLOWED_ORIGINS: "https://a.example.com, https://b.example.com"
      })
      expect(config.env).toBe("production")
      expect(Option.map(config.databaseUrl, Redacted.value)).toEqual(
        Option.some("postgresql://app:pw@db.example.com:5432/tasks?sslmode=require")
      )
      expect(Redacted.value(config.jwtSecret)).toBe(SECRET)
      expect(config.corsOrigins).toEqual(["https://a.example.com", "https://b.example.com"])
    }))

  it.effect("a bad ALLOWED_ORIGINS is reported under ALLOWED_ORIGINS", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ ...base, ALLOWED_ORIGINS: "ftp//not-an-origin" })
      expect(variablesOf(problems)).toEqual(["ALLOWED_ORIGINS"])
    }))

  it.effect("CORS '*' is refused in production", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({
        APP_ENV: "production",
        DATABASE_URL: "postgres://app:pw@db.example.com/tasks",
        JWT_SECRET: SECRET,
        CORS_ORIGINS: "*"
      })
      expect(variablesOf(problems)).toEqual(["CORS_ORIGINS"])
    }))

  it.effect("a bad CORS origin is listed together with the other problems", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ ...base, PORT: "abc", CORS_ORIGINS: "ftp//not-an-origin" })
      expect(variablesOf(problems)).toEqual(["CORS_ORIGINS", "PORT"])
    }))

  it.effect("optional enumerations are named as spelled", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ ...base, DATABASE_SSL: "maybe", LOG_LEVEL: "loud", LOG_FORMAT: "xml" })
      expect(variablesOf(problems)).toEqual(["DATABASE_SSL", "LOG_FORMAT", "LOG_LEVEL"])
    }))
})

/**
 * Every setting, decoded and validated once at boot. All problems are gathered (not only the
 * first) so an operator fixes a bad deployment in one go; secret values never appear in them.
 */
import { Config, ConfigError, ConfigProvider, Context, Data, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises"
import { resolve } from "node:path"
import { parseEnv } from "node:util"

export type AppEnv = "development" | "test" | "production"
export type DatabaseSsl = "disable" | "require" | "verify-full"
export type LogFormat = "json" | "pretty"
export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal"

export interface AppConfigShape {
  readonly env: AppEnv
  readonly host: string
  readonly port: number
  /** Absent outside production: the service runs an embedded PostgreSQL in `dataDir`. */
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly databasePoolMax: number
  readonly databaseSsl: Option.Option<DatabaseSsl>
  readonly databaseStatementTimeout: Duration.Duration
  readonly databaseConnectTimeout: Duration.Duration
  readonly migrateOnStart: boolean
  readonly dataDir: string
  readonly jwtSecret: Redacted.Redacted<string>
  readonly jwtPreviousSecrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly jwtIssuer: string
  readonly jwtAudience: string
  readonly accessTokenTtl: Duration.Duration
  readonly refreshTokenTtl: Duration.Duration
  readonly sessionMaxAge: Duration.Duration
  readonly refreshReuseGrace: Duration.Duration
  readonly bcryptCost: number
  readonly corsOrigins: ReadonlyArray<string>
  readonly maxBodyBytes: number
  readonly requestTimeout: Duration.Duration
  readonly shutdownGrace: Duration.Duration
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
}

export class AppConfig extends Context.Tag("tasks-api/AppConfig")<AppConfig, AppConfigShape>() {}

/** One problem with one variable, as the boot diagnostic lists it. */
export interface ConfigProblem {
  readonly variable: string
  readonly problem: string
  readonly received?: string
}

export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{
  readonly problems: ReadonlyArray<ConfigProblem>
}> {
  /** The one-line JSON diagnostic printed on stderr before exiting 78 (EX_CONFIG). */
  get diagnostic(): string {
    return JSON.stringify({ level: "fatal", event: "config_invalid", errors: this.problems })
  }
}

/** Old FastAPI names still accepted: [current name, old name]. */
const ALIASES: ReadonlyArray<readonly [string, string]> = [
  ["APP_ENV", "ENVIRONMENT"],
  ["DATABASE_URL", "NEON_DATABASE_URL"],
  ["JWT_SECRET", "BETTER_AUTH_SECRET"],
  ["CORS_ORIGINS", "ALLOWED_ORIGINS"]
]

/** Never echoed in diagnostics (a database URL carries its password). */
const SECRET_VARIABLES = new Set(["DATABASE_URL", "JWT_SECRET", "JWT_PREVIOUS_SECRETS", "JWT_PRIVATE_KEY", "REDIS_URL"])

/** `90s`, `15m`, `7d`, `250ms`, `2h`. */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim())
  if (!match) return Option.none()
  const amount = Number(match[1])
  const unit = { ms: "millis", s: "seconds", m: "minutes", h: "hours", d: "days" } as const
  return Option.some(Duration.decode(`${amount} ${unit[match[2] as keyof typeof unit]}`))
}

const invalid = (name: string, problem: string) => ConfigError.InvalidData([name], problem)

const oneOf = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback?: A) =>
  (fallback === undefined ? Config.string(name) : Config.string(name).pipe(Config.withDefault(fallback))).pipe(
    Config.mapOrFail((raw) => {
      const value = raw.trim().toLowerCase()
      return (values as ReadonlyArray<string>).includes(value)
        ? Either.right(value as A)
        : Either.left(invalid(name, `expected one of ${values.join(", ")}`))
    })
  )

const integer = (name: string, fallback: number, min: number, max: number) =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail((raw) => {
      const value = Number(raw.trim())
      return /^\s*-?\d+\s*$/.test(raw) && value >= min && value <= max
        ? Either.right(value)
        : Either.left(invalid(name, `expected an integer between ${min} and ${max}`))
    })
  )

const duration = (name: string, fallback: string) =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((raw) =>
      Option.match(parseDuration(raw), {
        onNone: () => Either.left(invalid(name, "expected a duration such as 250ms, 90s, 15m, 12h or 7d")),
        onSome: (d) => Either.right(d)
      })
    )
  )

const boolean = (name: string, fallback: boolean) =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail((raw) => {
      const value = raw.trim().toLowerCase()
      if (["true", "1", "yes", "on"].includes(value)) return Either.right(true)
      if (["false", "0", "no", "off"].includes(value)) return Either.right(false)
      return Either.left(invalid(name, "expected true or false"))
    })
  )

const ORIGIN = /^https?:\/\/[^/\s]+$/

/** Exact origins (`scheme://host[:port]`), or `*` (refused in production, see below). */
const origins = (name: string, fallback: string) =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((raw) => {
      const list = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      if (list.length === 0) return Either.left(invalid(name, "expected at least one origin"))
      return list.every((origin) => origin === "*" || ORIGIN.test(origin))
        ? Either.right(list)
        : Either.left(invalid(name, "expected origins such as https://app.example.com, separated by commas"))
    })
  )

const secretOfAtLeast32Bytes = (name: string) =>
  Config.redacted(name).pipe(
    Config.mapOrFail((secret) =>
      Buffer.byteLength(Redacted.value(secret), "utf8") >= 32
        ? Either.right(secret)
        : Either.left(invalid(name, "must be at least 32 bytes"))
    )
  )

const databaseUrl = Config.redacted("DATABASE_URL").pipe(
  Config.mapOrFail((url) => {
    const value = Redacted.value(url)
    return /^postgres(ql)?:\/\/[^\s]+$/.test(value) && URL.canParse(value)
      ? Either.right(url)
      : Either.left(invalid("DATABASE_URL", "expected a postgres:// or postgresql:// URL"))
  }),
  Config.option
)

/** The settings as read from the environment, before cross-field rules and generated defaults. */
const settings = Config.all({
  env: oneOf("APP_ENV", ["development", "test", "production"], "development"),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: integer("PORT", 8000, 1, 65535),
  databaseUrl,
  databasePoolMax: integer("DATABASE_POOL_MAX", 10, 1, 1000),
  databaseSsl: Config.option(oneOf("DATABASE_SSL", ["disable", "require", "verify-full"])),
  databaseStatementTimeout: duration("DATABASE_STATEMENT_TIMEOUT", "5s"),
  databaseConnectTimeout: duration("DATABASE_CONNECT_TIMEOUT", "30s"),
  migrateOnStart: boolean("MIGRATE_ON_START", true),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault("./.data")),
  jwtSecret: Config.option(secretOfAtLeast32Bytes("JWT_SECRET")),
  jwtPreviousSecrets: Config.redacted("JWT_PREVIOUS_SECRETS").pipe(
    Config.mapOrFail((raw) => {
      const secrets = Redacted.value(raw).split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      return secrets.every((s) => Buffer.byteLength(s, "utf8") >= 32)
        ? Either.right(secrets.map((s) => Redacted.make(s)))
        : Either.left(invalid("JWT_PREVIOUS_SECRETS", "every secret must be at least 32 bytes"))
    }),
    Config.withDefault([] as ReadonlyArray<Redacted.Redacted<string>>)
  ),
  /** Asymmetric algorithms (EdDSA, ES256, RS256 with JWT_PRIVATE_KEY) come with key rotation. */
  jwtAlgorithm: oneOf("JWT_ALGORITHM", ["hs256"], "hs256"),
  jwtIssuer: Config.string("JWT_ISSUER").pipe(Config.withDefault("tasks-api")),
  jwtAudience: Config.string("JWT_AUDIENCE").pipe(Config.withDefault("tasks-api")),
  accessTokenTtl: duration("ACCESS_TOKEN_TTL", "15m"),
  refreshTokenTtl: duration("REFRESH_TOKEN_TTL", "7d"),
  sessionMaxAge: duration("SESSION_MAX_AGE", "30d"),
  refreshReuseGrace: duration("REFRESH_REUSE_GRACE", "10s"),
  bcryptCost: integer("BCRYPT_COST", 12, 10, 15),
  corsOrigins: origins("CORS_ORIGINS", "http://localhost:3000"),
  maxBodyBytes: integer("MAX_BODY_BYTES", 1_048_576, 1, 1_073_741_824),
  requestTimeout: duration("REQUEST_TIMEOUT", "30s"),
  shutdownGrace: duration("SHUTDOWN_GRACE", "10s"),
  logLevel: Config.option(oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal"])),
  logFormat: Config.option(oneOf("LOG_FORMAT", ["json", "pretty"]))
})

/**
 * Production rules, read from the raw environment so they are reported together with every
 * parsing problem: in production nothing is embedded or generated, and CORS lists exact origins.
 */
const productionProblems = (env: Map<string, string>, aliasUsed: Map<string, string>): Array<ConfigProblem> => {
  if (env.get("APP_ENV")?.trim().toLowerCase() !== "production") return []
  const problems: Array<ConfigProblem> = []
  if (!env.has("DATABASE_URL")) {
    problems.push({ variable: "DATABASE_URL", problem: "required in production (nothing is embedded there)" })
  }
  if (!env.has("JWT_SECRET")) {
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

/** The environment the settings are read from: `.env` under the real environment, aliases resolved. */
export const readEnvironment = (
  processEnv: Record<string, string | undefined> = process.env,
  dotEnvPath = resolve(".env")
): { readonly env: Map<string, string>; readonly aliasUsed: Map<string, string> } => {
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

const problemsOf = (error: ConfigError.ConfigError, env: Map<string, string>, aliasUsed: Map<string, string>) =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left: Array<ConfigProblem>, right: Array<ConfigProblem>) => [...left, ...right],
    orCase: (_, left: Array<ConfigProblem>, right: Array<ConfigProblem>) => [...left, ...right],
    invalidDataCase: (_, path, message) => [problem(path, message, env, aliasUsed)],
    missingDataCase: (_, path, message) => [problem(path, message, env, aliasUsed)],
    sourceUnavailableCase: (_, path, message) => [problem(path, message, env, aliasUsed)],
    unsupportedCase: (_, path, message) => [problem(path, message, env, aliasUsed)]
  })

const problem = (
  path: ReadonlyArray<string>,
  message: string,
  env: Map<string, string>,
  aliasUsed: Map<string, string>
): ConfigProblem => {
  // Some combinators repeat the variable's name in the path: the last segment is the variable.
  const name = path.at(-1) ?? ""
  const variable = aliasUsed.get(name) ?? name
  const received = env.get(name)
  return SECRET_VARIABLES.has(name) || received === undefined
    ? { variable, problem: message }
    : { variable, problem: message, received }
}

/** Reads the development signing secret from `dataDir`, creating it (mode 0600) on first start. */
const developmentSecret = (dataDir: string) =>
  Effect.tryPromise({
    try: async () => {
      const file = resolve(dataDir, "jwt-secret")
      if (existsSync(file)) return Redacted.make((await readFile(file, "utf8")).trim())
      await mkdir(dataDir, { recursive: true })
      const secret = randomBytes(48).toString("base64url")
      await writeFile(file, secret + "\n", { mode: 0o600 })
      await chmod(file, 0o600)
      return Redacted.make(secret)
    },
    catch: (cause) =>
      new ConfigInvalid({
        problems: [{ variable: "DATA_DIR", problem: `cannot keep the development secret there: ${String(cause)}` }]
      })
  })

/** Validates an environment into the configuration, or fails with every problem found. */
export const loadConfig = (
  source: { readonly env: Map<string, string>; readonly aliasUsed: Map<string, string> } = readEnvironment()
): Effect.Effect<AppConfigShape, ConfigInvalid> =>
  Effect.gen(function*() {
    const provider = ConfigProvider.fromMap(source.env)
    const parsed = yield* Effect.either(Effect.withConfigProvider(settings, provider))
    const problems = [
      ...(Either.isLeft(parsed) ? problemsOf(parsed.left, source.env, source.aliasUsed) : []),
      ...productionProblems(source.env, source.aliasUsed)
    ]
    if (Either.isLeft(parsed) || problems.length > 0) {
      return yield* new ConfigInvalid({ problems })
    }
    const s = parsed.right
    const dataDir = resolve(s.dataDir)
    const jwtSecret = Option.isSome(s.jwtSecret) ? s.jwtSecret.value : yield* developmentSecret(dataDir)
    const production = s.env === "production"
    return {
      ...s,
      dataDir,
      jwtSecret,
      logLevel: Option.getOrElse(s.logLevel, () => "info" as const),
      logFormat: Option.getOrElse(s.logFormat, () => (production ? "json" as const : "pretty" as const))
    }
  })

export const AppConfigLive: Layer.Layer<AppConfig, ConfigInvalid> = Layer.effect(AppConfig, loadConfig())

/** A configuration from an explicit map of variables, for tests and tools. */
export const appConfigFrom = (variables: Record<string, string | undefined>) =>
  Layer.effect(AppConfig, loadConfig(readEnvironment(variables, "/nonexistent/.env")))

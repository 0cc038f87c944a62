/**
 * Every setting, decoded and validated once at boot. All problems are gathered (not only the
 * first) so an operator fixes a bad deployment in one go; secret values never appear in them.
 */
import { Config, ConfigProvider, Context, Data, Duration, Effect, Layer, Option, Redacted, Result, Schema, SchemaIssue } from "effect"
import { createPrivateKey, hkdfSync, type JsonWebKey, type KeyObject, randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises"
import { resolve } from "node:path"
import { parseEnv } from "node:util"

export type AppEnv = "development" | "test" | "production"
export type DatabaseSsl = "disable" | "require" | "verify-full"
export type LogFormat = "json" | "pretty"
export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal"
export const JWT_ALGORITHMS = ["HS256", "EdDSA", "ES256", "RS256"] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

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
  /**
   * `DATABASE_PREPARED_STATEMENTS`: false behind a transaction-mode pooler the URL does not reveal
   * (Database.ts also turns them off for Neon `-pooler` hosts and `pgbouncer=true` URLs).
   */
  readonly databasePreparedStatements: boolean
  readonly migrateOnStart: boolean
  readonly dataDir: string
  /**
   * The HS256 secret: signs access tokens with HS256, verifies legacy tokens, and keys the
   * refresh-token MAC. With an asymmetric algorithm and no JWT_SECRET it is derived from the
   * private key, so refresh tokens still have a server-side key nobody else knows.
   */
  readonly jwtSecret: Redacted.Redacted<string>
  readonly jwtPreviousSecrets: ReadonlyArray<Redacted.Redacted<string>>
  readonly jwtAlgorithm: JwtAlgorithm
  /** Present exactly when `jwtAlgorithm` is asymmetric; already checked to fit it. */
  readonly jwtPrivateKey: Option.Option<Redacted.Redacted<KeyObject>>
  /** Tokens of the old backend are accepted only before this instant; never when absent. */
  readonly legacyTokensUntil: Option.Option<Date>
  readonly jwtIssuer: string
  readonly jwtAudience: string
  readonly accessTokenTtl: Duration.Duration
  readonly refreshTokenTtl: Duration.Duration
  readonly sessionMaxAge: Duration.Duration
  readonly refreshReuseGrace: Duration.Duration
  /**
   * How long a passed access-token check (signature and active session) is trusted on this
   * instance before the session is read again: the delay with which a session ended on another
   * instance is seen here. At most 5 s (security.md); 0 checks every request.
   */
  readonly sessionCheckInterval: Duration.Duration
  readonly bcryptCost: number
  readonly corsOrigins: ReadonlyArray<string>
  readonly maxBodyBytes: number
  readonly requestTimeout: Duration.Duration
  readonly shutdownGrace: Duration.Duration
  readonly rateLimit: RateLimitSettings
  /** Which peers may tell the client's address through `X-Forwarded-For`. */
  readonly trustProxy: TrustProxy
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
  /** OpenTelemetry export (traces and metrics over OTLP/HTTP JSON); off while `endpoint` is absent. */
  readonly otel: OtelSettings
}

export interface OtelSettings {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`, the base URL (`/v1/traces`, `/v1/metrics` are appended). */
  readonly endpoint: Option.Option<string>
  readonly serviceName: string
  /** `OTEL_EXPORTER_OTLP_HEADERS`: the values are credentials (API keys), kept redacted. */
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  /** `OTEL_BSP_SCHEDULE_DELAY` (ms): how often finished spans are sent. */
  readonly tracesExportInterval: Duration.Duration
  /** `OTEL_METRIC_EXPORT_INTERVAL` (ms): how often the metrics are sent. */
  readonly metricsExportInterval: Duration.Duration
}

/** `limit` requests per `window`, e.g. `10/1m`. */
export interface RateRule {
  readonly limit: number
  readonly window: Duration.Duration
}

export interface RateLimitSettings {
  readonly enabled: boolean
  readonly store: "memory" | "redis"
  readonly redisUrl: Option.Option<Redacted.Redacted<string>>
  readonly signinPerIp: RateRule
  readonly signinFailuresPerAccount: RateRule
  readonly signupPerIp: RateRule
  readonly refreshPerSession: RateRule
  readonly refreshPerIp: RateRule
  readonly changePasswordPerUser: RateRule
  readonly apiPerUser: RateRule
}

/** `false`: the socket address is the client; a hop count; or the proxies' addresses / CIDRs. */
export type TrustProxy =
  | { readonly _tag: "None" }
  | { readonly _tag: "Hops"; readonly hops: number }
  | { readonly _tag: "Addresses"; readonly addresses: ReadonlyArray<string> }

export class AppConfig extends Context.Service<AppConfig, AppConfigShape>()("tasks-api/AppConfig") {}

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
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "JWT_SECRET",
  "JWT_PREVIOUS_SECRETS",
  "JWT_PRIVATE_KEY",
  "REDIS_URL",
  // A collector's URL may carry basic-auth credentials; its headers carry API keys.
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS"
])

const DURATION_UNITS: Readonly<Record<string, (amount: number) => Duration.Duration>> = {
  ms: Duration.millis,
  s: Duration.seconds,
  m: Duration.minutes,
  h: Duration.hours,
  d: Duration.days
}

/** `90s`, `15m`, `7d`, `250ms`, `2h`. */
export const parseDuration = (text: string): Option.Option<Duration.Duration> => {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim())
  const unit = match === null ? undefined : DURATION_UNITS[match[2]]
  return match === null || unit === undefined ? Option.none() : Option.some(unit(Number(match[1])))
}

/**
 * A problem with the value of `name`, as a `ConfigError` whose issue points at the variable and
 * carries the diagnostic's wording (read back by `problemsOf`).
 */
const invalid = (name: string, problem: string) =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer([name], new SchemaIssue.InvalidValue({ message: problem })))
  )

/** A check of a read value that may refuse it with a `ConfigError` naming the variable and the problem. */
const mapOrFail = <A, B>(f: (value: A) => Result.Result<B, Config.ConfigError>) =>
  Config.mapEffect((value: A) => Effect.fromResult(f(value)))

const oneOf = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback?: A) =>
  (fallback === undefined ? Config.String(name) : Config.String(name).pipe(Config.withDefault(fallback))).pipe(
    mapOrFail((raw: string) => {
      const value = raw.trim().toLowerCase()
      const found = values.find((v) => v === value)
      return found !== undefined
        ? Result.succeed(found)
        : Result.fail(invalid(name, `expected one of ${values.join(", ")}`))
    })
  )

const integer = (name: string, fallback: number, min: number, max: number) =>
  Config.String(name).pipe(
    Config.withDefault(String(fallback)),
    mapOrFail((raw: string) => {
      const value = Number(raw.trim())
      return /^\s*-?\d+\s*$/.test(raw) && value >= min && value <= max
        ? Result.succeed(value)
        : Result.fail(invalid(name, `expected an integer between ${min} and ${max}`))
    })
  )

const duration = (name: string, fallback: string) =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) =>
      Option.match(parseDuration(raw), {
        onNone: () => Result.fail(invalid(name, "expected a duration such as 250ms, 90s, 15m, 12h or 7d")),
        onSome: (d) => Result.succeed(d)
      })
    )
  )

const boolean = (name: string, fallback: boolean) =>
  Config.String(name).pipe(
    Config.withDefault(String(fallback)),
    mapOrFail((raw: string) => {
      const value = raw.trim().toLowerCase()
      if (["true", "1", "yes", "on"].includes(value)) return Result.succeed(true)
      if (["false", "0", "no", "off"].includes(value)) return Result.succeed(false)
      return Result.fail(invalid(name, "expected true or false"))
    })
  )

const ORIGIN = /^https?:\/\/[^/\s]+$/

/** Exact origins (`scheme://host[:port]`), or `*` (refused in production, see below). */
const origins = (name: string, fallback: string) =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) => {
      const list = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      if (list.length === 0) return Result.fail(invalid(name, "expected at least one origin"))
      return list.every((origin) => origin === "*" || ORIGIN.test(origin))
        ? Result.succeed(list)
        : Result.fail(invalid(name, "expected origins such as https://app.example.com, separated by commas"))
    })
  )

/** `10/1m`: a count and a window. */
const rateRule = (name: string, fallback: string) =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    mapOrFail((raw: string) => {
      const [count, window] = raw.split("/")
      const limit = Number(count)
      const duration = window === undefined ? Option.none() : parseDuration(window)
      if (!Number.isInteger(limit) || limit <= 0 || Option.isNone(duration)) {
        return Result.fail(invalid(name, "expected a count per window such as 10/1m or 600/1m"))
      }
      // The limiter spaces requests window/count apart in whole milliseconds (Redis PX).
      return Duration.toMillis(duration.value) % limit === 0
        ? Result.succeed<RateRule>({ limit, window: duration.value })
        : Result.fail(invalid(name, "the window in milliseconds must be a multiple of the count (e.g. 12/1m, not 7/1m)"))
    })
  )

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/
const IPV6 = /^[0-9a-f:]+(\/\d{1,3})?$/i

const trustProxy = Config.String("TRUST_PROXY").pipe(
  Config.withDefault("false"),
  mapOrFail((raw: string): Result.Result<TrustProxy, Config.ConfigError> => {
    const value = raw.trim().toLowerCase()
    if (value === "false" || value === "0") return Result.succeed({ _tag: "None" })
    if (/^\d+$/.test(value)) return Result.succeed({ _tag: "Hops", hops: Number(value) })
    const addresses = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    return addresses.length > 0 && addresses.every((a) => IPV4.test(a) || (a.includes(":") && IPV6.test(a)))
      ? Result.succeed({ _tag: "Addresses", addresses })
      : Result.fail(invalid("TRUST_PROXY", "expected false, a hop count, or a comma list of addresses / CIDRs"))
  })
)

const rateLimitFields = {
  enabled: boolean("RATE_LIMIT_ENABLED", true),
  store: oneOf("RATE_LIMIT_STORE", ["memory", "redis"], "memory"),
  redisUrl: Config.option(
    Config.Redacted("REDIS_URL").pipe(
      mapOrFail((url) =>
        /^rediss?:\/\/\S+$/.test(Redacted.value(url))
          ? Result.succeed(url)
          : Result.fail(invalid("REDIS_URL", "expected a redis:// or rediss:// URL"))
      )
    )
  ),
  signinPerIp: rateRule("RATE_LIMIT_SIGNIN_PER_IP", "10/1m"),
  signinFailuresPerAccount: rateRule("RATE_LIMIT_SIGNIN_FAILURES_PER_ACCOUNT", "5/15m"),
  signupPerIp: rateRule("RATE_LIMIT_SIGNUP_PER_IP", "5/1h"),
  refreshPerSession: rateRule("RATE_LIMIT_REFRESH_PER_SESSION", "30/1m"),
  refreshPerIp: rateRule("RATE_LIMIT_REFRESH_PER_IP", "60/1m"),
  changePasswordPerUser: rateRule("RATE_LIMIT_CHANGE_PASSWORD_PER_USER", "5/15m"),
  apiPerUser: rateRule("RATE_LIMIT_API_PER_USER", "600/1m")
}

const secretOfAtLeast32Bytes = (name: string) =>
  Config.Redacted(name).pipe(
    mapOrFail((secret) =>
      Buffer.byteLength(Redacted.value(secret), "utf8") >= 32
        ? Result.succeed(secret)
        : Result.fail(invalid(name, "must be at least 32 bytes"))
    )
  )

const isPrivateJwk = (value: unknown): value is JsonWebKey & { readonly d: string } =>
  typeof value === "object" && value !== null && "d" in value && typeof value.d === "string"

/** Parses a PKCS#8 PEM or a private JWK; also a PEM on one line with its line breaks written `\n`, as env files carry it. */
const parsePrivateKey = (text: string): Result.Result<KeyObject, string> => {
  const trimmed = text.trim()
  try {
    if (trimmed.startsWith("{")) {
      const jwk: unknown = JSON.parse(trimmed)
      return isPrivateJwk(jwk)
        ? Result.succeed(createPrivateKey({ key: jwk, format: "jwk" }))
        : Result.fail("expected a private key (a JWK with \"d\"), not a public one")
    }
    return Result.succeed(createPrivateKey({ key: trimmed.replaceAll("\\n", "\n"), format: "pem" }))
  } catch {
    // The parser's message is not passed on: it is not worth the risk of quoting the key.
    return Result.fail("expected an unencrypted PKCS#8 PEM private key or a private JWK (JSON)")
  }
}

/** Why `key` cannot sign with `algorithm`, if it cannot. */
const keyMismatch = (algorithm: Exclude<JwtAlgorithm, "HS256">, key: KeyObject): string | undefined => {
  switch (algorithm) {
    case "RS256": {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
      return key.asymmetricKeyType === "rsa" && bits >= 2048 ? undefined : "RS256 needs an RSA key of at least 2048 bits"
    }
    case "ES256":
      return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1"
        ? undefined
        : "ES256 needs a P-256 (prime256v1) EC key"
    case "EdDSA":
      return key.asymmetricKeyType === "ed25519" ? undefined : "EdDSA needs an Ed25519 key"
  }
}

const jwtAlgorithm = Config.String("JWT_ALGORITHM").pipe(
  Config.withDefault("HS256"),
  mapOrFail((raw: string) => {
    const found = JWT_ALGORITHMS.find((a) => a.toLowerCase() === raw.trim().toLowerCase())
    return found !== undefined
      ? Result.succeed(found)
      : Result.fail(invalid("JWT_ALGORITHM", `expected one of ${JWT_ALGORITHMS.join(", ")}`))
  })
)

interface JwtSigning {
  readonly algorithm: JwtAlgorithm
  readonly privateKey: Option.Option<Redacted.Redacted<KeyObject>>
}

/** The algorithm and its private key, checked against each other (the key only when the algorithm parses). */
const jwtSigning = Config.all({
  algorithm: jwtAlgorithm,
  privateKey: Config.option(Config.Redacted("JWT_PRIVATE_KEY"))
}).pipe(
  mapOrFail(({ algorithm, privateKey }): Result.Result<JwtSigning, Config.ConfigError> => {
    const keyProblem = (problem: string) => Result.fail(invalid("JWT_PRIVATE_KEY", problem))
    if (algorithm === "HS256") {
      // A key with HS256 is most likely a forgotten JWT_ALGORITHM: tokens would silently stay HS256.
      return Option.isSome(privateKey)
        ? keyProblem("set, but JWT_ALGORITHM is HS256; set JWT_ALGORITHM to the key's algorithm")
        : Result.succeed({ algorithm, privateKey: Option.none() })
    }
    if (Option.isNone(privateKey)) return keyProblem(`required when JWT_ALGORITHM is ${algorithm}`)
    const parsed = parsePrivateKey(Redacted.value(privateKey.value))
    if (Result.isFailure(parsed)) return keyProblem(parsed.failure)
    const mismatch = keyMismatch(algorithm, parsed.success)
    return mismatch !== undefined
      ? keyProblem(mismatch)
      : Result.succeed({ algorithm, privateKey: Option.some(Redacted.make(parsed.success)) })
  })
)

/** An instant with a date, a time and an offset, e.g. 2026-06-30T00:00:00Z. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i

const instant = (name: string) =>
  Config.String(name).pipe(
    mapOrFail((raw: string) => {
      const millis = ISO_INSTANT.test(raw.trim()) ? Date.parse(raw.trim()) : Number.NaN
      return Number.isNaN(millis)
        ? Result.fail(invalid(name, "expected an ISO 8601 instant with an offset, e.g. 2026-06-30T00:00:00Z"))
        : Result.succeed(new Date(millis))
    })
  )

const databaseUrl = Config.Redacted("DATABASE_URL").pipe(
  mapOrFail((url) => {
    const value = Redacted.value(url)
    return /^postgres(ql)?:\/\/[^\s]+$/.test(value) && URL.canParse(value)
      ? Result.succeed(url)
      : Result.fail(invalid("DATABASE_URL", "expected a postgres:// or postgresql:// URL"))
  }),
  Config.option
)

/** `k=v,k2=v2` (OTel's format: values may be percent-encoded). Never echoed: the values are secrets. */
const otlpHeaders = Config.String("OTEL_EXPORTER_OTLP_HEADERS").pipe(
  Config.withDefault(""),
  mapOrFail((raw: string) => {
    const headers: Record<string, Redacted.Redacted<string>> = {}
    for (const pair of raw.split(",").filter((p) => p.trim().length > 0)) {
      const at = pair.indexOf("=")
      const name = at > 0 ? pair.slice(0, at).trim() : ""
      let value: string | undefined
      try {
        value = decodeURIComponent(pair.slice(at + 1).trim())
      } catch {
        value = undefined
      }
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value === undefined) {
        return Result.fail(invalid("OTEL_EXPORTER_OTLP_HEADERS", "expected comma-separated name=value pairs"))
      }
      headers[name.toLowerCase()] = Redacted.make(value)
    }
    return Result.succeed(headers)
  })
)

const otelFields = {
  endpoint: Config.option(
    Config.String("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(
      mapOrFail((raw: string) =>
        /^https?:\/\//.test(raw.trim()) && URL.canParse(raw.trim())
          ? Result.succeed(raw.trim())
          : Result.fail(invalid("OTEL_EXPORTER_OTLP_ENDPOINT", "expected an http:// or https:// URL"))
      )
    )
  ),
  serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("tasks-api")),
  headers: otlpHeaders,
  tracesExportInterval: integer("OTEL_BSP_SCHEDULE_DELAY", 5_000, 1, 3_600_000).pipe(Config.map(Duration.millis)),
  metricsExportInterval: integer("OTEL_METRIC_EXPORT_INTERVAL", 60_000, 1, 3_600_000).pipe(Config.map(Duration.millis))
}

const NO_SECRETS: ReadonlyArray<Redacted.Redacted<string>> = []

/** The top-level settings (the groups are below). */
const topLevelFields = {
  env: oneOf("APP_ENV", ["development", "test", "production"], "development"),
  host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: integer("PORT", 8000, 1, 65535),
  databaseUrl,
  databasePoolMax: integer("DATABASE_POOL_MAX", 10, 1, 1000),
  databaseSsl: Config.option(oneOf("DATABASE_SSL", ["disable", "require", "verify-full"])),
  databaseStatementTimeout: duration("DATABASE_STATEMENT_TIMEOUT", "5s"),
  databaseConnectTimeout: duration("DATABASE_CONNECT_TIMEOUT", "30s"),
  databasePreparedStatements: boolean("DATABASE_PREPARED_STATEMENTS", true),
  migrateOnStart: boolean("MIGRATE_ON_START", true),
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault("./.data")),
  jwtSecret: Config.option(secretOfAtLeast32Bytes("JWT_SECRET")),
  jwtPreviousSecrets: Config.Redacted("JWT_PREVIOUS_SECRETS").pipe(
    mapOrFail((raw: Redacted.Redacted<string>) => {
      const secrets = Redacted.value(raw).split(",").map((s) => s.trim()).filter((s) => s.length > 0)
      return secrets.every((s) => Buffer.byteLength(s, "utf8") >= 32)
        ? Result.succeed(secrets.map((s) => Redacted.make(s)))
        : Result.fail(invalid("JWT_PREVIOUS_SECRETS", "every secret must be at least 32 bytes"))
    }),
    Config.withDefault(NO_SECRETS)
  ),
  jwtSigning,
  legacyTokensUntil: Config.option(instant("LEGACY_TOKENS_UNTIL")),
  jwtIssuer: Config.String("JWT_ISSUER").pipe(Config.withDefault("tasks-api")),
  jwtAudience: Config.String("JWT_AUDIENCE").pipe(Config.withDefault("tasks-api")),
  accessTokenTtl: duration("ACCESS_TOKEN_TTL", "15m"),
  refreshTokenTtl: duration("REFRESH_TOKEN_TTL", "7d"),
  sessionMaxAge: duration("SESSION_MAX_AGE", "30d"),
  refreshReuseGrace: duration("REFRESH_REUSE_GRACE", "10s"),
  sessionCheckInterval: Config.String("SESSION_CHECK_INTERVAL").pipe(
    Config.withDefault("5s"),
    mapOrFail((raw: string) => {
      const d = raw.trim() === "0" ? Option.some(Duration.zero) : parseDuration(raw)
      if (Option.isNone(d)) return Result.fail(invalid("SESSION_CHECK_INTERVAL", "expected 0 or a duration such as 2s"))
      return Duration.isLessThanOrEqualTo(d.value, Duration.seconds(5))
        ? Result.succeed(d.value)
        : Result.fail(invalid("SESSION_CHECK_INTERVAL", "at most 5s: revocations must reach every instance within 5 seconds"))
    })
  ),
  bcryptCost: integer("BCRYPT_COST", 12, 10, 15),
  corsOrigins: origins("CORS_ORIGINS", "http://localhost:3000"),
  maxBodyBytes: integer("MAX_BODY_BYTES", 1_048_576, 1, 1_073_741_824),
  requestTimeout: duration("REQUEST_TIMEOUT", "30s"),
  shutdownGrace: duration("SHUTDOWN_GRACE", "10s"),
  trustProxy,
  logLevel: Config.option(oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal"])),
  logFormat: Config.option(oneOf("LOG_FORMAT", ["json", "pretty"]))
}

/** The settings as read from the environment, before cross-field rules and generated defaults. */
const settings = Config.all({
  ...topLevelFields,
  rateLimit: Config.all(rateLimitFields),
  otel: Config.all(otelFields)
})

/**
 * Every setting on its own. `Config.all` stops at the first setting that fails, and the diagnostic
 * lists them all: when `settings` fails, each of these is read separately to find every problem.
 */
const eachSetting: ReadonlyArray<Config.Config<unknown>> = [
  ...Object.values(topLevelFields),
  ...Object.values(rateLimitFields),
  ...Object.values(otelFields)
]

/**
 * Production rules, read from the raw environment so they are reported together with every
 * parsing problem: in production nothing is embedded or generated, and CORS lists exact origins.
 */
/** The Redis store needs its server. */
const rateLimitStoreProblems = (env: Map<string, string>): Array<ConfigProblem> =>
  env.get("RATE_LIMIT_STORE")?.trim().toLowerCase() === "redis" && !env.has("REDIS_URL")
    ? [{ variable: "REDIS_URL", problem: "required when RATE_LIMIT_STORE is redis" }]
    : []

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
 * Legacy tokens are HS256 with the old backend's shared secret: enabling them without that secret
 * would accept none of them, silently. Read from the raw environment so it is reported with the rest.
 */
const legacyProblems = (env: Map<string, string>): Array<ConfigProblem> =>
  env.has("LEGACY_TOKENS_UNTIL") && !env.has("JWT_SECRET")
    ? [{ variable: "LEGACY_TOKENS_UNTIL", problem: "needs JWT_SECRET, the old backend's shared secret" }]
    : []

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

/** Each issue of a schema error with its path and message (`invalid`'s wording where it made the issue). */
const issuesOf = SchemaIssue.makeFormatterStandardSchemaV1()

const problemsOf = (
  error: Config.ConfigError,
  env: Map<string, string>,
  aliasUsed: Map<string, string>
): Array<ConfigProblem> => {
  const cause = error.cause
  // The provider reads a map in memory, so it cannot fail to read; kept total all the same.
  if (cause._tag === "SourceError") return [{ variable: "(environment)", problem: cause.message }]
  return issuesOf(cause.issue).issues.map((issue) => {
    const last = issue.path?.at(-1)
    const name = last === undefined ? "" : typeof last === "object" ? String(last.key) : String(last)
    return problem(name, issue.message, env, aliasUsed)
  })
}

const problem = (
  name: string,
  message: string,
  env: Map<string, string>,
  aliasUsed: Map<string, string>
): ConfigProblem => {
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

/** A secret bound to the private key but revealing nothing of it (HKDF of its PKCS#8 bytes). */
const secretFromPrivateKey = (key: Redacted.Redacted<KeyObject>) => {
  const der = Redacted.value(key).export({ format: "der", type: "pkcs8" })
  const derived = hkdfSync("sha256", der, "tasks-api", "jwt-secret-from-private-key", 32)
  return Redacted.make(Buffer.from(derived).toString("base64url"))
}

/** Validates an environment into the configuration, or fails with every problem found. */
export const loadConfig = (
  source: { readonly env: Map<string, string>; readonly aliasUsed: Map<string, string> } = readEnvironment()
): Effect.Effect<AppConfigShape, ConfigInvalid> =>
  Effect.gen(function*() {
    const provider = ConfigProvider.fromEnvRecord(Object.fromEntries(source.env))
    const parsed = yield* Effect.result(settings.parse(provider))
    const parseErrors = Result.isSuccess(parsed)
      ? []
      : (yield* Effect.forEach(eachSetting, (setting) => Effect.result(setting.parse(provider))))
        .flatMap((result) => Result.isFailure(result) ? [result.failure] : [])
    const problems = [
      ...(Result.isFailure(parsed) && parseErrors.length === 0 ? [parsed.failure] : parseErrors)
        .flatMap((error) => problemsOf(error, source.env, source.aliasUsed)),
      ...productionProblems(source.env, source.aliasUsed),
      ...rateLimitStoreProblems(source.env),
      ...legacyProblems(source.env)
    ]
    if (Result.isFailure(parsed) || problems.length > 0) {
      return yield* new ConfigInvalid({ problems })
    }
    const { jwtSigning: signing, ...s } = parsed.success
    const dataDir = resolve(s.dataDir)
    const jwtSecret = Option.isSome(s.jwtSecret)
      ? s.jwtSecret.value
      : Option.isSome(signing.privateKey)
      ? secretFromPrivateKey(signing.privateKey.value)
      : yield* developmentSecret(dataDir)
    const production = s.env === "production"
    return {
      ...s,
      dataDir,
      jwtSecret,
      jwtAlgorithm: signing.algorithm,
      jwtPrivateKey: signing.privateKey,
      logLevel: Option.getOrElse(s.logLevel, () => "info" as const),
      logFormat: Option.getOrElse(s.logFormat, () => (production ? "json" as const : "pretty" as const))
    }
  })

/** A configuration from an explicit map of variables, for tests and tools. */
export const appConfigFrom = (variables: Record<string, string | undefined>) =>
  Layer.effect(AppConfig, loadConfig(readEnvironment(variables, "/nonexistent/.env")))

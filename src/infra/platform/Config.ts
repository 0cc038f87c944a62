/**
 * Every setting, decoded and validated once at boot. All problems are gathered (not only the
 * first) so an operator fixes a bad deployment in one go; secret values never appear in them.
 *
 * This module is the table (which variable feeds which setting) and the loading; beside it, in
 * config/: the settings' shape and tag (Settings.ts), how each kind of value is read (Fields.ts),
 * the JWT keys and secrets (JwtKeys.ts), the environment with its old names and `.env`
 * (Environment.ts), the rules across settings (Rules.ts) and the diagnostic (Problems.ts).
 */
import { Config, ConfigProvider, Duration, Effect, Layer, Option, Redacted, Result } from "effect"
import { resolve } from "node:path"
import { type Environment, readEnvironment } from "./config/Environment.js"
import {
  accessTokenTtl,
  boolean,
  choice,
  choices,
  databaseUrl,
  duration,
  instant,
  integer,
  origins,
  otlpHeaders,
  otlpUrl,
  rateRule,
  ratio,
  redisUrl,
  resourceAttributes,
  sessionCheckInterval,
  trustProxy
} from "./config/Fields.js"
import {
  jwtSecretOf,
  jwtSigning,
  previousSecrets,
  refreshTokenSecretOf,
  secretOfAtLeast32Bytes
} from "./config/JwtKeys.js"
import { ConfigInvalid, problemsOf } from "./config/Problems.js"
import { crossFieldProblems } from "./config/Rules.js"
import {
  AppConfig,
  type AppConfigShape,
  BENCH_GUARDS,
  BENCH_GUARDS_OFF_ACK,
  type BenchGuard,
  type OtelSettings,
  OTLP_PROTOCOLS,
  TRACES_SAMPLERS
} from "./config/Settings.js"

export { readEnvironment } from "./config/Environment.js"
export { parseDuration } from "./config/Fields.js"
export { ConfigInvalid, type ConfigProblem } from "./config/Problems.js"
export {
  AppConfig,
  type AppConfigShape,
  type AppEnv,
  BENCH_GUARDS,
  BENCH_GUARDS_OFF_ACK,
  type BenchGuard,
  type DatabaseSsl,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type LogFormat,
  type LogLevelName,
  type OtelSettings,
  type OtlpProtocol,
  type RateLimitSettings,
  type RateRule,
  type TracesSampler,
  type TrustProxy
} from "./config/Settings.js"

const rateLimitFields = {
  enabled: boolean("RATE_LIMIT_ENABLED", true),
  store: choice("RATE_LIMIT_STORE", ["memory", "redis"], "memory"),
  redisUrl,
  storeTimeout: duration("RATE_LIMIT_STORE_TIMEOUT", "1s"),
  breakerFailures: integer("RATE_LIMIT_BREAKER_FAILURES", 3, 1, 1_000),
  breakerCooldown: duration("RATE_LIMIT_BREAKER_COOLDOWN", "2s"),
  signinPerIp: rateRule("RATE_LIMIT_SIGNIN_PER_IP", "10/1m"),
  signinFailuresPerAccount: rateRule("RATE_LIMIT_SIGNIN_FAILURES_PER_ACCOUNT", "5/15m"),
  signupPerIp: rateRule("RATE_LIMIT_SIGNUP_PER_IP", "5/1h"),
  refreshPerSession: rateRule("RATE_LIMIT_REFRESH_PER_SESSION", "30/1m"),
  refreshPerIp: rateRule("RATE_LIMIT_REFRESH_PER_IP", "60/1m"),
  changePasswordPerUser: rateRule("RATE_LIMIT_CHANGE_PASSWORD_PER_USER", "5/15m"),
  apiPerUser: rateRule("RATE_LIMIT_API_PER_USER", "600/1m")
}

const otelFields = {
  disabled: boolean("OTEL_SDK_DISABLED", false),
  endpoint: otlpUrl("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: otlpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  metricsEndpoint: otlpUrl("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
  logsEndpoint: otlpUrl("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
  protocol: choice("OTEL_EXPORTER_OTLP_PROTOCOL", OTLP_PROTOCOLS, "http/protobuf"),
  serviceName: Config.option(Config.String("OTEL_SERVICE_NAME")),
  resourceAttributes,
  headers: otlpHeaders,
  tracesExportInterval: integer("OTEL_BSP_SCHEDULE_DELAY", 5_000, 1, 3_600_000).pipe(Config.map(Duration.millis)),
  metricsExportInterval: integer("OTEL_METRIC_EXPORT_INTERVAL", 60_000, 1, 3_600_000).pipe(Config.map(Duration.millis)),
  logsExportInterval: integer("OTEL_BLRP_SCHEDULE_DELAY", 1_000, 1, 3_600_000).pipe(Config.map(Duration.millis)),
  tracesExporters: choices("OTEL_TRACES_EXPORTER", ["otlp", "none"], "otlp"),
  metricsExporters: choices("OTEL_METRICS_EXPORTER", ["otlp", "prometheus", "none"], "otlp"),
  logsExporters: choices("OTEL_LOGS_EXPORTER", ["otlp", "none"], "otlp"),
  sampler: choice("OTEL_TRACES_SAMPLER", TRACES_SAMPLERS, "parentbased_always_on"),
  samplerRatio: ratio("OTEL_TRACES_SAMPLER_ARG", 1),
  prometheusHost: Config.String("OTEL_EXPORTER_PROMETHEUS_HOST").pipe(Config.withDefault("localhost")),
  prometheusPort: integer("OTEL_EXPORTER_PROMETHEUS_PORT", 9464, 1, 65535)
}

const otelSettings = Config.all(otelFields)

/** The OTel settings as the service uses them: what is exported, and the variables for the exporters. */
const otelSettingsOf = (
  { serviceName, ...read }: Config.Success<typeof otelSettings>,
  env: Map<string, string>
): OtelSettings => {
  const on = !read.disabled
  /** A signal goes over OTLP when its exporters include otlp and it has a URL: its own, or the base one. */
  const sentOverOtlp = (exporters: ReadonlyArray<string>, signalEndpoint: Option.Option<string>) =>
    on && exporters.includes("otlp") && (Option.isSome(signalEndpoint) || Option.isSome(read.endpoint))
  const metricsServed = on && read.metricsExporters.includes("prometheus")
  return {
    ...read,
    serviceName: Option.getOrElse(serviceName, () => read.resourceAttributes["service.name"] ?? "tasks-api"),
    tracesExported: sentOverOtlp(read.tracesExporters, read.tracesEndpoint),
    metricsServed,
    metricsExported: metricsServed || sentOverOtlp(read.metricsExporters, read.metricsEndpoint),
    logsExported: sentOverOtlp(read.logsExporters, read.logsEndpoint),
    environment: Redacted.make(Object.fromEntries([...env].filter(([name]) => name.startsWith("OTEL_"))))
  }
}

/** The top-level settings (the groups are below). */
const topLevelFields = {
  env: choice("APP_ENV", ["development", "test", "production"], "development"),
  host: Config.String("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: integer("PORT", 8000, 1, 65535),
  databaseUrl,
  databasePoolMax: integer("DATABASE_POOL_MAX", 10, 1, 1000),
  databasePoolMaxWaiting: integer("DATABASE_POOL_MAX_WAITING", 256, 0, 100_000),
  databasePoolAcquireTimeout: duration("DATABASE_POOL_ACQUIRE_TIMEOUT", "1s"),
  databaseSsl: Config.option(choice("DATABASE_SSL", ["disable", "require", "verify-full"])),
  databaseStatementTimeout: duration("DATABASE_STATEMENT_TIMEOUT", "5s"),
  databaseConnectTimeout: duration("DATABASE_CONNECT_TIMEOUT", "30s"),
  databasePreparedStatements: boolean("DATABASE_PREPARED_STATEMENTS", true),
  migrateOnStart: boolean("MIGRATE_ON_START", true),
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault("./.data")),
  jwtSecret: Config.option(secretOfAtLeast32Bytes("JWT_SECRET")),
  jwtPreviousSecrets: previousSecrets,
  jwtSigning,
  legacyTokensUntil: Config.option(instant("LEGACY_TOKENS_UNTIL")),
  jwtIssuer: Config.String("JWT_ISSUER").pipe(Config.withDefault("tasks-api")),
  jwtAudience: Config.String("JWT_AUDIENCE").pipe(Config.withDefault("tasks-api")),
  accessTokenTtl,
  refreshTokenTtl: duration("REFRESH_TOKEN_TTL", "7d"),
  sessionMaxAge: duration("SESSION_MAX_AGE", "30d"),
  refreshReuseGrace: duration("REFRESH_REUSE_GRACE", "10s"),
  sessionCheckInterval,
  bcryptCost: integer("BCRYPT_COST", 12, 10, 15),
  corsOrigins: origins("CORS_ORIGINS", "http://localhost:3000"),
  maxBodyBytes: integer("MAX_BODY_BYTES", 1_048_576, 1, 1_073_741_824),
  requestTimeout: duration("REQUEST_TIMEOUT", "30s"),
  shutdownGrace: duration("SHUTDOWN_GRACE", "10s"),
  maxRequestsInFlight: integer("MAX_REQUESTS_IN_FLIGHT", 256, 1, 100_000),
  maxRequestsReceiving: integer("MAX_REQUESTS_RECEIVING", 1024, 1, 100_000),
  maxEventLoopDelay: duration("MAX_EVENT_LOOP_DELAY", "250ms"),
  maxEventLoopUtilization: ratio("MAX_EVENT_LOOP_UTILIZATION", 0.9),
  healthPort: integer("HEALTH_PORT", 0, 0, 65_535),
  healthStallTimeout: duration("HEALTH_STALL_TIMEOUT", "10s"),
  maxConnections: integer("MAX_CONNECTIONS", 16_384, 1, 1_000_000),
  keepAliveTimeout: duration("KEEP_ALIVE_TIMEOUT", "65s"),
  watchStreamsPerUser: integer("WATCH_STREAMS_PER_USER", 5, 1, 1_000),
  watchStreamsPerInstance: integer("WATCH_STREAMS_PER_INSTANCE", 1_000, 1, 100_000),
  rpcMaxCallsPerRequest: integer("RPC_MAX_CALLS_PER_REQUEST", 100, 1, 10_000),
  rpcMaxInFlightPerRequest: integer("RPC_MAX_IN_FLIGHT_PER_REQUEST", 4, 1, 1_000),
  rpcMaxInFlightPerUser: integer("RPC_MAX_IN_FLIGHT_PER_USER", 32, 1, 10_000),
  trustProxy,
  logLevel: Config.option(choice("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal"])),
  logFormat: Config.option(choice("LOG_FORMAT", ["json", "pretty"])),
  // Bench-only (Settings.ts); "none", the default, switches nothing off. The acknowledgement is
  // checked against production in Rules.ts and is not kept.
  benchGuardsOff: choices("BENCH_GUARDS_OFF", ["none", ...BENCH_GUARDS], "none"),
  benchGuardsOffAck: Config.option(choice("BENCH_GUARDS_OFF_ACK", [BENCH_GUARDS_OFF_ACK]))
}

/** The settings as read from the environment, before cross-field rules and generated defaults. */
const settings = Config.all({
  ...topLevelFields,
  rateLimit: Config.all(rateLimitFields),
  otel: otelSettings
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

/** Validates an environment into the configuration, or fails with every problem found. */
export const loadConfig = (
  source: Environment = readEnvironment()
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
      ...crossFieldProblems(source)
    ]
    if (Result.isFailure(parsed) || problems.length > 0) {
      return yield* new ConfigInvalid({ problems })
    }
    const { benchGuardsOff, benchGuardsOffAck: _acknowledged, jwtSigning: signing, ...s } = parsed.success
    const dataDir = resolve(s.dataDir)
    const jwtSecret = yield* jwtSecretOf(s.jwtSecret, signing, dataDir)
    const production = s.env === "production"
    return {
      ...s,
      otel: otelSettingsOf(s.otel, source.env),
      dataDir,
      jwtSecret,
      refreshTokenSecret: refreshTokenSecretOf(jwtSecret, signing),
      jwtAlgorithm: signing.algorithm,
      jwtPrivateKey: signing.privateKey,
      logLevel: Option.getOrElse(s.logLevel, () => "info" as const),
      logFormat: Option.getOrElse(s.logFormat, () => (production ? "json" as const : "pretty" as const)),
      benchGuardsOff: new Set(benchGuardsOff.filter((guard): guard is BenchGuard => guard !== "none"))
    }
  })

/** A configuration from an explicit map of variables, for tests and tools. */
export const appConfigFrom = (variables: Record<string, string | undefined>) =>
  Layer.effect(AppConfig, loadConfig(readEnvironment(variables, "/nonexistent/.env")))

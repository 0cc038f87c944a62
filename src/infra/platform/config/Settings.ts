/**
 * The settings as the service reads them once booted (`AppConfigShape`) and the `AppConfig` tag
 * that carries them. How each is read from the environment is in Config.ts and its siblings here.
 */
import { Context, type Duration, type Option, type Redacted } from "effect"
import type { KeyObject } from "node:crypto"

export type AppEnv = "development" | "test" | "production"
export type DatabaseSsl = "disable" | "require" | "verify-full"
export type LogFormat = "json" | "pretty"
export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal"
export const JWT_ALGORITHMS = ["HS256", "EdDSA", "ES256", "RS256"] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]

/**
 * The guards a benchmark may switch off (BENCH_GUARDS_OFF), one at a time, to measure what each
 * costs per request (`npm run bench -- --budget`). The others have switches of their own: the
 * access line (LOG_LEVEL above info) and the rate limiter (RATE_LIMIT_ENABLED).
 */
export const BENCH_GUARDS = [
  "metrics",
  "spans",
  "session-check",
  "deadline",
  "cors",
  "idempotency",
  "response-encoding"
] as const
export type BenchGuard = (typeof BENCH_GUARDS)[number]
/** The value of BENCH_GUARDS_OFF_ACK without which production refuses BENCH_GUARDS_OFF (Rules.ts). */
export const BENCH_GUARDS_OFF_ACK = "benchmark-only"

export interface AppConfigShape {
  readonly env: AppEnv
  readonly host: string
  readonly port: number
  /** Absent outside production: the service runs an embedded PostgreSQL in `dataDir`. */
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly databasePoolMax: number
  /** Operations allowed to wait for a pooled connection; past it (or past the acquire timeout) 503 `overloaded`. */
  readonly databasePoolMaxWaiting: number
  readonly databasePoolAcquireTimeout: Duration.Duration
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
   * The HS256 secret: signs access tokens with HS256 and verifies legacy tokens. With an
   * asymmetric algorithm and no JWT_SECRET it is derived from the private key.
   */
  readonly jwtSecret: Redacted.Redacted<string>
  /**
   * What the refresh-token MAC key is derived from: `jwtSecret` with HS256; with an asymmetric
   * algorithm always the private key (as `jwtSecret` is without JWT_SECRET), so a JWT_SECRET kept
   * for the old backend's tokens cannot mint refresh tokens.
   */
  readonly refreshTokenSecret: Redacted.Redacted<string>
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
  /** Load bounds past which a request is shed with 503 `overloaded` before any work (Front.ts). */
  readonly maxRequestsInFlight: number
  /** Of those, requests whose body is still arriving are bounded apart (they wait on their client). */
  readonly maxRequestsReceiving: number
  /** 0: the event loop's delay is not watched. */
  readonly maxEventLoopDelay: Duration.Duration
  /** Event-loop utilisation (0–1) above which a growing share of new requests is shed; 0: not watched. */
  readonly maxEventLoopUtilization: number
  /** `/health/live` from a worker thread on this port (HealthPort.ts); 0: no health port. */
  readonly healthPort: number
  /** How long the main event loop may go without running before the health port answers 503. */
  readonly healthStallTimeout: Duration.Duration
  /** Node's `server.maxConnections`: connections past it are dropped as they arrive. */
  readonly maxConnections: number
  /** Node's `keepAliveTimeout`: longer than a load balancer's idle timeout, so the balancer closes first. */
  readonly keepAliveTimeout: Duration.Duration
  /** Open `WatchTasks` streams allowed per user, and on this instance (more are refused). */
  readonly watchStreamsPerUser: number
  readonly watchStreamsPerInstance: number
  /**
   * `POST /rpc` budgets: calls one request may carry (a larger batch is refused whole), calls of
   * one request running at once (the rest wait their turn, so answers a client does not read stop
   * further work), and unary calls of one user running at once (more are refused).
   */
  readonly rpcMaxCallsPerRequest: number
  readonly rpcMaxInFlightPerRequest: number
  readonly rpcMaxInFlightPerUser: number
  readonly rateLimit: RateLimitSettings
  /** Which peers may tell the client's address through `X-Forwarded-For`. */
  readonly trustProxy: TrustProxy
  readonly logLevel: LogLevelName
  readonly logFormat: LogFormat
  /** OpenTelemetry: traces, metrics and logs over OTLP/HTTP, and metrics for Prometheus to scrape. */
  readonly otel: OtelSettings
  /**
   * BENCH_GUARDS_OFF, for benchmarks only: the guards switched off, so that the bench can tell what
   * each costs. Empty in service; production refuses it unless BENCH_GUARDS_OFF_ACK acknowledges it,
   * and the boot line names every guard switched off.
   *   metrics            the request metric is not recorded (Edge.ts)
   *   spans              the tracer is disabled: no spans, no server span, no trace id (Telemetry.ts)
   *   session-check      a passed token check is trusted until the token expires: its session is
   *                      not read again every SESSION_CHECK_INTERVAL (AccessChecks.ts)
   *   deadline           no REQUEST_TIMEOUT (Edge.ts)
   *   cors               no CORS, security or Cache-Control headers (Edge.ts)
   *   idempotency        `Idempotency-Key` is ignored: a create is a plain insert (Tasks.ts)
   *   response-encoding  task responses are the domain values as JSON.stringify writes them, not
   *                      the schemas' fields projected by the writers (TaskJson.ts, TasksHttp.ts)
   */
  readonly benchGuardsOff: ReadonlySet<BenchGuard>
}

export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number]

/** The samplers of the OpenTelemetry SDK configuration (OTEL_TRACES_SAMPLER) that are implemented here. */
export const TRACES_SAMPLERS = [
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
  "always_on",
  "always_off",
  "traceidratio"
] as const
export type TracesSampler = (typeof TRACES_SAMPLERS)[number]

/**
 * The standard OTEL_* variables, checked at boot. effect/observability's exporters read them
 * again themselves (from `environment`): endpoints, headers, intervals, timeouts, compression,
 * OTEL_SDK_DISABLED, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME.
 */
export interface OtelSettings {
  /** `OTEL_SDK_DISABLED`: nothing is exported or served, whatever else is set. */
  readonly disabled: boolean
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`, the base URL (`/v1/traces`, `/v1/metrics`, `/v1/logs` are appended). */
  readonly endpoint: Option.Option<string>
  /** `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`: one signal's full URL, over `endpoint`. */
  readonly tracesEndpoint: Option.Option<string>
  readonly metricsEndpoint: Option.Option<string>
  readonly logsEndpoint: Option.Option<string>
  /** `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` (the OTel default) or `http/json`. */
  readonly protocol: OtlpProtocol
  /** `OTEL_SERVICE_NAME`, else `service.name` of OTEL_RESOURCE_ATTRIBUTES, else `tasks-api`. */
  readonly serviceName: string
  /** `OTEL_RESOURCE_ATTRIBUTES`, decoded. */
  readonly resourceAttributes: Readonly<Record<string, string>>
  /** `OTEL_EXPORTER_OTLP_HEADERS`: the values are credentials (API keys), kept redacted. */
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  /** `OTEL_BSP_SCHEDULE_DELAY` (ms): how often finished spans are sent. */
  readonly tracesExportInterval: Duration.Duration
  /** `OTEL_METRIC_EXPORT_INTERVAL` (ms): how often the metrics are sent. */
  readonly metricsExportInterval: Duration.Duration
  /** `OTEL_BLRP_SCHEDULE_DELAY` (ms): how often log records are sent. */
  readonly logsExportInterval: Duration.Duration
  /** `OTEL_TRACES_EXPORTER`: `otlp` (default) or `none`. */
  readonly tracesExporters: ReadonlyArray<"otlp" | "none">
  /** `OTEL_METRICS_EXPORTER`: `otlp` (default), `prometheus` (served for scraping), `none`. */
  readonly metricsExporters: ReadonlyArray<"otlp" | "prometheus" | "none">
  /** `OTEL_LOGS_EXPORTER`: `otlp` (default) or `none`. Stdout lines are written either way. */
  readonly logsExporters: ReadonlyArray<"otlp" | "none">
  /** `OTEL_TRACES_SAMPLER` and its ratio `OTEL_TRACES_SAMPLER_ARG` (for the `*traceidratio` ones). */
  readonly sampler: TracesSampler
  readonly samplerRatio: number
  /** `OTEL_EXPORTER_PROMETHEUS_HOST` / `_PORT`: where `/metrics` listens with the prometheus exporter. */
  readonly prometheusHost: string
  readonly prometheusPort: number
  /** Spans are sent somewhere: not disabled, an OTLP traces URL and the otlp exporter. */
  readonly tracesExported: boolean
  /** Metrics are served for Prometheus to scrape: not disabled, and the prometheus exporter. */
  readonly metricsServed: boolean
  /** Metrics are sent or served: not disabled, and OTLP with its URL or prometheus. */
  readonly metricsExported: boolean
  /** Log records are sent: not disabled, an OTLP logs URL and the otlp exporter. */
  readonly logsExported: boolean
  /**
   * Every OTEL_* variable as set, for the exporters to read themselves. Redacted: endpoints and
   * headers carry credentials.
   */
  readonly environment: Redacted.Redacted<Readonly<Record<string, string>>>
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
  /** How long one call to the shared store may take before it counts as failed. */
  readonly storeTimeout: Duration.Duration
  /** Consecutive store failures that open the circuit: no store call, fail open / closed at once. */
  readonly breakerFailures: number
  /** How long the circuit stays open before one call probes the store again. */
  readonly breakerCooldown: Duration.Duration
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

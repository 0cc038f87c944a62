/**
 * Once per test run: start one PostgreSQL server and build the migrated template database that
 * every suite copies (`CREATE DATABASE … TEMPLATE` takes milliseconds).
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import type { TestProject } from "vitest/node"
import { runMigrations } from "../../src/infra/Migrations.js"
import { startPostgres, TEMPLATE_DATABASE, urlFor, withAdmin } from "./postgres.js"

export default async function setup(project: TestProject) {
  const postgres = await startPostgres()
  await withAdmin(postgres.adminUrl, (c) => c.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`))
  await Effect.runPromise(
    Effect.gen(function*() {
      yield* SqlClient.SqlClient
      yield* runMigrations
    }).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(urlFor(postgres.adminUrl, TEMPLATE_DATABASE)) })),
      Effect.provide(Layer.merge(Logger.minimumLogLevel(LogLevel.Warning), Logger.pretty))
    )
  )
  project.provide("pgAdminUrl", postgres.adminUrl)
  return async () => {
    await postgres.stop()
  }
}

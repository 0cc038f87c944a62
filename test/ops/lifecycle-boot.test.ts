/**
 * Several instances starting at once on an empty database (operations.md, "Migrations"): exactly
 * one applies each migration, the others wait and then start; none fails. Three built services
 * (child processes) boot together on a database created from `template0`; all become ready, the
 * bookkeeping table lists every shipped migration once, and the schema equals the one the run's
 * template database got from a single migrator.
 *
 * Processes start milliseconds apart, which rarely hits the stock migrator's race (it creates its
 * bookkeeping table outside its own lock). Migrators started in one process, each with a pool of
 * its own, reach that point together every time: they show the advisory lock is what holds.
 */
import { PgClient } from "@effect/sql-pg"
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, References } from "effect"
import { SqlClient } from "effect/sql"
import { readFileSync } from "node:fs"
import pg from "pg"
import { inject } from "vitest"
import { listMigrations, MIGRATION_LOCK_KEY, runMigrations } from "../../src/infra/platform/Migrations.js"
import { TEMPLATE_DATABASE, urlFor, withAdmin } from "../support/postgres.js"
import { spawnService, waitForStatus } from "../support/serviceProcess.js"
import { suiteDatabase } from "../support/TestService.js"

const INSTANCES = 3
const IN_PROCESS_MIGRATORS = 10

/** Runs the migrator with a pool of its own on `url`. */
const migrateOn = (url: string) =>
  Effect.flatMap(SqlClient.SqlClient, () => runMigrations).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url) })),
    Effect.provideService(References.MinimumLogLevel, "Warn")
  )

const emptyDatabase = suiteDatabase("template0")

/** Tables, columns, constraints and indexes of the public schema, in a fixed order. */
const schemaOf = (databaseUrl: string) =>
  Effect.promise(() =>
    withAdmin(databaseUrl, async (client) => {
      const columns = await client.query(
        `SELECT table_name, column_name, data_type, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public'
         ORDER BY table_name, column_name`
      )
      const constraints = await client.query(
        `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace
         ORDER BY 1, 2`
      )
      const indexes = await client.query(
        `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`
      )
      return { columns: columns.rows, constraints: constraints.rows, indexes: indexes.rows }
    })
  )

it.live(
  "three instances booting together on an empty database all come up; each migration is applied once",
  () =>
    Effect.gen(function*() {
      const database = yield* emptyDatabase
      // LOG_LEVEL info: each instance logs "migration applied" for every migration it applies itself.
      const services = yield* Effect.all(
        Array.from({ length: INSTANCES }, () => spawnService({ DATABASE_URL: database.url, LOG_LEVEL: "info" }))
      )
      yield* Effect.all(services.map((service) => waitForStatus(service, "/health/ready", 200, "90 seconds")), {
        concurrency: "unbounded"
      })

      const shipped = yield* listMigrations
      const recorded = yield* Effect.promise(() =>
        withAdmin(database.url, (client) =>
          client.query<{ readonly migration_id: number; readonly name: string }>(
            "SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id"
          ))
      )
      expect(recorded.rows).toEqual(shipped.map(({ id, name }) => ({ migration_id: id, name })))

      const applications = services
        .map((service) => service.output().match(/migration applied/g)?.length ?? 0)
      expect(applications.reduce((a, b) => a + b, 0), services.map((s) => s.output()).join("\n---\n"))
        .toBe(shipped.length)

      const expected = yield* schemaOf(urlFor(inject("pgAdminUrl"), TEMPLATE_DATABASE))
      expect(yield* schemaOf(database.url)).toEqual(expected)
      for (const service of services) expect(service.child.exitCode, service.output()).toBeNull()
    }),
  120_000
)

it.live("migrators racing on an empty database (one pool each): all succeed, each migration applied once", () =>
  Effect.gen(function*() {
    const database = yield* emptyDatabase
    const migrator = migrateOn(database.url)
    const applied = yield* Effect.all(Array.from({ length: IN_PROCESS_MIGRATORS }, () => migrator), {
      concurrency: "unbounded"
    })
    const shipped = yield* listMigrations
    // One migrator applied everything; the others found it done.
    expect(applied.map((list) => list.length).sort((a, b) => b - a)).toEqual(
      [shipped.length, ...Array.from({ length: IN_PROCESS_MIGRATORS - 1 }, () => 0)]
    )
    const recorded = yield* Effect.promise(() =>
      withAdmin(database.url, (client) => client.query("SELECT migration_id FROM effect_sql_migrations ORDER BY 1"))
    )
    expect(recorded.rows.map((row) => row.migration_id)).toEqual(shipped.map(({ id }) => id))
  }))

it.live("a migrator kept waiting by another instance longer than its statement timeout still migrates", () =>
  Effect.gen(function*() {
    const database = yield* emptyDatabase
    // Another instance, mid-migration: it holds the lock for longer than the statement timeout.
    const other = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const client = new pg.Client({ connectionString: database.url })
        await client.connect()
        await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY])
        return client
      }),
      (client) => Effect.promise(() => client.end())
    )
    const url = new URL(database.url)
    url.searchParams.set("options", "-c statement_timeout=300")
    const waiting = yield* Effect.forkChild(migrateOn(url.toString()))
    yield* Effect.sleep("1 second") // the lock held past the timeout (real clock: it.live)
    yield* Effect.promise(() => other.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]))
    const applied = yield* Fiber.join(waiting)
    expect(applied.map(([id]) => id)).toEqual((yield* listMigrations).map(({ id }) => id))
  }))

it.live(
  "runs on Node 24 (brought by npm): the tests themselves, and the service's first log line says so",
  () =>
    Effect.gen(function*() {
      expect(process.versions.node).toMatch(/^24\./)
      const database = yield* suiteDatabase()
      const service = yield* spawnService({ DATABASE_URL: database.url, LOG_LEVEL: "info", LOG_FORMAT: "json" })
      yield* waitForStatus(service, "/health/ready", 200)
      const first = JSON.parse(service.output().split("\n")[0] ?? "")
      expect(first).toMatchObject({
        event: "service.starting",
        environment: "test",
        version: JSON.parse(readFileSync("package.json", "utf8")).version,
        listen: `http://127.0.0.1:${service.port}`
      })
      expect(first.node).toMatch(/^24\./)
    }),
  60_000
)

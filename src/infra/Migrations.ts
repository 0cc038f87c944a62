/**
 * Forward-only SQL migrations from `migrations/`, run by the @effect/sql migrator. The whole run
 * holds a PostgreSQL advisory lock: the stock migrator creates its bookkeeping table outside its
 * own lock, so instances booting together on an empty database would otherwise race.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Data, Effect } from "effect"
import { readdir, readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

export const MIGRATIONS_DIRECTORY = fileURLToPath(new URL("../../migrations", import.meta.url))
export const MIGRATIONS_TABLE = "effect_sql_migrations"
/** Arbitrary, fixed: the advisory-lock key every instance agrees on. */
export const MIGRATION_LOCK_KEY = 7_261_004_113

export class MigrationFailed extends Data.TaggedError("MigrationFailed")<{
  readonly migration: string
  readonly message: string
}> {}

interface SqlMigration {
  readonly id: number
  readonly name: string
  readonly file: string
}

/** The migration files, ordered by number (`0001_name.sql`). */
export const listMigrations = Effect.tryPromise({
  try: async (): Promise<ReadonlyArray<SqlMigration>> =>
    (await readdir(MIGRATIONS_DIRECTORY))
      .flatMap((file) => {
        const match = /^(\d+)_(.+)\.sql$/.exec(file)
        return match ? [{ id: Number(match[1]), name: match[2], file: `${MIGRATIONS_DIRECTORY}/${file}` }] : []
      })
      .sort((a, b) => a.id - b.id),
  catch: (cause) => new MigrationFailed({ migration: "(loading)", message: String(cause) })
})

const loader: Migrator.Loader<SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const migrations = yield* listMigrations.pipe(
    Effect.mapError((e) => new Migrator.MigrationError({ reason: "failed", message: e.message }))
  )
  return migrations.map(({ file, id, name }) =>
    [
      id,
      name,
      Effect.succeed(
        Effect.flatMap(Effect.promise(() => readFile(file, "utf8")), (text) => sql.unsafe(text))
      )
    ] as const
  )
})

const migrate = Migrator.make({})

/** Applies pending migrations (all in one transaction), one instance at a time. */
export const runMigrations = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const connection = yield* sql.reserve
  // Waiting while another instance migrates is not a slow statement: DATABASE_STATEMENT_TIMEOUT
  // must not fail this boot. RESET gives the connection its configured timeout back before it
  // returns to the pool.
  yield* connection.executeRaw("SET statement_timeout = 0", [])
  yield* Effect.addFinalizer(() => connection.executeRaw("RESET statement_timeout", []).pipe(Effect.ignore))
  yield* connection.executeRaw("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY])
  yield* Effect.addFinalizer(() =>
    connection.executeRaw("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).pipe(Effect.ignore)
  )
  const applied = yield* migrate({ loader, table: MIGRATIONS_TABLE })
  for (const [id, name] of applied) {
    yield* Effect.logInfo("migration applied").pipe(Effect.annotateLogs({ migration_id: id, migration_name: name }))
  }
  return applied
}).pipe(
  Effect.scoped,
  Effect.catchAllDefect((defect) =>
    defect instanceof Migrator.MigrationError
      ? Effect.fail(new MigrationFailed({ migration: defect.message, message: String(defect.cause ?? defect.message) }))
      : Effect.die(defect)
  ),
  Effect.catchTags({
    MigrationError: (e) => Effect.fail(new MigrationFailed({ migration: "(migrator)", message: e.message })),
    SqlError: (e) => Effect.fail(new MigrationFailed({ migration: "(migrator)", message: String(e.cause ?? e.message) }))
  }),
  Effect.withSpan("Migrations.run")
)

/** The newest migration this build ships; the files do not change while it runs, so read once. */
const latestShipped = Effect.runSync(Effect.cached(Effect.map(listMigrations, (shipped) => shipped.at(-1)?.id ?? 0)))

/** Whether the database has every migration this build ships: for readiness. */
export const migrationsCurrent = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const latest = yield* latestShipped
  const rows = yield* sql<{ readonly id: number | null }>`
    SELECT max(migration_id) AS id FROM ${sql(MIGRATIONS_TABLE)}`
  return { latestApplied: rows[0]?.id ?? 0, latestShipped: latest }
})

/**
 * Forward-only SQL migrations from `migrations/`, run by the effect/sql migrator. The whole run
 * holds a PostgreSQL advisory lock: the stock migrator creates its bookkeeping table outside its
 * own lock, so instances booting together on an empty database would otherwise race.
 */
import { Data, Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { readdir, readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { errorText } from "./DatabaseErrors.js"

export const MIGRATIONS_DIRECTORY = fileURLToPath(new URL("../../../migrations", import.meta.url))
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

/**
 * The statements of a SQL file, in order. The driver speaks only PostgreSQL's extended protocol,
 * which takes one statement per query, so a file is cut at the semicolons that end statements:
 * not those inside quotes ('…', E'…', "…"), dollar quotes ($$…$$, $fn$…$fn$) or comments.
 */
export const splitStatements = (text: string): Array<string> => {
  const statements: Array<string> = []
  let start = 0
  let i = 0
  const skipPast = (terminator: string, from: number) => {
    const at = text.indexOf(terminator, from)
    return at < 0 ? text.length : at + terminator.length
  }
  while (i < text.length) {
    const c = text[i]
    if (c === "-" && text[i + 1] === "-") {
      i = skipPast("\n", i + 2)
    } else if (c === "/" && text[i + 1] === "*") {
      // Block comments nest in PostgreSQL.
      let depth = 1
      i += 2
      while (i < text.length && depth > 0) {
        if (text.startsWith("/*", i)) {
          depth++
          i += 2
        } else if (text.startsWith("*/", i)) {
          depth--
          i += 2
        } else {
          i++
        }
      }
    } else if (c === "'" || c === "\"") {
      // A doubled quote is an escaped one; an E'…' string also escapes with backslashes.
      const escapes = c === "'" && /[eE]/.test(text[i - 1] ?? "") && !/\w/.test(text[i - 2] ?? "")
      i++
      while (i < text.length) {
        if (escapes && text[i] === "\\") i += 2
        else if (text[i] === c && text[i + 1] === c) i += 2
        else if (text[i] === c) break
        else i++
      }
      i++
    } else if (c === "$") {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i))
      i = tag === null || /\w/.test(text[i - 1] ?? "") ? i + 1 : skipPast(tag[0], i + tag[0].length)
    } else if (c === ";") {
      statements.push(text.slice(start, i))
      i++
      start = i
    } else {
      i++
    }
  }
  statements.push(text.slice(start))
  // A piece with nothing but comments and blanks is no statement.
  return statements.filter((statement) => statement.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, "").trim().length > 0)
}

const loader: Migrator.Loader<SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const migrations = yield* listMigrations.pipe(
    Effect.mapError((e) => new Migrator.MigrationError({ kind: "Failed", message: e.message }))
  )
  return migrations.map(({ file, id, name }) =>
    [
      id,
      name,
      Effect.succeed(
        Effect.flatMap(
          Effect.promise(() => readFile(file, "utf8")),
          (text) =>
            // Each statement once: migrations are not worth a place in the prepared-statement cache.
            Effect.forEach(splitStatements(text), (statement) => sql.unsafe(statement).unprepared, { discard: true })
        )
      )
    ] as const
  )
})

const migrate = Migrator.make({})

/** What failed, in the driver's words where there are some. */
const migrationErrorText = (error: Migrator.MigrationError) =>
  error.cause === undefined ? error.message : `${error.message}: ${errorText({ cause: error.cause, message: "" })}`

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
  Effect.catchTags({
    MigrationError: (e) =>
      Effect.fail(new MigrationFailed({ migration: "(migrator)", message: migrationErrorText(e) })),
    SqlError: (e) => Effect.fail(new MigrationFailed({ migration: "(migrator)", message: errorText(e) }))
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

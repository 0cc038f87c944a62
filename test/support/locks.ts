/**
 * Holding a row lock from a test, to keep the service's statements provably waiting in
 * PostgreSQL, and counting what waits on it; plus a real-time pause for bounded polling.
 */
import { Effect } from "effect"
import pg from "pg"

/** A real-time pause: under TestClock, Effect.sleep would wait for the test to move the clock. */
export const pause = (millis: number) =>
  Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** A connection of the test's own (outside the service's pool), ended with the scope. */
export const ownConnection = (databaseUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

/** Opens a transaction on `client` and runs `statement` (with `values`) in it. */
const inOpenTransaction = (client: pg.Client, statement: string, values: Array<unknown> = []) =>
  Effect.promise(async () => {
    await client.query("BEGIN")
    await client.query(statement, values)
    return client
  })

/** A client holding the row of `table` with `id` FOR UPDATE in an open transaction; ended with the scope. */
export const holdRow = (databaseUrl: string, table: "task" | "user", id: string) =>
  Effect.flatMap(
    ownConnection(databaseUrl),
    (client) => inOpenTransaction(client, `SELECT id FROM "${table}" WHERE id = $1 FOR UPDATE`, [id])
  )

/**
 * A client holding `table` locked in ACCESS EXCLUSIVE mode (reads of it wait too) in an open
 * transaction, until `release` or the end of the scope.
 */
export const holdTable = (databaseUrl: string, table: "task" | "auth_session") =>
  Effect.flatMap(ownConnection(databaseUrl), (client) =>
    Effect.map(
      inOpenTransaction(client, `LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`),
      () => ({ client, release: Effect.promise(() => client.query("ROLLBACK")) })
    ))

/**
 * Statements of this database waiting on a lock. Read on the lock's own client, inside its
 * transaction, so the activity snapshot is cleared first (it is otherwise taken once per transaction).
 */
export const waitingOnLocks = (client: pg.Client) =>
  Effect.promise(async () => {
    await client.query("SELECT pg_stat_clear_snapshot()")
    const result = await client.query<{ readonly n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'`
    )
    return result.rows[0]?.n ?? 0
  })

/**
 * Polls `waitingOnLocks` (real time, bounded: 200 reads, `intervalMillis` apart) until `reached`
 * holds for the count; answers the last count seen.
 */
export const untilWaiting = (client: pg.Client, reached: (waiting: number) => boolean, intervalMillis = 25) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 200; attempt++) {
      const waiting = yield* waitingOnLocks(client)
      if (reached(waiting)) return waiting
      yield* pause(intervalMillis)
    }
    return yield* waitingOnLocks(client)
  })

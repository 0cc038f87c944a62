/**
 * Holding a row lock from a test, to keep the service's statements provably waiting in
 * PostgreSQL, and counting what waits on it; plus a real-time pause for bounded polling.
 */
import { Effect } from "effect"
import pg from "pg"

/** A real-time pause: under TestClock, Effect.sleep would wait for the test to move the clock. */
export const pause = (millis: number) =>
  Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** A client holding the row of `table` with `id` FOR UPDATE in an open transaction; ended with the scope. */
export const holdRow = (databaseUrl: string, table: "task" | "user", id: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query("BEGIN")
      await client.query(`SELECT id FROM "${table}" WHERE id = $1 FOR UPDATE`, [id])
      return client
    }),
    (client) => Effect.promise(() => client.end())
  )

/**
 * A client holding `table` locked in ACCESS EXCLUSIVE mode (reads of it wait too) in an open
 * transaction, until `release` or the end of the scope.
 */
export const holdTable = (databaseUrl: string, table: "task" | "auth_session") =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(async () => {
        const client = new pg.Client({ connectionString: databaseUrl })
        await client.connect()
        await client.query("BEGIN")
        await client.query(`LOCK TABLE "${table}" IN ACCESS EXCLUSIVE MODE`)
        return client
      }),
      (client) => Effect.promise(() => client.end())
    ),
    (client) => ({ client, release: Effect.promise(() => client.query("ROLLBACK")) })
  )

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

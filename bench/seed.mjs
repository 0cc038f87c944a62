/** The seeded data: the users, their accounts and tasks (set-based SQL), and the --large data set. */
import bcrypt from "bcryptjs"
import { randomUUID } from "node:crypto"
import pg from "pg"
import {
  BIG_USER_TASKS,
  CURSOR_USER_TASKS,
  EMAIL_DOMAIN,
  EMAIL_PREFIX,
  LARGE_EMAIL_PREFIX,
  LARGE_TASKS_PER_USER,
  LARGE_TOKEN_USERS,
  LARGE_USERS,
  PASSWORD,
  TASKS_PER_USER,
  USERS,
  WRITER_USERS
} from "./knobs.mjs"
import { log } from "./processes.mjs"

/**
 * The seeds' task insert: for each user `u` and number `g` that `from` binds, task 'Task <g>' with
 * this `description` (a constant), a priority, completion and a created_at distinct per task (so a
 * sorted page is deterministic).
 */
const insertTasks = (description, from) =>
  `INSERT INTO task (id, user_id, title, description, priority, is_completed, created_at, updated_at)
   SELECT gen_random_uuid()::text, u.id, 'Task ' || g, '${description}',
          (ARRAY['urgent_important','not_urgent_important',
                 'urgent_not_important','not_urgent_not_important'])[1 + g % 4],
          g % 3 = 0, now() - g * interval '1 second', now() - g * interval '1 second'
   FROM ${from}`

/**
 * 200 users × 50 tasks, one user with 5,000 (offset), one with 10,000 (cursor) and 64 writers with
 * none (the write rows' users), inserted with SQL; answers the users (regular ones, then big, then
 * cursor, then the writers) and the hash. Every user shares one bcrypt
 * hash at cost 12 (hashing 201 of them would take a minute and measure nothing). Ids are hyphenated
 * UUID strings, which the reference canonicalises user_id claims to.
 */
export const seed = async (databaseUrl) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const hash = await bcrypt.hash(PASSWORD, 12)
    const users = [
      ...Array.from(
        { length: USERS },
        (_, i) => ({ email: `${EMAIL_PREFIX}${i}${EMAIL_DOMAIN}`, tasks: TASKS_PER_USER })
      ),
      { email: `${EMAIL_PREFIX}big${EMAIL_DOMAIN}`, tasks: BIG_USER_TASKS },
      { email: `${EMAIL_PREFIX}cursor${EMAIL_DOMAIN}`, tasks: CURSOR_USER_TASKS },
      ...Array.from(
        { length: WRITER_USERS },
        (_, i) => ({ email: `${EMAIL_PREFIX}writer-${i}${EMAIL_DOMAIN}`, tasks: 0 })
      )
    ].map((u) => ({ id: randomUUID(), ...u }))
    await client.query("BEGIN")
    // Idempotent on a given DATABASE_URL: earlier bench users go (tasks and accounts cascade).
    await client.query(`DELETE FROM "user" WHERE email LIKE $1`, [`${EMAIL_PREFIX}%${EMAIL_DOMAIN}`])
    await client.query(
      `INSERT INTO "user" (id, email, email_verified, name)
       SELECT id, email, true, email FROM unnest($1::text[], $2::text[]) AS t(id, email)`,
      [users.map((u) => u.id), users.map((u) => u.email)]
    )
    await client.query(
      `INSERT INTO account (id, user_id, account_id, provider_id, password)
       SELECT gen_random_uuid()::text, id, id, 'credential', $2 FROM unnest($1::text[]) AS t(id)`,
      [users.map((u) => u.id), hash]
    )
    await client.query(
      insertTasks(
        "Seeded for the benchmark",
        "unnest($1::text[], $2::int[]) AS u(id, n), generate_series(1, u.n) AS g"
      ),
      [users.map((u) => u.id), users.map((u) => u.tasks)]
    )
    await client.query("COMMIT")
    await client.query("ANALYZE")
    return { users, hash }
  } finally {
    await client.end()
  }
}

/**
 * --large: 10,000 more users × 100 tasks (1M task rows) in a few set-based statements (users and
 * accounts in one, tasks in ten of 100,000 rows), then VACUUM ANALYZE. The users share the seed's hash.
 * When the role may (a superuser, as on the embedded server), triggers are off for this session:
 * the change-feed trigger would add a million task_change rows (and take a per-user advisory lock
 * per row) that the list endpoint never reads and that retention would have pruned in real life.
 * Answers { users (a spread of LARGE_TOKEN_USERS to sign in), seconds, triggers }.
 */
export const seedLarge = async (databaseUrl, hash) => {
  const started = Date.now()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    let triggers = "on (change feed written)"
    try {
      await client.query("SET session_replication_role = replica")
      triggers = "off (session_replication_role = replica)"
    } catch (error) {
      log(`  cannot turn triggers off (${error.message}): seeding with them`)
    }
    const emailOf = `'${LARGE_EMAIL_PREFIX}' || n || '${EMAIL_DOMAIN}'`
    await client.query("BEGIN")
    await client.query(
      `INSERT INTO "user" (id, email, email_verified, name)
       SELECT gen_random_uuid()::text, ${emailOf}, true, ${emailOf} FROM generate_series(0, $1::int - 1) AS n`,
      [LARGE_USERS]
    )
    await client.query(
      `INSERT INTO account (id, user_id, account_id, provider_id, password)
       SELECT gen_random_uuid()::text, u.id, u.id, 'credential', $2
       FROM generate_series(0, $1::int - 1) AS n JOIN "user" u ON u.email = ${emailOf}`,
      [LARGE_USERS, hash]
    )
    await client.query("COMMIT")
    const batch = 1000
    for (let from = 0; from < LARGE_USERS; from += batch) {
      await client.query(
        insertTasks(
          "Seeded for the 1M-row benchmark",
          `generate_series($1::int, $2::int - 1) AS n JOIN "user" u ON u.email = ${emailOf},
           generate_series(1, $3::int) AS g`
        ),
        [from, Math.min(from + batch, LARGE_USERS), LARGE_TASKS_PER_USER]
      )
    }
    await client.query("RESET session_replication_role")
    // VACUUM too, not only ANALYZE: a million fresh rows would otherwise start an autovacuum of
    // `task` in the middle of the measured runs (and every read would set hint bits first).
    await client.query("VACUUM (ANALYZE) task")
    await client.query(`ANALYZE "user"`)
    await client.query("ANALYZE account")
    const { rows } = await client.query(
      `SELECT u.id, u.email FROM generate_series(0, $1::int - 1) AS k
       JOIN "user" u ON u.email = '${LARGE_EMAIL_PREFIX}' || (k * ($2::int / $1::int)) || '${EMAIL_DOMAIN}' ORDER BY k`,
      [LARGE_TOKEN_USERS, LARGE_USERS]
    )
    const { rows: [{ n }] } = await client.query("SELECT count(*)::int AS n FROM task")
    return { users: rows, seconds: (Date.now() - started) / 1000, triggers, taskRows: n }
  } finally {
    await client.end()
  }
}

/** Up to `perUser` task ids of each given user, for the get-one scenario. */
export const taskIdsOf = async (databaseUrl, userIds, perUser = 10) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT user_id, id FROM (SELECT user_id, id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS r
       FROM task WHERE user_id = ANY($1)) t WHERE r <= $2`,
      [userIds, perUser]
    )
    return rows
  } finally {
    await client.end()
  }
}

/**
 * The delete rows' pool: tasks with ids a wrk script can name without being told them (see
 * `deleteScript` in load.mjs): for wrk thread t (1…threads) and its n-th request (1…perThread), the id
 * `<base>-<t>-4000-8000-<n>` in hex, owned by writer n mod writers. `base` tells one run's pool from
 * another's. Inserted with triggers off where the role may (as `seedLarge`): the pool's inserts are
 * not what is measured, its deletes (which write the change feed) are.
 */
export const seedDeletePool = async (databaseUrl, writerIds, base, threads, perThread) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query("SET session_replication_role = replica").catch(() => {})
    await client.query(
      `INSERT INTO task (id, user_id, title, description, priority, is_completed, created_at, updated_at)
       SELECT ${poolId("$1::int", "t", "n")}, ($4::text[])[1 + n % cardinality($4::text[])], 'Pool ' || n,
              'To be deleted under load', 'urgent_important', false, now(), now()
       FROM generate_series(1, $2::int) AS t, generate_series(1, $3::int) AS n`,
      [base, threads, perThread, writerIds]
    )
  } finally {
    await client.end()
  }
}

/** What a delete run left of its pool, removed (triggers off, as it was inserted). */
export const dropDeletePool = async (databaseUrl, writerIds, base) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query("SET session_replication_role = replica").catch(() => {})
    await client.query(
      `DELETE FROM task WHERE user_id = ANY($2::text[]) AND id LIKE lpad(to_hex($1::int), 8, '0') || '-%'`,
      [base, writerIds]
    )
  } finally {
    await client.end()
  }
}

/**
 * The writers back to none: their tasks and idempotency keys removed (triggers off, as the pools),
 * so that each of a series of runs starts from the same data; a user's keys are scanned on every
 * keyed create (IdempotencyRepo's opportunistic expiry), so they would make each run slower than the last.
 */
export const resetWriters = async (databaseUrl, writerIds) => {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query("SET session_replication_role = replica").catch(() => {})
    await client.query("DELETE FROM idempotency_key WHERE user_id = ANY($1::text[])", [writerIds])
    await client.query("DELETE FROM task WHERE user_id = ANY($1::text[])", [writerIds])
  } finally {
    await client.end()
  }
}

/** The SQL of a pool id; the same format as the wrk script's (load.mjs). */
const poolId = (base, thread, n) =>
  `lpad(to_hex(${base}), 8, '0') || '-' || lpad(to_hex(${thread}), 4, '0') || '-4000-8000-' ||
   lpad(to_hex(${n}), 12, '0')`

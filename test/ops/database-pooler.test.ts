/**
 * Behind a transaction-mode pooler (PgBouncer, Neon's `-pooler` endpoints) every transaction may
 * get another server connection, where a statement the driver prepared on an earlier one does not
 * exist: Database.ts turns prepared statements off there. A real PgBouncer (pool_mode=transaction,
 * fewer server connections than the service's pool) in front of the run's PostgreSQL shows both
 * modes.
 */
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import pg from "pg"
import { inject } from "vitest"
import { AppConfig, appConfigFrom } from "../../src/infra/platform/Config.js"
import { clientOptions, preparedStatements } from "../../src/infra/platform/Database.js"
import { errorText, sqlState } from "../../src/infra/platform/DatabaseErrors.js"
import { get, post, type Reply } from "../support/http.js"
import { type PgBouncer, pgBouncer } from "../support/pgbouncer.js"
import { withAdmin } from "../support/postgres.js"
import { suiteDatabase, TEST_JWT_SECRET, TestServer, TestService } from "../support/TestService.js"

/** PgBouncer's server connections per database: fewer than the service's DATABASE_POOL_MAX. */
const SERVER_CONNECTIONS = 3
const SERVICE_POOL = 10

class TestPgBouncer extends Context.Service<TestPgBouncer, PgBouncer>()("test/TestPgBouncer") {}

const PgBouncerLive = Layer.effect(TestPgBouncer, pgBouncer(inject("pgAdminUrl"), { poolSize: SERVER_CONNECTIONS }))

/** A fresh suite database, reached through PgBouncer; `query` is appended to its URL. */
const pooledDatabase = (query = "") =>
  Effect.gen(function*() {
    const bouncer = yield* TestPgBouncer
    const { name } = yield* suiteDatabase()
    return { name, url: `${bouncer.urlFor(name)}${query}` }
  })

/** The service in-process on its own database, through PgBouncer with `pgbouncer=true`. */
const ServiceBehindPgBouncer = Layer.unwrap(
  Effect.gen(function*() {
    const bouncer = yield* TestPgBouncer
    return TestService({
      env: { DATABASE_POOL_MAX: String(SERVICE_POOL) },
      database: pooledDatabase("?pgbouncer=true").pipe(Effect.provideService(TestPgBouncer, bouncer))
    })
  })
)

/** PgBouncer's admin console: the rows of `SHOW <what>` for `database`. */
const showFor = (what: "CLIENTS" | "SERVERS", database: string) =>
  Effect.gen(function*() {
    const bouncer = yield* TestPgBouncer
    return yield* Effect.promise(async () => {
      const client = new pg.Client({ connectionString: bouncer.urlFor("pgbouncer") })
      await client.connect()
      try {
        const result = await client.query<{ readonly database: string }>(`SHOW ${what}`)
        return result.rows.filter((row) => row.database === database)
      } finally {
        await client.end()
      }
    })
  })

/** The service's client settings for `url`: its defaults plus `env`. */
const serviceClientOptions = (url: string, env: Record<string, string> = {}) =>
  Effect.map(AppConfig, (config) => clientOptions(Redacted.make(url), config)).pipe(
    Effect.provide(appConfigFrom({ APP_ENV: "test", DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET, ...env }))
  )

/** The service's own client settings for `url` (its defaults plus `env`), as a pool of one connection. */
const serviceClient = (url: string, env: Record<string, string> = {}) =>
  Layer.unwrap(Effect.map(serviceClientOptions(url, { DATABASE_POOL_MAX: "1", ...env }), PgClient.layer))

/**
 * Makes sure the statement of `SELECT_TASK_COUNT` is parsed on one server connection only (a
 * pool of one client connection, so PgBouncer has opened a single server connection for the
 * database), then holds that server in a transaction of another client (PgBouncer reuses the
 * idle server last used), so the client's next transaction must run on a second server
 * connection, which has never seen the statement. Answers how that transaction ended.
 */
const SELECT_TASK_COUNT = "SELECT count(*)::int AS n FROM task"
const transactionOnAnotherServer = (
  { name, url }: { readonly name: string; readonly url: string },
  env: Record<string, string> = {}
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const count = sql.unsafe<{ readonly n: number }>(SELECT_TASK_COUNT)
    expect(yield* count).toEqual([{ n: 0 }])
    expect(yield* count).toEqual([{ n: 0 }])
    expect(yield* showFor("SERVERS", name)).toHaveLength(1)
    const holder = yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const direct = new URL(url)
        direct.search = ""
        const client = new pg.Client({ connectionString: direct.toString() })
        await client.connect()
        await client.query("BEGIN")
        await client.query("SELECT 1")
        return client
      }),
      (client) => Effect.promise(() => client.end())
    )
    const exit = yield* Effect.exit(sql.withTransaction(count))
    expect(yield* showFor("SERVERS", name)).toHaveLength(2)
    yield* Effect.promise(() => holder.query("COMMIT"))
    return exit
  }).pipe(Effect.provide(serviceClient(url, env)))

it.layer(PgBouncerLive, { timeout: "180 seconds" })("through PgBouncer in transaction mode", (it) => {
  it.layer(ServiceBehindPgBouncer, { timeout: "60 seconds" })("the service with pgbouncer=true", (it) => {
    it.effect("signs up, creates and lists tasks concurrently over fewer server connections: 0 errors", () =>
      Effect.gen(function*() {
        const users = 8
        const tasksEach = 12
        const failures: Array<string> = []
        const expectStatus = (what: string, expected: number) => (reply: Reply) => {
          if (reply.status !== expected) failures.push(`${what}: ${reply.status} ${reply.text}`)
          return reply
        }
        const counts = yield* Effect.forEach(
          Array.from({ length: users }, (_, i) => i),
          (i) =>
            Effect.gen(function*() {
              const signup = expectStatus("signup", 200)(
                yield* post("/api/v1/auth/signup", {
                  json: {
                    email: `pooled-${i}-${Date.now()}@example.com`,
                    password: "correct horse battery staple",
                    name: "p"
                  }
                })
              )
              const token: string = signup.body?.data?.token ?? ""
              yield* Effect.forEach(
                Array.from({ length: tasksEach }, (_, n) => n),
                (n) =>
                  Effect.all([
                    Effect.map(
                      post("/api/tasks", { token, json: { title: `task ${n}`, priority: "urgent_important" } }),
                      expectStatus("create", 201)
                    ),
                    Effect.map(get("/api/tasks", { token }), expectStatus("list", 200))
                  ], { concurrency: "unbounded" }),
                { concurrency: "unbounded", discard: true }
              )
              const listed = expectStatus("final list", 200)(yield* get("/api/tasks?limit=100", { token }))
              return listed.body?.data?.total_count
            }),
          { concurrency: "unbounded" }
        )
        expect(failures).toEqual([])
        expect(counts).toEqual(Array.from({ length: users }, () => tasksEach))

        // Many client connections of the service shared PgBouncer's few server connections.
        const database = new URL((yield* TestServer).databaseUrl).pathname.slice(1)
        const clients = yield* showFor("CLIENTS", database)
        const servers = yield* showFor("SERVERS", database)
        expect(servers.length).toBeGreaterThanOrEqual(2)
        expect(servers.length).toBeLessThanOrEqual(SERVER_CONNECTIONS)
        expect(clients.length).toBeGreaterThan(servers.length)
        // PostgreSQL saw only PgBouncer's server connections for this database.
        const backends = yield* Effect.promise(() =>
          withAdmin(inject("pgAdminUrl"), (c) =>
            c.query<{ readonly n: number }>(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
              [database]
            ))
        )
        expect(backends.rows[0]?.n).toBe(servers.length)
      }))
  })

  it.effect("prepared statements on: a transaction on another server connection fails (statement does not exist)", () =>
    Effect.gen(function*() {
      const database = yield* pooledDatabase()
      expect(preparedStatements(new URL(database.url), { databasePreparedStatements: true })).toBe(true)
      const exit = yield* transactionOnAnotherServer(database)
      const error = Exit.findErrorOption(exit)
      expect(Option.map(error, (e) => sqlState(e.reason.cause))).toEqual(Option.some("26000"))
      expect(Option.map(error, errorText)).toEqual(
        Option.some(expect.stringMatching(/^prepared statement "effect_\w+" does not exist$/))
      )
    }))

  it.effect(
    "prepared statements off (pgbouncer=true, or DATABASE_PREPARED_STATEMENTS=false): the same transaction succeeds",
    () =>
      Effect.gen(function*() {
        const viaUrl = yield* pooledDatabase("?pgbouncer=true")
        expect(Exit.isSuccess(yield* transactionOnAnotherServer(viaUrl))).toBe(true)
        const viaFlag = yield* pooledDatabase()
        expect(Exit.isSuccess(yield* transactionOnAnotherServer(viaFlag, { DATABASE_PREPARED_STATEMENTS: "false" })))
          .toBe(true)
      })
  )
})

describe("preparedStatements", () => {
  const on = { databasePreparedStatements: true }
  const off = { databasePreparedStatements: false }
  const decide = (url: string, config = on) => preparedStatements(new URL(url), config)

  it("off for Neon -pooler hosts, pgbouncer=true URLs and DATABASE_PREPARED_STATEMENTS=false", () => {
    expect(decide("postgres://u:p@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require"))
      .toBe(false)
    expect(decide("postgres://u:p@db-pooler/tasks")).toBe(false)
    expect(decide("postgres://u:p@127.0.0.1:6432/tasks?pgbouncer=true")).toBe(false)
    expect(decide("postgres://u:p@db.example.com/tasks?sslmode=require&pgbouncer=true")).toBe(false)
    expect(decide("postgres://u:p@db.example.com/tasks", off)).toBe(false)
    expect(decide("postgres://u:p@127.0.0.1:5432/tasks", off)).toBe(false)
  })

  it("on otherwise", () => {
    expect(decide("postgres://u:p@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require")).toBe(true)
    expect(decide("postgres://u:p@127.0.0.1:5432/tasks")).toBe(true)
    // Only the first host label names Neon's pooler; pgbouncer must be exactly "true".
    expect(decide("postgres://u:p@db.poolers-pooler.example.com/tasks")).toBe(true)
    expect(decide("postgres://u:p@127.0.0.1:6432/tasks?pgbouncer=false")).toBe(true)
  })

  it.effect("clientOptions passes the decision as `prepare` and keeps `pgbouncer` from the driver", () =>
    Effect.gen(function*() {
      const pooled = yield* serviceClientOptions("postgres://u:p@127.0.0.1:6432/tasks?pgbouncer=true")
      expect(pooled.prepare).toBe(false)
      expect(pooled.url === undefined ? "" : Redacted.value(pooled.url)).toBe("postgres://u:p@127.0.0.1:6432/tasks")
      expect((yield* serviceClientOptions("postgres://u:p@127.0.0.1:5432/tasks")).prepare).toBe(true)
      const flagged = yield* serviceClientOptions("postgres://u:p@127.0.0.1:5432/tasks", {
        DATABASE_PREPARED_STATEMENTS: "false"
      })
      expect(flagged.prepare).toBe(false)
    }))
})

/**
 * Adopting the old FastAPI backend's database: the service boots on it, migrates it additively,
 * and every legacy user, password hash and task keeps working.
 */
import { PgClient } from "@effect/sql-pg"
import { expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { readFile } from "node:fs/promises"
import pg from "pg"
import { runMigrations } from "../../src/infra/platform/Migrations.js"
import { signin } from "../auth/sessions-helpers.js"
import { del, get, post } from "../support/http.js"
import { suiteDatabase, TestServer, TestService } from "../support/TestService.js"

const ALICE = "3f1e2d4c5b6a79808f9e0d1c2b3a4958"
const BOB = "a0b1c2d3e4f5061728394a5b6c7d8e9f"
const DAVE = "d1d2d3d4d5d6d7d8d9dadbdcdddedfe0"
const ALICE_TASKS = {
  "6a1d3e52-6f0b-4c36-9a43-0f0f1b7c2a11": "File taxes",
  "7b2e4f63-7a1c-4d47-8b54-1a1a2c8d3b22": "Plan the offsite",
  "8c3f5a74-8b2d-4e58-9c65-2b2b3d9e4c33": "Answer vendor mail"
}
const BOB_TASK = "9d4a6b85-9c3e-4f69-8d76-3c3c4eaf5d44"

/** An empty database holding exactly what the old backend left (test/fixtures/legacy-schema.sql). */
const legacyDatabase = Effect.tap(suiteDatabase("template0"), (db) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      await client.query(await readFile(new URL("../fixtures/legacy-schema.sql", import.meta.url), "utf8"))
    } finally {
      await client.end()
    }
  }))

const storedHash = (email: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly password: string }>`
      SELECT a.password FROM account a JOIN "user" u ON u.id = a.user_id
      WHERE u.email = ${email} AND a.provider_id = 'credential'`
    expect(rows).toHaveLength(1)
    return rows[0]!.password
  })

const jwtClaims = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"))

/** Every row of every table in `public`, as JSON: a fingerprint of the data. */
const snapshot = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ readonly name: string }>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`
  const result: Record<string, unknown> = {}
  for (const { name } of tables) {
    const rows = yield* sql<{ readonly rows: unknown }>`
      SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]'::jsonb) AS rows FROM ${sql(name)} t`
    result[name] = rows[0]!.rows
  }
  return result
})

it.layer(TestService({ database: legacyDatabase, env: { BCRYPT_COST: "11" } }))(
  "adopting the old backend's database",
  (it) => {
    it.effect("boots and migrates additively: bookkeeping rows, new tables, legacy rows kept", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const migrations = yield* sql<{ readonly migration_id: number }>`
          SELECT migration_id FROM effect_sql_migrations ORDER BY migration_id`
        expect(migrations.length).toBeGreaterThan(0)
        expect(migrations[0]!.migration_id).toBe(1)
        const tables = yield* sql<{ readonly name: string }>`
          SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`
        expect(tables.map((t) => t.name)).toEqual(
          expect.arrayContaining(["auth_session", "user", "account", "session", "task", "verification"])
        )
        const counts = yield* sql<{ readonly users: number; readonly tasks: number; readonly sessions: number }>`
          SELECT (SELECT count(*)::int FROM "user") AS users, (SELECT count(*)::int FROM task) AS tasks,
                 (SELECT count(*)::int FROM session) AS sessions`
        expect(counts[0]).toEqual({ users: 4, tasks: 4, sessions: 1 })
        const ready = yield* get("/health/ready")
        expect(ready.status).toBe(200)
      }))

    it.effect("alice (bcrypt cost 12 ≥ 11) signs in, keeps her id, and her hash is not rewritten", () =>
      Effect.gen(function*() {
        const before = yield* storedHash("alice@example.com")
        const reply = yield* signin("alice@example.com", "Correct-Horse-42")
        expect(reply.status).toBe(200)
        expect(reply.body.data.user_id).toBe(ALICE)
        const claims = jwtClaims(reply.body.data.token)
        expect(claims.sub).toBe(ALICE)
        expect(claims.user_id).toBe(ALICE)
        expect(yield* storedHash("alice@example.com")).toBe(before)
        const me = yield* get("/api/v1/auth/me", { token: reply.body.data.token })
        expect(me.status).toBe(200)
        expect(me.body).toMatchObject({ id: ALICE, email: "alice@example.com", name: "Alice", email_verified: true })
      }))

    it.effect("bob's legacy salt:sha256 hash signs him in once and is replaced by bcrypt", () =>
      Effect.gen(function*() {
        expect(yield* storedHash("bob@example.com")).toMatch(/^[0-9a-f]+:[0-9a-f]{64}$/)
        const wrong = yield* signin("bob@example.com", "Legacy-Pass-8")
        expect(wrong.status).toBe(401)
        const first = yield* signin("bob@example.com", "Legacy-Pass-7")
        expect(first.status).toBe(200)
        expect(first.body.data.user_id).toBe(BOB)
        const rehashed = yield* storedHash("bob@example.com")
        expect(rehashed.startsWith("$2")).toBe(true)
        expect(rehashed).toMatch(/^\$2[ab]\$11\$/)
        const second = yield* signin("bob@example.com", "Legacy-Pass-7")
        expect(second.status).toBe(200)
        expect(yield* storedHash("bob@example.com")).toBe(rehashed)
      }))

    it.effect("carol is banned: 403 Account is banned", () =>
      Effect.gen(function*() {
        const reply = yield* signin("carol@example.com", "Banned-User-99")
        expect(reply.status).toBe(403)
        expect(reply.body.detail).toBe("Account is banned")
        expect(reply.body.data).toBeUndefined()
      }))

    it.effect("dave's cost-10 bcrypt hash is re-hashed at the configured cost 11; his role is kept", () =>
      Effect.gen(function*() {
        expect(yield* storedHash("dave@example.com")).toMatch(/^\$2[ab]\$10\$/)
        const reply = yield* signin("dave@example.com", "Low-Cost-Hash-3")
        expect(reply.status).toBe(200)
        expect(reply.body.data.user_id).toBe(DAVE)
        expect(yield* storedHash("dave@example.com")).toMatch(/^\$2[ab]\$11\$/)
        const info = yield* get("/api/v1/auth/token-info", { token: reply.body.data.token })
        expect(info.status).toBe(200)
        expect(info.body).toMatchObject({ user_id: DAVE, email: "dave@example.com", role: "admin" })
      }))

    it.effect("legacy tasks: alice sees her 3 intact, bob only his, and neither sees the other's", () =>
      Effect.gen(function*() {
        const alice = (yield* signin("alice@example.com", "Correct-Horse-42")).body.data.token as string
        const list = yield* get("/api/tasks", { token: alice })
        expect(list.status).toBe(200)
        expect(list.body.data.total_count).toBe(3)
        const tasks = list.body.data.tasks as Array<Record<string, unknown>>
        expect(Object.fromEntries(tasks.map((t) => [t.id, t.title]))).toEqual(ALICE_TASKS)
        for (const task of tasks) expect(task.user_id).toBe(ALICE)
        const vendor = tasks.find((t) => t.id === "8c3f5a74-8b2d-4e58-9c65-2b2b3d9e4c33")
        expect(vendor).toMatchObject({ description: "Ünïcödé ✓ and 'quotes'", priority: "urgent_not_important" })
        const taxes = tasks.find((t) => t.id === "6a1d3e52-6f0b-4c36-9a43-0f0f1b7c2a11")
        expect(taxes).toMatchObject({
          description: "Before the deadline",
          due_datetime: "2026-04-15T17:00:00.000Z",
          priority: "urgent_important",
          is_completed: false,
          created_at: "2026-01-14T08:00:00.000Z"
        })

        const one = yield* get("/api/tasks/7b2e4f63-7a1c-4d47-8b54-1a1a2c8d3b22", { token: alice })
        expect(one.status).toBe(200)
        expect(one.body.data).toMatchObject({
          id: "7b2e4f63-7a1c-4d47-8b54-1a1a2c8d3b22",
          user_id: ALICE,
          title: "Plan the offsite",
          description: null,
          due_datetime: null,
          is_completed: true,
          updated_at: "2026-01-16T08:00:00.000Z"
        })
        expect((yield* get(`/api/tasks/${BOB_TASK}`, { token: alice })).status).toBe(404)

        const bob = (yield* signin("bob@example.com", "Legacy-Pass-7")).body.data.token as string
        const bobs = yield* get("/api/tasks", { token: bob })
        expect(bobs.status).toBe(200)
        expect(bobs.body.data.total_count).toBe(1)
        expect(bobs.body.data.tasks.map((t: { id: string }) => t.id)).toEqual([BOB_TASK])
        expect(bobs.body.data.tasks[0]).toMatchObject({ user_id: BOB, title: "Clean the garage" })
        expect((yield* get("/api/tasks/6a1d3e52-6f0b-4c36-9a43-0f0f1b7c2a11", { token: bob })).status).toBe(404)
      }))

    it.effect("a task created by a legacy user is stored under the 32-hex-digit user id", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const alice = (yield* signin("alice@example.com", "Correct-Horse-42")).body.data.token as string
        const created = yield* post("/api/tasks", {
          token: alice,
          json: { title: "New after adoption", priority: "not_urgent_not_important" }
        })
        expect(created.status).toBe(201)
        expect(created.body.data.user_id).toBe(ALICE)
        const rows = yield* sql<
          { readonly user_id: string }
        >`SELECT user_id FROM task WHERE id = ${created.body.data.id}`
        expect(rows).toEqual([{ user_id: ALICE }])
        const sessions = yield* sql<{ readonly n: number }>`
          SELECT count(*)::int AS n FROM auth_session WHERE user_id = ${ALICE}`
        expect(sessions[0]!.n).toBeGreaterThan(0)
        expect((yield* del(`/api/tasks/${created.body.data.id}`, { token: alice })).status).toBe(204)
      }))

    it.effect("the old Better-Auth session token lets nobody in", () =>
      Effect.gen(function*() {
        for (const path of ["/api/v1/auth/me", "/api/tasks"]) {
          const reply = yield* get(path, { token: "legacy-opaque-session-token" })
          expect(reply.status).toBe(401)
          expect(reply.body).toMatchObject({ detail: "Could not validate credentials" })
          expect(reply.headers.get("www-authenticate")).toContain("invalid_token")
        }
      }))

    it.effect("running the migrations again on the adopted database applies nothing and changes no row", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestServer
        const before = yield* snapshot
        expect(Object.keys(before)).toContain("effect_sql_migrations")
        const applied = yield* runMigrations.pipe(
          Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl) }))
        )
        expect(applied).toEqual([])
        expect(yield* snapshot).toEqual(before)
      }))
  }
)

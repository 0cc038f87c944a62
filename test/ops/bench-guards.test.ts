/**
 * BENCH_GUARDS_OFF, the bench-only switch behind the per-guard cost budget (`npm run bench --
 * --budget`): how it is read, that production refuses it without BENCH_GUARDS_OFF_ACK, that the boot
 * line names the guards switched off, and that each switch takes its piece's work away while the
 * client still gets the same answers.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { describe } from "vitest"
import { Envelope } from "../../src/domain/Envelope.js"
import { Task, TaskPage } from "../../src/domain/tasks/Task.js"
import { BENCH_GUARDS, loadConfig, readEnvironment } from "../../src/infra/platform/Config.js"
import { freePort } from "../../src/infra/platform/FreePort.js"
import { expectAccepted, newUser, serviceWith } from "../auth/sessions-helpers.js"
import { get, post, put, signup } from "../support/http.js"
import { settleOutput, spawnService, waitForStatus } from "../support/serviceProcess.js"
import { suiteDatabase, TestServer } from "../support/TestService.js"

const SECRET = "a-valid-signing-secret-of-more-than-32-bytes"
const ALL_OFF = BENCH_GUARDS.join(",")

describe("reading BENCH_GUARDS_OFF", () => {
  const load = (variables: Record<string, string>) => loadConfig(readEnvironment(variables, "/nonexistent"))
  const problemsOf = (variables: Record<string, string>) =>
    Effect.map(Effect.flip(load(variables)), (error) => error.problems)
  const base = { APP_ENV: "test", JWT_SECRET: SECRET }
  const production = {
    APP_ENV: "production",
    DATABASE_URL: "postgres://app:pw@db.example.com/tasks",
    JWT_SECRET: SECRET
  }

  it.effect("nothing is off unless listed; `none` lists nothing; names are trimmed and in any case", () =>
    Effect.gen(function*() {
      expect([...(yield* load(base)).benchGuardsOff]).toEqual([])
      expect([...(yield* load({ ...base, BENCH_GUARDS_OFF: "none" })).benchGuardsOff]).toEqual([])
      const off = (yield* load({ ...base, BENCH_GUARDS_OFF: " metrics, SPANS ,session-check" })).benchGuardsOff
      expect([...off].sort()).toEqual(["metrics", "session-check", "spans"])
      expect((yield* load({ ...base, BENCH_GUARDS_OFF: ALL_OFF })).benchGuardsOff.size).toBe(BENCH_GUARDS.length)
    }))

  it.effect("an unknown name is a configuration problem that lists the known ones", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({ ...base, BENCH_GUARDS_OFF: "metrics,auth" })
      expect(problems).toEqual([{
        variable: "BENCH_GUARDS_OFF",
        problem: `expected one or more of none, ${BENCH_GUARDS.join(", ")}, separated by commas`,
        received: "metrics,auth"
      }])
    }))

  it.effect("production refuses guards switched off, unless BENCH_GUARDS_OFF_ACK=benchmark-only", () =>
    Effect.gen(function*() {
      expect(yield* problemsOf({ ...production, BENCH_GUARDS_OFF: "cors" })).toEqual([{
        variable: "BENCH_GUARDS_OFF",
        problem: "bench-only: refused in production unless BENCH_GUARDS_OFF_ACK=benchmark-only"
      }])
      // A wrong acknowledgement is no acknowledgement, and is a problem of its own.
      const wrong = yield* problemsOf({ ...production, BENCH_GUARDS_OFF: "cors", BENCH_GUARDS_OFF_ACK: "yes" })
      expect(wrong.map((p) => p.variable).sort()).toEqual(["BENCH_GUARDS_OFF", "BENCH_GUARDS_OFF_ACK"])
      const acknowledged = yield* load({
        ...production,
        BENCH_GUARDS_OFF: "cors",
        BENCH_GUARDS_OFF_ACK: "benchmark-only"
      })
      expect([...acknowledged.benchGuardsOff]).toEqual(["cors"])
      // Nothing off needs no acknowledgement.
      expect((yield* load({ ...production, BENCH_GUARDS_OFF: "none" })).benchGuardsOff.size).toBe(0)
    }))
})

describe("the built service", () => {
  it.live(
    "in production, BENCH_GUARDS_OFF without the acknowledgement exits 78 before anything starts",
    () =>
      Effect.gen(function*() {
        const service = yield* spawnService({
          APP_ENV: "production",
          // Never reached: the configuration is refused first.
          DATABASE_URL: "postgres://nobody@127.0.0.1:1/x",
          BENCH_GUARDS_OFF: "spans,deadline"
        })
        expect(yield* service.exited).toEqual({ code: 78, signal: null })
        const diagnostic = JSON.parse(service.output().trim())
        expect(diagnostic).toMatchObject({ level: "fatal", event: "config_invalid" })
        expect(diagnostic.errors.map((e: { variable: string }) => e.variable)).toEqual(["BENCH_GUARDS_OFF"])
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "names the guards off in its boot line; metrics, spans and the edge's headers are gone",
    () =>
      Effect.gen(function*() {
        const database = yield* suiteDatabase()
        const metricsPort = yield* Effect.promise(freePort)
        const service = yield* spawnService({
          DATABASE_URL: database.url,
          LOG_LEVEL: "info",
          LOG_FORMAT: "json",
          OTEL_METRICS_EXPORTER: "prometheus",
          OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
          BENCH_GUARDS_OFF: "metrics,spans,cors"
        })
        yield* waitForStatus(service, "/health/ready", 200)
        const lines = () =>
          service.output().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line))
        const boot = lines().find((line) => line.event === "service.starting")
        expect(boot).toMatchObject({ level: "warn", bench_guards_off: "metrics,spans,cors" })

        const reply = yield* Effect.gen(function*() {
          const user = yield* signup("guards-off")
          return yield* get("/api/tasks", { token: user.token, headers: { origin: "http://localhost:3000" } })
        }).pipe(Effect.provideService(TestServer, { baseUrl: service.baseUrl, databaseUrl: database.url }))
        expect(reply.status).toBe(200)
        expect(reply.headers.get("x-request-id")).not.toBeNull()
        for (
          const name of ["access-control-allow-origin", "x-content-type-options", "referrer-policy", "cache-control"]
        ) {
          expect(reply.headers.get(name), name).toBeNull()
        }
        const accessLine = () => lines().find((line) => line.event === "http.request" && line.route === "/api/tasks")
        yield* settleOutput(() => accessLine() !== undefined)
        expect(accessLine()).toBeDefined()
        expect(accessLine()).not.toHaveProperty("trace_id")
        const metrics = yield* Effect.promise(() =>
          fetch(`http://localhost:${metricsPort}/metrics`).then((response) => response.text())
        )
        expect(metrics).not.toContain("http_server_request_duration")
      }).pipe(Effect.scoped),
    90_000
  )
})

const encodedTask = Schema.toCodecJson(Envelope(Task))
const encodedPage = Schema.toCodecJson(Envelope(TaskPage))
/** What the endpoint's schema writes for a body: decoded and encoded again, it must not change. */
const reencoded = <S extends Schema.Codec<unknown, unknown>>(schema: S, body: unknown) =>
  Schema.encodeUnknownSync(schema)(Schema.decodeUnknownSync(schema)(body))

it.layer(serviceWith({ BENCH_GUARDS_OFF: ALL_OFF }))("every guard BENCH_GUARDS_OFF knows, off", (it) => {
  it.effect("task answers written without their schema are the JSON the schema writes, with the same statuses", () =>
    Effect.gen(function*() {
      const user = yield* newUser("guards-encoding")
      const token = user.pair.token
      const created = yield* post("/api/tasks", {
        token,
        json: { title: "Unencoded", description: null, priority: "urgent_important", due_datetime: "2030-01-02T03:04" }
      })
      expect(created.status, created.text).toBe(201)
      expect(created.headers.get("content-type")).toMatch(/^application\/json/)
      expect(created.body).toEqual(reencoded(encodedTask, created.body))
      const id = created.body.data.id
      const read = yield* get(`/api/tasks/${id}`, { token })
      expect(read.status).toBe(200)
      expect(read.body).toEqual(created.body)
      const updated = yield* put(`/api/tasks/${id}`, { token, json: { is_completed: true } })
      expect(updated.status).toBe(200)
      expect(updated.body).toEqual(reencoded(encodedTask, updated.body))
      const page = yield* get("/api/tasks?limit=10", { token })
      expect(page.status).toBe(200)
      expect(page.body).toEqual(reencoded(encodedPage, page.body))
      expect(page.body.data.tasks).toEqual([updated.body.data])
    }))

  it.effect("an Idempotency-Key is ignored: each request creates its own task", () =>
    Effect.gen(function*() {
      const user = yield* newUser("guards-idempotency")
      const body = { title: "Twice", priority: "urgent_important" }
      const headers = { "idempotency-key": "same-key" }
      const first = yield* post("/api/tasks", { token: user.pair.token, json: body, headers })
      const second = yield* post("/api/tasks", { token: user.pair.token, json: body, headers })
      expect([first.status, second.status]).toEqual([201, 201])
      expect(second.body.data.id).not.toBe(first.body.data.id)
    }))

  it.effect("a passed token check is trusted for the token's life: its session is not read again", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const user = yield* newUser("guards-session")
      yield* expectAccepted(user.pair.token, user.userId)
      // Ended elsewhere (sessions-check-interval.test.ts: refused 5 s later with the check on).
      yield* sql`UPDATE auth_session SET revoked_at = now() WHERE id = ${user.pair.sessionId}`
      yield* TestClock.adjust("60 seconds")
      yield* expectAccepted(user.pair.token, user.userId)
    }))
})

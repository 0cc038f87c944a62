/**
 * Database outage while serving (operations.md, "Shutdown and faults"): with PostgreSQL down,
 * everything that needs it answers 503 `database_unavailable` (never a 500, and not by waiting out
 * REQUEST_TIMEOUT), readiness fails on its database check, liveness stays 200; once PostgreSQL is
 * back the same process serves again, without a restart.
 *
 * The run's shared PostgreSQL must stay up for the other suites, so this suite stops and restarts
 * a server of its own. The built service runs as a child process on an empty database there (it
 * migrates at boot), with a real clock.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { del, get, post, put, type Reply, request } from "../support/http.js"
import { ownPostgres } from "../support/ownPostgres.js"
import { createDatabase } from "../support/postgres.js"
import { readyService, waitForStatus } from "../support/serviceProcess.js"
import { TestServer } from "../support/TestService.js"

const UNAVAILABLE = { detail: "Service temporarily unavailable", error_code: "database_unavailable" }

/** Well above what a refused connection takes: a 503 that waited this long would say `request_timeout`. */
const REQUEST_TIMEOUT = "15s"

const describeReply = (what: string, reply: Reply) => `${what}: ${reply.status} ${reply.text}`

it.live(
  "PostgreSQL down: 503 database_unavailable, readiness 503, liveness 200; back up: served again by the same process",
  () =>
    Effect.gen(function*() {
      const postgres = yield* ownPostgres
      const database = yield* Effect.promise(() => createDatabase(postgres.adminUrl, "template0"))
      const service = yield* readyService({
        DATABASE_URL: database.url,
        REQUEST_TIMEOUT,
        // Every request reads its session: each endpoint below then needs the database, as asserted.
        SESSION_CHECK_INTERVAL: "0"
      })
      const onService = <A, E>(effect: Effect.Effect<A, E, TestServer>) =>
        Effect.provideService(effect, TestServer, { baseUrl: service.baseUrl, databaseUrl: database.url })

      // Up: an account, a session and a task to ask for later.
      const signup = yield* onService(
        post("/api/v1/auth/signup", { json: { email: "outage@example.com", password: "correct horse battery staple" } })
      )
      expect(signup.status, describeReply("signup", signup)).toBe(200)
      const { token, refresh_token } = signup.body.data as { token: string; refresh_token: string }
      const created = yield* onService(
        post("/api/tasks", { token, json: { title: "before", priority: "urgent_important" } })
      )
      expect(created.status, describeReply("create", created)).toBe(201)
      const taskId = created.body.data.id as string

      yield* postgres.stop

      const needDatabase: ReadonlyArray<readonly [string, Effect.Effect<Reply, never, TestServer>]> = [
        ["list tasks", get("/api/tasks", { token })],
        ["get task", get(`/api/tasks/${taskId}`, { token })],
        ["create task", post("/api/tasks", { token, json: { title: "during", priority: "urgent_important" } })],
        [
          "create task, idempotent",
          post("/api/tasks", {
            token,
            json: { title: "during", priority: "urgent_important" },
            headers: { "idempotency-key": "outage-1" }
          })
        ],
        ["update task", put(`/api/tasks/${taskId}`, { token, json: { title: "during" } })],
        ["complete task", request("PATCH", `/api/tasks/${taskId}/complete`, { token, json: { completed: true } })],
        ["delete task", del(`/api/tasks/${taskId}`, { token })],
        ["me", get("/api/v1/auth/me", { token })],
        ["sessions", get("/api/v1/auth/sessions", { token })],
        [
          "signin",
          post("/api/v1/auth/signin", {
            json: { email: "outage@example.com", password: "correct horse battery staple" }
          })
        ],
        [
          "signup",
          post("/api/v1/auth/signup", {
            json: { email: "other@example.com", password: "correct horse battery staple" }
          })
        ],
        ["refresh", post("/api/v1/auth/refresh", { json: { refresh_token } })],
        ["logout", post("/api/v1/auth/logout", { token })]
      ]
      for (const [what, call] of needDatabase) {
        const reply = yield* onService(call)
        expect(reply.status, describeReply(what, reply)).toBe(503)
        expect(reply.body, describeReply(what, reply)).toEqual(UNAVAILABLE)
      }

      const ready = yield* onService(get("/health/ready"))
      expect(ready.status, describeReply("ready", ready)).toBe(503)
      expect(ready.body.status).toBe("fail")
      expect(ready.body.checks["database:responseTime"][0].status).toBe("fail")
      const live = yield* onService(get("/health/live"))
      expect(live.status, describeReply("live", live)).toBe(200)
      expect(live.body).toEqual({ status: "pass" })
      expect((yield* onService(get("/health"))).status).toBe(200)

      yield* postgres.start
      // PostgreSQL takes a moment to accept connections again: a bounded wait on recovery.
      yield* waitForStatus(service, "/health/ready", 200, "30 seconds")

      const list = yield* onService(get("/api/tasks", { token }))
      expect(list.status, describeReply("list after", list)).toBe(200)
      expect(list.body.data.tasks.map((t: { id: string }) => t.id)).toEqual([taskId])
      const after = yield* onService(
        post("/api/tasks", { token, json: { title: "after", priority: "urgent_important" } })
      )
      expect(after.status, describeReply("create after", after)).toBe(201)
      const signin = yield* onService(
        post("/api/v1/auth/signin", { json: { email: "outage@example.com", password: "correct horse battery staple" } })
      )
      expect(signin.status, describeReply("signin after", signin)).toBe(200)
      // The same process all along: it never exited.
      expect(service.child.exitCode, service.output()).toBeNull()
      expect(service.child.signalCode).toBeNull()
    }),
  120_000
)

/**
 * REQUEST_TIMEOUT (security.md, "Everything else"): a request still running when it expires answers
 * `503 {"detail":"Service temporarily unavailable","error_code":"request_timeout"}`, and its work is
 * abandoned (the SQL statement cancelled, nothing written). And readiness once shutdown has begun.
 *
 * In-process, on TestClock: the timeout fires when the test moves the clock, while the request is
 * provably pending — its UPDATE waits on a row the test holds `FOR UPDATE`. The statement timeout
 * is raised so that PostgreSQL does not cancel the wait first (it runs on the real clock).
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Lifecycle } from "../../src/http/edge/Lifecycle.js"
import { get, post, put, signup } from "../support/http.js"
import { holdRow, untilWaiting } from "../support/locks.js"
import { TestServer, TestService } from "../support/TestService.js"

const REQUEST_TIMEOUT = "5 seconds"

it.layer(TestService({ env: { REQUEST_TIMEOUT: "5s", DATABASE_STATEMENT_TIMEOUT: "60s" } }))(
  "request lifecycle",
  (it) => {
    it.effect("a request pending past REQUEST_TIMEOUT answers 503 request_timeout and writes nothing", () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestServer
        const user = yield* signup("timeout")
        const created = yield* post("/api/tasks", {
          token: user.token,
          json: { title: "original", priority: "urgent_important" }
        })
        expect(created.status).toBe(201)
        const taskId = created.body.data.id as string

        const lock = yield* holdRow(databaseUrl, "task", taskId)
        const pending = yield* Effect.forkChild(
          put(`/api/tasks/${taskId}`, { token: user.token, json: { title: "too late" } })
        )
        expect(yield* untilWaiting(lock, (n) => n === 1)).toBe(1) // the UPDATE is in PostgreSQL, behind our lock

        yield* TestClock.adjust(REQUEST_TIMEOUT)
        const reply = yield* Fiber.join(pending)
        expect(reply.status, reply.text).toBe(503)
        expect(reply.body).toEqual({ detail: "Service temporarily unavailable", error_code: "request_timeout" })
        expect(reply.headers.get("x-request-id")).toBeTruthy() // the edge still dressed the response

        // The abandoned UPDATE was cancelled, not left to apply once the lock goes.
        expect(yield* untilWaiting(lock, (n) => n === 0)).toBe(0)
        yield* Effect.promise(() => lock.query("COMMIT"))
        const row = yield* Effect.promise(() =>
          lock.query<{ title: string }>("SELECT title FROM task WHERE id = $1", [taskId])
        )
        expect(row.rows).toEqual([{ title: "original" }])

        // And the service is none the worse: its connection went back to the pool.
        const after = yield* get(`/api/tasks/${taskId}`, { token: user.token })
        expect(after.status).toBe(200)
        expect(after.body.data.title).toBe("original")
      }))

    // Last in this block: it puts the suite's service into shutdown for good.
    it.effect(
      "once shutdown has begun, readiness answers 503 with a failing shutdown check at once; liveness stays 200",
      () =>
        Effect.gen(function*() {
          expect((yield* get("/health/ready")).status).toBe(200)
          const lifecycle = yield* Lifecycle
          yield* lifecycle.beginShutdown
          const ready = yield* get("/health/ready")
          expect(ready.status).toBe(503)
          expect(ready.headers.get("content-type")).toContain("application/health+json")
          expect(ready.body).toMatchObject({ status: "fail", checks: { shutdown: [{ status: "fail" }] } })
          const live = yield* get("/health/live")
          expect(live.status).toBe(200)
          expect(live.body).toEqual({ status: "pass" })
        })
    )
  }
)

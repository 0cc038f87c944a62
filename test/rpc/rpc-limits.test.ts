/**
 * `POST /rpc` under pressure, through the shipped client: the per-user API rate limit (one budget
 * with REST), a database that does not answer in time, answers that are not RPC at all, and a bug.
 */
import { expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result, Schema, Stream } from "effect"
import { FetchHttpClient } from "effect/http"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { makeTasksRpcClient, TaskFeedEvent } from "../../src/client/index.js"
import { get } from "../support/http.js"
import { clientUser, TestServer, TestServiceWithClients, TestUser } from "../support/TestService.js"
import { failure, subscribe } from "./rpc-helpers.js"

const RATE_LIMITED = { detail: "Too many requests", error_code: "rate_limited" }
const UNAVAILABLE = { detail: "Service temporarily unavailable", error_code: "database_unavailable" }

it.layer(
  TestServiceWithClients({ env: { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_API_PER_USER: "4/1m" } })
)("RPC per-user rate limit", (it) => {
  it.effect("REST and RPC calls share one budget per user; the next is RateLimited until the window passes", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      expect((yield* get("/api/tasks", { token })).status).toBe(200)
      yield* rpc.ListTasks({})
      expect((yield* get("/api/v1/auth/me", { token })).status).toBe(200)
      yield* rpc.CurrentUser()

      expect(yield* failure(rpc.ListTasks({}), "RateLimited")).toMatchObject(RATE_LIMITED)
      expect(yield* failure(rpc.CreateTask({ title: "x", priority: "urgent_important" }), "RateLimited"))
        .toMatchObject(RATE_LIMITED)
      expect(yield* failure(Stream.runHead(rpc.WatchTasks({})), "RateLimited")).toMatchObject(RATE_LIMITED)
      expect((yield* get("/api/tasks", { token })).status).toBe(429)

      // Per user: someone else still has their whole budget.
      const other = yield* clientUser("other")
      yield* other.rpc.ListTasks({})

      yield* TestClock.adjust("61 seconds")
      expect((yield* rpc.ListTasks({})).total_count).toBe(0)
    }))
})

it.layer(
  TestServiceWithClients({ env: { DATABASE_STATEMENT_TIMEOUT: "300ms", MAX_BODY_BYTES: "4096" } })
)("RPC when the database or the transport fails", (it) => {
  it.effect("a database that does not answer in time is ServiceUnavailable, as REST's 503", () =>
    Effect.gen(function*() {
      const { rpc, token } = yield* TestUser
      const sql = yield* SqlClient.SqlClient
      // Held locks make the service's statements wait until DATABASE_STATEMENT_TIMEOUT cancels them.
      const [listed, watched, rest] = yield* sql.withTransaction(
        Effect.gen(function*() {
          yield* sql`LOCK TABLE task, task_change IN ACCESS EXCLUSIVE MODE`
          return [
            yield* failure(rpc.ListTasks({}), "ServiceUnavailable"),
            yield* failure(Stream.runHead(rpc.WatchTasks({})), "ServiceUnavailable"),
            yield* get("/api/tasks", { token })
          ] as const
        })
      )
      expect(listed).toMatchObject(UNAVAILABLE)
      expect(watched).toMatchObject(UNAVAILABLE)
      expect(rest.status).toBe(503)
      expect(rest.body).toEqual(UNAVAILABLE)
      // Released: served again.
      expect((yield* rpc.ListTasks({})).total_count).toBe(0)
    }))

  it.effect(
    "an answer that is not RPC (413 for an oversized payload, 404 for a wrong URL) is RpcClientError, not a hang",
    () =>
      Effect.gen(function*() {
        const { rpc, token } = yield* TestUser
        const oversized = yield* failure(
          rpc.CreateTask({ title: "Big", priority: "urgent_important", description: "d".repeat(5_000) }),
          "RpcClientError"
        )
        // Effect 4: the transport failure is the reason, an HttpError whose cause is the StatusCodeError.
        expect(oversized).toMatchObject({
          reason: { _tag: "HttpError", kind: "StatusCodeError", cause: { response: { status: 413 } } }
        })

        const { baseUrl } = yield* TestServer
        const misdirected = yield* makeTasksRpcClient({ baseUrl: `${baseUrl}/nowhere`, accessToken: token }).pipe(
          Effect.provide(FetchHttpClient.layer)
        )
        const notFound = yield* failure(misdirected.CurrentUser(), "RpcClientError")
        expect(notFound).toMatchObject({
          reason: { _tag: "HttpError", kind: "StatusCodeError", cause: { response: { status: 404 } } }
        })
      })
  )

  it.effect("a bug fails only its own call, as a bare defect; the client's other calls go on", () =>
    Effect.gen(function*() {
      const { rpc, userId } = yield* TestUser
      const sql = yield* SqlClient.SqlClient
      // A change row no trigger would write: decoding it is a bug on the server's side.
      yield* sql`
        INSERT INTO task_change (user_id, task_id, kind, task)
        VALUES (${userId}, 'corrupt', 'updated', '{"not": "a task"}'::jsonb)`
      const live = yield* subscribe(rpc.WatchTasks({}))
      expect((yield* live.next)._tag).toBe("CaughtUp")

      const exit = yield* Effect.exit(Stream.runDrain(rpc.WatchTasks({ after: "0" })))
      const defect = Exit.isFailure(exit) ? Result.getOrUndefined(Cause.findDefect(exit.cause)) : undefined
      expect(defect).toBeInstanceOf(Error)
      expect(defect).toMatchObject({ message: "Internal Server Error" })

      // The same client's live watch and calls are unaffected.
      const task = yield* rpc.CreateTask({ title: "After the bug", priority: "urgent_important" })
      expect(Schema.encodeSync(Schema.toCodecJson(TaskFeedEvent))(yield* live.nextChange)).toMatchObject({
        _tag: "TaskCreated",
        task: { id: task.id }
      })
    }))
})

/**
 * What one caller may spend on `POST /rpc` (issue 13, item 1), from the caller's side: raw NDJSON
 * bodies as an attacker writes them, and the shipped client. Work is held provably in flight by
 * locking a table from a connection of the test's own (a call waiting on it shows in
 * `pg_stat_activity`), so counts of running calls and of session reads are read off PostgreSQL.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type pg from "pg"
import { post } from "../support/http.js"
import { holdTable, pause, untilWaiting, waitingOnLocks } from "../support/locks.js"
import { clientUser, TestServer, TestServiceWithClients } from "../support/TestService.js"
import { rowsOf } from "../tasks/tasks-helpers.js"
import { batchOf, errorOf, failure, framesOf } from "./rpc-helpers.js"

const postRpc = (body: string, token: string) =>
  post("/rpc", { raw: body, token, headers: { "content-type": "application/x-ndjson" } })

/** Reads the count of waiting statements a few times, 25 ms apart (real time, bounded): the highest seen. */
const mostWaiting = (lock: pg.Client) =>
  Effect.gen(function*() {
    let most = 0
    for (let read = 0; read < 8; read++) {
      most = Math.max(most, yield* waitingOnLocks(lock))
      yield* pause(25)
    }
    return most
  })

it.layer(
  TestServiceWithClients({ env: { RPC_MAX_IN_FLIGHT_PER_USER: "6", DATABASE_STATEMENT_TIMEOUT: "3s" } })
)("RPC call budgets", (it) => {
  it.effect("a body of more calls than RPC_MAX_CALLS_PER_REQUEST (100) runs none: each is RpcLimitReached", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("batch")
      const create = { title: "From a batch", priority: "urgent_important" }

      const refused = yield* postRpc(batchOf(101, "CreateTask", create), user.token)
      expect(refused.status).toBe(200)
      const frames = framesOf(refused.text)
      expect(frames).toHaveLength(101)
      for (const frame of frames) {
        expect(errorOf(frame)).toEqual({
          _tag: "RpcLimitReached",
          detail: "Too many calls in one request",
          error_code: "too_many_calls",
          limit: 100
        })
      }
      expect(yield* rowsOf(user.userId)).toHaveLength(0)

      // At the bound, every call runs.
      const served = framesOf((yield* postRpc(batchOf(100, "CreateTask", create), user.token)).text)
      expect(served.filter((frame) => frame.exit?._tag === "Success")).toHaveLength(100)
      expect(yield* rowsOf(user.userId)).toHaveLength(100)
    }))

  it.effect("a body of at most 4 calls, none of a stream, is answered in one piece, with its Content-Length", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("one-piece")
      for (const count of [1, 4]) {
        const answer = yield* postRpc(batchOf(count, "ListTasks", {}), user.token)
        expect(answer.headers.get("content-length")).toBe(String(Buffer.byteLength(answer.text)))
        expect(framesOf(answer.text).map((frame) => frame.exit?.value?.total_count)).toEqual(Array(count).fill(0))
      }
    }))

  it.effect("at most RPC_MAX_IN_FLIGHT_PER_REQUEST (4) calls of one request run at once; the others wait", () =>
    Effect.gen(function*() {
      const user = yield* clientUser("in-flight")
      const { databaseUrl } = yield* TestServer
      const lock = yield* holdTable(databaseUrl, "task")
      const answer = yield* Effect.forkChild(postRpc(batchOf(10, "ListTasks", {}), user.token))

      expect(yield* untilWaiting(lock.client, (waiting) => waiting >= 4)).toBe(4)
      expect(yield* mostWaiting(lock.client)).toBe(4)

      yield* lock.release
      const frames = framesOf((yield* Fiber.join(answer)).text)
      expect(frames.map((frame) => frame.exit?._tag)).toEqual(Array(10).fill("Success"))
    }))

  it.effect(
    "a user's calls in flight past RPC_MAX_IN_FLIGHT_PER_USER (6) are RpcLimitReached (typed); others are served",
    () =>
      Effect.gen(function*() {
        const user = yield* clientUser("greedy")
        const other = yield* clientUser("other")
        yield* user.rpc.CurrentUser() // its token checked and remembered before the table is locked
        const { databaseUrl } = yield* TestServer
        const lock = yield* holdTable(databaseUrl, "task")
        // Six requests of one call each, as the shipped client sends them.
        const held = yield* Effect.forkChild(
          Effect.all(Array.from({ length: 6 }, () => user.rpc.ListTasks({})), { concurrency: "unbounded" })
        )
        expect(yield* untilWaiting(lock.client, (waiting) => waiting >= 6)).toBe(6)

        const refused = yield* failure(
          user.rpc.GetTask({ id: "00000000-0000-4000-8000-000000000000" }),
          "RpcLimitReached"
        )
        expect(refused).toMatchObject({ error_code: "too_many_calls_in_flight", limit: 6 })
        expect((yield* other.rpc.CurrentUser()).id).toBe(other.userId)

        yield* lock.release
        expect(yield* Fiber.join(held)).toHaveLength(6)
        // Given back: the user is served again.
        expect((yield* user.rpc.ListTasks({})).total_count).toBe(0)
      })
  )

  it.effect(
    "calls with one logged-out token share one session read, and the refusal is remembered (no read while locked)",
    () =>
      Effect.gen(function*() {
        const user = yield* clientUser("logged-out")
        yield* user.rest.auth.logout({ payload: null })
        const { databaseUrl } = yield* TestServer

        const first = yield* holdTable(databaseUrl, "auth_session")
        // 100 calls in five requests at once: 20 checks of the token in flight together.
        const burst = yield* Effect.forkChild(
          Effect.all(Array.from({ length: 5 }, () => postRpc(batchOf(20, "ListTasks", {}), user.token)), {
            concurrency: "unbounded"
          })
        )
        expect(yield* untilWaiting(first.client, (waiting) => waiting >= 1)).toBe(1)
        expect(yield* mostWaiting(first.client)).toBe(1)
        yield* first.release
        const frames = (yield* Fiber.join(burst)).flatMap((reply) => framesOf(reply.text))
        expect(frames).toHaveLength(100)
        for (const frame of frames) {
          expect(errorOf(frame)).toMatchObject({ _tag: "Unauthorized", error_code: "invalid_token" })
        }

        // Refused again without reading: answered while the session table is locked.
        const second = yield* holdTable(databaseUrl, "auth_session")
        const again = framesOf((yield* postRpc(batchOf(20, "ListTasks", {}), user.token)).text)
        expect(again.map((frame) => errorOf(frame)?.error_code)).toEqual(Array(20).fill("invalid_token"))
        expect(yield* waitingOnLocks(second.client)).toBe(0)
        yield* second.release
      })
  )
})

/**
 * `Idempotency-Key` on POST /api/tasks: a retry with the same key and body answers the original
 * 201 and creates nothing; another body answers 422 `idempotency_key_reused`; keys are per user
 * and live 24 hours; racing retries create one task. Checked on the wire and in the `task` and
 * `idempotency_key` tables.
 *
 * TestClock is shared by every test of an it.layer block: the test that moves it has its own.
 */
import { expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { get, post, type Reply, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import { rowsOf } from "./tasks-helpers.js"

/** Rate limits are not under test here, and these suites sign up and create a lot. */
const service = () => TestService({ env: { RATE_LIMIT_ENABLED: "false" } })

const KEY_REUSED = {
  detail: "Idempotency-Key was already used with a different request body",
  error_code: "idempotency_key_reused"
}

interface KeyRow {
  readonly user_id: string
  readonly key: string
  readonly request_fingerprint: string
  readonly response_status: number
  readonly response_body: unknown
  readonly created_at: Date
}

/** A user's idempotency entries, by key. */
const keyRowsOf = (userId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<KeyRow>`SELECT * FROM idempotency_key WHERE user_id = ${userId} ORDER BY key`
  )

const create = (token: string, json: Record<string, unknown>, key?: string) =>
  post("/api/tasks", { token, json, ...(key === undefined ? {} : { headers: { "idempotency-key": key } }) })

const expectCreated = (reply: Reply) => {
  expect(reply.status, reply.text).toBe(201)
  expect(reply.body.success).toBe(true)
  return reply.body.data.id as string
}

const BODY = { title: "Pay rent", priority: "urgent_important", due_datetime: "2026-12-01T09:00:00Z" }

it.layer(service())("Idempotency-Key: replay, mismatch, per user", (it) => {
  it.effect("a retry with the same key and body answers the original 201 byte for byte and creates nothing", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-replay")
      const now = yield* Clock.currentTimeMillis
      const first = yield* create(user.token, BODY, "retry-1")
      const id = expectCreated(first)

      const again = yield* create(user.token, BODY, "retry-1")
      expect(again.status, again.text).toBe(201)
      expect(again.text).toBe(first.text)
      // The same request written differently (key order, defaults spelled out, an equivalent
      // instant, a padded title that trims to the same) is the same request.
      const rewritten = yield* create(user.token, {
        due_datetime: "2026-12-01T09:00:00",
        is_completed: false,
        priority: "urgent_important",
        title: "  Pay rent "
      }, "retry-1")
      expect(rewritten.status, rewritten.text).toBe(201)
      expect(rewritten.text).toBe(first.text)

      const tasks = yield* rowsOf(user.userId)
      expect(tasks.map((task) => task.id)).toEqual([id])
      expect(yield* keyRowsOf(user.userId)).toEqual([{
        user_id: user.userId,
        key: "retry-1",
        request_fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        response_status: 201,
        response_body: first.body,
        created_at: new Date(now)
      }])
    }))

  it.effect("the same key with another body answers 422 idempotency_key_reused and creates nothing", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-mismatch")
      const id = expectCreated(yield* create(user.token, BODY, "k-mismatch"))
      const entries = yield* keyRowsOf(user.userId)

      for (
        const json of [{ ...BODY, title: "Pay the rent" }, { ...BODY, is_completed: true }, {
          ...BODY,
          due_datetime: null
        }]
      ) {
        const reply = yield* create(user.token, json, "k-mismatch")
        expect(reply.status, reply.text).toBe(422)
        expect(reply.body).toEqual(KEY_REUSED)
      }
      expect((yield* rowsOf(user.userId)).map((task) => task.id)).toEqual([id])
      expect(yield* keyRowsOf(user.userId)).toEqual(entries)
    }))

  it.effect("another user's same key is independent: that user gets a task of their own", () =>
    Effect.gen(function*() {
      const alice = yield* signup("idem-alice")
      const bob = yield* signup("idem-bob")
      const aliceId = expectCreated(yield* create(alice.token, BODY, "shared-key"))
      // Bob sends another body under the same key: not a mismatch, his keys are his own.
      const bobReply = yield* create(bob.token, { ...BODY, title: "Bob's" }, "shared-key")
      const bobId = expectCreated(bobReply)
      expect(bobId).not.toBe(aliceId)
      expect(bobReply.body.data).toMatchObject({ user_id: bob.userId, title: "Bob's" })

      expect((yield* rowsOf(alice.userId)).map((task) => task.id)).toEqual([aliceId])
      expect((yield* rowsOf(bob.userId)).map((task) => task.id)).toEqual([bobId])
      expect((yield* keyRowsOf(alice.userId)).map((row) => row.response_body)).toEqual([{
        success: true,
        data: expect.objectContaining({ id: aliceId })
      }])
      expect((yield* keyRowsOf(bob.userId)).map((row) => row.response_body)).toEqual([{
        success: true,
        data: expect.objectContaining({ id: bobId })
      }])
    }))

  it.effect("a refused request does not use up its key: a 400 stores nothing, a later valid body creates", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-refused")
      const refused = yield* create(user.token, { ...BODY, priority: "high" }, "k-refused")
      expect(refused.status, refused.text).toBe(400)
      expect(yield* keyRowsOf(user.userId)).toEqual([])
      expect(yield* rowsOf(user.userId)).toEqual([])

      const id = expectCreated(yield* create(user.token, BODY, "k-refused"))
      expect((yield* rowsOf(user.userId)).map((task) => task.id)).toEqual([id])
    }))

  it.effect("without the header every request creates a task and nothing is stored for it", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-none")
      const first = expectCreated(yield* create(user.token, BODY))
      const second = expectCreated(yield* create(user.token, BODY))
      expect(second).not.toBe(first)
      expect((yield* rowsOf(user.userId)).map((task) => task.id).sort()).toEqual([first, second].sort())
      expect(yield* keyRowsOf(user.userId)).toEqual([])
    }))
})

it.layer(service())("Idempotency-Key: concurrency", (it) => {
  it.effect("10 concurrent requests with the same key and body: one task, ten 201s with its id", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-race")
      const replies = yield* Effect.all(
        Array.from({ length: 10 }, () => create(user.token, BODY, "race-key")),
        { concurrency: "unbounded" }
      )
      const tasks = yield* rowsOf(user.userId)
      expect(tasks).toHaveLength(1)
      for (const reply of replies) {
        expect(reply.status, reply.text).toBe(201)
        expect(reply.text).toBe(replies[0]!.text)
        expect(reply.body.data.id).toBe(tasks[0]!.id)
      }
      const entries = yield* keyRowsOf(user.userId)
      expect(entries).toHaveLength(1)
      expect(entries[0]!.response_body).toEqual(replies[0]!.body)
    }))

  it.effect("10 concurrent requests with the same key and different bodies: one task, the rest 422", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-race-mixed")
      const replies = yield* Effect.all(
        Array.from({ length: 10 }, (_, i) => create(user.token, { ...BODY, title: `Variant ${i}` }, "race-mixed")),
        { concurrency: "unbounded" }
      )
      const tasks = yield* rowsOf(user.userId)
      expect(tasks).toHaveLength(1)
      const created = replies.filter((reply) => reply.status === 201)
      expect(created).toHaveLength(1)
      expect(created[0]!.body.data.id).toBe(tasks[0]!.id)
      for (const reply of replies.filter((reply) => reply.status !== 201)) {
        expect(reply.status, reply.text).toBe(422)
        expect(reply.body).toEqual(KEY_REUSED)
      }
    }))
})

it.layer(service())("Idempotency-Key: header validation", (it) => {
  it.effect(
    "422 validation_error at the idempotency-key header for an empty, too long or non-visible key; nothing created",
    () =>
      Effect.gen(function*() {
        const user = yield* signup("idem-invalid")
        // A tab is the one control character that reaches the service: fetch refuses to send the
        // others, and Node's HTTP parser answers 400 to them itself.
        const invalid = ["", "k".repeat(256), "tab\tinside", "space inside", "caf\u00e9"]
        for (const key of invalid) {
          const reply = yield* create(user.token, BODY, key)
          expect(reply.status, `${JSON.stringify(key)}: ${reply.text}`).toBe(422)
          expect(reply.body.error_code).toBe("validation_error")
          const locs: ReadonlyArray<ReadonlyArray<string>> = reply.body.detail.map((issue: { loc: Array<string> }) =>
            issue.loc
          )
          expect(locs).toContainEqual(["header", "idempotency-key"])
        }
        expect(yield* rowsOf(user.userId)).toEqual([])
        expect(yield* keyRowsOf(user.userId)).toEqual([])
      })
  )

  it.effect("accepts the limits: 1 and 255 visible ASCII characters", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-limits")
      const visible = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join("")
      for (const key of ["x", "k".repeat(255), visible]) expectCreated(yield* create(user.token, BODY, key))
      expect(yield* rowsOf(user.userId)).toHaveLength(3)
      expect((yield* keyRowsOf(user.userId)).map((row) => row.key).sort()).toEqual(
        ["x", "k".repeat(255), visible].sort()
      )
    }))

  it.effect("OpenAPI documents the header and the 422 idempotency_key_reused on POST /api/tasks", () =>
    Effect.gen(function*() {
      const spec = (yield* get("/openapi.json")).body
      const operation = spec.paths["/api/tasks"].post
      expect(operation.parameters).toContainEqual(
        expect.objectContaining({ name: "idempotency-key", in: "header", required: false })
      )
      expect(JSON.stringify(operation.responses["422"])).toContain("idempotency_key_reused")
    }))
})

it.layer(service())("Idempotency-Key: 24-hour lifetime", (it) => {
  it.effect("a key replays for 24 hours; after that the same key creates a new task and old entries go", () =>
    Effect.gen(function*() {
      const user = yield* signup("idem-expiry")
      const signin = Effect.map(
        post("/api/v1/auth/signin", { json: { email: user.email, password: user.password } }),
        (reply) => {
          expect(reply.status, reply.text).toBe(200)
          return reply.body.data.token as string
        }
      )
      const first = yield* create(user.token, BODY, "daily")
      const firstId = expectCreated(first)
      expectCreated(yield* create(user.token, BODY, "other"))

      yield* TestClock.adjust("23 hours")
      const stillLive = yield* create(yield* signin, BODY, "daily")
      expect(stillLive.text).toBe(first.text)
      expect(yield* rowsOf(user.userId)).toHaveLength(2)

      yield* TestClock.adjust("2 hours") // 25 hours after the first request
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* create(yield* signin, BODY, "daily")
      const freshId = expectCreated(fresh)
      expect(freshId).not.toBe(firstId)
      expect((yield* rowsOf(user.userId)).map((task) => task.id)).toContain(freshId)
      expect(yield* rowsOf(user.userId)).toHaveLength(3)
      // The entry now answers the new task; the user's other expired key was cleaned up on the way.
      expect(yield* keyRowsOf(user.userId)).toEqual([expect.objectContaining({
        key: "daily",
        response_body: fresh.body,
        created_at: new Date(now)
      })])
      const replay = yield* create(yield* signin, BODY, "daily")
      expect(replay.text).toBe(fresh.text)
    }))
})

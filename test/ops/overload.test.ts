/**
 * Shed, don't die (issue 15, item 1), from the client's side over real HTTP: past its load bounds the
 * service answers `503 {"detail":"Service temporarily unavailable","error_code":"overloaded"}` with
 * `Retry-After` before doing any work, `/health/live` answers whatever the pipeline holds, a body
 * still arriving at REQUEST_TIMEOUT is cut (503, connection closed), the pool's wait queue is bounded
 * (503 `overloaded`, not `database_unavailable`), and a request counts in flight until its response is
 * written or its client gone, never longer.
 *
 * Requests are held in flight structurally: by a body the test has not finished sending, or by a row
 * lock the test holds; REQUEST_TIMEOUT fires when the test moves TestClock.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import pg from "pg"
import { Lifecycle } from "../../src/http/edge/Lifecycle.js"
import { get, post, put, type Reply, signup } from "../support/http.js"
import { rawConnection, slowBody, untilInFlight } from "../support/inFlight.js"
import { holdRow, pause, untilWaiting } from "../support/locks.js"
import { TestServer, TestService } from "../support/TestService.js"
import { createTask } from "../tasks/tasks-helpers.js"

const OVERLOADED = { detail: "Service temporarily unavailable", error_code: "overloaded" }

const expectOverloaded = (reply: Reply) => {
  expect(reply.status, reply.text).toBe(503)
  expect(reply.body).toEqual(OVERLOADED)
  expect(reply.headers.get("retry-after")).toBe("1")
  expect(reply.headers.get("x-request-id")).toBeTruthy()
}

const usersWithEmail = (databaseUrl: string, email: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const result = await client.query(`SELECT 1 FROM "user" WHERE email = $1`, [email])
      return result.rowCount
    } finally {
      await client.end()
    }
  })

it.layer(
  TestService({
    env: {
      MAX_REQUESTS_IN_FLIGHT: "2",
      MAX_REQUESTS_RECEIVING: "2",
      REQUEST_TIMEOUT: "5s",
      DATABASE_STATEMENT_TIMEOUT: "60s"
    }
  })
)("requests in flight", (it) => {
  it.effect(
    "past MAX_REQUESTS_IN_FLIGHT a request answers 503 overloaded with Retry-After and does no work; /health/live " +
      "still answers",
    () =>
      Effect.gen(function*() {
        const { databaseUrl } = yield* TestServer
        const user = yield* signup("shed")
        const taskId = (yield* createTask(user.token, { title: "t" })).id
        // Two updates wait on the task's row: two requests the service is working on.
        const lock = yield* holdRow(databaseUrl, "task", taskId)
        const update = (title: string) => put(`/api/tasks/${taskId}`, { token: user.token, json: { title } })
        const held = yield* Effect.forkChild(Effect.all([update("held 1"), update("held 2")], { concurrency: 2 }))
        expect(yield* untilWaiting(lock, (n) => n === 2)).toBe(2)

        // A signup would write a user row (and hash a password): shed, it writes none.
        const email = `shed-${Date.now()}@example.com`
        const shed = yield* post("/api/v1/auth/signup", {
          json: { email, password: "correct horse battery staple", name: "shed" }
        })
        expectOverloaded(shed)
        expect(yield* usersWithEmail(databaseUrl, email)).toBe(0)
        expectOverloaded(yield* get("/api/tasks", { token: user.token }))
        // A page on an allowed origin can read the answer (and its Retry-After), as the edge's.
        const fromPage = yield* get("/api/tasks", { token: user.token, headers: { origin: "http://localhost:3000" } })
        expectOverloaded(fromPage)
        expect(fromPage.headers.get("access-control-allow-origin")).toBe("http://localhost:3000")
        expect(fromPage.headers.get("access-control-allow-credentials")).toBe("true")
        expect(fromPage.headers.get("access-control-expose-headers")).toContain("retry-after")
        const elsewhere = yield* get("/api/tasks", { token: user.token, headers: { origin: "https://evil.example" } })
        expectOverloaded(elsewhere)
        expect(elsewhere.headers.get("access-control-allow-origin")).toBeNull()

        // Liveness is answered ahead of the pipeline, saturated as it is.
        const live = yield* get("/health/live")
        expect(live.status).toBe(200)
        expect(live.body).toEqual({ status: "pass" })
        expect(live.headers.get("content-type")).toContain("application/health+json")
        expect(yield* (yield* Lifecycle).inFlight).toBe(2)

        // The held requests finish, and the service serves again.
        yield* Effect.promise(() => lock.query("COMMIT"))
        expect((yield* Fiber.join(held)).map((reply) => reply.status)).toEqual([200, 200])
        expect((yield* get("/api/tasks", { token: user.token })).status).toBe(200)
        const created = yield* post("/api/v1/auth/signup", {
          json: { email, password: "correct horse battery staple", name: "shed" }
        })
        expect(created.status, created.text).toBe(200)
      })
  )

  it.effect(
    "bodies still arriving count apart (MAX_REQUESTS_RECEIVING): past it a new one is shed while other requests " +
      "are served; at REQUEST_TIMEOUT they are cut with 503 and their connections closed",
    () =>
      Effect.gen(function*() {
        const user = yield* signup("slow")
        const held = [yield* slowBody(user.token), yield* slowBody(user.token)]
        expect(yield* untilInFlight((n) => n === 2)).toBe(2)

        // Two bodies arriving fill MAX_REQUESTS_RECEIVING, not MAX_REQUESTS_IN_FLIGHT: others are served ...
        expect((yield* get("/api/tasks", { token: user.token })).status).toBe(200)
        // ... and a third slow body is shed, its connection closed unread.
        const third = yield* slowBody(user.token)
        yield* third.closed
        expect(third.received()).toMatch(/^HTTP\/1\.1 503 /)
        expect(third.received()).toContain("overloaded")

        // REQUEST_TIMEOUT: the bodies still arriving are answered 503 and their connections closed.
        yield* TestClock.adjust("5 seconds")
        for (const connection of held) {
          yield* connection.closed
          expect(connection.received()).toMatch(/^HTTP\/1\.1 503 /)
          expect(connection.received()).toContain("request_timeout")
          expect(connection.received().toLowerCase()).toContain("connection: close")
        }
        expect(yield* untilInFlight((n) => n === 0)).toBe(0)
        // Nothing stays counted as receiving: two slow bodies are admitted again.
        const again = [yield* slowBody(user.token), yield* slowBody(user.token)]
        expect(yield* untilInFlight((n) => n === 2)).toBe(2)
        for (const connection of again) expect(connection.received()).toBe("")
      })
  )

  it.effect("a client that gives up after REQUEST_TIMEOUT leaves nothing counted in flight", () =>
    Effect.gen(function*() {
      const { databaseUrl } = yield* TestServer
      const user = yield* signup("abort")
      const taskId = (yield* createTask(user.token, { title: "t" })).id
      const lock = yield* holdRow(databaseUrl, "task", taskId)
      const body = JSON.stringify({ title: "never" })
      const pending = yield* rawConnection(
        `PUT /api/tasks/${taskId} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${user.token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      )
      expect(yield* untilWaiting(lock, (n) => n === 1)).toBe(1)
      expect(yield* (yield* Lifecycle).inFlight).toBe(1)

      // REQUEST_TIMEOUT fires, and the client is gone at once, whether or not its answer was written.
      yield* TestClock.adjust("5 seconds")
      pending.socket.destroy()
      expect(yield* untilInFlight((n) => n === 0)).toBe(0)
      // The drain waits for nothing.
      yield* (yield* Lifecycle).idle
      yield* Effect.promise(() => lock.query("ROLLBACK"))
    }))
})

/**
 * A request sent, then the event loop held busy for 300 ms: the server reads the request only once
 * the loop is back, and its sampling timer runs before it reads. The request must be shed; once the
 * loop has caught up (the next samples), requests are served again.
 */
const shedWhileTheLoopIsHeld = Effect.gen(function*() {
  // Idle keep-alive connections, as many clients keep: more than MAX_REQUESTS_IN_FLIGHT (4).
  for (let i = 0; i < 5; i++) yield* rawConnection("")
  const request = yield* rawConnection("")
  request.socket.write("GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
  const until = Date.now() + 300
  while (Date.now() < until) {
    // busy: the event loop is held
  }
  for (let attempt = 0; attempt < 200 && !request.received().includes("\r\n\r\n{"); attempt++) yield* pause(10)
  expect(request.received()).toMatch(/^HTTP\/1\.1 503 /)
  expect(request.received()).toContain(`"error_code":"overloaded"`)
  expect(request.received().toLowerCase()).toContain("retry-after: 1")
  let status = 503
  for (let attempt = 0; attempt < 50 && status === 503; attempt++) {
    yield* pause(50)
    status = (yield* get("/api/tasks")).status
  }
  expect(status).toBe(401)
})

it.layer(TestService({ env: { MAX_EVENT_LOOP_DELAY: "100ms", MAX_REQUESTS_IN_FLIGHT: "4" } }))(
  "event-loop delay",
  (it) => {
    it.effect("a request arriving while the event loop runs more than MAX_EVENT_LOOP_DELAY late is shed", () =>
      shedWhileTheLoopIsHeld)
  }
)

/** Holds the event loop busy `times` × 150 ms, letting its timers run in between (each sample sees it busy). */
const busyLoop = (times: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < times; i++) {
      const until = Date.now() + 150
      while (Date.now() < until) {
        // busy: the event loop is held
      }
      yield* pause(0)
    }
  })

// TestService turns the delay check off: the utilisation alone sheds.
it.layer(TestService({ env: { MAX_EVENT_LOOP_UTILIZATION: "0.5", MAX_REQUESTS_IN_FLIGHT: "4" } }))(
  "event-loop utilisation",
  (it) => {
    it.effect(
      "with more connections open than MAX_REQUESTS_IN_FLIGHT, a short burst is not shed; while the loop stays " +
        "busier than MAX_EVENT_LOOP_UTILIZATION it is",
      () =>
        Effect.gen(function*() {
          // The sampler runs on real timers: let the boot's busy loop leave its smoothed utilisation.
          yield* pause(1000)
          // One busy sample (a burst): the smoothed utilisation stays under the bound, nothing is shed.
          yield* busyLoop(1)
          expect((yield* get("/api/tasks")).status).toBe(401)
          // Eight busy samples in a row (saturation): the share shed reaches 1.
          yield* busyLoop(8)
          yield* shedWhileTheLoopIsHeld
        })
    )
  }
)

it.layer(
  TestService({
    env: { MAX_EVENT_LOOP_UTILIZATION: "0.5", MAX_EVENT_LOOP_DELAY: "100ms", MAX_REQUESTS_IN_FLIGHT: "64" }
  })
)(
  "a busy or late loop with few connections",
  (it) => {
    it.effect("is not shed: every request waiting is one of at most MAX_REQUESTS_IN_FLIGHT connections", () =>
      Effect.gen(function*() {
        yield* busyLoop(8)
        // A request read after a 300 ms turn (the loop 200 ms past MAX_EVENT_LOOP_DELAY) is served.
        const late = yield* rawConnection("")
        late.socket.write("GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        const until = Date.now() + 300
        while (Date.now() < until) {
          // busy: the event loop is held
        }
        for (let attempt = 0; attempt < 200 && !late.received().includes("\r\n\r\n{"); attempt++) yield* pause(10)
        expect(late.received()).toMatch(/^HTTP\/1\.1 401 /)
        const statuses: Array<number> = []
        for (let i = 0; i < 5; i++) {
          statuses.push((yield* get("/api/tasks")).status)
          yield* busyLoop(1)
        }
        expect(statuses).toEqual([401, 401, 401, 401, 401])
      }))
  }
)

it.layer(
  TestService({
    env: {
      // Two: migrations at boot need more than one connection.
      DATABASE_POOL_MAX: "2",
      DATABASE_POOL_MAX_WAITING: "1",
      DATABASE_POOL_ACQUIRE_TIMEOUT: "200ms",
      DATABASE_STATEMENT_TIMEOUT: "60s",
      SESSION_CHECK_INTERVAL: "0"
    }
  })
)("the pool's wait queue", (it) => {
  it.effect("waits on a saturated pool answer 503 overloaded (not database_unavailable), queue full or too long", () =>
    Effect.gen(function*() {
      const { databaseUrl } = yield* TestServer
      const user = yield* signup("pool")
      const taskId = (yield* createTask(user.token, { title: "t" })).id

      // Both connections' operations wait in PostgreSQL behind the test's lock.
      const lock = yield* holdRow(databaseUrl, "task", taskId)
      const update = put(`/api/tasks/${taskId}`, { token: user.token, json: { title: "x" } })
      const holders = yield* Effect.forkChild(Effect.all([update, update], { concurrency: 2 }))
      expect(yield* untilWaiting(lock, (n) => n === 2)).toBe(2)

      // Two more: one waits (the queue holds one) until the acquire timeout, the other finds it full.
      const [first, second] = yield* Effect.all([
        get(`/api/tasks/${taskId}`, { token: user.token }),
        get(`/api/tasks/${taskId}`, { token: user.token })
      ], { concurrency: 2 })
      expectOverloaded(first)
      expectOverloaded(second)

      yield* Effect.promise(() => lock.query("COMMIT"))
      for (const done of yield* Fiber.join(holders)) expect(done.status, done.text).toBe(200)
      const after = yield* get(`/api/tasks/${taskId}`, { token: user.token })
      expect(after.status).toBe(200)
      expect(after.body.data.title).toBe("x")
    }))
})

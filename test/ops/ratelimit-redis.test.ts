/**
 * The Redis rate-limit store: limits hold across instances, and an outage fails closed on
 * credential endpoints and open on the task API, visibly (logs, readiness). A real redis-server
 * per suite; instance A in-process, instance B the built service on the same database and Redis.
 * Instance A's circuit breaker runs on TestClock: its cool-down passes only with TestClock.adjust.
 */
import { expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { performance } from "node:perf_hooks"
import { get, post, signup } from "../support/http.js"
import { pause } from "../support/locks.js"
import { type RedisServer, redisServer } from "../support/redis.js"
import { onSecondInstance, SecondInstanceLive } from "../support/SecondInstance.js"
import { TestService } from "../support/TestService.js"

/** The breaker's settings spelled out (they are the defaults but the timeout, 2 s: see the frozen test). */
const ON_REDIS = {
  RATE_LIMIT_ENABLED: "true",
  RATE_LIMIT_STORE: "redis",
  RATE_LIMIT_STORE_TIMEOUT: "2s",
  RATE_LIMIT_BREAKER_FAILURES: "3",
  RATE_LIMIT_BREAKER_COOLDOWN: "2s"
}
const STORE_TIMEOUT_MS = 2_000

/** The breaker's state as readiness reports it. */
const circuitOnReadiness = Effect.map(get("/health/ready"), (reply) => {
  expect(reply.status, reply.text).toBe(200)
  return reply.body.checks["ratelimit:circuit"][0]
})

class TestRedis extends Context.Service<TestRedis, RedisServer>()("test/TestRedis") {}

/** The service on a fresh Redis with limits on, and that Redis for the tests to stop and start. */
const ServiceOnRedis = Layer.unwrap(
  Effect.map(
    redisServer,
    (redis) =>
      TestService({ env: { ...ON_REDIS, REDIS_URL: redis.url } }).pipe(
        Layer.merge(Layer.succeed(TestRedis, redis))
      )
  )
)

const wrongSignin = (email: string) => post("/api/v1/auth/signin", { json: { email, password: "not it at all" } })

it.layer(ServiceOnRedis, { timeout: "60 seconds" })("the Redis store", (it) => {
  it.layer(
    Layer.unwrap(
      Effect.map(
        TestRedis,
        (redis) => SecondInstanceLive({ RATE_LIMIT_ENABLED: "true", RATE_LIMIT_STORE: "redis", REDIS_URL: redis.url })
      )
    ),
    { timeout: "60 seconds" }
  )((it) => {
    it.effect("the signin limit is the sum across two instances, not per process", () =>
      Effect.gen(function*() {
        // Ten attempts from 127.0.0.1, alternating between the instances.
        for (let i = 0; i < 10; i++) {
          const attempt = wrongSignin(`shared-${i}@example.com`)
          const reply = yield* (i % 2 === 0 ? attempt : onSecondInstance(attempt))
          expect(reply.status).toBe(401)
        }
        const onA = yield* wrongSignin("shared-a@example.com")
        const onB = yield* onSecondInstance(wrongSignin("shared-b@example.com"))
        expect(onA.status).toBe(429)
        expect(onB.status).toBe(429)
        expect(onB.body.error_code).toBe("rate_limited")
      }))
  })

  it.effect("Redis down: credential endpoints 503, the task API serves, readiness warns; back: normal", () =>
    Effect.gen(function*() {
      const redis = yield* TestRedis
      const user = yield* signup("outage")
      yield* redis.stop

      const signin = yield* post("/api/v1/auth/signin", { json: { email: user.email, password: user.password } })
      expect(signin.status).toBe(503)
      expect(signin.body).toEqual({ detail: "Service temporarily unavailable", error_code: "rate_limiter_unavailable" })
      const created = yield* post("/api/tasks", {
        token: user.token,
        json: { title: "still works", priority: "urgent_important" }
      })
      expect(created.status).toBe(201)
      expect((yield* get("/api/tasks", { token: user.token })).body.data.total_count).toBe(1)
      const ready = yield* get("/health/ready")
      expect(ready.status).toBe(200)
      expect(ready.body.status).toBe("warn")
      expect(ready.body.checks["ratelimit:store"][0]).toMatchObject({ status: "warn", observedValue: "redis" })
      // Three failed calls in a row (the signin, the create, the list): the circuit is open.
      expect(ready.body.checks["ratelimit:circuit"][0]).toMatchObject({ status: "warn", observedValue: "open" })

      yield* redis.start
      // The client reconnects by itself (within a few seconds): poll a bounded number of times, each
      // after the cool-down, so the signin is the probe (a probe that fails opens the circuit again).
      let status = 0
      for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
        yield* TestClock.adjust("2 seconds")
        status = (yield* post("/api/v1/auth/signin", { json: { email: user.email, password: user.password } })).status
        if (status !== 200) yield* pause(200)
      }
      expect(status).toBe(200)
      const readyAgain = yield* get("/health/ready")
      expect(readyAgain.body.checks["ratelimit:store"][0].status).toBe("pass")
      expect(readyAgain.body.checks["ratelimit:circuit"][0]).toMatchObject({ status: "pass", observedValue: "closed" })
    }))

  it.effect(
    "Redis frozen: 3 timeouts open the circuit; then the task API answers without waiting, credential " +
      "endpoints 503 at once; thawed, a probe closes it",
    () =>
      Effect.gen(function*() {
        const redis = yield* TestRedis
        const user = yield* signup("frozen")
        expect(yield* circuitOnReadiness).toMatchObject({ status: "pass", observedValue: "closed" })
        yield* redis.freeze

        // Each of these waits for the store's timeout, then fails open: the third opens the circuit.
        for (let i = 0; i < 3; i++) expect((yield* get("/api/tasks", { token: user.token })).status).toBe(200)

        // Twenty requests in less time than one call to Redis could take: none of them called it.
        const started = performance.now()
        for (let i = 0; i < 20; i++) {
          const reply = yield* get("/api/tasks", { token: user.token })
          expect(reply.status).toBe(200)
          expect(reply.headers.get("ratelimit-limit")).toBeNull() // no count: the store was not asked
        }
        const signin = yield* post("/api/v1/auth/signin", { json: { email: user.email, password: user.password } })
        expect(signin.status).toBe(503)
        expect(signin.body.error_code).toBe("rate_limiter_unavailable")
        const refresh = yield* post("/api/v1/auth/refresh", { json: { refresh_token: user.refreshToken } })
        expect(refresh.status).toBe(503)
        expect(performance.now() - started).toBeLessThan(STORE_TIMEOUT_MS)
        expect(yield* circuitOnReadiness).toMatchObject({ status: "warn", observedValue: "open" })

        yield* redis.thaw
        // The cool-down over, the next call probes Redis, which answers: closed.
        yield* TestClock.adjust("2 seconds")
        const probe = yield* get("/api/tasks", { token: user.token })
        expect(probe.status).toBe(200)
        expect(probe.headers.get("ratelimit-limit")).toBe("600")
        expect(yield* circuitOnReadiness).toMatchObject({ status: "pass", observedValue: "closed" })
        const again = yield* post("/api/v1/auth/signin", { json: { email: user.email, password: user.password } })
        expect(again.status).toBe(200)
      }).pipe(Effect.ensuring(Effect.flatMap(TestRedis, (redis) => redis.thaw)))
  )
})

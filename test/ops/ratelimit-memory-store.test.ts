/**
 * The memory rate-limit store forgets a key once its window has passed (issue 15, "No leaks"):
 * effect/persistence's own memory store keeps every key it ever counted. On TestClock, through
 * the library's RateLimiter as RateLimits uses it.
 */
import { expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import { makeMemoryRateStore, SWEEP_INTERVAL } from "../../src/infra/platform/MemoryRateStore.js"

const consume = (limiter: RateLimiter.RateLimiter, key: string) =>
  limiter.consume({ algorithm: "fixed-window", window: "1 minute", limit: 10, key })

it.effect("keys are dropped once their window has passed; a key still counting stays, with its count", () =>
  Effect.gen(function*() {
    const { size, store } = yield* makeMemoryRateStore
    const limiter = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))

    for (let ip = 0; ip < 1_000; ip++) yield* consume(limiter, `signin:ip:10.0.${ip >> 8}.${ip & 255}`)
    expect(yield* size).toBe(1_000)

    // A tenth of the window per request: one counted request drains in 6 s, not yet.
    yield* TestClock.adjust("5 seconds")
    expect(yield* size).toBe(1_000)
    for (let i = 0; i < 5; i++) yield* consume(limiter, "api:user:busy")

    // Past every one-request window (and a sweep): only the key with 5 requests in its window is left.
    yield* TestClock.adjust(Duration.sum(Duration.seconds(2), SWEEP_INTERVAL))
    expect(yield* size).toBe(1)
    expect((yield* consume(limiter, "api:user:busy")).remaining).toBe(4) // its count is intact

    yield* TestClock.adjust("1 minute")
    expect(yield* size).toBe(0)
  }).pipe(Effect.scoped))

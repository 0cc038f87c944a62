/**
 * What the access-check cache holds in memory (issue 15, "No leaks"): re-checks of a token replace
 * its entry, never add to it; an entry lapses with its interval and the next check frees it; the
 * cache stays under its bounds in entries and in bytes. Driven through the real AccessChecks
 * service on the suite's database, on TestClock; the tokens are the service's own (signup).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { AccessChecks, AccessChecksLive } from "../../src/infra/auth/AccessChecks.js"
import { makeBoundedCache } from "../../src/infra/platform/BoundedCache.js"
import { newUser, serviceWith } from "./sessions-helpers.js"

const admitAll = () => Effect.void
const TOKENS = 40

it.layer(Layer.provideMerge(AccessChecksLive, serviceWith()), { timeout: "120 seconds" })(
  "the access-check cache in memory",
  (it) => {
    it.effect("re-checks keep one entry per token, of the same size; once lapsed, the next check frees them", () =>
      Effect.gen(function*() {
        const checks = yield* AccessChecks
        const users = yield* Effect.forEach(Array.from({ length: TOKENS }), () => newUser("memory"), { concurrency: 4 })
        const round = Effect.forEach(users, (user) => checks.check(user.pair.token, admitAll), { discard: true })

        yield* round
        const first = yield* checks.held
        expect(first.passed.entries).toBe(TOKENS)
        expect(first.passed.bytes).toBeGreaterThan(TOKENS * 500)
        expect(first.passed.bytes).toBeLessThan(TOKENS * 4_000)
        for (let interval = 0; interval < 30; interval++) {
          yield* TestClock.adjust("5 seconds") // every entry lapses: the next round re-checks every token
          yield* round
          expect(yield* checks.held).toEqual(first)
        }

        yield* TestClock.adjust("5 seconds")
        const other = yield* newUser("memory-other")
        yield* checks.check(other.pair.token, admitAll)
        const after = yield* checks.held
        expect(after.passed.entries).toBe(1)
        expect(after.passed.bytes).toBeLessThan(first.passed.bytes / 10)
        expect(after.readsUnderWay).toBe(0)
      }))

    it.effect("refusals lapse and are freed the same way", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const checks = yield* AccessChecks
        const users = yield* Effect.forEach(Array.from({ length: 10 }), () => newUser("refused"), { concurrency: 4 })
        yield* Effect.forEach(users, (user) =>
          sql`UPDATE auth_session SET revoked_at = now() WHERE id = ${user.pair.sessionId}`)
        const refusals = yield* Effect.forEach(users, (user) =>
          Effect.flip(checks.check(user.pair.token, admitAll)))
        expect(refusals.map((error) => error._tag)).toEqual(users.map(() => "Unauthorized"))
        expect((yield* checks.held).refused.entries).toBeGreaterThanOrEqual(10)

        yield* TestClock.adjust("5 seconds")
        const other = yield* newUser("refused-other")
        yield* checks.check(other.pair.token, admitAll)
        expect((yield* checks.held).refused.entries).toBe(0)
      }))
  }
)

describe("BoundedCache", () => {
  const cache = (maxEntries: number, maxBytes: number) =>
    makeBoundedCache<string>({ timeToLiveMillis: 1_000, maxEntries, maxBytes, bytesOf: (k, v) => k.length + v.length })

  it("past its entry bound, the oldest entries go first", () => {
    const c = cache(3, 1_000)
    for (const key of ["a", "b", "c", "d"]) c.set(key, "x", 0)
    expect(c.size()).toEqual({ entries: 3, bytes: 6 })
    expect(c.get("a", 0)).toBeUndefined()
    expect(c.get("d", 0)).toBe("x")
  })

  it("past its byte bound, the oldest entries go first, whatever their number", () => {
    const c = cache(100, 100)
    c.set("small", "x", 0)
    c.set("big", "y".repeat(95), 0)
    expect(c.get("small", 0)).toBeUndefined()
    expect(c.size()).toEqual({ entries: 1, bytes: 98 })
    c.set("huge", "z".repeat(200), 0) // larger than the bound on its own: not kept at all
    expect(c.size()).toEqual({ entries: 0, bytes: 0 })
  })

  it("a lapsed entry is not answered, and any later use drops every lapsed entry", () => {
    const c = cache(100, 1_000)
    c.set("a", "1", 0)
    c.set("b", "2", 500)
    expect(c.get("a", 999)).toBe("1")
    expect(c.get("a", 1_000)).toBeUndefined()
    expect(c.size().entries).toBe(1)
    c.set("a", "3", 1_200) // set again: lapses after the others
    expect(c.entries(1_499)).toEqual([["b", "2"], ["a", "3"]])
    expect(c.get("x", 1_500)).toBeUndefined()
    expect(c.size()).toEqual({ entries: 1, bytes: 2 })
  })
})

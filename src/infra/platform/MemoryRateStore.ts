/**
 * The process-local rate-limit store. `effect/persistence`'s memory store never deletes a key: a
 * counter for every IP, account, session and user ever limited stays for the life of the process.
 * This one counts fixed windows the same way and drops every counter whose window has passed, in
 * a sweep every SWEEP_INTERVAL, so it holds only the keys limited within the last window.
 */
import { Clock, Duration, Effect } from "effect"
import { RateLimiter } from "effect/persistence"

/** How often lapsed counters are dropped: a key outlives its window by at most this. */
export const SWEEP_INTERVAL = Duration.seconds(10)

export interface MemoryRateStore {
  readonly store: RateLimiter.RateLimiterStore["Service"]
  /** How many keys the store holds: for tests and diagnostics. */
  readonly size: Effect.Effect<number>
}

interface Counter {
  count: number
  /** When the counted requests have all drained out (epoch ms): past it, the key counts nothing. */
  expiresAt: number
}

/** The store and its sweeper, which runs for the scope. */
export const makeMemoryRateStore = Effect.gen(function*() {
  // Token buckets and adaptive limits are not used here: the library's memory store serves them.
  const library = yield* RateLimiter.RateLimiterStore.pipe(Effect.provide(RateLimiter.layerStoreMemory))
  const counters = new Map<string, Counter>()

  const sweep = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.sync(() => {
      for (const [key, counter] of counters) if (counter.expiresAt <= now) counters.delete(key)
    }))
  yield* sweep.pipe(Effect.delay(SWEEP_INTERVAL), Effect.forever, Effect.forkScoped)

  // The library's fixed window, on a map that is swept: the same answers, so both stores (and
  // Redis) agree on counts and TTLs.
  const fixedWindow: MemoryRateStore["store"]["fixedWindow"] = (options) =>
    Effect.clockWith((clock) =>
      Effect.sync(() => {
        const refillRateMillis = Duration.toMillis(options.refillRate)
        const now = clock.currentTimeMillisUnsafe()
        let counter = counters.get(options.key)
        if (counter === undefined || counter.expiresAt <= now) {
          counter = { count: 0, expiresAt: now }
          counters.set(options.key, counter)
        }
        if (options.limit !== undefined && counter.count + options.tokens > options.limit) {
          return [counter.count + options.tokens, counter.expiresAt - now] as const
        }
        counter.count += options.tokens
        counter.expiresAt += refillRateMillis * options.tokens
        return [counter.count, counter.expiresAt - now] as const
      })
    )

  return {
    store: RateLimiter.RateLimiterStore.of({ ...library, fixedWindow }),
    size: Effect.sync(() => counters.size)
  } satisfies MemoryRateStore
})

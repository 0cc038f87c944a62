/**
 * Rate limiting on `effect/persistence`'s `RateLimiter`, with a memory store of ours (one instance;
 * see MemoryRateStore) or the library's Redis store (every instance shares the counts; node-redis
 * through `@effect/platform-node`'s `NodeRedis`). This module only counts; what to do when the
 * store is unreachable (fail closed or open) is the caller's choice.
 *
 * Calls to Redis go through a circuit breaker (`effect/persistence`'s): after
 * RATE_LIMIT_BREAKER_FAILURES failed calls in a row (refused, reset, or slower than
 * RATE_LIMIT_STORE_TIMEOUT) it opens for RATE_LIMIT_BREAKER_COOLDOWN, and every call answers
 * "store down" at once instead of waiting for the store's timeout; then one call probes Redis and
 * closes the circuit if it answers. The breaker is per instance (a shared one would live in Redis).
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Cause, Context, Data, Deferred, Duration, Effect, Exit, Layer, Option, Redacted, Stream } from "effect"
import { CircuitBreaker, RateLimiter } from "effect/persistence"
import { AppConfig, type RateLimitSettings, type RateRule } from "./Config.js"
import { hotSpan } from "./HotSpans.js"
import { makeMemoryRateStore } from "./MemoryRateStore.js"

/** Where a key stands against its rule after this request. */
export interface RateLimitState {
  readonly limit: number
  readonly remaining: number
  /** Seconds until the window has fully reset. */
  readonly resetSeconds: number
}

/** The rule is exhausted for this key. */
export class RateLimitHit extends Data.TaggedError("RateLimitHit")<{
  readonly state: RateLimitState
  readonly retryAfterSeconds: number
}> {}

/** The store could not be asked (Redis down), or was not because the circuit is open. */
export class RateLimitStoreDown extends Data.TaggedError("RateLimitStoreDown")<{
  readonly message: string
  /** No call was made: the breaker logged its opening once, callers need not log each request. */
  readonly circuitOpen: boolean
}> {}

/** The store failed to answer (a call was made, so the breaker counts it). */
const storeDown = (message: string) => new RateLimitStoreDown({ message, circuitOpen: false })

/** The breaker in front of the shared store; always closed for the memory store. */
export type CircuitState = "closed" | "open" | "half_open"

export interface RateLimitsShape {
  readonly enabled: boolean
  /** Counts one request against `rule` for `key`. */
  readonly consume: (rule: RateRule, key: string) => Effect.Effect<RateLimitState, RateLimitHit | RateLimitStoreDown>
  /** Gives back one request `consume` counted for `key` (a reservation that turned out not to count). */
  readonly refund: (rule: RateRule, key: string) => Effect.Effect<void, RateLimitStoreDown>
  /** Whether the store answers (through the breaker: an open circuit answers false at once): for readiness. */
  readonly probe: Effect.Effect<boolean>
  readonly circuit: Effect.Effect<CircuitState>
}

export class RateLimits extends Context.Service<RateLimits, RateLimitsShape>()("tasks-api/RateLimits") {}

const seconds = (d: Duration.Duration) => Math.max(0, Math.ceil(Duration.toSeconds(d)))

/** Every key of ours in a shared Redis starts with this. */
const REDIS_KEY_PREFIX = "tasks-api:ratelimit:"

/** How long boot waits for the first Redis connection before going on without it. */
const REDIS_BOOT_WAIT = Duration.seconds(2)

/**
 * node-redis options from `REDIS_URL`.
 *
 * How quickly a request learns that Redis is down (the fail-open path of the task API, the 503 of
 * credential endpoints):
 * - disconnected (refused, reset, reconnecting): at once — `disableOfflineQueue` rejects commands
 *   instead of queueing them until the connection returns;
 * - connected but not answering (a frozen server): within RATE_LIMIT_STORE_TIMEOUT (1 s), by
 *   `withinStoreTimeout` — and once the breaker is open, at once. node-redis' own
 *   `commandOptions.timeout` only covers a command still waiting to be written;
 * - never connected since boot: at once (see `redisLimiter`).
 * A connection attempt gives up after `connectTimeout`, 2 s, and is retried.
 */
const redisLayer = (url: string, timeout: Duration.Duration) => {
  const parsed = new URL(url)
  const db = Number(parsed.pathname.replace("/", "") || "0")
  const common = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), // an IPv6 address without its brackets
    port: Number(parsed.port || "6379"),
    connectTimeout: 2_000,
    // Keep reconnecting (at most every 2 s), whatever the failure and also before the first
    // connection: the limiter recovers by itself when Redis returns. (NodeRedis' default gives up
    // on the first failed connection and after a socket timeout.)
    reconnectStrategy: (retries: number) => Math.min((retries + 1) * 200, 2_000)
  }
  return NodeRedis.layer({
    socket: parsed.protocol === "rediss:" ? { ...common, tls: true } : common,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: Number.isInteger(db) ? db : 0,
    disableOfflineQueue: true,
    commandOptions: { timeout: Math.max(1, Duration.toMillis(timeout)) }
  })
}

/**
 * Fails a call to Redis that has not answered within `timeout`. node-redis stops timing a command
 * once it is written to the socket, so against a frozen server (connection open, nothing read) a
 * command would wait for ever. Real time, not the fiber's Clock: this bounds socket I/O, which
 * TestClock does not move. The command itself cannot be taken back; its late reply is dropped.
 */
const withinStoreTimeout = (timeout: Duration.Duration) => <A, E>(call: Effect.Effect<A, E>) =>
  Effect.raceFirst(
    call,
    Effect.callback<never, E | RateLimitStoreDown>((resume) => {
      const timer = setTimeout(
        () => resume(Effect.fail(storeDown(`no answer within ${Duration.format(timeout)}`))),
        Duration.toMillis(timeout)
      )
      return Effect.sync(() => clearTimeout(timer))
    })
  )

/** The limiter on the process-local store, whose lapsed keys are swept for the layer's lifetime. */
const memoryLimiter = Effect.flatMap(
  makeMemoryRateStore,
  ({ store }) => RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
)

/**
 * The limiter on the Redis store, connecting in the background: a Redis that is down at boot
 * does not hold the service back (the task API serves, credential endpoints answer 503). Boot
 * waits up to REDIS_BOOT_WAIT for the first connection, so a healthy Redis is in use from the
 * first request. The connection lives as long as the layer's scope.
 */
const redisLimiter = Effect.fnUntraced(function*(url: string, timeout: Duration.Duration) {
  const connected = yield* Deferred.make<RateLimiter.RateLimiter>()
  yield* Layer.build(
    RateLimiter.layer.pipe(
      Layer.provide(RateLimiter.layerStoreRedis({ prefix: REDIS_KEY_PREFIX })),
      Layer.provide(redisLayer(url, timeout))
    )
  ).pipe(
    Effect.flatMap((context) => Deferred.succeed(connected, Context.get(context, RateLimiter.RateLimiter))),
    // Not expected (connection attempts are retried for ever); without a store every check says so.
    Effect.catchTag("RedisError", (error) =>
      Effect.logError("rate-limit store could not be set up").pipe(
        Effect.annotateLogs({ event: "ratelimit.store_unavailable", error: String(error.cause) })
      )),
    Effect.forkScoped
  )
  yield* Effect.timeoutOption(Deferred.await(connected), REDIS_BOOT_WAIT)
  return Effect.flatMap(
    Deferred.poll(connected),
    Option.match({
      onNone: () => Effect.fail(storeDown("Redis not connected yet")),
      onSome: (limiter) => limiter
    })
  )
})

/** The one circuit of the breaker: the shared store. */
const CIRCUIT = "ratelimit-store"

const circuitStates = { Closed: "closed", Open: "open", HalfOpen: "half_open" } as const

/** A store failure counts against the store; an exhausted limit is an answer, so a success. */
const classify = (exit: Exit.Exit<unknown, RateLimitHit | RateLimitStoreDown>): CircuitBreaker.Outcome =>
  Exit.isFailure(exit) && Option.exists(Cause.findErrorOption(exit.cause), (e) => e._tag === "RateLimitStoreDown")
    ? CircuitBreaker.failure()
    : CircuitBreaker.success

/**
 * The breaker around calls to the shared store, each bounded by RATE_LIMIT_STORE_TIMEOUT, with its
 * state; its openings and closings are logged once each (the requests it answers are not).
 */
const storeBreaker = Effect.fnUntraced(function*(settings: RateLimitSettings) {
  const breaker = yield* CircuitBreaker.make({
    tripPolicy: CircuitBreaker.consecutive(settings.breakerFailures),
    openDuration: settings.breakerCooldown
  }).pipe(Effect.provide(CircuitBreaker.layerStoreMemory()))
  yield* breaker.transitions.pipe(
    Stream.runForEach((transition) =>
      transition.to === "Open"
        ? Effect.logWarning("rate-limit store circuit open: not calling it for the cool-down").pipe(
          Effect.annotateLogs({
            event: "ratelimit.circuit_open",
            from: circuitStates[transition.from],
            cooldown_ms: Duration.toMillis(transition.retryAfter)
          })
        )
        : Effect.logInfo(`rate-limit store circuit ${circuitStates[transition.to]}`).pipe(
          Effect.annotateLogs({ event: `ratelimit.circuit_${circuitStates[transition.to]}` })
        )
    ),
    Effect.forkScoped({ startImmediately: true })
  )
  const timed = withinStoreTimeout(settings.storeTimeout)
  const guard = <A>(
    call: Effect.Effect<A, RateLimitHit | RateLimitStoreDown>
  ): Effect.Effect<A, RateLimitHit | RateLimitStoreDown> =>
    breaker.execute(timed(call), { key: CIRCUIT, classify }).pipe(
      Effect.catchTag("CircuitBreakerError", (error) =>
        Effect.fail(
          new RateLimitStoreDown({
            message: error.message,
            circuitOpen: error.reason._tag !== "CircuitBreakerStoreError"
          })
        ))
    )
  const circuit = breaker.state(CIRCUIT).pipe(
    Effect.map((state): CircuitState => circuitStates[state._tag]),
    Effect.orElseSucceed((): CircuitState => "open")
  )
  return { guard, circuit }
})

/** No breaker (nor store timeout) in front of the memory store: it cannot be down. */
const noBreaker = {
  guard: <A, E>(call: Effect.Effect<A, E>) => call,
  circuit: Effect.succeed<CircuitState>("closed")
}

export const RateLimitsLive = Layer.effect(
  RateLimits,
  Effect.gen(function*() {
    const { rateLimit } = yield* AppConfig
    const shared = rateLimit.store === "redis" && Option.isSome(rateLimit.redisUrl)
    const limiter: Effect.Effect<RateLimiter.RateLimiter, RateLimitStoreDown> = shared
      ? yield* redisLimiter(Redacted.value(rateLimit.redisUrl.value), rateLimit.storeTimeout)
      : Effect.succeed(yield* memoryLimiter)
    const { circuit, guard } = shared ? yield* storeBreaker(rateLimit) : noBreaker

    // The library's two failures are reasons of one error.
    const toError = (error: RateLimiter.RateLimiterError) =>
      error.reason._tag === "RateLimitExceeded"
        ? new RateLimitHit({
          state: { limit: error.reason.limit, remaining: 0, resetSeconds: seconds(error.reason.retryAfter) },
          retryAfterSeconds: Math.max(1, seconds(error.reason.retryAfter))
        })
        : storeDown(`${error.reason.message}: ${String(error.reason.cause)}`)

    const ask = (
      rule: RateRule,
      key: string,
      tokens: number
    ): Effect.Effect<RateLimitState, RateLimitHit | RateLimitStoreDown> =>
      limiter.pipe(
        Effect.flatMap((limiter) =>
          Effect.mapError(
            limiter.consume({ algorithm: "fixed-window", window: rule.window, limit: rule.limit, key, tokens }),
            toError
          )
        ),
        guard,
        Effect.map((result) => ({
          limit: result.limit,
          remaining: Math.max(0, result.remaining),
          // Nothing counted yet (only possible when asking for no token): no window to wait for.
          // The Redis store answers the 1 ms expiry of the empty key it has just written.
          resetSeconds: result.remaining >= result.limit ? 0 : seconds(result.resetAfter)
        })),
        hotSpan("RateLimits.check", { attributes: { "ratelimit.limit": rule.limit } })
      )

    return {
      enabled: rateLimit.enabled,
      consume: (rule, key) => ask(rule, key, 1),
      // A negative count: both stores take the request and its share of the window back.
      refund: (rule, key) => Effect.asVoid(Effect.catchTag(ask(rule, key, -1), "RateLimitHit", () => Effect.void)),
      // Counting one on a key of its own: a real round trip through the store.
      probe: ask({ limit: 1_000, window: Duration.seconds(1_000) }, "probe", 1).pipe(
        Effect.as(true),
        Effect.catchTag("RateLimitStoreDown", () => Effect.succeed(false)),
        Effect.catchTag("RateLimitHit", () => Effect.succeed(true))
      ),
      circuit
    }
  })
)

/**
 * Rate limiting on `effect/persistence`'s `RateLimiter`, with its memory store (one instance) or
 * its Redis store (every instance shares the counts; node-redis through `@effect/platform-node`'s
 * `NodeRedis`). This module only counts; what to do when the store is unreachable (fail closed or
 * open) is the caller's choice.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Context, Data, Deferred, Duration, Effect, Layer, Option, Redacted } from "effect"
import { RateLimiter } from "effect/persistence"
import { AppConfig, type RateRule } from "./Config.js"

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

/** The store could not be asked (Redis down). */
export class RateLimitStoreDown extends Data.TaggedError("RateLimitStoreDown")<{ readonly message: string }> {}

export interface RateLimitsShape {
  readonly enabled: boolean
  /** Counts one request against `rule` for `key`. */
  readonly consume: (rule: RateRule, key: string) => Effect.Effect<RateLimitState, RateLimitHit | RateLimitStoreDown>
  /** Gives back one request `consume` counted for `key` (a reservation that turned out not to count). */
  readonly refund: (rule: RateRule, key: string) => Effect.Effect<void, RateLimitStoreDown>
  /** Whether the store answers: for readiness. */
  readonly probe: Effect.Effect<boolean>
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
 * - connected but not answering: within `commandOptions.timeout`, 1 s (node-redis' default is 5 s);
 * - never connected since boot: at once (see `redisLimiter`).
 * A connection attempt gives up after `connectTimeout`, 2 s, and is retried.
 */
const redisLayer = (url: string) => {
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
    commandOptions: { timeout: 1_000 }
  })
}

/** The limiter on the process-local store. */
const memoryLimiter = RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory))

/**
 * The limiter on the Redis store, connecting in the background: a Redis that is down at boot
 * does not hold the service back (the task API serves, credential endpoints answer 503). Boot
 * waits up to REDIS_BOOT_WAIT for the first connection, so a healthy Redis is in use from the
 * first request. The connection lives as long as the layer's scope.
 */
const redisLimiter = Effect.fnUntraced(function*(url: string) {
  const connected = yield* Deferred.make<RateLimiter.RateLimiter>()
  yield* Layer.build(
    RateLimiter.layer.pipe(
      Layer.provide(RateLimiter.layerStoreRedis({ prefix: REDIS_KEY_PREFIX })),
      Layer.provide(redisLayer(url))
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
      onNone: () => Effect.fail(new RateLimitStoreDown({ message: "Redis not connected yet" })),
      onSome: (limiter) => limiter
    })
  )
})

export const RateLimitsLive = Layer.effect(
  RateLimits,
  Effect.gen(function*() {
    const { rateLimit } = yield* AppConfig
    const limiter: Effect.Effect<RateLimiter.RateLimiter, RateLimitStoreDown> =
      rateLimit.store === "redis" && Option.isSome(rateLimit.redisUrl)
        ? yield* redisLimiter(Redacted.value(rateLimit.redisUrl.value))
        : Effect.succeed(yield* memoryLimiter)

    // The library's two failures are reasons of one error.
    const toError = (error: RateLimiter.RateLimiterError) =>
      error.reason._tag === "RateLimitExceeded"
        ? new RateLimitHit({
          state: { limit: error.reason.limit, remaining: 0, resetSeconds: seconds(error.reason.retryAfter) },
          retryAfterSeconds: Math.max(1, seconds(error.reason.retryAfter))
        })
        : new RateLimitStoreDown({ message: `${error.reason.message}: ${String(error.reason.cause)}` })

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
        Effect.map((result) => ({
          limit: result.limit,
          remaining: Math.max(0, result.remaining),
          // Nothing counted yet (only possible when asking for no token): no window to wait for.
          // The Redis store answers the 1 ms expiry of the empty key it has just written.
          resetSeconds: result.remaining >= result.limit ? 0 : seconds(result.resetAfter)
        })),
        Effect.withSpan("RateLimits.check", { attributes: { "ratelimit.limit": rule.limit } })
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
      )
    }
  })
)

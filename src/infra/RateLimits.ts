/**
 * Rate limiting on @effect/experimental's `RateLimiter`, with its memory store (one instance) or
 * its Redis store (every instance shares the counts). This module only counts; what to do when
 * the store is unreachable (fail closed or open) is the caller's choice.
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as RateLimiterRedis from "@effect/experimental/RateLimiter/Redis"
import { Context, Data, Duration, Effect, Layer, Option, Redacted } from "effect"
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
  /** Fails when `key` has no request left under `rule`, without counting one. */
  readonly ensureRemaining: (rule: RateRule, key: string) => Effect.Effect<RateLimitState, RateLimitHit | RateLimitStoreDown>
  /** Whether the store answers: for readiness. */
  readonly probe: Effect.Effect<boolean>
}

export class RateLimits extends Context.Tag("tasks-api/RateLimits")<RateLimits, RateLimitsShape>() {}

const seconds = (d: Duration.Duration) => Math.max(0, Math.ceil(Duration.toSeconds(d)))

/**
 * ioredis options from `REDIS_URL`. Commands issued while connecting wait for the connection; while
 * Redis is down they fail within `commandTimeout`, so a credential request answers 503 quickly.
 */
const redisOptions = (url: string) => {
  const parsed = new URL(url)
  const db = Number(parsed.pathname.replace("/", "") || "0")
  return {
    host: parsed.hostname,
    port: Number(parsed.port || "6379"),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
    prefix: "tasks-api:ratelimit:",
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    // Keep reconnecting (at most every 2 s): the limiter recovers by itself when Redis returns.
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000)
  }
}

const StoreLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ rateLimit }) =>
    rateLimit.store === "redis" && Option.isSome(rateLimit.redisUrl)
      ? RateLimiterRedis.layerStore(redisOptions(Redacted.value(rateLimit.redisUrl.value)))
      : RateLimiter.layerStoreMemory
  )
)

export const RateLimitsLive = Layer.effect(
  RateLimits,
  Effect.gen(function*() {
    const { rateLimit } = yield* AppConfig
    const limiter = yield* RateLimiter.RateLimiter

    // Both of the library's errors share one tag; `reason` tells them apart.
    const toError = (error: RateLimiter.RateLimiterError) =>
      error.reason === "Exceeded"
        ? new RateLimitHit({
          state: { limit: error.limit, remaining: 0, resetSeconds: seconds(error.retryAfter) },
          retryAfterSeconds: Math.max(1, seconds(error.retryAfter))
        })
        : new RateLimitStoreDown({ message: `${error.message}: ${String(error.cause)}` })

    const ask = (
      rule: RateRule,
      key: string,
      tokens: number
    ): Effect.Effect<RateLimitState, RateLimitHit | RateLimitStoreDown> =>
      limiter.consume({ algorithm: "fixed-window", window: rule.window, limit: rule.limit, key, tokens }).pipe(
        Effect.map((result) => ({
          limit: result.limit,
          remaining: Math.max(0, result.remaining),
          resetSeconds: seconds(result.resetAfter)
        })),
        Effect.mapError(toError),
        Effect.withSpan("RateLimits.check", { attributes: { "ratelimit.limit": rule.limit } })
      )

    return {
      enabled: rateLimit.enabled,
      consume: (rule, key) => ask(rule, key, 1),
      ensureRemaining: (rule, key) =>
        ask(rule, key, 0).pipe(
          // The Redis store's script cannot look at a key it never counted (it would set it with a
          // zero expiry, which Redis refuses): that refusal means nothing was counted yet.
          Effect.catchIf(
            (e) => e._tag === "RateLimitStoreDown" && e.message.includes("invalid expire time"),
            () => Effect.succeed<RateLimitState>({ limit: rule.limit, remaining: rule.limit, resetSeconds: 0 })
          ),
          Effect.flatMap((state) =>
            state.remaining > 0
              ? Effect.succeed(state)
              : Effect.fail(new RateLimitHit({ state, retryAfterSeconds: Math.max(1, state.resetSeconds) }))
          )
        ),
      // Counting one on a key of its own: a real round trip through the store.
      probe: ask({ limit: 1_000, window: Duration.seconds(1_000) }, "probe", 1).pipe(
        Effect.as(true),
        Effect.catchTag("RateLimitStoreDown", () => Effect.succeed(false)),
        Effect.catchTag("RateLimitHit", () => Effect.succeed(true))
      )
    }
  })
).pipe(Layer.provide(RateLimiter.layer), Layer.provide(StoreLive))

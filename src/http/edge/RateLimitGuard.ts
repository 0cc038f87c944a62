/**
 * Rate limits at the HTTP edge, in front of the limiter (`RateLimits`, infra/platform): which rules
 * a request counts against, the `RateLimit-*` headers every limited response carries, 429 with
 * `Retry-After`, and what an unreachable store means — closed (503) for credential endpoints, open
 * for the task API; logged either way.
 */
import { Effect } from "effect"
import { RateLimited, ServiceUnavailable } from "../../domain/Errors.js"
import type { RateRule } from "../../infra/platform/Config.js"
import { countRateLimitRejection } from "../../infra/platform/Metrics.js"
import type { RateLimitsShape, RateLimitState } from "../../infra/platform/RateLimits.js"
import { securityEvent } from "../../infra/platform/SecurityEvents.js"
import { addResponseHeaders } from "./RequestState.js"

export interface RateCheck {
  readonly rule: RateRule
  /** Stable rule name, part of the key and of logs: `signin:ip`, `api:user`, … */
  readonly name: string
  /** The subject (an IP, an account, a session, a user); null when unknown: the check is skipped. */
  readonly subject: string | null
}

const headersFor = (state: RateLimitState, retryAfter?: number) => ({
  "RateLimit-Limit": String(state.limit),
  "RateLimit-Remaining": String(state.remaining),
  "RateLimit-Reset": String(state.resetSeconds),
  ...(retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) })
})

/** The tightest of several states: the one with the fewest requests left. */
const tightest = (states: ReadonlyArray<RateLimitState>) =>
  states.reduce((
    a,
    b
  ) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a))

/** The store key of a check's subject: one counter per rule and subject. */
const keyOf = (name: string, subject: string) => `${name}:${subject}`

/**
 * Counts the request against each check; fails with 429 (or 503 when closed and the store is down).
 * The limiter is passed in, taken once by the caller's layer: reading it from the context per
 * request would copy the context on every API request.
 */
export const enforceWith = (
  limits: RateLimitsShape,
  checks: ReadonlyArray<RateCheck>,
  onStoreDown: "closed" | "open"
) =>
  Effect.gen(function*() {
    if (!limits.enabled) return
    const states: Array<RateLimitState> = []
    for (const check of checks) {
      if (check.subject === null) continue
      const key = keyOf(check.name, check.subject)
      const state = yield* limits.consume(check.rule, key).pipe(
        Effect.catchTags({
          RateLimitHit: (hit) =>
            securityEvent("ratelimit.exceeded", {
              rule: check.name,
              // The per-user and per-session rules name their subject; IPs are already annotated.
              ...(check.name.endsWith(":user") ? { user_id: check.subject ?? undefined } : {}),
              ...(check.name.endsWith(":session") ? { session_id: check.subject ?? undefined } : {})
            }).pipe(
              Effect.andThen(addResponseHeaders(headersFor(hit.state, hit.retryAfterSeconds))),
              Effect.andThen(countRateLimitRejection(check.name)),
              Effect.andThen(Effect.fail(new RateLimited()))
            ),
          RateLimitStoreDown: (down) =>
            // While the circuit is open nothing was called: its opening was logged once, not per request.
            (down.circuitOpen ? Effect.void : Effect.logError("rate-limit store unreachable").pipe(
              Effect.annotateLogs({
                event: "ratelimit.store_unavailable",
                rule: check.name,
                failing: onStoreDown,
                error: down.message
              })
            )).pipe(
              Effect.andThen(
                onStoreDown === "closed" ? Effect.fail(ServiceUnavailable.rateLimiter()) : Effect.succeed(undefined)
              )
            )
        })
      )
      if (state !== undefined) states.push(state)
    }
    if (states.length > 0) yield* addResponseHeaders(headersFor(tightest(states)))
  })

/**
 * Gives back the request `enforceWith` counted against `check`, for a count taken as a reservation
 * (signin failures per account: counted before the password check, so parallel attempts cannot all
 * pass, and refunded when the password was right); never fails the request.
 */
export const refund = (limits: RateLimitsShape, check: RateCheck) =>
  !limits.enabled || check.subject === null
    ? Effect.void
    : Effect.ignore(limits.refund(check.rule, keyOf(check.name, check.subject)))

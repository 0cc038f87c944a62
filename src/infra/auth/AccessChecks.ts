/**
 * The per-request check of an access token: its signature and claims, and that its session is
 * active and its user allowed in. A passed check is remembered for SESSION_CHECK_INTERVAL (at most
 * the 5 s security.md allows a revocation to take to reach another instance), so a busy client
 * costs one signature verification and one session read per interval, not per request.
 *
 * A session ended through this instance is forgotten here at once. Its id (or its user, for "all
 * sessions of a user") is also remembered for one interval, during which no check of it is cached:
 * a request racing the revocation's commit may still pass, but never for longer than itself.
 */
import { Cache, Clock, Context, Duration, Effect, Layer, Option } from "effect"
import type { Caller } from "../../domain/auth/AuthApi.js"
import { type CallerSessionId, isLegacySessionId } from "../../domain/auth/Session.js"
import { isBanned, type UserId } from "../../domain/auth/User.js"
import { type ServiceUnavailable, Unauthorized } from "../../domain/Errors.js"
import { AppConfig } from "../platform/Config.js"
import { currentDate } from "../platform/Time.js"
import { LegacyRevocations, LegacyRevocationsLive } from "./LegacyRevocations.js"
import { SessionRepo, SessionRepoLive } from "./SessionRepo.js"
import { Tokens, TokensLive } from "./Tokens.js"
import { UserRepo, UserRepoLive } from "./UserRepo.js"

/** How many distinct tokens are remembered (~1 KB each); the least recently used go first. */
const CAPACITY = 10_000

export interface AccessChecksShape {
  /** Verifies an access token and that its session is active and its user allowed in. */
  readonly check: (accessToken: string) => Effect.Effect<Caller, Unauthorized | ServiceUnavailable>
  /** The same check, never answered from memory: for a long-lived call (a watch) re-checking its token. */
  readonly recheck: (accessToken: string) => Effect.Effect<Caller, Unauthorized | ServiceUnavailable>
  /** The session ended here: its tokens are refused from the next request on. */
  readonly forgetSession: (sessionId: CallerSessionId) => Effect.Effect<void>
  /** Every session of the user but `keep` ended here. */
  readonly forgetUser: (userId: UserId, keep: CallerSessionId | null) => Effect.Effect<void>
}

export class AccessChecks extends Context.Service<AccessChecks, AccessChecksShape>()("tasks-api/AccessChecks") {}

export const AccessChecksLive = Layer.effect(
  AccessChecks,
  Effect.gen(function*() {
    const { sessionCheckInterval } = yield* AppConfig
    const tokens = yield* Tokens
    const users = yield* UserRepo
    const sessionRepo = yield* SessionRepo
    const legacyRevocations = yield* LegacyRevocations
    const intervalMillis = Duration.toMillis(sessionCheckInterval)

    const verify = (accessToken: string) =>
      Effect.gen(function*() {
        const claims = yield* tokens.verifyAccessToken(accessToken).pipe(
          Effect.catchTag("InvalidToken", () => Effect.fail(Unauthorized.invalid()))
        )
        const at = yield* currentDate
        if (isLegacySessionId(claims.sessionId)) {
          // A legacy token of the old backend (accepted only while LEGACY_TOKENS_UNTIL is ahead):
          // no session to check, but the user must still exist and not be banned, and the token
          // must not have been ended (logout, revocation, password change).
          const found = yield* users.findById(claims.userId)
          if (Option.isNone(found) || isBanned(found.value.user, at)) return yield* Unauthorized.invalid()
          if (yield* legacyRevocations.isEnded(claims.userId, claims.sessionId, claims.issuedAt)) {
            return yield* Unauthorized.invalid()
          }
          return {
            user: found.value.user,
            session: { id: claims.sessionId, expiresAt: claims.expiresAt, ipAddress: null, userAgent: null },
            issuedAt: claims.issuedAt,
            expiresAt: claims.expiresAt
          } satisfies Caller
        }
        const active = yield* sessionRepo.findActive(claims.sessionId, claims.userId, at)
        if (Option.isNone(active) || isBanned(active.value.user, at)) return yield* Unauthorized.invalid()
        return {
          user: active.value.user,
          session: active.value.session,
          issuedAt: claims.issuedAt,
          expiresAt: claims.expiresAt
        } satisfies Caller
      }).pipe(Effect.withSpan("AccessChecks.verify"))

    if (intervalMillis <= 1) {
      return AccessChecks.of({
        check: verify,
        recheck: verify,
        forgetSession: () => Effect.void,
        forgetUser: () => Effect.void
      })
    }

    // Sessions and users ended here lately, with when the mark lapses (epoch ms). Instants come from
    // the calling fiber's Clock (TestClock in tests), the one the cache reads for its expiry.
    const endedLately = new Map<string, number>()
    const sessionMark = (id: string) => `session:${id}`
    const userMark = (id: string) => `user:${id}`
    const endedLatelyHere = (caller: Caller, nowMillis: number) =>
      (endedLately.get(sessionMark(caller.session.id)) ?? 0) > nowMillis ||
      (endedLately.get(userMark(caller.user.id)) ?? 0) > nowMillis

    // Filled by `check` itself (`set`), never by a lookup: the cache would run its lookup in the
    // layer's context, and the verification's spans belong under the request's span.
    const cache = yield* Cache.make<string, Caller>({
      capacity: CAPACITY,
      lookup: () => Effect.die(new Error("AccessChecks: entries are only set")),
      // The whole interval: an entry lapses once now >= set + TTL, so a session ended elsewhere is
      // refused by the end of the interval, not one tick later.
      timeToLive: Duration.millis(intervalMillis)
    })

    /** Verifies now; remembers a pass unless the session or its user was just ended here. */
    const verifyAndRemember = (accessToken: string) =>
      Effect.tap(
        verify(accessToken),
        (caller) =>
          Effect.flatMap(Clock.currentTimeMillis, (nowMillis) =>
            endedLatelyHere(caller, nowMillis) ? Effect.void : Cache.set(cache, accessToken, caller))
      )

    const mark = (key: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMillis) =>
        Effect.sync(() => {
          for (const [k, until] of endedLately) if (until <= nowMillis) endedLately.delete(k)
          endedLately.set(key, nowMillis + intervalMillis)
        }))

    const forgetWhere = (ended: (caller: Caller) => boolean) =>
      Effect.flatMap(
        Cache.entries(cache),
        (entries) =>
          Effect.forEach(entries, ([token, caller]) => (ended(caller) ? Cache.invalidate(cache, token) : Effect.void), {
            discard: true
          })
      )

    return AccessChecks.of({
      recheck: verify,
      check: (accessToken) =>
        Effect.flatMap(Cache.getSuccess(cache, accessToken), (remembered) =>
          Option.match(remembered, {
            onNone: () => verifyAndRemember(accessToken),
            onSome: (caller) =>
              Effect.flatMap(currentDate, (at) =>
                // Remembered, but the token or its session may have run out since: ask again.
                caller.expiresAt > at && caller.session.expiresAt > at
                  ? Effect.succeed(caller)
                  : Effect.andThen(Cache.invalidate(cache, accessToken), verify(accessToken)))
          })),
      forgetSession: (sessionId) =>
        Effect.andThen(mark(sessionMark(sessionId)), forgetWhere((caller) => caller.session.id === sessionId)),
      forgetUser: (userId, keep) =>
        Effect.andThen(
          mark(userMark(userId)),
          forgetWhere((caller) => caller.user.id === userId && caller.session.id !== keep)
        )
    })
  })
).pipe(Layer.provide([TokensLive, UserRepoLive, SessionRepoLive, LegacyRevocationsLive]))

/**
 * The per-request check of an access token: its signature and claims, and that its session is
 * active and its user allowed in. A passed check is remembered for SESSION_CHECK_INTERVAL (at most
 * the 5 s security.md allows a revocation to take to reach another instance), so a busy client
 * costs one signature verification and one session read per interval, not per request.
 *
 * What one token costs stays one read however it is sent: concurrent checks of a token share one
 * read of its session (single flight), and a refusal after that read (session ended, user banned
 * or gone) is remembered for the interval too, so a batch of calls with a logged-out token costs
 * one read, not one per call. A refusal only ever lasts longer than the facts behind it by one
 * interval (a session revived in SQL, a ban lifted), as a pass does.
 *
 * A session ended through this instance is forgotten here at once. Its id (or its user, for "all
 * sessions of a user") is also remembered for one interval, during which no check of it is cached:
 * a request racing the revocation's commit may still pass, but never for longer than itself.
 */
import { Cause, Clock, Context, Deferred, Duration, Effect, Layer, Option } from "effect"
import type { Caller } from "../../domain/auth/AuthApi.js"
import { type CallerSessionId, isLegacySessionId } from "../../domain/auth/Session.js"
import { isBanned, type UserId } from "../../domain/auth/User.js"
import { type ServiceUnavailable, Unauthorized } from "../../domain/Errors.js"
import { type BoundedCacheSize, makeBoundedCache } from "../platform/BoundedCache.js"
import { AppConfig } from "../platform/Config.js"
import { hotSpan } from "../platform/HotSpans.js"
import { currentDate } from "../platform/Time.js"
import { LegacyRevocations, LegacyRevocationsLive } from "./LegacyRevocations.js"
import { SessionRepo, SessionRepoLive } from "./SessionRepo.js"
import { type AccessClaims, Tokens, TokensLive } from "./Tokens.js"
import { UserRepo, UserRepoLive } from "./UserRepo.js"

/**
 * How many distinct tokens are remembered, passed and refused apart, and the memory they may take
 * (estimated: the token, the caller as JSON, and ENTRY_OVERHEAD): the oldest go first. An entry is
 * dropped once its interval is over, at the next check.
 */
const CAPACITY = 10_000
const PASSED_MAX_BYTES = 16 * 2 ** 20
const REFUSED_MAX_BYTES = 4 * 2 ** 20
/** The map entry, the entry record and the objects behind a caller, beyond their strings. */
const ENTRY_OVERHEAD = 400

type CheckError = Unauthorized | ServiceUnavailable

/** Runs once a token's signature and claims hold, before its session is read: the caller's rate limit. */
export type Admission<E> = (userId: UserId) => Effect.Effect<void, E>

export interface AccessChecksShape {
  /**
   * Verifies an access token and that its session is active and its user allowed in. `admit` runs
   * for every call whose token is not known to be refused, before anything reads the database (a
   * rate limit that is exhausted costs no read); its failure is the check's.
   */
  readonly check: <E>(accessToken: string, admit: Admission<E>) => Effect.Effect<Caller, CheckError | E>
  /** The same check, never answered from memory: for a long-lived call (a watch) re-checking its token. */
  readonly recheck: (accessToken: string) => Effect.Effect<Caller, CheckError>
  /** The session ended here: its tokens are refused from the next request on. */
  readonly forgetSession: (sessionId: CallerSessionId) => Effect.Effect<void>
  /** Every session of the user but `keep` ended here. */
  readonly forgetUser: (userId: UserId, keep: CallerSessionId | null) => Effect.Effect<void>
  /** What the checks hold in memory (lapsed entries not yet dropped included): for tests and diagnostics. */
  readonly held: Effect.Effect<AccessChecksHeld>
}

export interface AccessChecksHeld {
  readonly passed: BoundedCacheSize
  readonly refused: BoundedCacheSize
  readonly readsUnderWay: number
  readonly endedLately: number
}

export class AccessChecks extends Context.Service<AccessChecks, AccessChecksShape>()("tasks-api/AccessChecks") {}

export const AccessChecksLive = Layer.effect(
  AccessChecks,
  Effect.gen(function*() {
    const { accessTokenTtl, benchGuardsOff, sessionCheckInterval } = yield* AppConfig
    const tokens = yield* Tokens
    const users = yield* UserRepo
    const sessionRepo = yield* SessionRepo
    const legacyRevocations = yield* LegacyRevocations
    const intervalMillis = Duration.toMillis(sessionCheckInterval)
    // How long a pass is remembered: the interval; for a benchmark measuring what the session
    // check costs (BENCH_GUARDS_OFF=session-check), the token's whole life, so that its session is
    // read (and its signature verified) once rather than once per interval.
    const trustMillis = benchGuardsOff.has("session-check") ? Duration.toMillis(accessTokenTtl) : intervalMillis

    const claimsOf = (accessToken: string) =>
      tokens.verifyAccessToken(accessToken).pipe(
        Effect.catchTag("InvalidToken", () => Effect.fail(Unauthorized.invalid()))
      )

    /** The database's half of a check: the session (or legacy token) of verified claims. */
    const callerOf = (claims: AccessClaims) =>
      Effect.gen(function*() {
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
      }).pipe(hotSpan("AccessChecks.verify"))

    const verify = (accessToken: string) => Effect.flatMap(claimsOf(accessToken), callerOf)

    // Reads under way, by token, with whose they are (so an end here stops new calls joining them).
    interface UnderWay {
      readonly result: Deferred.Deferred<Caller, CheckError>
      readonly claims: AccessClaims
    }
    const underWay = new Map<string, UnderWay>()

    /**
     * Reads the token's session once for every concurrent call: the first runs `read`, the others
     * wait for its answer. One whose read was interrupted (its client went away) reads on its own.
     */
    const sharedRead = (
      accessToken: string,
      claims: AccessClaims,
      read: (claims: AccessClaims) => Effect.Effect<Caller, CheckError>
    ): Effect.Effect<Caller, CheckError> =>
      Effect.suspend(() => {
        const running = underWay.get(accessToken)
        if (running !== undefined) {
          return Effect.catchCauseIf(Deferred.await(running.result), Cause.hasInterruptsOnly, () => read(claims))
        }
        const entry: UnderWay = { result: Deferred.makeUnsafe(), claims }
        underWay.set(accessToken, entry)
        return Effect.onExit(read(claims), (exit) => {
          if (underWay.get(accessToken) === entry) underWay.delete(accessToken)
          return Deferred.done(entry.result, exit)
        })
      })

    /** A check that nothing remembered answers: the claims, the admission, then the (shared) read. */
    const checkAfresh = <E>(
      accessToken: string,
      admit: Admission<E>,
      read: (claims: AccessClaims) => Effect.Effect<Caller, CheckError>
    ) =>
      Effect.gen(function*() {
        const claims = yield* claimsOf(accessToken)
        yield* admit(claims.userId)
        return yield* sharedRead(accessToken, claims, read)
      })

    /** The sessions an end here covers, by their user and id. */
    type Ended = (userId: UserId, sessionId: CallerSessionId) => boolean
    const sessionEnded = (ended: CallerSessionId): Ended => (_, sessionId) => sessionId === ended
    const userEnded = (ended: UserId, keep: CallerSessionId | null): Ended => (userId, sessionId) =>
      userId === ended && sessionId !== keep

    /** New calls no longer join reads begun before the session or user was ended here. */
    const leaveReadsWhere = (ended: Ended) =>
      Effect.sync(() => {
        for (const [token, { claims }] of underWay) {
          if (ended(claims.userId, claims.sessionId)) underWay.delete(token)
        }
      })

    const nothing: BoundedCacheSize = { entries: 0, bytes: 0 }
    if (trustMillis <= 1) {
      return AccessChecks.of({
        check: (accessToken, admit) => checkAfresh(accessToken, admit, callerOf),
        recheck: verify,
        forgetSession: (sessionId) => leaveReadsWhere(sessionEnded(sessionId)),
        forgetUser: (userId, keep) => leaveReadsWhere(userEnded(userId, keep)),
        held: Effect.sync(() => ({ passed: nothing, refused: nothing, readsUnderWay: underWay.size, endedLately: 0 }))
      })
    }

    // Sessions and users ended here lately, each for one interval, on the calling fiber's Clock
    // (TestClock in tests) as the caches below. Never bounded: a mark dropped early would let a
    // pass of an ended session be remembered.
    const endedLately = makeBoundedCache<true>({
      timeToLiveMillis: intervalMillis,
      maxEntries: Infinity,
      maxBytes: Infinity,
      bytesOf: () => 0
    })
    const sessionMark = (id: string) => `session:${id}`
    const userMark = (id: string) => `user:${id}`
    const endedLatelyHere = (caller: Caller, nowMillis: number) =>
      endedLately.get(sessionMark(caller.session.id), nowMillis) !== undefined ||
      endedLately.get(userMark(caller.user.id), nowMillis) !== undefined

    // Passed checks. The whole interval: an entry lapses once now >= set + interval, so a session
    // ended elsewhere is refused by the end of the interval, not one tick later.
    const passed = makeBoundedCache<Caller>({
      timeToLiveMillis: trustMillis,
      maxEntries: CAPACITY,
      maxBytes: PASSED_MAX_BYTES,
      bytesOf: (token, caller) => token.length + JSON.stringify(caller).length + ENTRY_OVERHEAD
    })

    // Tokens whose session or user was refused lately: refused again without a read until it lapses.
    const refused = makeBoundedCache<true>({
      timeToLiveMillis: intervalMillis,
      maxEntries: CAPACITY,
      maxBytes: REFUSED_MAX_BYTES,
      bytesOf: (token) => token.length + ENTRY_OVERHEAD
    })

    /** Runs `f` with the calling fiber's time (TestClock in tests). */
    const atNow = <A>(f: (nowMillis: number) => A) => Effect.map(Clock.currentTimeMillis, f)

    /** Reads now; remembers a pass unless the session or its user was just ended here, and a refusal. */
    const readAndRemember = (accessToken: string) => (claims: AccessClaims) =>
      callerOf(claims).pipe(
        Effect.tap((caller) =>
          atNow((nowMillis) => {
            if (!endedLatelyHere(caller, nowMillis)) passed.set(accessToken, caller, nowMillis)
          })
        ),
        Effect.tapError((error) =>
          error._tag === "Unauthorized" ? atNow((nowMillis) => refused.set(accessToken, true, nowMillis)) : Effect.void
        )
      )

    const mark = (key: string) => atNow((nowMillis) => endedLately.set(key, true, nowMillis))

    const forgetWhere = (ended: Ended) =>
      atNow((nowMillis) => {
        for (const [token, caller] of passed.entries(nowMillis)) {
          if (ended(caller.user.id, caller.session.id)) passed.delete(token)
        }
      })

    /** Ended here: marked for an interval, no read under way joined, no remembered pass answering. */
    const endHere = (markKey: string, ended: Ended) =>
      Effect.andThen(mark(markKey), Effect.andThen(leaveReadsWhere(ended), forgetWhere(ended)))

    return AccessChecks.of({
      recheck: verify,
      check: (accessToken, admit) =>
        Effect.gen(function*() {
          const nowMillis = yield* Clock.currentTimeMillis
          if (refused.get(accessToken, nowMillis) !== undefined) return yield* Unauthorized.invalid()
          const caller = passed.get(accessToken, nowMillis)
          if (caller !== undefined) {
            const at = yield* currentDate
            // Remembered, but the token or its session may have run out since: ask again.
            if (caller.expiresAt > at && caller.session.expiresAt > at) {
              yield* admit(caller.user.id)
              return caller
            }
            passed.delete(accessToken)
          }
          return yield* checkAfresh(accessToken, admit, readAndRemember(accessToken))
        }),
      forgetSession: (sessionId) => endHere(sessionMark(sessionId), sessionEnded(sessionId)),
      forgetUser: (userId, keep) => endHere(userMark(userId), userEnded(userId, keep)),
      held: Effect.sync(() => ({
        passed: passed.size(),
        refused: refused.size(),
        readsUnderWay: underWay.size,
        endedLately: endedLately.size().entries
      }))
    })
  })
).pipe(Layer.provide([TokensLive, UserRepoLive, SessionRepoLive, LegacyRevocationsLive]))

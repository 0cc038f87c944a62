/**
 * Sessions: opening one per signin, refresh-token rotation with reuse detection and a
 * concurrency grace, and ending sessions (logout scopes, RFC 7009 revocation, one by id).
 * Every lifetime is read from Effect's `Clock`.
 */
import { Context, Duration, Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import { type LogoutScope, TokenPair } from "../../domain/auth/Auth.js"
import type { Caller } from "../../domain/auth/AuthApi.js"
import { type CallerSessionId, isLegacySessionId, type LegacySessionId, SessionId } from "../../domain/auth/Session.js"
import { isBanned, type User, type UserId } from "../../domain/auth/User.js"
import { RefreshRefused, type ServiceUnavailable, SessionNotFound } from "../../domain/Errors.js"
import type { ClientInfo } from "../platform/ClientInfo.js"
import { AppConfig } from "../platform/Config.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"
import { countRefreshReuse } from "../platform/Metrics.js"
import { securityEvent } from "../platform/SecurityEvents.js"
import { currentDate } from "../platform/Time.js"
import { AccessChecks, AccessChecksLive } from "./AccessChecks.js"
import { LegacyRevocations, LegacyRevocationsLive } from "./LegacyRevocations.js"
import { mintRefreshToken, parseRefreshToken, type RefreshTokenClaims } from "./RefreshTokens.js"
import { type RevocationReason, type SessionRecord, SessionRepo, SessionRepoLive } from "./SessionRepo.js"
import { Tokens, TokensLive } from "./Tokens.js"

export interface SessionsShape {
  readonly open: (
    user: User,
    client: ClientInfo
  ) => Effect.Effect<{ readonly pair: TokenPair; readonly sessionId: SessionId }, ServiceUnavailable>
  /**
   * What an authentic refresh token claims (its session, whether or not still current, and its
   * counter), else undefined. Parsed once per request: the caller rate-limits by its session.
   */
  readonly refreshClaims: (refreshToken: string) => RefreshTokenClaims | undefined
  /** Rotates the session `refreshClaims` read from a token; undefined (not authentic) is refused. */
  readonly refresh: (
    claims: RefreshTokenClaims | undefined
  ) => Effect.Effect<TokenPair, RefreshRefused | ServiceUnavailable>
  readonly logout: (caller: Caller, scope: LogoutScope) => Effect.Effect<void, ServiceUnavailable>
  /** RFC 7009: ends the session of a refresh or access token; unknown tokens are ignored. */
  readonly revokeToken: (token: string) => Effect.Effect<void, ServiceUnavailable>
  readonly listActive: (userId: UserId) => Effect.Effect<ReadonlyArray<SessionRecord>, ServiceUnavailable>
  readonly end: (caller: Caller, sessionId: SessionId) => Effect.Effect<void, SessionNotFound | ServiceUnavailable>
  /** Ends every session of the user but `keep` (null: all of them). */
  readonly endAllOfUser: (
    userId: UserId,
    reason: RevocationReason,
    keep: CallerSessionId | null
  ) => Effect.Effect<number, ServiceUnavailable>
}

export class Sessions extends Context.Service<Sessions, SessionsShape>()("tasks-api/Sessions") {}

/** What a locked refresh decided; failures are answered after the transaction commits. */
type RefreshOutcome =
  | { readonly _tag: "Issue"; readonly session: SessionRecord; readonly user: User; readonly counter: number }
  | { readonly _tag: "Refuse"; readonly error: RefreshRefused }

export const SessionsLive = Layer.effect(
  Sessions,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const tokens = yield* Tokens
    const repo = yield* SessionRepo
    const accessChecks = yield* AccessChecks
    const legacyRevocations = yield* LegacyRevocations
    const now = currentDate
    /** Ends one session, here too: its access tokens are refused from the next request on. */
    const revoke = (sessionId: SessionId, reason: RevocationReason, at: Date) =>
      Effect.andThen(repo.revoke(sessionId, reason, at), accessChecks.forgetSession(sessionId))
    const refreshKeys = [tokens.refreshTokenKeys.current, ...tokens.refreshTokenKeys.previous]
    const graceMillis = Duration.toMillis(config.refreshReuseGrace)

    const idleExpiry = (from: Date, absolute: Date) =>
      new Date(Math.min(absolute.getTime(), from.getTime() + Duration.toMillis(config.refreshTokenTtl)))

    const tokenPair = Effect.fn("Sessions.tokenPair")(function*(
      user: User,
      sessionId: SessionId,
      counter: number,
      refreshExpiresAt: Date
    ) {
      const access = yield* tokens.issueAccessToken({ userId: user.id, email: user.email, role: user.role, sessionId })
      return new TokenPair({
        token: access.token,
        user_id: user.id,
        expires_at: access.expiresAt,
        refresh_token: mintRefreshToken(tokens.refreshTokenKeys.current, { sessionId, counter }),
        refresh_expires_at: refreshExpiresAt,
        token_type: "Bearer",
        expires_in: Math.round((access.expiresAt.getTime() - access.issuedAt.getTime()) / 1000)
      })
    })

    const open: SessionsShape["open"] = Effect.fn("Sessions.open")(function*(user, client) {
      const openedAt = yield* now
      const sessionId = SessionId.make(randomUUID())
      const expiresAt = new Date(openedAt.getTime() + Duration.toMillis(config.sessionMaxAge))
      const idleExpiresAt = idleExpiry(openedAt, expiresAt)
      yield* repo.insert({ id: sessionId, userId: user.id, now: openedAt, idleExpiresAt, expiresAt, ...client })
      return { pair: yield* tokenPair(user, sessionId, 0, idleExpiresAt), sessionId }
    })

    const refreshClaims: SessionsShape["refreshClaims"] = (refreshToken) => parseRefreshToken(refreshToken, refreshKeys)

    const refresh: SessionsShape["refresh"] = Effect.fn("Sessions.refresh")(function*(claims) {
      if (claims === undefined) return yield* RefreshRefused.invalid()
      const at = yield* now
      const outcome = yield* repo.withLocked(claims.sessionId, (locked) => {
        const refuse = (error: RefreshRefused) => Effect.succeed<RefreshOutcome>({ _tag: "Refuse", error })
        if (Option.isNone(locked)) return refuse(RefreshRefused.invalid())
        const { session, user } = locked.value
        const withinGrace = claims.counter === session.refreshCounter - 1 && session.rotatedAt !== null &&
          at.getTime() - session.rotatedAt.getTime() <= graceMillis
        if (claims.counter < session.refreshCounter && !withinGrace) {
          // A token rotated away is presented again: theft evidence. End the whole session (if it
          // is not over already), and say so every time such a token comes back.
          return revoke(session.id, "refresh_token_reused", at).pipe(
            Effect.andThen(securityEvent("auth.refresh.reused", { user_id: user.id, session_id: session.id })),
            Effect.andThen(countRefreshReuse),
            Effect.andThen(refuse(RefreshRefused.reused()))
          )
        }
        if (session.revokedAt !== null) return refuse(RefreshRefused.revoked())
        if (session.expiresAt <= at || session.idleExpiresAt <= at) return refuse(RefreshRefused.expired())
        if (isBanned(user, at)) {
          return revoke(session.id, "user_banned", at).pipe(
            Effect.andThen(securityEvent("auth.user.banned", { user_id: user.id, session_id: session.id })),
            Effect.andThen(refuse(RefreshRefused.revoked()))
          )
        }
        if (withinGrace) {
          // Another tab refreshed a moment ago: answer the token that rotation handed out.
          return repo.touch(session.id, at).pipe(
            Effect.as<RefreshOutcome>({ _tag: "Issue", session, user, counter: session.refreshCounter })
          )
        }
        if (claims.counter !== session.refreshCounter) return refuse(RefreshRefused.invalid())
        const counter = session.refreshCounter + 1
        const idleExpiresAt = idleExpiry(at, session.expiresAt)
        return repo.rotate(session.id, counter, at, idleExpiresAt).pipe(
          Effect.as<RefreshOutcome>({ _tag: "Issue", session: { ...session, idleExpiresAt }, user, counter })
        )
      })
      if (outcome._tag === "Refuse") return yield* outcome.error
      return yield* tokenPair(outcome.user, outcome.session.id, outcome.counter, outcome.session.idleExpiresAt)
    })

    const endAllOfUser: SessionsShape["endAllOfUser"] = Effect.fn("Sessions.endAllOfUser")(
      function*(userId, reason, keep) {
        // A legacy caller's session names no row: every session of the user ends. So do the
        // user's legacy tokens, but the caller's own.
        const keepRow = keep !== null && isLegacySessionId(keep) ? null : keep
        const ended = yield* repo.revokeAllOfUser(userId, reason, yield* now, keepRow)
        yield* legacyRevocations.endAllOfUser(userId, keep)
        yield* accessChecks.forgetUser(userId, keep)
        if (ended > 0) {
          yield* securityEvent("auth.session.revoked", { user_id: userId, reason, sessions: ended })
        }
        return ended
      }
    )

    const endOne = (userId: UserId, sessionId: SessionId, reason: RevocationReason) =>
      Effect.flatMap(now, (at) => repo.revokeOwned(userId, sessionId, reason, at)).pipe(
        Effect.tap((ended) =>
          ended
            ? Effect.andThen(
              accessChecks.forgetSession(sessionId),
              securityEvent("auth.session.revoked", { user_id: userId, session_id: sessionId, reason })
            )
            : Effect.void
        )
      )

    /** Ends a legacy token, here too: it is refused from the next request on. */
    const endLegacy = (userId: UserId, sessionId: LegacySessionId) =>
      Effect.andThen(legacyRevocations.endToken(userId, sessionId), accessChecks.forgetSession(sessionId))

    const logout: SessionsShape["logout"] = Effect.fn("Sessions.logout")(function*(caller, scope) {
      const userId = caller.user.id
      const current = caller.session.id
      switch (scope) {
        case "local":
          // A legacy caller is in no session: its token is what ends.
          if (isLegacySessionId(current)) return yield* endLegacy(userId, current)
          return yield* Effect.asVoid(endOne(userId, current, "logout"))
        case "global":
          return yield* Effect.asVoid(endAllOfUser(userId, "logout_global", null))
        case "others":
          return yield* Effect.asVoid(endAllOfUser(userId, "logout_others", current))
      }
    })

    const revokeToken: SessionsShape["revokeToken"] = Effect.fn("Sessions.revokeToken")(function*(token) {
      const claims = refreshClaims(token)
      // No lock needed: the update is idempotent (an unknown or already ended session is left as is).
      if (claims !== undefined) return yield* orUnavailable(revoke(claims.sessionId, "revoked", yield* now))
      const access = yield* Effect.option(tokens.verifyAccessToken(token))
      if (Option.isNone(access)) return
      const { sessionId, userId } = access.value
      if (isLegacySessionId(sessionId)) yield* endLegacy(userId, sessionId)
      else yield* endOne(userId, sessionId, "revoked")
    })

    const end: SessionsShape["end"] = Effect.fn("Sessions.end")(function*(caller, sessionId) {
      if (!(yield* endOne(caller.user.id, sessionId, "session_deleted"))) return yield* new SessionNotFound()
    })

    const listActive: SessionsShape["listActive"] = (userId) => Effect.flatMap(now, (at) => repo.listActive(userId, at))

    return { open, refreshClaims, refresh, logout, revokeToken, listActive, end, endAllOfUser }
  })
).pipe(Layer.provide([TokensLive, SessionRepoLive, AccessChecksLive, LegacyRevocationsLive]))

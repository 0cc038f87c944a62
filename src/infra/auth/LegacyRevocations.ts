/**
 * Ending the old backend's tokens, which name no session (`legacy_token_revocation`): one token,
 * or every token of a user issued until now but the caller's. In PostgreSQL, so an instance
 * refuses a token ended through another within SESSION_CHECK_INTERVAL. Nothing is written or
 * read once LEGACY_TOKENS_UNTIL has passed: no legacy token is accepted then.
 */
import { Context, Duration, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import {
  type CallerSessionId,
  isLegacySessionId,
  type LegacySessionId,
  legacyTokenIdOf
} from "../../domain/auth/Session.js"
import type { UserId } from "../../domain/auth/User.js"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { AppConfig } from "../platform/Config.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"
import { currentDate } from "../platform/Time.js"
import { LEGACY_TOKEN_MAX_AGE_SECONDS } from "./Tokens.js"

export interface LegacyRevocationsShape {
  /** Ends the caller's legacy token. */
  readonly endToken: (userId: UserId, sessionId: LegacySessionId) => Effect.Effect<void, ServiceUnavailable>
  /** Ends every legacy token of the user issued until now but `keep`'s (when the caller holds one). */
  readonly endAllOfUser: (userId: UserId, keep: CallerSessionId | null) => Effect.Effect<void, ServiceUnavailable>
  /** Whether the legacy token (its caller's session id, and its `iat`) was ended. */
  readonly isEnded: (
    userId: UserId,
    sessionId: LegacySessionId,
    issuedAt: Date
  ) => Effect.Effect<boolean, ServiceUnavailable>
}

export class LegacyRevocations
  extends Context.Service<LegacyRevocations, LegacyRevocationsShape>()("tasks-api/LegacyRevocations")
{}

/** The token a `keep` (a caller's session id) names, when it is a legacy one. */
export const keptLegacyToken = (keep: CallerSessionId | null) =>
  keep !== null && isLegacySessionId(keep) ? legacyTokenIdOf(keep) : null

/** A row outlives every token it ends: issued by then, each is refused 24 h (and the skew) later. */
const ROW_LIFETIME_MILLIS = Duration.toMillis(Duration.seconds(LEGACY_TOKEN_MAX_AGE_SECONDS + 30))

export const LegacyRevocationsLive = Layer.effect(
  LegacyRevocations,
  Effect.gen(function*() {
    const { legacyTokensUntil } = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const windowOpenAt = (at: Date) => Option.exists(legacyTokensUntil, (until) => at < until)

    /** Records a revocation (and drops the rows no longer needed), while the window is open. */
    const record = (userId: UserId, tokenId: string | null, keptTokenId: string | null) =>
      Effect.gen(function*() {
        const at = yield* currentDate
        if (!windowOpenAt(at)) return
        const expiresAt = new Date(at.getTime() + ROW_LIFETIME_MILLIS)
        yield* sql`DELETE FROM legacy_token_revocation WHERE expires_at <= ${at}`
        // Repeated, a revocation adds no row: a token's stays, a user's moves forward (it then ends
        // a superset of what it ended).
        const onConflict = tokenId === null
          ? sql`ON CONFLICT (user_id, (coalesce(kept_token_id, ''))) WHERE token_id IS NULL
                DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at`
          : sql`ON CONFLICT (token_id) WHERE token_id IS NOT NULL DO NOTHING`
        yield* sql`
          INSERT INTO legacy_token_revocation (user_id, token_id, kept_token_id, revoked_at, expires_at)
          VALUES (${userId}, ${tokenId}, ${keptTokenId}, ${at}, ${expiresAt})
          ${onConflict}`
      }).pipe(orUnavailable, Effect.withSpan("LegacyRevocations.record"))

    return LegacyRevocations.of({
      endToken: (userId, sessionId) => record(userId, legacyTokenIdOf(sessionId), null),
      endAllOfUser: (userId, keep) => record(userId, null, keptLegacyToken(keep)),
      isEnded: (userId, sessionId, issuedAt) =>
        Effect.gen(function*() {
          const at = yield* currentDate
          const tokenId = legacyTokenIdOf(sessionId)
          const rows = yield* sql`
            SELECT 1 FROM legacy_token_revocation
            WHERE user_id = ${userId} AND expires_at > ${at}
              AND (token_id = ${tokenId}
                   OR (token_id IS NULL AND revoked_at >= ${issuedAt} AND kept_token_id IS DISTINCT FROM ${tokenId}))
            LIMIT 1`
          return rows.length > 0
        }).pipe(orUnavailable, Effect.withSpan("LegacyRevocations.isEnded"))
    })
  })
)

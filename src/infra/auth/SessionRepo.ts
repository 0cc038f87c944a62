/** Sessions of the new service (`auth_session`): one per signin, with its refresh-token counter. */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import type { User } from "../../domain/auth/User.js"
import { isCanonicalUuid } from "../../domain/Uuid.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"
import { toUser, USER_COLUMNS, type UserRow } from "./UserRepo.js"

export interface SessionRecord {
  readonly id: string
  readonly userId: string
  readonly refreshCounter: number
  readonly rotatedAt: Date | null
  readonly createdAt: Date
  readonly lastUsedAt: Date
  readonly expiresAt: Date
  readonly idleExpiresAt: Date
  readonly revokedAt: Date | null
  readonly ipAddress: string | null
  readonly userAgent: string | null
}

export interface NewSession {
  readonly id: string
  readonly userId: string
  readonly now: Date
  readonly idleExpiresAt: Date
  readonly expiresAt: Date
  readonly ipAddress: string | null
  readonly userAgent: string | null
}

/** Why a session ended, as recorded in `revoked_reason`. */
export type RevocationReason =
  | "logout"
  | "logout_global"
  | "logout_others"
  | "revoked"
  | "session_deleted"
  | "refresh_token_reused"
  | "password_changed"
  | "user_banned"

export interface SessionRepoShape {
  readonly insert: (session: NewSession) => Effect.Effect<void, ServiceUnavailable>
  /** The session if it is neither revoked nor expired at `now`, with its user. */
  readonly findActive: (
    sessionId: string,
    userId: string,
    now: Date
  ) => Effect.Effect<Option.Option<{ readonly session: SessionRecord; readonly user: User }>, ServiceUnavailable>
  /**
   * Runs `decide` on the session locked (`SELECT … FOR UPDATE`) in a transaction: concurrent
   * refreshes of one session take turns, so none loses an update or forks the session.
   */
  readonly withLocked: <A, E>(
    sessionId: string,
    decide: (locked: Option.Option<{ readonly session: SessionRecord; readonly user: User }>) => Effect.Effect<A, E>
  ) => Effect.Effect<A, Exclude<E, SqlError.SqlError> | ServiceUnavailable>
  readonly rotate: (
    sessionId: string,
    counter: number,
    now: Date,
    idleExpiresAt: Date
  ) => Effect.Effect<void, SqlError.SqlError>
  readonly touch: (sessionId: string, now: Date) => Effect.Effect<void, SqlError.SqlError>
  readonly revoke: (sessionId: string, reason: RevocationReason, now: Date) => Effect.Effect<void, SqlError.SqlError>
  /** Ends every active session of the user but `keep`; answers how many ended. */
  readonly revokeAllOfUser: (
    userId: string,
    reason: RevocationReason,
    now: Date,
    keep: string | null
  ) => Effect.Effect<number, ServiceUnavailable>
  /** Ends one of the user's active sessions; false when it is not one of them. */
  readonly revokeOwned: (
    userId: string,
    sessionId: string,
    reason: RevocationReason,
    now: Date
  ) => Effect.Effect<boolean, ServiceUnavailable>
  readonly listActive: (userId: string, now: Date) => Effect.Effect<ReadonlyArray<SessionRecord>, ServiceUnavailable>
}

export class SessionRepo extends Context.Service<SessionRepo, SessionRepoShape>()("tasks-api/SessionRepo") {}

interface SessionRow {
  readonly s_id: string
  readonly s_user_id: string
  /** bigint: the driver decodes int8 to a bigint. */
  readonly s_refresh_counter: bigint
  readonly s_rotated_at: Date | null
  readonly s_created_at: Date
  readonly s_last_used_at: Date
  readonly s_expires_at: Date
  readonly s_idle_expires_at: Date
  readonly s_revoked_at: Date | null
  readonly s_ip_address: string | null
  readonly s_user_agent: string | null
}

const SESSION_COLUMNS = `s.id AS s_id, s.user_id AS s_user_id, s.refresh_counter AS s_refresh_counter,
  s.rotated_at AS s_rotated_at, s.created_at AS s_created_at, s.last_used_at AS s_last_used_at,
  s.expires_at AS s_expires_at, s.idle_expires_at AS s_idle_expires_at, s.revoked_at AS s_revoked_at,
  s.ip_address AS s_ip_address, s.user_agent AS s_user_agent`

const toSession = (row: SessionRow): SessionRecord => ({
  id: row.s_id,
  userId: row.s_user_id,
  refreshCounter: Number(row.s_refresh_counter),
  rotatedAt: row.s_rotated_at,
  createdAt: row.s_created_at,
  lastUsedAt: row.s_last_used_at,
  expiresAt: row.s_expires_at,
  idleExpiresAt: row.s_idle_expires_at,
  revokedAt: row.s_revoked_at,
  ipAddress: row.s_ip_address,
  userAgent: row.s_user_agent
})

/** Session ids are UUIDs: anything else names no session (and must not reach a uuid column). */
export const isSessionId = (id: string) => isCanonicalUuid(id)

export const SessionRepoLive = Layer.effect(
  SessionRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const sessionColumns = sql.literal(SESSION_COLUMNS)
    const userColumns = sql.literal(USER_COLUMNS)

    const insert: SessionRepoShape["insert"] = (s) =>
      sql`
        INSERT INTO auth_session (id, user_id, created_at, last_used_at, idle_expires_at, expires_at,
                                  ip_address, user_agent)
        VALUES (${s.id}, ${s.userId}, ${s.now}, ${s.now}, ${s.idleExpiresAt}, ${s.expiresAt},
                ${s.ipAddress}, ${s.userAgent})`.pipe(Effect.asVoid, orUnavailable, Effect.withSpan("SessionRepo.insert"))

    const withUser = (rows: ReadonlyArray<SessionRow & UserRow>) =>
      Option.map(Option.fromUndefinedOr(rows[0]), (row) => ({ session: toSession(row), user: toUser(row) }))

    /** A session (aliased `s`) that is neither revoked nor past either expiry at `now`. */
    const activeAt = (now: Date) => sql`s.revoked_at IS NULL AND s.expires_at > ${now} AND s.idle_expires_at > ${now}`

    const findActive: SessionRepoShape["findActive"] = (sessionId, userId, now) =>
      !isSessionId(sessionId)
        ? Effect.succeed(Option.none())
        : sql<SessionRow & UserRow>`
            SELECT ${sessionColumns}, ${userColumns}
            FROM auth_session s JOIN "user" u ON u.id = s.user_id
            WHERE s.id = ${sessionId} AND s.user_id = ${userId} AND ${activeAt(now)}`.pipe(
            Effect.map(withUser),
            orUnavailable,
            Effect.withSpan("SessionRepo.findActive")
          )

    const withLocked: SessionRepoShape["withLocked"] = (sessionId, decide) =>
      sql.withTransaction(
        sql<SessionRow & UserRow>`
          SELECT ${sessionColumns}, ${userColumns}
          FROM auth_session s JOIN "user" u ON u.id = s.user_id
          WHERE s.id = ${sessionId}
          FOR UPDATE OF s`.pipe(Effect.map(withUser), Effect.flatMap(decide))
      ).pipe(orUnavailable, Effect.withSpan("SessionRepo.withLocked"))

    const rotate: SessionRepoShape["rotate"] = (sessionId, counter, now, idleExpiresAt) =>
      sql`
        UPDATE auth_session
        SET refresh_counter = ${counter}, rotated_at = ${now}, last_used_at = ${now}, idle_expires_at = ${idleExpiresAt}
        WHERE id = ${sessionId}`.pipe(Effect.asVoid, Effect.withSpan("SessionRepo.rotate"))

    const touch: SessionRepoShape["touch"] = (sessionId, now) =>
      sql`UPDATE auth_session SET last_used_at = ${now} WHERE id = ${sessionId}`.pipe(
        Effect.asVoid,
        Effect.withSpan("SessionRepo.touch")
      )

    const revoke: SessionRepoShape["revoke"] = (sessionId, reason, now) =>
      sql`
        UPDATE auth_session SET revoked_at = ${now}, revoked_reason = ${reason}
        WHERE id = ${sessionId} AND revoked_at IS NULL`.pipe(Effect.asVoid, Effect.withSpan("SessionRepo.revoke"))

    const revokeAllOfUser: SessionRepoShape["revokeAllOfUser"] = (userId, reason, now, keep) =>
      sql<{ readonly id: string }>`
        UPDATE auth_session SET revoked_at = ${now}, revoked_reason = ${reason}
        WHERE user_id = ${userId} AND revoked_at IS NULL
          ${keep === null || !isSessionId(keep) ? sql`` : sql`AND id <> ${keep}`}
        RETURNING id`.pipe(
        Effect.map((rows) => rows.length),
        orUnavailable,
        Effect.withSpan("SessionRepo.revokeAllOfUser")
      )

    const revokeOwned: SessionRepoShape["revokeOwned"] = (userId, sessionId, reason, now) =>
      !isSessionId(sessionId)
        ? Effect.succeed(false)
        : sql<{ readonly id: string }>`
            UPDATE auth_session AS s SET revoked_at = ${now}, revoked_reason = ${reason}
            WHERE s.id = ${sessionId} AND s.user_id = ${userId} AND ${activeAt(now)}
            RETURNING s.id`.pipe(
            Effect.map((rows) => rows.length > 0),
            orUnavailable,
            Effect.withSpan("SessionRepo.revokeOwned")
          )

    const listActive: SessionRepoShape["listActive"] = (userId, now) =>
      sql<SessionRow>`
        SELECT ${sessionColumns} FROM auth_session s
        WHERE s.user_id = ${userId} AND ${activeAt(now)}
        ORDER BY s.created_at DESC, s.id`.pipe(
        Effect.map((rows) => rows.map(toSession)),
        orUnavailable,
        Effect.withSpan("SessionRepo.listActive")
      )

    return { insert, findActive, withLocked, rotate, touch, revoke, revokeAllOfUser, revokeOwned, listActive }
  })
)

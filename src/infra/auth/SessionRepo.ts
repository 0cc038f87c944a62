/** Sessions of the new service (`auth_session`): one per signin, with its refresh-token counter. */
import { Context, Effect, Layer, type Option, Schema, SchemaTransformation } from "effect"
import { SqlClient, type SqlError, SqlSchema } from "effect/sql"
import { SessionId } from "../../domain/auth/Session.js"
import { User, UserId } from "../../domain/auth/User.js"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { decodedOrDie, orUnavailable } from "../platform/DatabaseErrors.js"
import { hotSpan } from "../platform/HotSpans.js"
import { USER_COLUMNS } from "./UserRepo.js"

/** An int8 column: the driver decodes it to a bigint; counters stay far below 2^53. */
const NumberFromInt8 = Schema.BigInt.pipe(
  Schema.decodeTo(Schema.Number, SchemaTransformation.transform({ decode: Number, encode: BigInt }))
)

/** A session as SESSION_COLUMNS select it (each column prefixed `s_`, beside a user's). */
const SessionRecord = Schema.Struct({
  id: SessionId,
  userId: UserId,
  refreshCounter: NumberFromInt8,
  rotatedAt: Schema.NullOr(Schema.Date),
  createdAt: Schema.Date,
  lastUsedAt: Schema.Date,
  expiresAt: Schema.Date,
  idleExpiresAt: Schema.Date,
  revokedAt: Schema.NullOr(Schema.Date),
  ipAddress: Schema.NullOr(Schema.String),
  userAgent: Schema.NullOr(Schema.String)
}).pipe(Schema.encodeKeys({
  id: "s_id",
  userId: "s_user_id",
  refreshCounter: "s_refresh_counter",
  rotatedAt: "s_rotated_at",
  createdAt: "s_created_at",
  lastUsedAt: "s_last_used_at",
  expiresAt: "s_expires_at",
  idleExpiresAt: "s_idle_expires_at",
  revokedAt: "s_revoked_at",
  ipAddress: "s_ip_address",
  userAgent: "s_user_agent"
}))
export type SessionRecord = typeof SessionRecord.Type

/** One row holds both: each schema reads its own columns of it. */
const SessionWithUser = Schema.Struct({ session: SessionRecord, user: User })
const asSessionWithUser = (rows: ReadonlyArray<unknown>) => rows.map((row) => ({ session: row, user: row }))

export interface NewSession {
  readonly id: SessionId
  readonly userId: UserId
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
    sessionId: SessionId,
    userId: UserId,
    now: Date
  ) => Effect.Effect<Option.Option<{ readonly session: SessionRecord; readonly user: User }>, ServiceUnavailable>
  /**
   * Runs `decide` on the session locked (`SELECT … FOR UPDATE`) in a transaction: concurrent
   * refreshes of one session take turns, so none loses an update or forks the session.
   */
  readonly withLocked: <A, E>(
    sessionId: SessionId,
    decide: (locked: Option.Option<{ readonly session: SessionRecord; readonly user: User }>) => Effect.Effect<A, E>
  ) => Effect.Effect<A, Exclude<E, SqlError.SqlError> | ServiceUnavailable>
  readonly rotate: (
    sessionId: SessionId,
    counter: number,
    now: Date,
    idleExpiresAt: Date
  ) => Effect.Effect<void, SqlError.SqlError>
  readonly touch: (sessionId: SessionId, now: Date) => Effect.Effect<void, SqlError.SqlError>
  readonly revoke: (
    sessionId: SessionId,
    reason: RevocationReason,
    now: Date
  ) => Effect.Effect<void, SqlError.SqlError>
  /** Ends every active session of the user but `keep`; answers how many ended. */
  readonly revokeAllOfUser: (
    userId: UserId,
    reason: RevocationReason,
    now: Date,
    keep: SessionId | null
  ) => Effect.Effect<number, ServiceUnavailable>
  /** Ends one of the user's active sessions; false when it is not one of them. */
  readonly revokeOwned: (
    userId: UserId,
    sessionId: SessionId,
    reason: RevocationReason,
    now: Date
  ) => Effect.Effect<boolean, ServiceUnavailable>
  readonly listActive: (userId: UserId, now: Date) => Effect.Effect<ReadonlyArray<SessionRecord>, ServiceUnavailable>
}

export class SessionRepo extends Context.Service<SessionRepo, SessionRepoShape>()("tasks-api/SessionRepo") {}

const SESSION_COLUMNS = `s.id AS s_id, s.user_id AS s_user_id, s.refresh_counter AS s_refresh_counter,
  s.rotated_at AS s_rotated_at, s.created_at AS s_created_at, s.last_used_at AS s_last_used_at,
  s.expires_at AS s_expires_at, s.idle_expires_at AS s_idle_expires_at, s.revoked_at AS s_revoked_at,
  s.ip_address AS s_ip_address, s.user_agent AS s_user_agent`

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
                ${s.ipAddress}, ${s.userAgent})`.pipe(
        Effect.asVoid,
        orUnavailable,
        Effect.withSpan("SessionRepo.insert")
      )

    /** A session (aliased `s`) that is neither revoked nor past either expiry at `now`. */
    const activeAt = (now: Date) => sql`s.revoked_at IS NULL AND s.expires_at > ${now} AND s.idle_expires_at > ${now}`

    // A SessionId was checked where it entered: requests take its text, so the check is not run again.
    const selectActive = SqlSchema.findOneOption({
      Request: Schema.Struct({ sessionId: Schema.String, userId: UserId, now: Schema.Date }),
      Result: SessionWithUser,
      execute: ({ now, sessionId, userId }) =>
        sql`
            SELECT ${sessionColumns}, ${userColumns}
            FROM auth_session s JOIN "user" u ON u.id = s.user_id
            WHERE s.id = ${sessionId} AND s.user_id = ${userId} AND ${activeAt(now)}`.pipe(
          Effect.map(asSessionWithUser)
        )
    })
    const findActive: SessionRepoShape["findActive"] = (sessionId, userId, now) =>
      selectActive({ sessionId, userId, now }).pipe(
        decodedOrDie,
        orUnavailable,
        hotSpan("SessionRepo.findActive")
      )

    const selectLocked = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: SessionWithUser,
      execute: (sessionId) =>
        sql`
          SELECT ${sessionColumns}, ${userColumns}
          FROM auth_session s JOIN "user" u ON u.id = s.user_id
          WHERE s.id = ${sessionId}
          FOR UPDATE OF s`.pipe(Effect.map(asSessionWithUser))
    })
    const withLocked: SessionRepoShape["withLocked"] = (sessionId, decide) =>
      sql.withTransaction(
        selectLocked(sessionId).pipe(decodedOrDie, Effect.flatMap(decide))
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
          ${keep === null ? sql`` : sql`AND id <> ${keep}`}
        RETURNING id`.pipe(
        Effect.map((rows) => rows.length),
        orUnavailable,
        Effect.withSpan("SessionRepo.revokeAllOfUser")
      )

    const revokeOwned: SessionRepoShape["revokeOwned"] = (userId, sessionId, reason, now) =>
      sql<{ readonly id: string }>`
            UPDATE auth_session AS s SET revoked_at = ${now}, revoked_reason = ${reason}
            WHERE s.id = ${sessionId} AND s.user_id = ${userId} AND ${activeAt(now)}
            RETURNING s.id`.pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable,
        Effect.withSpan("SessionRepo.revokeOwned")
      )

    const selectActiveOfUser = SqlSchema.findAll({
      Request: Schema.Struct({ userId: UserId, now: Schema.Date }),
      Result: SessionRecord,
      execute: ({ now, userId }) =>
        sql`
        SELECT ${sessionColumns} FROM auth_session s
        WHERE s.user_id = ${userId} AND ${activeAt(now)}
        ORDER BY s.created_at DESC, s.id`
    })
    const listActive: SessionRepoShape["listActive"] = (userId, now) =>
      selectActiveOfUser({ userId, now }).pipe(
        decodedOrDie,
        orUnavailable,
        Effect.withSpan("SessionRepo.listActive")
      )

    return { insert, findActive, withLocked, rotate, touch, revoke, revokeAllOfUser, revokeOwned, listActive }
  })
)

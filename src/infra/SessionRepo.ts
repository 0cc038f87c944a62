/** Sessions of the new service (`auth_session`): one per signin, holding its refresh token's hash. */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option } from "effect"
import type { ServiceUnavailable } from "../domain/Errors.js"
import type { User } from "../domain/User.js"
import { orUnavailable } from "./DatabaseErrors.js"
import { toUser, USER_COLUMNS, type UserRow } from "./UserRepo.js"

export interface SessionRecord {
  readonly id: string
  readonly userId: string
  readonly createdAt: Date
  readonly lastUsedAt: Date
  readonly expiresAt: Date
  readonly idleExpiresAt: Date
  readonly ipAddress: string | null
  readonly userAgent: string | null
}

export interface NewSession {
  readonly id: string
  readonly userId: string
  readonly refreshTokenHash: Uint8Array
  readonly now: Date
  readonly idleExpiresAt: Date
  readonly expiresAt: Date
  readonly ipAddress: string | null
  readonly userAgent: string | null
}

export interface SessionRepoShape {
  readonly insert: (session: NewSession) => Effect.Effect<void, ServiceUnavailable>
  /** The session if it is neither revoked nor expired at `now`, with its user. */
  readonly findActive: (
    sessionId: string,
    userId: string,
    now: Date
  ) => Effect.Effect<Option.Option<{ readonly session: SessionRecord; readonly user: User }>, ServiceUnavailable>
}

export class SessionRepo extends Context.Tag("tasks-api/SessionRepo")<SessionRepo, SessionRepoShape>() {}

interface SessionRow {
  readonly s_id: string
  readonly s_user_id: string
  readonly s_created_at: Date
  readonly s_last_used_at: Date
  readonly s_expires_at: Date
  readonly s_idle_expires_at: Date
  readonly s_ip_address: string | null
  readonly s_user_agent: string | null
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const SessionRepoLive = Layer.effect(
  SessionRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const insert: SessionRepoShape["insert"] = (s) =>
      sql`
        INSERT INTO auth_session (id, user_id, refresh_token_hash, created_at, last_used_at, idle_expires_at,
                                  expires_at, ip_address, user_agent)
        VALUES (${s.id}, ${s.userId}, ${s.refreshTokenHash}, ${s.now}, ${s.now}, ${s.idleExpiresAt},
                ${s.expiresAt}, ${s.ipAddress}, ${s.userAgent})`.pipe(
        Effect.asVoid,
        orUnavailable,
        Effect.withSpan("SessionRepo.insert")
      )

    const findActive: SessionRepoShape["findActive"] = (sessionId, userId, now) =>
      // A malformed sid cannot name a session; do not hand it to a uuid column.
      !UUID.test(sessionId)
        ? Effect.succeed(Option.none())
        : sql<SessionRow & UserRow>`
        SELECT s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at,
               s.last_used_at AS s_last_used_at, s.expires_at AS s_expires_at,
               s.idle_expires_at AS s_idle_expires_at, s.ip_address AS s_ip_address,
               s.user_agent AS s_user_agent, ${sql.literal(USER_COLUMNS)}
        FROM auth_session s JOIN "user" u ON u.id = s.user_id
        WHERE s.id = ${sessionId} AND s.user_id = ${userId} AND s.revoked_at IS NULL
          AND s.expires_at > ${now} AND s.idle_expires_at > ${now}`.pipe(
          Effect.map((rows) =>
            Option.map(Option.fromNullable(rows[0]), (row) => ({
              user: toUser(row),
              session: {
                id: row.s_id,
                userId: row.s_user_id,
                createdAt: row.s_created_at,
                lastUsedAt: row.s_last_used_at,
                expiresAt: row.s_expires_at,
                idleExpiresAt: row.s_idle_expires_at,
                ipAddress: row.s_ip_address,
                userAgent: row.s_user_agent
              }
            }))
          ),
          orUnavailable,
          Effect.withSpan("SessionRepo.findActive")
        )

    return { insert, findActive }
  })
)

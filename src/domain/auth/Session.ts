/** Sessions' ids: what names a session row, and what a caller without one is given. */
import { Schema } from "effect"
import { CANONICAL_UUID } from "../Uuid.js"

/**
 * A session's id: a UUID as the server mints it and PostgreSQL writes it (lowercase, hyphenated).
 * Anything else names no session, and must not reach the uuid column.
 */
export const SessionId = Schema.String.check(Schema.isPattern(CANONICAL_UUID)).pipe(Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type

/** What a legacy token's caller is shown as its session id: the token names no row. */
export const LEGACY_SESSION_ID = "legacy"

/**
 * The session id a legacy token's caller is given: `legacy:` and the token's own id. It names no
 * row, but tells one legacy token from another, so each can be ended on its own.
 */
export type LegacySessionId = `${typeof LEGACY_SESSION_ID}:${string}`
export const legacySessionId = (tokenId: string): LegacySessionId => `${LEGACY_SESSION_ID}:${tokenId}`
export const isLegacySessionId = (id: CallerSessionId): id is LegacySessionId => id.startsWith(`${LEGACY_SESSION_ID}:`)
/** The legacy token's id in a LegacySessionId. */
export const legacyTokenIdOf = (id: LegacySessionId) => id.slice(LEGACY_SESSION_ID.length + 1)

/** The session a caller is in: a row's id, or a LegacySessionId for a legacy token, which has none. */
export type CallerSessionId = SessionId | LegacySessionId

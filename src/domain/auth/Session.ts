/** Sessions' ids: what names a session row, and what a caller without one is given. */
import { Schema } from "effect"
import { CANONICAL_UUID } from "../Uuid.js"

/**
 * A session's id: a UUID as the server mints it and PostgreSQL writes it (lowercase, hyphenated).
 * Anything else names no session, and must not reach the uuid column.
 */
export const SessionId = Schema.String.check(Schema.isPattern(CANONICAL_UUID)).pipe(Schema.brand("SessionId"))
export type SessionId = typeof SessionId.Type

/** The session id a legacy token's caller is given: it names no row. */
export const LEGACY_SESSION_ID = "legacy"

/** The session a caller is in: a row's id, or LEGACY_SESSION_ID for a legacy token, which has none. */
export type CallerSessionId = SessionId | typeof LEGACY_SESSION_ID

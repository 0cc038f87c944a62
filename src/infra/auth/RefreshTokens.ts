/**
 * Refresh tokens: opaque strings that name a session and a rotation counter, authenticated by
 * HMAC-SHA256 under a server-side key (the design of Supabase's v2 refresh tokens). Nothing
 * replayable is stored, and the current token of a session can be recomputed, which is what the
 * concurrency grace needs.
 *
 * Layout (base64url): version (1 byte) | session id (16 bytes) | counter (8 bytes) | HMAC (32 bytes)
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { SessionId } from "../../domain/auth/Session.js"
import { canonicalUuid, uuidHex } from "../../domain/Uuid.js"

const VERSION = 1
const BODY_LENGTH = 1 + 16 + 8
const MAC_LENGTH = 32

export interface RefreshTokenClaims {
  readonly sessionId: SessionId
  readonly counter: number
}

const uuidToBytes = (uuid: string) => Buffer.from(uuidHex(uuid), "hex")
const bytesToUuid = (bytes: Buffer) => canonicalUuid(bytes.toString("hex"))

const mac = (key: Uint8Array, body: Buffer) => createHmac("sha256", key).update(body).digest()

/** Any UUID's text will do: a token naming no session is refused when it is used. */
export const mintRefreshToken = (
  key: Uint8Array,
  { counter, sessionId }: { readonly sessionId: string; readonly counter: number }
) => {
  const body = Buffer.alloc(BODY_LENGTH)
  body.writeUInt8(VERSION, 0)
  uuidToBytes(sessionId).copy(body, 1)
  body.writeBigUInt64BE(BigInt(counter), 17)
  return Buffer.concat([body, mac(key, body)]).toString("base64url")
}

/** The claims of a token authenticated by one of `keys`, or undefined for anything else. */
export const parseRefreshToken = (
  token: string,
  keys: ReadonlyArray<Uint8Array>
): RefreshTokenClaims | undefined => {
  if (!/^[A-Za-z0-9_-]{76}$/.test(token)) return undefined
  const bytes = Buffer.from(token, "base64url")
  if (bytes.length !== BODY_LENGTH + MAC_LENGTH || bytes.readUInt8(0) !== VERSION) return undefined
  const body = bytes.subarray(0, BODY_LENGTH)
  const presented = bytes.subarray(BODY_LENGTH)
  if (!keys.some((key) => timingSafeEqual(mac(key, body), presented))) return undefined
  // Authenticated: the session id is one we minted, written as PostgreSQL writes a uuid.
  return { sessionId: SessionId.make(bytesToUuid(body.subarray(1, 17))), counter: Number(body.readBigUInt64BE(17)) }
}

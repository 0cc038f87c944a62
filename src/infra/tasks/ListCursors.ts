/**
 * List cursors as clients hold them: the cursor's JSON (domain/tasks/TaskCursor.ts) sealed with
 * AES-256-GCM, so a cursor reveals nothing of the task it ended on (its sort key is the title when
 * sorting by title) and a client can neither make one nor alter one: tampered, forged or sealed
 * under another key, it does not open, and the list answers the contract's 422 for a bad cursor.
 * It is bound to the user it was issued to (the user id is authenticated with it), so a cursor
 * replayed by another user does not open either.
 *
 * The key is derived (HKDF, a label of its own) from the secret the refresh-token MAC key comes
 * from: the service's own secret (the private key's when there is one), the same on every instance
 * of one configuration, so each instance opens the others' cursors. With HS256, the previous
 * secrets open the cursors minted before a rotation.
 */
import { Context, Layer, Option, Redacted } from "effect"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import type { UserId } from "../../domain/auth/User.js"
import {
  decodeListCursorJson,
  encodeListCursorJson,
  type ListCursor,
  MAX_LIST_CURSOR_LENGTH
} from "../../domain/tasks/TaskCursor.js"
import { AppConfig } from "../platform/Config.js"

export interface ListCursorsShape {
  /** The opaque text of `cursor`, for `userId` only. */
  readonly seal: (userId: UserId, cursor: ListCursor) => string
  /** The cursor `text` seals for `userId`, if it is one of ours and a cursor the list query can use. */
  readonly open: (userId: UserId, text: string) => Option.Option<ListCursor>
}

export class ListCursors extends Context.Service<ListCursors, ListCursorsShape>()("tasks-api/ListCursors") {}

/** The first byte of a sealed cursor: its format, authenticated with it. */
const VERSION = 1
const SALT_BYTES = 16
const TAG_BYTES = 16
const HEADER_BYTES = 1 + SALT_BYTES
/**
 * Each cursor is sealed with a key of its own (HKDF of the cursor key and a random salt), so the IV
 * can be fixed: random 96-bit IVs under one key are safe for about 2^32 messages, which a cursor per
 * list request of a busy service reaches; a fresh key per cursor has no such bound.
 */
const IV = Buffer.alloc(12)
/** Contents padded (JSON ignores trailing spaces) to a multiple of this: a cursor's length says little of a title's. */
const PADDING_BYTES = 64

/** The cursor key derived from a secret: independent of every other key derived from it. */
export const listCursorKeyOf = (secret: string) =>
  Buffer.from(hkdfSync("sha256", secret, "tasks-api", "list-cursor-aes-256-gcm", 32))

const messageKeyOf = (cursorKey: Buffer, salt: Buffer) =>
  Buffer.from(hkdfSync("sha256", cursorKey, salt, "list-cursor-message", 32))

/** What is authenticated beside the contents: the format and salt, and whose cursor it is. */
const additionalData = (header: Buffer, userId: UserId) => Buffer.concat([header, Buffer.from(userId, "utf8")])

/** `plaintext` sealed for `userId` under `cursorKey`, as base64url (tests seal contents of their own with it). */
export const sealListCursorText = (cursorKey: Buffer, userId: UserId, plaintext: string): string => {
  const salt = randomBytes(SALT_BYTES)
  const header = Buffer.concat([Buffer.of(VERSION), salt])
  const cipher = createCipheriv("aes-256-gcm", messageKeyOf(cursorKey, salt), IV, { authTagLength: TAG_BYTES })
  cipher.setAAD(additionalData(header, userId))
  const length = Buffer.byteLength(plaintext, "utf8")
  const padded = plaintext + " ".repeat((PADDING_BYTES - (length % PADDING_BYTES)) % PADDING_BYTES)
  const sealed = Buffer.concat([header, cipher.update(padded, "utf8"), cipher.final(), cipher.getAuthTag()])
  return sealed.toString("base64url")
}

/** The plaintext, or undefined when `sealed` was not sealed by `cursorKey` for `userId`. */
const openWith = (cursorKey: Buffer, userId: UserId, sealed: Buffer): string | undefined => {
  const header = sealed.subarray(0, HEADER_BYTES)
  const decipher = createDecipheriv(
    "aes-256-gcm",
    messageKeyOf(cursorKey, header.subarray(1)),
    IV,
    { authTagLength: TAG_BYTES }
  )
  decipher.setAAD(additionalData(header, userId))
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
  try {
    return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)), decipher.final()])
      .toString("utf8")
  } catch {
    return undefined // the tag did not verify
  }
}

/** The bytes of canonical base64url text: a variant spelling of the same bytes is no cursor of ours. */
const bytesOf = (text: string): Buffer | undefined => {
  const bytes = Buffer.from(text, "base64url")
  return bytes.toString("base64url") === text ? bytes : undefined
}

/** Cursors sealed with the key from `current`, opened with it or one from `previous`. */
export const makeListCursors = (current: string, previous: ReadonlyArray<string>): ListCursorsShape => {
  const sealingKey = listCursorKeyOf(current)
  const openingKeys = [sealingKey, ...previous.map(listCursorKeyOf)]
  return {
    seal: (userId, cursor) => sealListCursorText(sealingKey, userId, encodeListCursorJson(cursor)),
    open: (userId, text) => {
      // The list query's schema bounds the text (REST and RPC alike); checked again before the cipher runs.
      const sealed = text.length <= MAX_LIST_CURSOR_LENGTH ? bytesOf(text) : undefined
      if (sealed === undefined || sealed.length <= HEADER_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
        return Option.none()
      }
      for (const key of openingKeys) {
        const plaintext = openWith(key, userId, sealed)
        if (plaintext !== undefined) return decodeListCursorJson(plaintext)
      }
      return Option.none()
    }
  }
}

export const ListCursorsLive = Layer.effect(
  ListCursors,
  AppConfig.useSync((config) =>
    makeListCursors(
      Redacted.value(config.refreshTokenSecret),
      // As refresh tokens: with an asymmetric algorithm, previous HS256 secrets are no keys of ours.
      config.jwtAlgorithm === "HS256" ? config.jwtPreviousSecrets.map(Redacted.value) : []
    )
  )
)

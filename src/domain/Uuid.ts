/** UUIDs as text: the forms a request may write one in, the canonical form, and between them. */

/**
 * A UUID as Python's `uuid.UUID` reads it: 32 hex digits in any case, with or without hyphens.
 * Without flags but `u`: OpenAPI carries the pattern only as a JSON Schema (ECMA-262, unicode) one.
 */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/u

/** The canonical form: lower case, hyphenated 8-4-4-4-12, as `randomUUID` and PostgreSQL write it. */
export const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The 32 hex digits of a UUID, hyphens removed. */
export const uuidHex = (uuid: string) => uuid.replace(/-/g, "")

/** The canonical form of a UUID in any of the forms `UUID_PATTERN` accepts (32 hex digits included). */
export const canonicalUuid = (uuid: string) => {
  const hex = uuidHex(uuid).toLowerCase()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * A request body's fingerprint: sha256 of its canonical JSON. Canonical so that two requests that
 * mean the same thing (keys in another order, other whitespace) compare equal.
 */
import { createHash } from "node:crypto"

/** A JSON value, as a schema's `encode` produces it (no Dates, no class instances). */
export type Json =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<Json>
  | { readonly [key: string]: Json | undefined }

// `Array.isArray` does not narrow a ReadonlyArray out of a union; this guard does.
const isArray = (value: Json): value is ReadonlyArray<Json> => Array.isArray(value)

/** JSON with object keys sorted at every level; `undefined` members are dropped, as JSON.stringify does. */
export const canonicalJson = (value: Json): string => {
  if (isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value !== null && typeof value === "object") {
    const members = Object.entries(value)
      .filter((entry): entry is [string, Json] => entry[1] !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`)
    return `{${members.join(",")}}`
  }
  return JSON.stringify(value)
}

/** Hex sha256 of the canonical JSON. */
export const fingerprint = (value: Json): string => createHash("sha256").update(canonicalJson(value)).digest("hex")

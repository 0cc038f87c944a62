/**
 * Unit tests (no server): the password policy (security.md, "Passwords") and the PasswordHasher,
 * including the hashes the old backend wrote (bcrypt of any cost and `salt:sha256hex`).
 */
import { describe, expect, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, passwordProblem } from "../../src/domain/auth/PasswordPolicy.js"
import { PasswordHasher, PasswordHasherLive } from "../../src/infra/auth/PasswordHasher.js"
import { appConfigFrom } from "../../src/infra/platform/Config.js"
import { temporaryDirectory } from "../support/temporaryDirectory.js"

const EMAIL = "someone@example.com"

describe("password policy", () => {
  it("has the contract's limits", () => {
    expect(MIN_PASSWORD_LENGTH).toBe(8)
    expect(MAX_PASSWORD_BYTES).toBe(72)
  })

  it("accepts passwords without composition rules", () => {
    for (const password of ["correct horse battery staple", "alllowercaseletters", "12345678901234567890abc"]) {
      expect(passwordProblem(password, EMAIL)).toBeUndefined()
    }
  })

  it("refuses fewer than 8 characters, counting characters rather than UTF-16 units", () => {
    expect(passwordProblem("Abc-123", EMAIL)).toMatch(/8/)
    expect(passwordProblem("Abc-1234", EMAIL)).toBeUndefined()
    expect(passwordProblem("ééééééé", EMAIL)).toMatch(/8/) // 7 characters, 14 bytes
    expect(passwordProblem("😀😀😀😀", EMAIL)).toMatch(/8/) // 4 characters, 8 UTF-16 units
    expect(passwordProblem("😀😀😀😀😀😀😀😀", EMAIL)).toBeUndefined() // 8 characters, 32 bytes
  })

  it("refuses more than 72 bytes of UTF-8, whatever the character count", () => {
    expect(passwordProblem("x".repeat(72), EMAIL)).toBeUndefined()
    expect(passwordProblem("x".repeat(73), EMAIL)).toMatch(/72/)
    expect(passwordProblem("é".repeat(36), EMAIL)).toBeUndefined() // 72 bytes
    expect(passwordProblem("é".repeat(37), EMAIL)).toMatch(/72/) // 74 bytes
    expect(passwordProblem("é".repeat(40), EMAIL)).toMatch(/72/) // 40 characters, 80 bytes
  })

  it("refuses common passwords, compared case-insensitively", () => {
    for (const password of ["password123", "PASSWORD123", "12345678", "qwertyuiop"]) {
      expect(passwordProblem(password, EMAIL)).toMatch(/common/i)
    }
  })

  it("refuses the email itself, ignoring case and surrounding spaces", () => {
    expect(passwordProblem(EMAIL, EMAIL)).toMatch(/email/i)
    expect(passwordProblem("SomeOne@Example.com", ` ${EMAIL.toUpperCase()} `)).toMatch(/email/i)
    expect(passwordProblem(`${EMAIL}!`, EMAIL)).toBeUndefined()
  })

  it("allows Unicode", () => {
    expect(passwordProblem("密码很安全的口令", EMAIL)).toBeUndefined()
    expect(passwordProblem("pässwörd-ünïcödé", EMAIL)).toBeUndefined()
  })
})

/** The real hasher (bcrypt in worker threads) at a given cost. */
const hasherAt = (cost: number) =>
  Layer.unwrap(
    Effect.map(
      temporaryDirectory("tasks-api-passwords-"),
      (dir) => PasswordHasherLive.pipe(Layer.provide(appConfigFrom({ BCRYPT_COST: String(cost), DATA_DIR: dir })))
    )
  )

/** The old backend's format: sha256(password + salt), hex, stored as `salt:hex`. */
const legacyHash = (password: string, salt: string) =>
  `${salt}:${createHash("sha256").update(password + salt, "utf8").digest("hex")}`

const BOB_HASH = "9f2c4e1ab37d4c55:9252e7cec3da1684c9ddf720f4c30b9e1ab15ddd53eaa6f1c6b2c93845419622"
const BOB_PASSWORD = "Legacy-Pass-7"
const PASSWORD = "a perfectly fine passphrase"
const COST_10_HASH = bcrypt.hashSync(PASSWORD, 10)

it.layer(hasherAt(10))("PasswordHasher at cost 10", (it) => {
  it.effect("a fresh hash is bcrypt at the configured cost and verifies", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      const hash = yield* hasher.hash(PASSWORD)
      expect(hash).toMatch(/^\$2[aby]\$10\$[./A-Za-z0-9]{53}$/)
      expect(hash).not.toContain(PASSWORD)
      expect(yield* hasher.hash(PASSWORD)).not.toBe(hash) // salted
      expect(yield* hasher.verify(PASSWORD, hash)).toEqual({ valid: true, needsRehash: false })
    }))

  it.effect("a wrong password does not verify", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      const hash = yield* hasher.hash(PASSWORD)
      expect((yield* hasher.verify("a perfectly fine passphrasE", hash)).valid).toBe(false)
      expect((yield* hasher.verify("", hash)).valid).toBe(false)
    }))

  it.effect("a Unicode password round-trips", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      const hash = yield* hasher.hash("密码很安全的口令")
      expect((yield* hasher.verify("密码很安全的口令", hash)).valid).toBe(true)
      expect((yield* hasher.verify("密码很安全的口", hash)).valid).toBe(false)
    }))

  it.effect("the legacy salt:sha256hex format verifies and asks for a rehash (bob's stored hash)", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      expect(legacyHash(BOB_PASSWORD, "9f2c4e1ab37d4c55")).toBe(BOB_HASH)
      expect(yield* hasher.verify(BOB_PASSWORD, BOB_HASH)).toEqual({ valid: true, needsRehash: true })
      expect((yield* hasher.verify("Legacy-Pass-8", BOB_HASH)).valid).toBe(false)
      expect((yield* hasher.verify("legacy-pass-7", BOB_HASH)).valid).toBe(false)
    }))

  it.effect("a legacy hash built here (password + salt, in that order) verifies", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      const stored = legacyHash(PASSWORD, "0123abcd")
      expect(yield* hasher.verify(PASSWORD, stored)).toEqual({ valid: true, needsRehash: true })
      // salt + password is not the old format
      const swapped = `0123abcd:${createHash("sha256").update("0123abcd" + PASSWORD).digest("hex")}`
      expect((yield* hasher.verify(PASSWORD, swapped)).valid).toBe(false)
    }))

  it.effect("a $2b$10$ hash verifies without a rehash at cost 10; $2a$ too", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      expect(COST_10_HASH.startsWith("$2b$10$")).toBe(true)
      expect(yield* hasher.verify(PASSWORD, COST_10_HASH)).toEqual({ valid: true, needsRehash: false })
      expect((yield* hasher.verify(PASSWORD, COST_10_HASH.replace("$2b$", "$2a$"))).valid).toBe(true)
    }))

  it.effect("a stored value in no known format never verifies, not even as plain text", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      expect((yield* hasher.verify(BOB_PASSWORD, BOB_PASSWORD)).valid).toBe(false)
      expect((yield* hasher.verify(PASSWORD, "")).valid).toBe(false)
    }))
})

it.layer(hasherAt(11))("PasswordHasher at cost 11", (it) => {
  it.effect("a $2b$10$ hash verifies and asks for a rehash", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      expect(yield* hasher.verify(PASSWORD, COST_10_HASH)).toEqual({ valid: true, needsRehash: true })
      expect(yield* hasher.verify("not it", COST_10_HASH)).toMatchObject({ valid: false })
    }))

  it.effect("a fresh hash is at cost 11 and needs no rehash", () =>
    Effect.gen(function*() {
      const hasher = yield* PasswordHasher
      const hash = yield* hasher.hash(PASSWORD)
      expect(hash).toMatch(/^\$2[aby]\$11\$/)
      expect(yield* hasher.verify(PASSWORD, hash)).toEqual({ valid: true, needsRehash: false })
    }))
})

/**
 * The existing auth endpoints (`/api/v1/auth`, rest-api.md): every row, success and error, checked
 * on the wire (status, body, headers) and in the database ("user", account, auth_session).
 */
import { expect, it } from "@effect/vitest"
import bcrypt from "bcryptjs"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { decodeJwt } from "jose"
import { randomUUID } from "node:crypto"
import { get, post, type Reply, request, signup } from "../support/http.js"
import { TestService } from "../support/TestService.js"
import { AUTH, signin } from "./sessions-helpers.js"

const PASSWORD = "a perfectly fine passphrase"
const TOKEN_PAIR_FIELDS = [
  "token",
  "user_id",
  "expires_at",
  "refresh_token",
  "refresh_expires_at",
  "token_type",
  "expires_in"
]
const USER_FIELDS = [
  "id",
  "email",
  "email_verified",
  "name",
  "image",
  "role",
  "banned",
  "ban_reason",
  "ban_expires",
  "created_at",
  "updated_at"
]
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/

let counter = 0
/** A fresh mailbox name; the service stores it lower-cased. */
const uniqueEmail = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}@example.com`

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString()

const signupWith = (email: string, password: string, extra: Record<string, unknown> = {}) =>
  post(`${AUTH}/signup`, { json: { email, password, ...extra } })

/** All headers except the ones that differ per response by design. */
const stableHeaders = (reply: Reply) =>
  Object.fromEntries([...reply.headers.entries()].filter(([name]) => name !== "date" && name !== "x-request-id"))

const countUsers = (email: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM "user" WHERE lower(email) = ${email.trim().toLowerCase()}`
  )
    .pipe(Effect.map((rows) => rows[0].n))

const sessionsOf = (userId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ id: string; user_id: string; row: string; idle_expires_at: Date; revoked_at: Date | null }>`
      SELECT id::text AS id, user_id, row_to_json(s)::text AS row, idle_expires_at, revoked_at
      FROM auth_session s WHERE user_id = ${userId} ORDER BY created_at, id`
  )

const ban = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE "user" SET banned = true WHERE id = ${userId}`)

/**
 * The contract's refusal by the password policy: `detail` a sentence (the old front end shows it
 * with `new Error(body.detail || …)`, so an object there renders "[object Object]"), the reason by
 * field in `errors`.
 */
const expectPasswordRejected = (reply: Reply, why: RegExp) => {
  expect(reply.status, reply.text).toBe(422)
  expect(typeof reply.body.detail).toBe("string")
  expect(reply.body).toEqual({
    detail: expect.stringMatching(why),
    error_code: "weak_password",
    errors: { password: reply.body.detail }
  })
  expect(new Error(reply.body.detail || "Signup failed").message).not.toContain("[object")
}

const BEARER_ENDPOINTS = [
  ["GET", `${AUTH}/me`],
  ["GET", `${AUTH}/session`],
  ["GET", `${AUTH}/token-info`],
  ["POST", `${AUTH}/verify`],
  ["GET", `${AUTH}/accounts`]
] as const

// Rate limits are not what this suite is about: it signs up and signs in many times from one IP.
it.layer(TestService({ env: { RATE_LIMIT_ENABLED: "false" } }))("existing auth endpoints", (it) => {
  // ---------------------------------------------------------------- signup

  it.effect("signup answers a TokenPair and stores the user, a bcrypt credential and a session", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const stored = uniqueEmail("signup")
      const reply = yield* signupWith(`  ${stored.toUpperCase()} `, PASSWORD, { name: "Ada" })
      expect(reply.status).toBe(200)
      expect(reply.body.success).toBe(true)
      expect(reply.headers.get("cache-control")).toBe("no-store")
      const pair = reply.body.data
      expect(Object.keys(pair)).toEqual(expect.arrayContaining(TOKEN_PAIR_FIELDS))
      expect(pair).toMatchObject({ token_type: "Bearer", expires_in: 900 })
      expect(pair.expires_at).toMatch(ISO_UTC)
      expect(pair.refresh_expires_at).toMatch(ISO_UTC)
      const claims = decodeJwt(pair.token)
      expect(claims.sub).toBe(pair.user_id)
      expect(claims.user_id).toBe(pair.user_id)
      expect(pair.expires_at).toBe(iso(claims.exp!))
      expect(claims.exp! - claims.iat!).toBe(900)
      // ≥ 128 bits, opaque, not the access token
      expect(pair.refresh_token.length).toBeGreaterThanOrEqual(22)
      expect(pair.refresh_token).not.toBe(pair.token)
      expect(Date.parse(pair.refresh_expires_at)).toBeGreaterThan(Date.parse(pair.expires_at))

      const users = yield* sql`
        SELECT id, email, name, role, banned, email_verified FROM "user" WHERE lower(email) = ${stored}`
      expect(users).toEqual([{
        id: pair.user_id,
        email: stored,
        name: "Ada",
        role: "user",
        banned: false,
        email_verified: false
      }])

      const accounts = yield* sql<{ provider_id: string; password: string | null }>`
        SELECT provider_id, password FROM account WHERE user_id = ${pair.user_id}`
      expect(accounts).toHaveLength(1)
      expect(accounts[0].provider_id).toBe("credential")
      const hash = accounts[0].password!
      expect(hash).toMatch(BCRYPT_HASH)
      expect(hash).not.toContain(PASSWORD)
      expect(bcrypt.compareSync(PASSWORD, hash)).toBe(true)

      const sessions = yield* sessionsOf(pair.user_id)
      expect(sessions).toHaveLength(1)
      expect(sessions[0].id).toBe(claims.sid)
      expect(sessions[0].revoked_at).toBeNull()
      expect(sessions[0].idle_expires_at.toISOString()).toBe(pair.refresh_expires_at)
      // Nothing replayable is stored: the refresh token appears nowhere in the session's row.
      expect(sessions[0].row).not.toContain(pair.refresh_token)
    }))

  it.effect("signup with a taken email (also differently cased) answers 400 and adds no row", () =>
    Effect.gen(function*() {
      const email = uniqueEmail("taken")
      expect((yield* signupWith(email, PASSWORD)).status).toBe(200)
      for (const again of [email, ` ${email.toUpperCase()}  `]) {
        const reply = yield* signupWith(again, "another fine passphrase")
        expect(reply.status).toBe(400)
        expect(reply.body).toMatchObject({ detail: "An account with this email already exists" })
      }
      expect(yield* countUsers(email)).toBe(1)
    }))

  it.effect("signup with the email of a legacy row stored in another case answers 400 and adds no row", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const email = uniqueEmail("legacy-case")
      const mixed = email.charAt(0).toUpperCase() + email.slice(1)
      // The old backend's rows are adopted as they are; one may carry capitals.
      yield* sql`INSERT INTO "user" (id, email, name) VALUES (${randomUUID()}, ${mixed}, 'Legacy')`
      const reply = yield* signupWith(email, PASSWORD)
      expect(reply.status).toBe(400)
      expect(reply.body).toMatchObject({ detail: "An account with this email already exists" })
      expect(yield* countUsers(email)).toBe(1)
    }))

  it.effect("signup with a malformed email or no password answers 422 in FastAPI's shape", () =>
    Effect.gen(function*() {
      const badEmail = yield* signupWith("not-an-email", PASSWORD)
      expect(badEmail.status).toBe(422)
      expect(badEmail.body.detail).toEqual([expect.objectContaining({ loc: ["body", "email"] })])
      const noPassword = yield* post(`${AUTH}/signup`, { json: { email: uniqueEmail("nopw") } })
      expect(noPassword.status).toBe(422)
      expect(noPassword.body.detail).toEqual([expect.objectContaining({ loc: ["body", "password"] })])
      expect(yield* countUsers("not-an-email")).toBe(0)
    }))

  it.effect("signup refuses a password shorter than 8 characters with 422", () =>
    Effect.gen(function*() {
      const email = uniqueEmail("short")
      expectPasswordRejected(yield* signupWith(email, "Sh0rt!x"), /8/)
      expect(yield* countUsers(email)).toBe(0)
    }))

  it.effect("signup refuses a password over 72 UTF-8 bytes (40 × é = 80 bytes) with 422, never truncating", () =>
    Effect.gen(function*() {
      const email = uniqueEmail("long")
      expectPasswordRejected(yield* signupWith(email, "é".repeat(40)), /72/)
      expectPasswordRejected(yield* signupWith(email, "x".repeat(73)), /72/)
      expect(yield* countUsers(email)).toBe(0)
      // exactly 72 bytes is fine
      expect((yield* signupWith(email, "é".repeat(36))).status).toBe(200)
    }))

  it.effect("signup refuses a common password with 422", () =>
    Effect.gen(function*() {
      const email = uniqueEmail("common")
      expectPasswordRejected(yield* signupWith(email, "password123"), /common/i)
      expectPasswordRejected(yield* signupWith(email, "PassWord123"), /common/i)
      expect(yield* countUsers(email)).toBe(0)
    }))

  it.effect("signup refuses a password equal to the email with 422", () =>
    Effect.gen(function*() {
      const email = uniqueEmail("same")
      expectPasswordRejected(yield* signupWith(email, email), /email/i)
      expectPasswordRejected(yield* signupWith(email, email.toUpperCase()), /email/i)
      expect(yield* countUsers(email)).toBe(0)
    }))

  it.effect("signup accepts a Unicode password of 8+ characters, and signin with it works", () =>
    Effect.gen(function*() {
      const email = uniqueEmail("unicode")
      const password = "密码很安全的口令" // 8 characters, 24 bytes
      const reply = yield* signupWith(email, password)
      expect(reply.status).toBe(200)
      const again = yield* signin(email, password)
      expect(again.status).toBe(200)
      expect(again.body.data.user_id).toBe(reply.body.data.user_id)
      expect((yield* signin(email, "密码很安全的口")).status).toBe(401)
    }))

  it.effect("signup ignores server-owned fields (id, role, banned, email_verified) in the body", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const email = uniqueEmail("owned")
      const attackerId = randomUUID()
      const reply = yield* signupWith(email, PASSWORD, {
        id: attackerId,
        user_id: attackerId,
        role: "admin",
        banned: true,
        email_verified: true,
        created_at: "2000-01-01T00:00:00Z"
      })
      expect(reply.status).toBe(200)
      const userId = reply.body.data.user_id
      expect(userId).not.toBe(attackerId)
      const rows = yield* sql<{ id: string; role: string; banned: boolean; email_verified: boolean; created_at: Date }>`
        SELECT id, role, banned, email_verified, created_at FROM "user" WHERE lower(email) = ${email}`
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ id: userId, role: "user", banned: false, email_verified: false })
      expect(rows[0].created_at.getUTCFullYear()).not.toBe(2000)
      const me = yield* get(`${AUTH}/me`, { token: reply.body.data.token })
      expect(me.body).toMatchObject({ id: userId, role: "user", banned: false })
    }))

  // ---------------------------------------------------------------- signin

  it.effect("signin answers a TokenPair and opens a new session every time", () =>
    Effect.gen(function*() {
      const user = yield* signup("signin")
      const sids = new Set<unknown>([decodeJwt(user.token).sid])
      for (let i = 1; i <= 2; i++) {
        const reply = yield* signin(user.email, user.password)
        expect(reply.status).toBe(200)
        expect(reply.body.success).toBe(true)
        expect(Object.keys(reply.body.data)).toEqual(expect.arrayContaining(TOKEN_PAIR_FIELDS))
        expect(reply.body.data).toMatchObject({ user_id: user.userId, token_type: "Bearer", expires_in: 900 })
        sids.add(decodeJwt(reply.body.data.token).sid)
        expect(sids.size).toBe(i + 1)
        const sessions = yield* sessionsOf(user.userId)
        expect(sessions).toHaveLength(i + 1)
        expect(new Set(sessions.map((s) => s.id))).toEqual(sids)
      }
    }))

  it.effect("signin matches the email case-insensitively", () =>
    Effect.gen(function*() {
      const user = yield* signup("casing")
      const reply = yield* signin(`  ${user.email.toUpperCase()} `, user.password)
      expect(reply.status).toBe(200)
      expect(reply.body.data.user_id).toBe(user.userId)
    }))

  it.effect("signin with a wrong password or an unknown email: the same 401, byte for byte", () =>
    Effect.gen(function*() {
      const user = yield* signup("wrong")
      const before = (yield* sessionsOf(user.userId)).length
      const wrongPassword = yield* signin(user.email, "not the right passphrase")
      const unknownEmail = yield* signin(uniqueEmail("nobody"), "not the right passphrase")
      expect(wrongPassword.status).toBe(401)
      expect(wrongPassword.body).toMatchObject({ detail: "Invalid email or password" })
      expect(unknownEmail.status).toBe(401)
      expect(unknownEmail.text).toBe(wrongPassword.text)
      expect(stableHeaders(unknownEmail)).toEqual(stableHeaders(wrongPassword))
      expect((yield* sessionsOf(user.userId)).length).toBe(before)
    }))

  it.effect("signin of a user without a password credential answers the same 401", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const email = uniqueEmail("oauth-only")
      yield* sql`INSERT INTO "user" (id, email) VALUES (${randomUUID()}, ${email})`
      const noCredential = yield* signin(email, PASSWORD)
      const unknownEmail = yield* signin(uniqueEmail("nobody"), PASSWORD)
      expect(noCredential.status).toBe(401)
      expect(noCredential.text).toBe(unknownEmail.text)
    }))

  it.effect("signin with a legacy salt:sha256hex hash succeeds and re-hashes it with bcrypt", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const email = uniqueEmail("bob")
      const userId = randomUUID()
      const bobHash = "9f2c4e1ab37d4c55:9252e7cec3da1684c9ddf720f4c30b9e1ab15ddd53eaa6f1c6b2c93845419622"
      yield* sql`INSERT INTO "user" (id, email, name) VALUES (${userId}, ${email}, 'Bob')`
      yield* sql`
        INSERT INTO account (id, user_id, account_id, provider_id, password)
        VALUES (${randomUUID()}, ${userId}, ${email}, 'credential', ${bobHash})`
      expect((yield* signin(email, "Legacy-Pass-8")).status).toBe(401)
      const reply = yield* signin(email, "Legacy-Pass-7")
      expect(reply.status).toBe(200)
      expect(reply.body.data.user_id).toBe(userId)
      const [row] = yield* sql<{ password: string }>`
        SELECT password FROM account WHERE user_id = ${userId} AND provider_id = 'credential'`
      expect(row.password).toMatch(BCRYPT_HASH)
      expect(bcrypt.compareSync("Legacy-Pass-7", row.password)).toBe(true)
      expect((yield* signin(email, "Legacy-Pass-7")).status).toBe(200)
    }))

  it.effect("signin of a banned user answers 403 and opens no session", () =>
    Effect.gen(function*() {
      const user = yield* signup("banned")
      yield* ban(user.userId)
      const reply = yield* signin(user.email, user.password)
      expect(reply.status).toBe(403)
      expect(reply.body).toMatchObject({ detail: "Account is banned" })
      expect(yield* sessionsOf(user.userId)).toHaveLength(1) // only signup's
    }))

  // ---------------------------------------------------------------- Bearer endpoints

  it.effect("me answers the User", () =>
    Effect.gen(function*() {
      const user = yield* signup("me")
      const reply = yield* get(`${AUTH}/me`, { token: user.token })
      expect(reply.status).toBe(200)
      expect(Object.keys(reply.body)).toEqual(expect.arrayContaining(USER_FIELDS))
      expect(reply.body).toMatchObject({
        id: user.userId,
        email: user.email,
        email_verified: false,
        name: "me",
        image: null,
        role: "user",
        banned: false,
        ban_reason: null,
        ban_expires: null
      })
      expect(reply.body.created_at).toMatch(ISO_UTC)
      expect(reply.body.updated_at).toMatch(ISO_UTC)
    }))

  it.effect("session answers the token's own session, with the user agent given at signin", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const user = yield* signup("session")
      const agent = "auth-suite/1.0 (custom agent)"
      const signedIn = yield* signin(user.email, user.password, { "user-agent": agent })
      expect(signedIn.status).toBe(200)
      const token = signedIn.body.data.token
      const sid = decodeJwt(token).sid
      const reply = yield* get(`${AUTH}/session`, { token })
      expect(reply.status).toBe(200)
      const [row] = yield* sql<{ expires_at: Date }>`SELECT expires_at FROM auth_session WHERE id = ${
        String(sid)
      }::uuid`
      expect(reply.body.session).toMatchObject({
        session_id: sid,
        user_id: user.userId,
        expires_at: row.expires_at.toISOString(),
        ip_address: expect.stringMatching(/127\.0\.0\.1$/),
        user_agent: agent,
        is_impersonated: false
      })
      expect(Object.keys(reply.body.user)).toEqual(expect.arrayContaining(USER_FIELDS))
      expect(reply.body.user).toMatchObject({ id: user.userId, email: user.email })
      // the signup session is a different one
      const other = yield* get(`${AUTH}/session`, { token: user.token })
      expect(other.body.session.session_id).toBe(decodeJwt(user.token).sid)
      expect(other.body.session.session_id).not.toBe(sid)
    }))

  it.effect("token-info answers the token's user and its iat/exp", () =>
    Effect.gen(function*() {
      const user = yield* signup("info")
      const claims = decodeJwt(user.token)
      const reply = yield* get(`${AUTH}/token-info`, { token: user.token })
      expect(reply.status).toBe(200)
      expect(reply.body).toEqual({
        user_id: user.userId,
        email: user.email,
        role: "user",
        issued_at: iso(claims.iat!),
        expires_at: iso(claims.exp!)
      })
    }))

  it.effect("verify (POST) answers valid and the user id", () =>
    Effect.gen(function*() {
      const user = yield* signup("verify")
      const reply = yield* post(`${AUTH}/verify`, { token: user.token })
      expect(reply.status).toBe(200)
      expect(reply.body).toEqual({ valid: true, user_id: user.userId })
    }))

  it.effect("accounts lists linked OAuth accounts, never the password credential", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const user = yield* signup("accounts")
      const empty = yield* get(`${AUTH}/accounts`, { token: user.token })
      expect(empty.status).toBe(200)
      expect(empty.body).toEqual({ accounts: [] })

      const id = randomUUID()
      const githubId = `gh-${counter++}-${process.pid}`
      yield* sql`
        INSERT INTO account (id, user_id, account_id, provider_id, access_token, created_at, updated_at)
        VALUES (${id}, ${user.userId}, ${githubId}, 'github', 'gho_secret', now(), now())`
      const reply = yield* get(`${AUTH}/accounts`, { token: user.token })
      expect(reply.status).toBe(200)
      expect(reply.body.accounts).toHaveLength(1)
      expect(reply.body.accounts[0]).toMatchObject({ id, provider_id: "github", account_id: githubId })
      expect(reply.body.accounts[0].created_at).toMatch(ISO_UTC)
      expect(reply.text).not.toContain("credential")
      expect(reply.text).not.toContain("gho_secret")
    }))

  for (const [method, path] of BEARER_ENDPOINTS) {
    it.effect(`${method} ${path} without Authorization answers 401 Not authenticated`, () =>
      Effect.gen(function*() {
        const reply = yield* request(method, path)
        expect(reply.status).toBe(401)
        expect(reply.body).toMatchObject({ detail: "Not authenticated" })
        expect(reply.headers.get("www-authenticate")).toBe("Bearer")
      }))

    it.effect(`${method} ${path} with a bad token answers 401 Could not validate credentials`, () =>
      Effect.gen(function*() {
        for (const token of ["not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"]) {
          const reply = yield* request(method, path, { token })
          expect(reply.status).toBe(401)
          expect(reply.body).toMatchObject({ detail: "Could not validate credentials" })
          expect(reply.headers.get("www-authenticate")).toBe("Bearer error=\"invalid_token\"")
        }
      }))
  }

  it.effect("a banned user's existing access token is refused once banned", () =>
    Effect.gen(function*() {
      const user = yield* signup("ban-token")
      expect((yield* get(`${AUTH}/me`, { token: user.token })).status).toBe(200)
      yield* ban(user.userId)
      // A ban made in the database reaches the service within its session-check interval (5 s).
      yield* TestClock.adjust("5 seconds")
      for (const [method, path] of BEARER_ENDPOINTS) {
        const reply = yield* request(method, path, { token: user.token })
        expect(reply.status).toBe(401)
        expect(reply.body).toMatchObject({ detail: "Could not validate credentials" })
      }
    }))
})

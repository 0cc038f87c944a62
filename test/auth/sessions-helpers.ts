/**
 * Helpers shared by the session suites (test/sessions-*.test.ts). Expected values come from
 * security.md and rest-api.md, so a drift in the service shows up as a failing test.
 */
import { expect } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { decodeJwt, type JWTPayload, SignJWT } from "jose"
import { randomUUID } from "node:crypto"
import { get, post, type Reply, signup } from "../support/http.js"
import { TEST_JWT_SECRET, TestService } from "../support/TestService.js"

export const AUTH = "/api/v1/auth"
export const ME = `${AUTH}/me`

export type RefreshErrorCode = "invalid_refresh_token" | "refresh_token_reused" | "session_expired" | "session_revoked"

/** The service under test, without rate limits (these suites sign in and refresh a lot). */
export const serviceWith = (env: Record<string, string> = {}) =>
  TestService({ env: { RATE_LIMIT_ENABLED: "false", ...env } })

/** What a signin, signup or refresh answered, plus the session its access token names. */
export interface Pair {
  readonly token: string
  readonly refreshToken: string
  readonly userId: string
  readonly sessionId: string
  readonly expiresAt: string
  readonly refreshExpiresAt: string
}

/** The `sid` claim of an access token. */
export const sessionIdOf = (accessToken: string) => {
  const sid = decodeJwt(accessToken).sid
  if (typeof sid !== "string") throw new Error(`access token without sid: ${JSON.stringify(decodeJwt(accessToken))}`)
  return sid
}

/** The TokenPair of a 200 answer (`{"success":true,"data":TokenPair}`). */
export const pairOf = (reply: Reply): Pair => {
  expect(reply.status, reply.text).toBe(200)
  expect(reply.body.success).toBe(true)
  const data = reply.body.data
  expect(data.token_type).toBe("Bearer")
  expect(typeof data.refresh_token).toBe("string")
  return {
    token: data.token,
    refreshToken: data.refresh_token,
    userId: data.user_id,
    sessionId: sessionIdOf(data.token),
    expiresAt: data.expires_at,
    refreshExpiresAt: data.refresh_expires_at
  }
}

export const signin = (email: string, password: string, headers?: Record<string, string>) =>
  post(`${AUTH}/signin`, { json: { email, password }, ...(headers ? { headers } : {}) })

/** A successful signin: a new session. */
export const signinPair = (email: string, password: string, headers?: Record<string, string>) =>
  Effect.map(signin(email, password, headers), pairOf)

let accounts = 0
export const PASSWORD = "correct horse battery staple"

/** A new user, signed up: its credentials and the session signup opened. */
export const newUser = (prefix: string) =>
  Effect.gen(function*() {
    const email = `${prefix}-${process.pid}-${Date.now().toString(36)}-${accounts++}@example.com`
    const pair = pairOf(yield* post(`${AUTH}/signup`, { json: { email, password: PASSWORD, name: prefix } }))
    return { email, password: PASSWORD, userId: pair.userId, pair }
  })

/** A new user with `count` sessions (signup opens the first, each signin one more). */
export const userWithSessions = (prefix: string, count: number) =>
  Effect.gen(function*() {
    const user = yield* newUser(prefix)
    const sessions: Array<Pair> = [user.pair]
    for (let i = 1; i < count; i++) sessions.push(yield* signinPair(user.email, user.password))
    expect(new Set(sessions.map((s) => s.sessionId)).size).toBe(count)
    return { ...user, sessions }
  })

export const refresh = (refreshToken: string) => post(`${AUTH}/refresh`, { json: { refresh_token: refreshToken } })

/** A refresh that must succeed. */
export const refreshed = (refreshToken: string) => Effect.map(refresh(refreshToken), pairOf)

/** A refresh that must answer 401 with this `error_code`. */
export const expectRefreshRefused = (refreshToken: string, errorCode: RefreshErrorCode, label = "refresh") =>
  Effect.gen(function*() {
    const reply = yield* refresh(refreshToken)
    expect(reply.status, `${label}: ${reply.text}`).toBe(401)
    expect(reply.body.error_code, label).toBe(errorCode)
    expect(typeof reply.body.detail).toBe("string")
    return reply
  })

/** The access token is accepted on GET /me as this user. */
export const expectAccepted = (accessToken: string, userId: string) =>
  Effect.gen(function*() {
    const reply = yield* get(ME, { token: accessToken })
    expect(reply.status, reply.text).toBe(200)
    expect(reply.body.id).toBe(userId)
  })

/** The access token is refused on GET /me, as rest-api.md says a bad or revoked token is. */
export const expectRefused = (accessToken: string) =>
  Effect.gen(function*() {
    const reply = yield* get(ME, { token: accessToken })
    expect(reply.status, reply.text).toBe(401)
    expect(reply.body).toMatchObject({ detail: "Could not validate credentials" })
    expect(reply.headers.get("www-authenticate")).toBe("Bearer error=\"invalid_token\"")
  })

/**
 * A signed-up user, its token, the token's claims, and claims for a fresh token of the same session
 * (new jti, iat, exp).
 */
export const victim = (prefix: string) =>
  Effect.gen(function*() {
    const user = yield* signup(prefix)
    const claims = decodeJwt(user.token)
    const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const fresh: JWTPayload = { ...claims, jti: randomUUID(), iat: nowSeconds, exp: nowSeconds + 900 }
    return { ...user, claims, fresh }
  })

/** A LEGACY_TOKENS_UNTIL an hour ahead (of the real clock, when the suite loads). */
export const LEGACY_UNTIL = new Date(Date.now() + 60 * 60_000).toISOString()

/**
 * A token as the old backend made it: HS256 with the shared secret, no kid, iss, aud, sid or jti,
 * and no typ unless given (PyJWT writes `typ: JWT`). It names no session.
 */
export const legacyToken = (
  userId: string,
  options: {
    readonly lifetimeSeconds?: number
    readonly extra?: JWTPayload
    readonly secret?: string
    readonly typ?: string
  } = {}
) =>
  Effect.gen(function*() {
    const iat = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const exp = iat + (options.lifetimeSeconds ?? 900)
    const payload = {
      sub: userId,
      user_id: userId,
      email: "legacy@example.com",
      role: "user",
      iat,
      exp,
      ...options.extra
    }
    const header = options.typ === undefined ? { alg: "HS256" } : { alg: "HS256", typ: options.typ }
    const key = new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET)
    return yield* Effect.promise(() => new SignJWT(payload).setProtectedHeader(header).sign(key))
  })

/** Both halves of a session work: its access token on /me and its refresh token on /refresh. */
export const expectSessionWorks = (pair: Pair) =>
  Effect.gen(function*() {
    yield* expectAccepted(pair.token, pair.userId)
    const next = yield* refreshed(pair.refreshToken)
    expect(next.sessionId).toBe(pair.sessionId)
    yield* expectAccepted(next.token, pair.userId)
    return next
  })

/** Neither half of an ended session works: 401 on /me, `session_revoked` on /refresh. */
export const expectSessionEnded = (pair: Pair) =>
  Effect.gen(function*() {
    yield* expectRefused(pair.token)
    yield* expectRefreshRefused(pair.refreshToken, "session_revoked")
  })

export interface SessionRow {
  readonly id: string
  readonly user_id: string
  readonly refresh_counter: number
  readonly rotated_at: Date | null
  readonly created_at: Date
  readonly last_used_at: Date
  readonly idle_expires_at: Date
  readonly expires_at: Date
  readonly revoked_at: Date | null
  readonly revoked_reason: string | null
}

const selectSessions = (sql: SqlClient.SqlClient) =>
  sql`SELECT id::text AS id, user_id, refresh_counter::int AS refresh_counter, rotated_at, created_at, last_used_at,
             idle_expires_at, expires_at, revoked_at, revoked_reason
      FROM auth_session`

/** The `auth_session` row of this session (it must exist). */
export const sessionRow = (sessionId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<SessionRow>`${selectSessions(sql)} WHERE id = ${sessionId}`
    expect(rows, `no auth_session row ${sessionId}`).toHaveLength(1)
    return rows[0]!
  })

/** The ids of the user's sessions that are not revoked, sorted. */
export const unrevokedSessionIds = (userId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ id: string }>`
      SELECT id::text AS id FROM auth_session WHERE user_id = ${userId} AND revoked_at IS NULL ORDER BY id`
    return rows.map((r) => r.id)
  })

/** The current time of the (test) clock the service runs on. */
export const clockNow = Clock.currentTimeMillis

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE

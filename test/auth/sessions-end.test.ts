/**
 * Ending sessions (rest-api.md, "Auth — new endpoints"; security.md): logout scopes, RFC 7009
 * revocation, the list of active sessions, deleting one by id, change-password and bans. An
 * ended session's access tokens are refused at once and its refresh token answers
 * `session_revoked`; the sessions left alone keep working. Checked on the wire and in `auth_session`.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { mintRefreshToken } from "../../src/infra/auth/RefreshTokens.js"
import { refreshKeyOf } from "../../src/infra/auth/Tokens.js"
import { del, get, post, type Reply } from "../support/http.js"
import { TEST_JWT_SECRET } from "../support/TestService.js"
import {
  AUTH,
  expectAccepted,
  expectSessionEnded,
  expectSessionWorks,
  LEGACY_UNTIL,
  legacyToken,
  newUser,
  type Pair,
  refreshed,
  serviceWith,
  sessionRow,
  signin,
  signinPair,
  unrevokedSessionIds,
  userWithSessions
} from "./sessions-helpers.js"

const logout = (token: string, json?: unknown) =>
  post(`${AUTH}/logout`, json === undefined ? { token } : { token, json })

const revoke = (json: unknown) => post(`${AUTH}/revoke`, { json })

const changePassword = (token: string, json: Record<string, unknown>) =>
  post(`${AUTH}/change-password`, { token, json })

const expectNoContent = (reply: Reply) => {
  expect(reply.status, reply.text).toBe(204)
  expect(reply.text).toBe("")
}

const expectRevokeOk = (reply: Reply) => {
  expect(reply.status, reply.text).toBe(200)
  expect(reply.body).toEqual({})
}

const expectValidationError = (reply: Reply) => {
  expect(reply.status, reply.text).toBe(422)
  expect(reply.body.error_code).toBe("validation_error")
  expect(Array.isArray(reply.body.detail)).toBe(true)
  expect(reply.body.detail[0].loc[0]).toBe("body")
}

const expectSessionNotFound = (reply: Reply) => {
  expect(reply.status, reply.text).toBe(404)
  expect(reply.body).toMatchObject({ error_code: "session_not_found" })
  expect(typeof reply.body.detail).toBe("string")
}

const sortedIds = (pairs: ReadonlyArray<Pair>) => pairs.map((p) => p.sessionId).sort()

/** Session rows revoked with this reason (and a revocation time). */
const expectRevokedFor = (pairs: ReadonlyArray<Pair>, reason: string) =>
  Effect.gen(function*() {
    for (const pair of pairs) {
      const row = yield* sessionRow(pair.sessionId)
      expect(row.revoked_at).not.toBeNull()
      expect(row.revoked_reason).toBe(reason)
    }
  })

it.layer(serviceWith())("logout", (it) => {
  it.effect("without a body it ends only the calling session (local), answering 204", () =>
    Effect.gen(function*() {
      const { sessions: [a, b, c], userId } = yield* userWithSessions("logout-nobody", 3)
      expectNoContent(yield* logout(b!.token))
      yield* expectSessionEnded(b!)
      expect(yield* unrevokedSessionIds(userId)).toEqual(sortedIds([a!, c!]))
      yield* expectSessionWorks(a!)
      yield* expectSessionWorks(c!)
    }))

  it.effect("scope local (and an empty object) end only the calling session", () =>
    Effect.gen(function*() {
      const { sessions: [a, b, c], userId } = yield* userWithSessions("logout-local", 3)
      expectNoContent(yield* logout(a!.token, { scope: "local" }))
      expectNoContent(yield* logout(c!.token, {}))
      yield* expectSessionEnded(a!)
      yield* expectSessionEnded(c!)
      yield* expectRevokedFor([a!, c!], "logout")
      expect(yield* unrevokedSessionIds(userId)).toEqual([b!.sessionId])
      yield* expectSessionWorks(b!)
    }))

  it.effect("scope global ends every session of the user, and no one else's", () =>
    Effect.gen(function*() {
      const { sessions, userId } = yield* userWithSessions("logout-global", 3)
      const bystander = yield* newUser("logout-global-bystander")
      expectNoContent(yield* logout(sessions[1]!.token, { scope: "global" }))
      for (const session of sessions) yield* expectSessionEnded(session)
      yield* expectRevokedFor(sessions, "logout_global")
      expect(yield* unrevokedSessionIds(userId)).toEqual([])
      yield* expectSessionWorks(bystander.pair)
    }))

  it.effect("scope others ends every session but the calling one", () =>
    Effect.gen(function*() {
      const { sessions: [a, b, c], userId } = yield* userWithSessions("logout-others", 3)
      expectNoContent(yield* logout(b!.token, { scope: "others" }))
      yield* expectSessionEnded(a!)
      yield* expectSessionEnded(c!)
      yield* expectRevokedFor([a!, c!], "logout_others")
      expect(yield* unrevokedSessionIds(userId)).toEqual([b!.sessionId])
      yield* expectSessionWorks(b!)
    }))

  it.effect("an unknown scope answers 400 invalid_scope and ends nothing", () =>
    Effect.gen(function*() {
      const { sessions, userId } = yield* userWithSessions("logout-bogus", 2)
      const reply = yield* logout(sessions[0]!.token, { scope: "bogus" })
      expect(reply.status, reply.text).toBe(400)
      expect(reply.body.error_code).toBe("invalid_scope")
      expect(typeof reply.body.detail).toBe("string")
      expect(yield* unrevokedSessionIds(userId)).toEqual(sortedIds(sessions))
      yield* expectAccepted(sessions[0]!.token, userId)
    }))

  it.effect("without a token it answers 401 Not authenticated", () =>
    Effect.gen(function*() {
      const reply = yield* post(`${AUTH}/logout`)
      expect(reply.status).toBe(401)
      expect(reply.body).toMatchObject({ detail: "Not authenticated" })
    }))
})

it.layer(serviceWith())("revoke (RFC 7009)", (it) => {
  it.effect("a refresh token: 200 {} and its session ends, the others stay", () =>
    Effect.gen(function*() {
      const { sessions: [a, b], userId } = yield* userWithSessions("revoke-refresh", 2)
      expectRevokeOk(yield* revoke({ token: a!.refreshToken }))
      yield* expectSessionEnded(a!)
      expect((yield* sessionRow(a!.sessionId)).revoked_at).not.toBeNull()
      expect(yield* unrevokedSessionIds(userId)).toEqual([b!.sessionId])
      yield* expectSessionWorks(b!)
    }))

  it.effect("a refresh token with token_type_hint: 200 {} and its session ends", () =>
    Effect.gen(function*() {
      const user = yield* newUser("revoke-hint")
      expectRevokeOk(yield* revoke({ token: user.pair.refreshToken, token_type_hint: "refresh_token" }))
      yield* expectSessionEnded(user.pair)
    }))

  it.effect("an access token: 200 {} and its session ends (also under a wrong hint)", () =>
    Effect.gen(function*() {
      const { sessions: [a, b, c], userId } = yield* userWithSessions("revoke-access", 3)
      expectRevokeOk(yield* revoke({ token: a!.token }))
      expectRevokeOk(yield* revoke({ token: b!.token, token_type_hint: "refresh_token" }))
      yield* expectSessionEnded(a!)
      yield* expectSessionEnded(b!)
      expect(yield* unrevokedSessionIds(userId)).toEqual([c!.sessionId])
      yield* expectSessionWorks(c!)
    }))

  it.effect("an unknown, garbage or already revoked token: 200 {} and nothing ends", () =>
    Effect.gen(function*() {
      const { sessions: [a, b], userId } = yield* userWithSessions("revoke-unknown", 2)
      expectRevokeOk(yield* revoke({ token: a!.refreshToken }))
      const unknownSession = mintRefreshToken(refreshKeyOf(TEST_JWT_SECRET), { sessionId: randomUUID(), counter: 0 })
      for (const token of ["garbage", "x".repeat(76), a!.refreshToken, a!.token, unknownSession]) {
        expectRevokeOk(yield* revoke({ token }))
      }
      expect(yield* unrevokedSessionIds(userId)).toEqual([b!.sessionId])
      yield* expectSessionWorks(b!)
    }))

  it.effect("without a body, or without token, it answers 422", () =>
    Effect.gen(function*() {
      const user = yield* newUser("revoke-422")
      expectValidationError(yield* post(`${AUTH}/revoke`))
      expectValidationError(yield* revoke({}))
      expectValidationError(yield* revoke({ token_type_hint: "refresh_token" }))
      expectValidationError(yield* post(`${AUTH}/revoke`, { raw: "{not json" }))
      yield* expectSessionWorks(user.pair)
    }))
})

it.layer(serviceWith())("the caller's sessions", (it) => {
  it.effect("GET /sessions lists the active sessions only, current true exactly for the caller's, and total", () =>
    Effect.gen(function*() {
      const user = yield* userWithSessions("list", 3)
      const [a, b, c] = user.sessions
      const withAgent = yield* signinPair(user.email, user.password, { "user-agent": "sessions-suite/1.0" })
      const d = yield* refreshed(c!.refreshToken) // c's session, rotated once: still one session
      expectNoContent(yield* logout(a!.token)) // ended: not listed
      yield* newUser("list-bystander") // someone else's session: not listed

      const reply = yield* get(`${AUTH}/sessions`, { token: b!.token })
      expect(reply.status, reply.text).toBe(200)
      expect(reply.body.total).toBe(3)
      expect(reply.body.sessions).toHaveLength(3)
      const byId = new Map<string, Record<string, unknown>>(reply.body.sessions.map((s: { id: string }) => [s.id, s]))
      const agentSession = withAgent.sessionId
      expect([...byId.keys()].sort()).toEqual([b!.sessionId, d.sessionId, agentSession].sort())
      for (const session of byId.values()) {
        expect(Object.keys(session).sort()).toEqual(
          ["created_at", "current", "expires_at", "id", "ip_address", "last_used_at", "user_agent"]
        )
        expect(session.current).toBe(session.id === b!.sessionId)
        for (const field of ["created_at", "last_used_at", "expires_at"]) {
          expect(session[field]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
        }
      }
      expect(byId.get(agentSession)!.user_agent).toBe("sessions-suite/1.0")

      // asked from another session, the current flag moves with the caller
      const again = yield* get(`${AUTH}/sessions`, { token: d.token })
      expect(again.body.sessions.filter((s: { current: boolean }) => s.current).map((s: { id: string }) => s.id))
        .toEqual([d.sessionId])
    }))

  it.effect("DELETE /sessions/{id} answers 204 and that session's tokens stop working", () =>
    Effect.gen(function*() {
      const { sessions: [a, b, c], userId } = yield* userWithSessions("delete", 3)
      expectNoContent(yield* del(`${AUTH}/sessions/${b!.sessionId}`, { token: a!.token }))
      yield* expectSessionEnded(b!)
      expect((yield* sessionRow(b!.sessionId)).revoked_at).not.toBeNull()
      expect(yield* unrevokedSessionIds(userId)).toEqual(sortedIds([a!, c!]))
      yield* expectSessionWorks(a!)
      yield* expectSessionWorks(c!)
      const listed = yield* get(`${AUTH}/sessions`, { token: a!.token })
      expect(listed.body.total).toBe(2)
    }))

  it.effect("DELETE of the caller's own session ends it", () =>
    Effect.gen(function*() {
      const user = yield* newUser("delete-own")
      expectNoContent(yield* del(`${AUTH}/sessions/${user.pair.sessionId}`, { token: user.pair.token }))
      yield* expectSessionEnded(user.pair)
    }))

  it.effect("DELETE of another user's, an unknown, a malformed or an ended session answers 404 session_not_found", () =>
    Effect.gen(function*() {
      const { sessions: [a, b], userId } = yield* userWithSessions("delete-404", 2)
      const other = yield* newUser("delete-404-other")
      expectNoContent(yield* del(`${AUTH}/sessions/${b!.sessionId}`, { token: a!.token }))

      for (const id of [other.pair.sessionId, randomUUID(), "not-a-session-id", "1", b!.sessionId]) {
        expectSessionNotFound(yield* del(`${AUTH}/sessions/${encodeURIComponent(id)}`, { token: a!.token }))
      }
      // nothing else ended on the way: the other user's session above all
      yield* expectSessionWorks(other.pair)
      expect(yield* unrevokedSessionIds(userId)).toEqual([a!.sessionId])
    }))
})

it.layer(serviceWith())("change-password", (it) => {
  const NEW_PASSWORD = "a brand new passphrase"

  it.effect("a wrong current password answers 401 invalid_current_password without WWW-Authenticate", () =>
    Effect.gen(function*() {
      const { email, password, sessions, userId } = yield* userWithSessions("chpw-wrong", 2)
      const reply = yield* changePassword(sessions[0]!.token, {
        current_password: "not the password at all",
        new_password: NEW_PASSWORD
      })
      expect(reply.status, reply.text).toBe(401)
      expect(reply.body.error_code).toBe("invalid_current_password")
      expect(typeof reply.body.detail).toBe("string")
      expect(reply.headers.get("www-authenticate")).toBeNull() // the token was fine
      // nothing changed: every session still active, the old password still the password
      expect(yield* unrevokedSessionIds(userId)).toEqual(sortedIds(sessions))
      yield* expectAccepted(sessions[0]!.token, userId)
      expect((yield* signin(email, password)).status).toBe(200)
      expect((yield* signin(email, NEW_PASSWORD)).status).toBe(401)
    }))

  it.effect("a new password refused by the policy answers the policy's 422 and changes nothing", () =>
    Effect.gen(function*() {
      const { email, password, sessions, userId } = yield* userWithSessions("chpw-policy", 2)
      for (const refused of ["short", email]) {
        const reply = yield* changePassword(sessions[0]!.token, { current_password: password, new_password: refused })
        expect(reply.status, reply.text).toBe(422)
        expect(reply.body).toEqual({
          detail: expect.any(String),
          error_code: "weak_password",
          errors: { password: reply.body.detail }
        })
      }
      expect(yield* unrevokedSessionIds(userId)).toEqual(sortedIds(sessions))
      expect((yield* signin(email, password)).status).toBe(200)
    }))

  it.effect("success: 204, the calling session keeps working, the others end, only the new password signs in", () =>
    Effect.gen(function*() {
      const { email, password, sessions: [a, b, c], userId } = yield* userWithSessions("chpw-ok", 3)
      expectNoContent(yield* changePassword(b!.token, { current_password: password, new_password: NEW_PASSWORD }))
      yield* expectSessionWorks(b!)
      yield* expectSessionEnded(a!)
      yield* expectSessionEnded(c!)
      for (const ended of [a!, c!]) expect((yield* sessionRow(ended.sessionId)).revoked_at).not.toBeNull()
      expect(yield* unrevokedSessionIds(userId)).toEqual([b!.sessionId])

      const old = yield* signin(email, password)
      expect(old.status).toBe(401)
      expect(old.body).toMatchObject({ detail: "Invalid email or password" })
      expect((yield* signin(email, NEW_PASSWORD)).status).toBe(200)
    }))

  it.effect("with revoke_other_sessions: false the other sessions survive", () =>
    Effect.gen(function*() {
      const { email, password, sessions, userId } = yield* userWithSessions("chpw-keep", 3)
      expectNoContent(
        yield* changePassword(sessions[0]!.token, {
          current_password: password,
          new_password: NEW_PASSWORD,
          revoke_other_sessions: false
        })
      )
      expect(yield* unrevokedSessionIds(userId)).toEqual(sortedIds(sessions))
      for (const session of sessions) yield* expectSessionWorks(session)
      expect((yield* signin(email, password)).status).toBe(401)
      expect((yield* signin(email, NEW_PASSWORD)).status).toBe(200)
    }))
})

it.layer(serviceWith())("ban", (it) => {
  it.effect("banning a user in SQL ends every session: rows revoked, tokens refused, refresh and signin refused", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { email, password, sessions, userId } = yield* userWithSessions("banned", 2)
      const bystander = yield* newUser("banned-bystander")
      for (const session of sessions) yield* expectAccepted(session.token, userId)

      yield* sql`UPDATE "user" SET banned = true WHERE id = ${userId}`
      // Behind the service's back: its tokens are refused once the session-check interval (5 s) passes.
      yield* TestClock.adjust("5 seconds")

      yield* expectRevokedFor(sessions, "user_banned")
      for (const session of sessions) yield* expectSessionEnded(session)
      const reply = yield* signin(email, password)
      expect(reply.status).toBe(403)
      expect(reply.body).toMatchObject({ detail: "Account is banned" })
      expect(yield* unrevokedSessionIds(userId)).toEqual([])
      yield* expectSessionWorks(bystander.pair)
    }))
})

// ------------------------------------------------------------------ an old backend's token

/** A token as the old backend made it, with `typ: JWT` as PyJWT wrote it: it names no session. */
const oldBackendToken = (userId: string) => legacyToken(userId, { typ: "JWT" })

// security.md: old tokens are accepted while LEGACY_TOKENS_UNTIL is ahead. Such a caller has no
// session of its own, so "all but the calling session" is every session of the user.
it.layer(serviceWith({ LEGACY_TOKENS_UNTIL: LEGACY_UNTIL }))("ending sessions with an old backend's token", (it) => {
  it.effect("the legacy token is accepted, and GET /sessions marks none of the sessions current", () =>
    Effect.gen(function*() {
      const { sessions, userId } = yield* userWithSessions("legacy-list", 2)
      const token = yield* oldBackendToken(userId)
      yield* expectAccepted(token, userId)
      const reply = yield* get(`${AUTH}/sessions`, { token })
      expect(reply.status, reply.text).toBe(200)
      expect(reply.body.total).toBe(2)
      expect(reply.body.sessions.map((s: { id: string }) => s.id).sort()).toEqual(sortedIds(sessions))
      expect(reply.body.sessions.every((s: { current: boolean }) => s.current === false)).toBe(true)
    }))

  it.effect("logout with scope others answers 204 and ends every session of the user", () =>
    Effect.gen(function*() {
      const { sessions, userId } = yield* userWithSessions("legacy-others", 2)
      expectNoContent(yield* logout(yield* oldBackendToken(userId), { scope: "others" }))
      for (const session of sessions) yield* expectSessionEnded(session)
      expect(yield* unrevokedSessionIds(userId)).toEqual([])
    }))

  it.effect("logout with scope global answers 204 and ends every session of the user", () =>
    Effect.gen(function*() {
      const { sessions, userId } = yield* userWithSessions("legacy-global", 2)
      expectNoContent(yield* logout(yield* oldBackendToken(userId), { scope: "global" }))
      for (const session of sessions) yield* expectSessionEnded(session)
    }))

  it.effect("change-password answers 204, ends every session of the user, and only the new password signs in", () =>
    Effect.gen(function*() {
      const { email, password, sessions, userId } = yield* userWithSessions("legacy-chpw", 2)
      const reply = yield* changePassword(yield* oldBackendToken(userId), {
        current_password: password,
        new_password: "a brand new passphrase"
      })
      expectNoContent(reply)
      for (const session of sessions) yield* expectSessionEnded(session)
      expect((yield* signin(email, password)).status).toBe(401)
      expect((yield* signin(email, "a brand new passphrase")).status).toBe(200)
    }))
})

/** `/api/v1/auth` and the JWKS: accounts, sign-in, and the caller's sessions. */
import { Effect, Layer, Option, Schema } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../domain/Api.js"
import { isLogoutScope, LOGOUT_SCOPES, withChangePasswordDefaults } from "../../domain/auth/Auth.js"
import { CurrentCaller } from "../../domain/auth/AuthApi.js"
import { isLegacySessionId, LEGACY_SESSION_ID, SessionId } from "../../domain/auth/Session.js"
import { normaliseEmail } from "../../domain/auth/User.js"
import { pythonList } from "../../domain/Choices.js"
import { envelope } from "../../domain/Envelope.js"
import { BadRequest, SessionNotFound } from "../../domain/Errors.js"
import { Accounts, AccountsLive } from "../../infra/auth/Accounts.js"
import { Sessions, SessionsLive } from "../../infra/auth/Sessions.js"
import { Tokens, TokensLive } from "../../infra/auth/Tokens.js"
import { UserRepo, UserRepoLive } from "../../infra/auth/UserRepo.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { RateLimits, RateLimitsLive } from "../../infra/platform/RateLimits.js"
import { makeClientInfo } from "../edge/ClientInfo.js"
import { enforceWith, refund } from "../edge/RateLimitGuard.js"
import { AuthenticationLive } from "./Authentication.js"

const invalidScope = () =>
  new BadRequest({
    detail: `Invalid scope. Must be one of: ${pythonList(LOGOUT_SCOPES)}`,
    error_code: "invalid_scope"
  })

/** The path's session id; anything but a session id names none of the caller's sessions either. */
const decodeSessionId = Schema.decodeUnknownOption(SessionId)

export const AuthHttpLive = HttpApiBuilder.group(Api, "auth", (handlers) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const sessions = yield* Sessions
    const tokens = yield* Tokens
    const users = yield* UserRepo
    const { rateLimit: rules } = yield* AppConfig
    const limits = yield* RateLimits
    const clientInfo = yield* makeClientInfo
    return handlers
      .handle("signup", ({ payload }) =>
        Effect.gen(function*() {
          const client = yield* clientInfo
          yield* enforceWith(
            limits,
            [{ name: "signup:ip", rule: rules.signupPerIp, subject: client.ipAddress }],
            "closed"
          )
          return envelope(yield* accounts.signup(payload, client))
        }))
      .handle("signin", ({ payload }) =>
        Effect.gen(function*() {
          const client = yield* clientInfo
          // Failures are counted per account (the normalised email) wherever they come from. Each
          // attempt reserves a failure before its password is checked (parallel attempts cannot all
          // slip under the limit), and gets it back when the password was right.
          const accountFailures = {
            name: "signin:account",
            rule: rules.signinFailuresPerAccount,
            subject: normaliseEmail(payload.email)
          }
          yield* enforceWith(
            limits,
            [{ name: "signin:ip", rule: rules.signinPerIp, subject: client.ipAddress }, accountFailures],
            "closed"
          )
          const pair = yield* accounts.signin(payload, client).pipe(
            Effect.tap(() => refund(limits, accountFailures)),
            Effect.tapErrorTag("AccountBanned", () => refund(limits, accountFailures))
          )
          return envelope(pair)
        }))
      .handle("me", () => Effect.map(CurrentCaller, (caller) => caller.user))
      .handle("session", () =>
        Effect.map(CurrentCaller, ({ session, user }) => ({
          session: {
            // A legacy token's caller is in no session: shown as before, whatever id it is told by.
            session_id: isLegacySessionId(session.id) ? LEGACY_SESSION_ID : session.id,
            user_id: user.id,
            expires_at: session.expiresAt,
            ip_address: session.ipAddress,
            user_agent: session.userAgent,
            is_impersonated: false
          },
          user
        })))
      .handle("tokenInfo", () =>
        Effect.map(CurrentCaller, ({ expiresAt, issuedAt, user }) => ({
          user_id: user.id,
          email: user.email,
          role: user.role,
          issued_at: issuedAt,
          expires_at: expiresAt
        })))
      .handle("verify", () => Effect.map(CurrentCaller, ({ user }) => ({ valid: true as const, user_id: user.id })))
      .handle("accounts", () =>
        CurrentCaller.pipe(
          Effect.flatMap(({ user }) => users.linkedAccounts(user.id)),
          Effect.map((accounts) => ({ accounts }))
        ))
      .handle("refresh", ({ payload }) =>
        Effect.gen(function*() {
          const client = yield* clientInfo
          // Parsed once: its session is the rate-limit subject, and a refusal waits for the limits.
          const claims = sessions.refreshClaims(payload.refresh_token)
          yield* enforceWith(
            limits,
            [
              { name: "refresh:session", rule: rules.refreshPerSession, subject: claims?.sessionId ?? null },
              { name: "refresh:ip", rule: rules.refreshPerIp, subject: client.ipAddress }
            ],
            "closed"
          )
          return envelope(yield* sessions.refresh(claims))
        }))
      .handle("logout", ({ payload }) =>
        Effect.gen(function*() {
          const scope = payload?.scope ?? "local"
          if (!isLogoutScope(scope)) return yield* invalidScope()
          yield* sessions.logout(yield* CurrentCaller, scope)
        }))
      // RFC 7009: the answer is the same whether or not the token was known or still valid.
      .handle("revoke", ({ payload }) => Effect.as(sessions.revokeToken(payload.token), {}))
      .handle("sessions", () =>
        Effect.gen(function*() {
          const caller = yield* CurrentCaller
          const active = yield* sessions.listActive(caller.user.id)
          return {
            total: active.length,
            sessions: active.map((s) => ({
              id: s.id,
              created_at: s.createdAt,
              last_used_at: s.lastUsedAt,
              expires_at: s.expiresAt,
              ip_address: s.ipAddress,
              user_agent: s.userAgent,
              current: s.id === caller.session.id
            }))
          }
        }))
      .handle("deleteSession", ({ params }) =>
        Effect.flatMap(CurrentCaller, (caller) =>
          Option.match(decodeSessionId(params.session_id), {
            onNone: () =>
              Effect.fail(new SessionNotFound()),
            onSome: (sessionId) => sessions.end(caller, sessionId)
          })))
      .handle("changePassword", ({ payload }) =>
        Effect.gen(function*() {
          const caller = yield* CurrentCaller
          yield* enforceWith(
            limits,
            [{ name: "change-password:user", rule: rules.changePasswordPerUser, subject: caller.user.id }],
            "closed"
          )
          yield* accounts.changePassword(caller, withChangePasswordDefaults(payload))
        }))
      .handle("jwks", () =>
        Effect.succeed(tokens.jwks))
  })).pipe(Layer.provide([AccountsLive, SessionsLive, TokensLive, UserRepoLive, RateLimitsLive, AuthenticationLive]))

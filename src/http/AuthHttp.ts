/** `/api/v1/auth`: accounts and the caller's own session. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api, CurrentCaller } from "../domain/Api.js"
import { envelope } from "../domain/Envelope.js"
import { Accounts } from "../infra/Accounts.js"
import { UserRepo } from "../infra/UserRepo.js"
import { clientInfo } from "./ClientInfo.js"

export const AuthHttpLive = HttpApiBuilder.group(Api, "auth", (handlers) =>
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const users = yield* UserRepo
    return handlers
      .handle("signup", ({ payload }) =>
        clientInfo.pipe(Effect.flatMap((client) => accounts.signup(payload, client)), Effect.map(envelope)))
      .handle("signin", ({ payload }) =>
        clientInfo.pipe(Effect.flatMap((client) => accounts.signin(payload, client)), Effect.map(envelope)))
      .handle("me", () => Effect.map(CurrentCaller, (caller) => caller.user))
      .handle("session", () =>
        Effect.map(CurrentCaller, ({ session, user }) => ({
          session: {
            session_id: session.id,
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
  }))

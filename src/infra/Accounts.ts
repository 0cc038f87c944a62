/**
 * Accounts and sessions: signup, signin, and the per-request authentication of access tokens.
 * Signin answers the same bytes, after the same work, for an unknown email and a wrong password.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import type { Caller } from "../domain/Api.js"
import { TokenPair } from "../domain/Auth.js"
import {
  AccountBanned,
  BadRequest,
  InvalidCredentials,
  PasswordRejected,
  type ServiceUnavailable,
  Unauthorized,
  ValidationFailed
} from "../domain/Errors.js"
import { passwordProblem } from "../domain/PasswordPolicy.js"
import { Email, isBanned, type User } from "../domain/User.js"
import { AppConfig } from "./Config.js"
import { PasswordHasher } from "./PasswordHasher.js"
import { SessionRepo } from "./SessionRepo.js"
import { Tokens } from "./Tokens.js"
import { UserRepo } from "./UserRepo.js"

/** Where a request came from, recorded on the session it opens. */
export interface ClientInfo {
  readonly ipAddress: string | null
  readonly userAgent: string | null
}

export interface AccountsShape {
  readonly signup: (
    input: { readonly email: string; readonly password: string; readonly name?: string | null | undefined },
    client: ClientInfo
  ) => Effect.Effect<TokenPair, BadRequest | PasswordRejected | ValidationFailed | ServiceUnavailable>
  readonly signin: (
    input: { readonly email: string; readonly password: string },
    client: ClientInfo
  ) => Effect.Effect<TokenPair, InvalidCredentials | AccountBanned | ServiceUnavailable>
  /** Verifies an access token and that its session is active and its user allowed in. */
  readonly authenticate: (accessToken: string) => Effect.Effect<Caller, Unauthorized | ServiceUnavailable>
}

export class Accounts extends Context.Tag("tasks-api/Accounts")<Accounts, AccountsShape>() {}

const decodeEmail = Schema.decodeUnknownOption(Email)
const normaliseEmail = (email: string) => email.trim().toLowerCase()

/** A refresh token is 256 random bits; only its SHA-256 is stored. */
export const newRefreshToken = () => randomBytes(32).toString("base64url")
export const hashRefreshToken = (token: string) => createHash("sha256").update(token, "utf8").digest()

export const AccountsLive = Layer.effect(
  Accounts,
  Effect.gen(function*() {
    const config = yield* AppConfig
    const hasher = yield* PasswordHasher
    const tokens = yield* Tokens
    const users = yield* UserRepo
    const sessions = yield* SessionRepo
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const openSession = Effect.fn("Accounts.openSession")(function*(user: User, client: ClientInfo) {
      const issuedAt = yield* now
      const sessionId = randomUUID()
      const refreshToken = newRefreshToken()
      const expiresAt = new Date(issuedAt.getTime() + Duration.toMillis(config.sessionMaxAge))
      const idleExpiresAt = new Date(
        Math.min(expiresAt.getTime(), issuedAt.getTime() + Duration.toMillis(config.refreshTokenTtl))
      )
      yield* sessions.insert({
        id: sessionId,
        userId: user.id,
        refreshTokenHash: hashRefreshToken(refreshToken),
        now: issuedAt,
        idleExpiresAt,
        expiresAt,
        ipAddress: client.ipAddress,
        userAgent: client.userAgent
      })
      const access = yield* tokens.issueAccessToken({ userId: user.id, email: user.email, role: user.role, sessionId })
      return new TokenPair({
        token: access.token,
        user_id: user.id,
        expires_at: access.expiresAt,
        refresh_token: refreshToken,
        refresh_expires_at: idleExpiresAt,
        token_type: "Bearer",
        expires_in: Math.round((access.expiresAt.getTime() - access.issuedAt.getTime()) / 1000)
      })
    })

    const signup: AccountsShape["signup"] = Effect.fn("Accounts.signup")(function*(input, client) {
      const email = yield* Option.match(decodeEmail(input.email), {
        onNone: () =>
          Effect.fail(
            new ValidationFailed({
              detail: [{ loc: ["body", "email"], msg: "value is not a valid email address", type: "value_error" }]
            })
          ),
        onSome: Effect.succeed
      })
      const problem = passwordProblem(input.password, email)
      if (problem !== undefined) return yield* PasswordRejected.because(problem)
      const passwordHash = yield* hasher.hash(input.password)
      const user = yield* users.insertWithPassword({
        id: randomUUID(),
        email,
        name: input.name?.trim() || null,
        passwordHash,
        now: yield* now
      }).pipe(
        Effect.catchTag("EmailTaken", () =>
          Effect.fail(
            new BadRequest({ detail: "An account with this email already exists", error_code: "email_taken" })
          ))
      )
      yield* Effect.logInfo("auth.signup").pipe(Effect.annotateLogs({ user_id: user.id }))
      return yield* openSession(user, client)
    })

    const signin: AccountsShape["signin"] = Effect.fn("Accounts.signin")(function*(input, client) {
      const found = yield* users.findByEmail(normaliseEmail(input.email))
      const account = Option.flatMap(found, (f) => Option.map(f.credential, (c) => ({ user: f.user, ...c })))
      if (Option.isNone(account)) {
        yield* hasher.verifyDummy(input.password)
        return yield* new InvalidCredentials()
      }
      const { accountId, passwordHash, user } = account.value
      const verification = yield* hasher.verify(input.password, passwordHash)
      if (!verification.valid) return yield* new InvalidCredentials()
      // Checked only after the password: a ban is not disclosed to someone without it.
      if (isBanned(user, yield* now)) return yield* new AccountBanned()
      if (verification.needsRehash) {
        yield* users.updatePasswordHash(accountId, yield* hasher.hash(input.password), yield* now)
        yield* Effect.logInfo("auth.password.rehashed").pipe(Effect.annotateLogs({ user_id: user.id }))
      }
      return yield* openSession(user, client)
    })

    const authenticate: AccountsShape["authenticate"] = Effect.fn("Accounts.authenticate")(function*(accessToken) {
      const claims = yield* tokens.verifyAccessToken(accessToken).pipe(
        Effect.catchTag("InvalidToken", () => Effect.fail(Unauthorized.invalid()))
      )
      const at = yield* now
      const active = yield* sessions.findActive(claims.sessionId, claims.userId, at)
      if (Option.isNone(active) || isBanned(active.value.user, at)) return yield* Unauthorized.invalid()
      return {
        user: active.value.user,
        session: active.value.session,
        issuedAt: claims.issuedAt,
        expiresAt: claims.expiresAt
      }
    })

    return { signup, signin, authenticate }
  })
)

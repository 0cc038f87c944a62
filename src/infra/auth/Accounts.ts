/**
 * Accounts: signup, signin and password changes (access tokens are checked by AccessChecks).
 * Signin answers the same bytes, after the same work, for an unknown email and a wrong password.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import type { TokenPair } from "../../domain/auth/Auth.js"
import type { Caller } from "../../domain/auth/AuthApi.js"
import { passwordProblem } from "../../domain/auth/PasswordPolicy.js"
import { Email, INVALID_EMAIL, isBanned, normaliseEmail, UserId } from "../../domain/auth/User.js"
import {
  AccountBanned,
  BadRequest,
  InvalidCredentials,
  PasswordRejected,
  type ServiceUnavailable,
  ValidationFailed,
  WrongPassword
} from "../../domain/Errors.js"
import type { ClientInfo } from "../platform/ClientInfo.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"
import { countSigninOutcome } from "../platform/Metrics.js"
import { securityEvent } from "../platform/SecurityEvents.js"
import { currentDate } from "../platform/Time.js"
import { PasswordHasher, PasswordHasherLive } from "./PasswordHasher.js"
import { Sessions, SessionsLive } from "./Sessions.js"
import { UserRepo, UserRepoLive } from "./UserRepo.js"

export interface AccountsShape {
  readonly signup: (
    input: { readonly email: string; readonly password: string; readonly name?: string | null | undefined },
    client: ClientInfo
  ) => Effect.Effect<TokenPair, BadRequest | PasswordRejected | ValidationFailed | ServiceUnavailable>
  readonly signin: (
    input: { readonly email: string; readonly password: string },
    client: ClientInfo
  ) => Effect.Effect<TokenPair, InvalidCredentials | AccountBanned | ServiceUnavailable>
  /** Other sessions end unless `revoke_other_sessions` is false; the calling one stays valid. */
  readonly changePassword: (
    caller: Caller,
    input: {
      readonly current_password: string
      readonly new_password: string
      readonly revoke_other_sessions: boolean
    }
  ) => Effect.Effect<void, WrongPassword | PasswordRejected | ServiceUnavailable>
}

export class Accounts extends Context.Service<Accounts, AccountsShape>()("tasks-api/Accounts") {}

const decodeEmail = Schema.decodeUnknownOption(Email)

export const AccountsLive = Layer.effect(
  Accounts,
  Effect.gen(function*() {
    const hasher = yield* PasswordHasher
    const users = yield* UserRepo
    const sessions = yield* Sessions
    const sql = yield* SqlClient.SqlClient
    const now = currentDate

    const signup: AccountsShape["signup"] = Effect.fn("Accounts.signup")(function*(input, client) {
      const email = yield* Option.match(decodeEmail(input.email), {
        onNone: () => Effect.fail(ValidationFailed.at(["body", "email"], INVALID_EMAIL)),
        onSome: Effect.succeed
      })
      const problem = passwordProblem(input.password, email)
      if (problem !== undefined) return yield* PasswordRejected.because(problem)
      const passwordHash = yield* hasher.hash(input.password)
      const user = yield* users.insertWithPassword({
        id: UserId.make(randomUUID()),
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
      const { pair, sessionId } = yield* sessions.open(user, client)
      yield* securityEvent("auth.signup", { user_id: user.id, session_id: sessionId })
      return pair
    })

    const signin: AccountsShape["signin"] = Effect.fn("Accounts.signin")(function*(input, client) {
      const found = yield* users.findByEmail(normaliseEmail(input.email))
      const account = Option.flatMap(found, (f) => Option.map(f.credential, (c) => ({ user: f.user, ...c })))
      if (Option.isNone(account)) {
        yield* hasher.verifyDummy(input.password)
        yield* securityEvent("auth.signin.failed", {
          user_id: Option.getOrUndefined(Option.map(found, (f) => f.user.id)),
          reason: "unknown_account"
        })
        return yield* new InvalidCredentials()
      }
      const { accountId, passwordHash, user } = account.value
      const verification = yield* hasher.verify(input.password, passwordHash)
      if (!verification.valid) {
        yield* securityEvent("auth.signin.failed", { user_id: user.id, reason: "wrong_password" })
        return yield* new InvalidCredentials()
      }
      // Checked only after the password: a ban is not disclosed to someone without it.
      if (isBanned(user, yield* now)) {
        yield* securityEvent("auth.signin.failed", { user_id: user.id, reason: "account_banned" })
        return yield* new AccountBanned()
      }
      if (verification.needsRehash) {
        // Only over the hash just verified: a password changed meanwhile is not put back.
        const upgraded = yield* users.replacePasswordHash(
          accountId,
          passwordHash,
          yield* hasher.hash(input.password),
          yield* now
        )
        if (upgraded) yield* Effect.logInfo("password hash upgraded").pipe(Effect.annotateLogs({ user_id: user.id }))
      }
      const { pair, sessionId } = yield* sessions.open(user, client)
      yield* securityEvent("auth.signin.succeeded", { user_id: user.id, session_id: sessionId })
      return pair
    }, countSigninOutcome)

    const changePassword: AccountsShape["changePassword"] = Effect.fn("Accounts.changePassword")(
      function*(caller, input) {
        const found = yield* users.findById(caller.user.id)
        const credential = Option.flatMap(found, (f) => f.credential)
        if (Option.isNone(credential)) {
          yield* hasher.verifyDummy(input.current_password)
          return yield* new WrongPassword()
        }
        const verification = yield* hasher.verify(input.current_password, credential.value.passwordHash)
        if (!verification.valid) return yield* new WrongPassword()
        const problem = passwordProblem(input.new_password, caller.user.email)
        if (problem !== undefined) return yield* PasswordRejected.because(problem)
        const { accountId, passwordHash } = credential.value
        const newHash = yield* hasher.hash(input.new_password)
        // One transaction: a new password never stands while the sessions it should end survive.
        // The hash is replaced only if it is still the one the current password was checked
        // against: of concurrent changes one wins, and the others' "current" password is no longer.
        yield* sql.withTransaction(
          Effect.gen(function*() {
            if (!(yield* users.replacePasswordHash(accountId, passwordHash, newHash, yield* now))) {
              return yield* new WrongPassword()
            }
            if (input.revoke_other_sessions) {
              yield* sessions.endAllOfUser(caller.user.id, "password_changed", caller.session.id)
            }
          })
        ).pipe(orUnavailable)
        yield* securityEvent("auth.password.changed", { user_id: caller.user.id, session_id: caller.session.id })
      }
    )

    return { signup, signin, changePassword }
  })
).pipe(Layer.provide([PasswordHasherLive, UserRepoLive, SessionsLive]))

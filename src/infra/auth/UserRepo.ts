/** Users and their password credential, in the old backend's Better-Auth-style tables. */
import { Context, Data, Effect, Layer, Option, Schema } from "effect"
import { SqlClient, SqlSchema, type Statement } from "effect/sql"
import { LinkedAccount, User, UserId } from "../../domain/auth/User.js"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { decodedOrDie, orUnavailable } from "../platform/DatabaseErrors.js"

export interface UserWithCredential {
  readonly user: User
  /** The `account` row holding the password, when the user has one. */
  readonly credential: Option.Option<{ readonly accountId: string; readonly passwordHash: string }>
}

export class EmailTaken extends Data.TaggedError("EmailTaken") {}

export interface UserRepoShape {
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<UserWithCredential>, ServiceUnavailable>
  readonly findById: (id: UserId) => Effect.Effect<Option.Option<UserWithCredential>, ServiceUnavailable>
  readonly insertWithPassword: (input: {
    readonly id: UserId
    readonly email: string
    readonly name: string | null
    readonly passwordHash: string
    readonly now: Date
  }) => Effect.Effect<User, EmailTaken | ServiceUnavailable>
  /**
   * Compare-and-set: replaces the hash only if it is still `expectedHash`, the one the password
   * was verified against; false when another change got there first.
   */
  readonly replacePasswordHash: (
    accountId: string,
    expectedHash: string,
    passwordHash: string,
    now: Date
  ) => Effect.Effect<boolean, ServiceUnavailable>
  readonly linkedAccounts: (userId: UserId) => Effect.Effect<ReadonlyArray<LinkedAccount>, ServiceUnavailable>
}

export class UserRepo extends Context.Service<UserRepo, UserRepoShape>()("tasks-api/UserRepo") {}

/** Legacy rows may hold NULL in `role` and `banned`: read them as their defaults. */
export const USER_COLUMNS = `u.id, u.email, u.email_verified, u.name, u.image, coalesce(u.role, 'user') AS role,
  coalesce(u.banned, false) AS banned, u.ban_reason, u.ban_expires, u.created_at, u.updated_at`
/** The same columns for a statement on "user" alone (INSERT … RETURNING). */
const UNQUALIFIED_USER_COLUMNS = USER_COLUMNS.replace(/u\./g, "")

/** The password credential's columns beside a user's (LEFT JOINed: null when it has none). */
const CredentialColumns = Schema.Struct({
  credential_id: Schema.NullOr(Schema.String),
  password: Schema.NullOr(Schema.String)
})

/** One row holds both: each schema reads its own columns of it. */
const UserWithCredentialRow = Schema.Struct({ user: User, credential: CredentialColumns })
const asUserWithCredential = (rows: ReadonlyArray<unknown>) => rows.map((row) => ({ user: row, credential: row }))

const decodeUser = Schema.decodeUnknownEffect(User)

export const UserRepoLive = Layer.effect(
  UserRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const userColumns = sql.literal(USER_COLUMNS)

    const withCredential = ({ credential, user }: typeof UserWithCredentialRow.Type): UserWithCredential => ({
      user,
      credential: credential.credential_id !== null && credential.password !== null
        ? Option.some({ accountId: credential.credential_id, passwordHash: credential.password })
        : Option.none()
    })

    /** The one user `where` selects (aliased `u`), with its password credential if it has one. */
    const selectOne = (where: Statement.Fragment) =>
      sql`
        SELECT ${userColumns}, a.id AS credential_id, a.password
        FROM "user" u
        LEFT JOIN account a ON a.user_id = u.id AND a.provider_id = 'credential'
        WHERE ${where}
        LIMIT 1`.pipe(Effect.map(asUserWithCredential))

    const findOne = <E>(found: Effect.Effect<Option.Option<typeof UserWithCredentialRow.Type>, E>, spanName: string) =>
      found.pipe(Effect.map(Option.map(withCredential)), decodedOrDie, orUnavailable, Effect.withSpan(spanName))

    const selectByEmail = SqlSchema.findOneOption({
      Request: Schema.String,
      Result: UserWithCredentialRow,
      execute: (email) => selectOne(sql`lower(u.email) = ${email}`)
    })
    const findByEmail: UserRepoShape["findByEmail"] = (email) => findOne(selectByEmail(email), "UserRepo.findByEmail")

    const selectById = SqlSchema.findOneOption({
      Request: UserId,
      Result: UserWithCredentialRow,
      execute: (id) => selectOne(sql`u.id = ${id}`)
    })
    const findById: UserRepoShape["findById"] = (id) => findOne(selectById(id), "UserRepo.findById")

    const insertWithPassword: UserRepoShape["insertWithPassword"] = (input) =>
      sql.withTransaction(
        Effect.gen(function*() {
          const rows = yield* sql`
            INSERT INTO "user" (id, email, email_verified, name, role, banned, created_at, updated_at)
            VALUES (${input.id}, ${input.email}, false, ${input.name}, 'user', false, ${input.now}, ${input.now})
            RETURNING ${sql.literal(UNQUALIFIED_USER_COLUMNS)}`
          // Better Auth's convention: a credential account's account_id is the user id.
          yield* sql`
            INSERT INTO account (id, user_id, account_id, provider_id, password, created_at, updated_at)
            VALUES (${crypto.randomUUID()}, ${input.id}, ${input.id}, 'credential', ${input.passwordHash},
                    ${input.now}, ${input.now})`
          return yield* decodeUser(rows[0])
        })
      ).pipe(
        decodedOrDie,
        // SQLSTATE 23505 (the email's unique index), classified by the driver.
        Effect.catchReason("SqlError", "UniqueViolation", () => Effect.fail(new EmailTaken())),
        orUnavailable,
        Effect.withSpan("UserRepo.insertWithPassword")
      )

    const replacePasswordHash: UserRepoShape["replacePasswordHash"] = (accountId, expectedHash, passwordHash, now) =>
      sql<{ readonly id: string }>`
        UPDATE account SET password = ${passwordHash}, updated_at = ${now}
        WHERE id = ${accountId} AND password = ${expectedHash}
        RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable,
        Effect.withSpan("UserRepo.replacePasswordHash")
      )

    const selectLinkedAccounts = SqlSchema.findAll({
      Request: UserId,
      Result: LinkedAccount,
      execute: (userId) =>
        sql`
        SELECT id, provider_id, account_id, created_at FROM account
        WHERE user_id = ${userId} AND provider_id <> 'credential'
        ORDER BY created_at, id`
    })
    const linkedAccounts: UserRepoShape["linkedAccounts"] = (userId) =>
      selectLinkedAccounts(userId).pipe(decodedOrDie, orUnavailable, Effect.withSpan("UserRepo.linkedAccounts"))

    return { findByEmail, findById, insertWithPassword, replacePasswordHash, linkedAccounts }
  })
)

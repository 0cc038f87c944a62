/** Users and their password credential, in the old backend's Better-Auth-style tables. */
import { Context, Data, Effect, Layer, Option } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { User } from "../../domain/auth/User.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"

export interface UserWithCredential {
  readonly user: User
  /** The `account` row holding the password, when the user has one. */
  readonly credential: Option.Option<{ readonly accountId: string; readonly passwordHash: string }>
}

export interface LinkedAccountRow {
  readonly id: string
  readonly provider_id: string
  readonly account_id: string
  readonly created_at: Date
}

export class EmailTaken extends Data.TaggedError("EmailTaken")<{}> {}

export interface UserRepoShape {
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<UserWithCredential>, ServiceUnavailable>
  readonly findById: (id: string) => Effect.Effect<Option.Option<UserWithCredential>, ServiceUnavailable>
  readonly insertWithPassword: (input: {
    readonly id: string
    readonly email: string
    readonly name: string | null
    readonly passwordHash: string
    readonly now: Date
  }) => Effect.Effect<User, EmailTaken | ServiceUnavailable>
  readonly updatePasswordHash: (accountId: string, passwordHash: string, now: Date) => Effect.Effect<void, ServiceUnavailable>
  readonly linkedAccounts: (userId: string) => Effect.Effect<ReadonlyArray<LinkedAccountRow>, ServiceUnavailable>
}

export class UserRepo extends Context.Service<UserRepo, UserRepoShape>()("tasks-api/UserRepo") {}

/** Legacy rows may hold NULL in `role` and `banned`: read them as their defaults. */
export const USER_COLUMNS = `u.id, u.email, u.email_verified, u.name, u.image, coalesce(u.role, 'user') AS role,
  coalesce(u.banned, false) AS banned, u.ban_reason, u.ban_expires, u.created_at, u.updated_at`
/** The same columns for a statement on "user" alone (INSERT … RETURNING). */
const UNQUALIFIED_USER_COLUMNS = USER_COLUMNS.replace(/u\./g, "")

export interface UserRow {
  readonly id: string
  readonly email: string
  readonly email_verified: boolean
  readonly name: string | null
  readonly image: string | null
  readonly role: string
  readonly banned: boolean
  readonly ban_reason: string | null
  readonly ban_expires: Date | null
  readonly created_at: Date
  readonly updated_at: Date
}

/** Rows come straight from the database, whose constraints already hold: types only, no checks. */
export const toUser = (row: UserRow) =>
  new User(
    {
      id: row.id,
      email: row.email,
      email_verified: row.email_verified,
      name: row.name,
      image: row.image,
      role: row.role,
      banned: row.banned,
      ban_reason: row.ban_reason,
      ban_expires: row.ban_expires,
      created_at: row.created_at,
      updated_at: row.updated_at
    },
    { disableChecks: true }
  )

interface CredentialColumns {
  readonly credential_id: string | null
  readonly password: string | null
}

export const UserRepoLive = Layer.effect(
  UserRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const userColumns = sql.literal(USER_COLUMNS)

    const withCredential = (rows: ReadonlyArray<UserRow & CredentialColumns>) =>
      Option.map(Option.fromUndefinedOr(rows[0]), (row) => ({
        user: toUser(row),
        credential: row.credential_id !== null && row.password !== null
          ? Option.some({ accountId: row.credential_id, passwordHash: row.password })
          : Option.none()
      }))

    /** The one user `where` selects (aliased `u`), with its password credential if it has one. */
    const findOne = (where: Statement.Fragment, spanName: string) =>
      sql<UserRow & CredentialColumns>`
        SELECT ${userColumns}, a.id AS credential_id, a.password
        FROM "user" u
        LEFT JOIN account a ON a.user_id = u.id AND a.provider_id = 'credential'
        WHERE ${where}
        LIMIT 1`.pipe(Effect.map(withCredential), orUnavailable, Effect.withSpan(spanName))

    const findByEmail: UserRepoShape["findByEmail"] = (email) =>
      findOne(sql`lower(u.email) = ${email}`, "UserRepo.findByEmail")

    const findById: UserRepoShape["findById"] = (id) => findOne(sql`u.id = ${id}`, "UserRepo.findById")

    const insertWithPassword: UserRepoShape["insertWithPassword"] = (input) =>
      sql.withTransaction(
        Effect.gen(function*() {
          const rows = yield* sql<UserRow>`
            INSERT INTO "user" (id, email, email_verified, name, role, banned, created_at, updated_at)
            VALUES (${input.id}, ${input.email}, false, ${input.name}, 'user', false, ${input.now}, ${input.now})
            RETURNING ${sql.literal(UNQUALIFIED_USER_COLUMNS)}`
          // Better Auth's convention: a credential account's account_id is the user id.
          yield* sql`
            INSERT INTO account (id, user_id, account_id, provider_id, password, created_at, updated_at)
            VALUES (${crypto.randomUUID()}, ${input.id}, ${input.id}, 'credential', ${input.passwordHash},
                    ${input.now}, ${input.now})`
          return toUser(rows[0])
        })
      ).pipe(
        // SQLSTATE 23505 (the email's unique index), classified by the driver.
        Effect.catchReason("SqlError", "UniqueViolation", () => Effect.fail(new EmailTaken())),
        orUnavailable,
        Effect.withSpan("UserRepo.insertWithPassword")
      )

    const updatePasswordHash: UserRepoShape["updatePasswordHash"] = (accountId, passwordHash, now) =>
      sql`UPDATE account SET password = ${passwordHash}, updated_at = ${now} WHERE id = ${accountId}`.pipe(
        Effect.asVoid,
        orUnavailable,
        Effect.withSpan("UserRepo.updatePasswordHash")
      )

    const linkedAccounts: UserRepoShape["linkedAccounts"] = (userId) =>
      sql<LinkedAccountRow>`
        SELECT id, provider_id, account_id, created_at FROM account
        WHERE user_id = ${userId} AND provider_id <> 'credential'
        ORDER BY created_at, id`.pipe(orUnavailable, Effect.withSpan("UserRepo.linkedAccounts"))

    return { findByEmail, findById, insertWithPassword, updatePasswordHash, linkedAccounts }
  })
)

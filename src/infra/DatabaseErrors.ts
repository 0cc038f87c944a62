/** Which database failures mean "unavailable, retry later" (503) and which are bugs (500). */
import { SqlError } from "@effect/sql"
import { Effect, Predicate } from "effect"
import { ServiceUnavailable } from "../domain/Errors.js"

/** SQLSTATE classes of a server that is gone, starting, overloaded, or cancelled a statement. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|57014|40001|40P01)/

/** The SQLSTATE a driver error carries, if any. */
export const sqlState = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/** A failure's own words for logs: the driver's message where it has one. */
export const errorText = (error: { readonly cause?: unknown; readonly message: string }) =>
  String((error.cause as Error | undefined)?.message ?? error.message)

export const isSqlError = (u: unknown): u is SqlError.SqlError => Predicate.isTagged(u, "SqlError")

export const isUnavailable = (error: SqlError.SqlError) => {
  const code = sqlState(error.cause)
  // No SQLSTATE: the connection itself failed (refused, reset, timed out waiting for a client).
  return code === undefined || UNAVAILABLE_SQLSTATE.test(code) || /^E[A-Z]+$/.test(code)
}

/** Maps a repository's SqlError to 503 `database_unavailable`, or to a defect when it is a bug. */
export const orUnavailable = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError.SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | ServiceUnavailable, R> =>
  Effect.catchIf(effect, isSqlError, (error) =>
    isUnavailable(error)
      ? Effect.zipRight(
        Effect.logWarning("database unavailable").pipe(
          Effect.annotateLogs({ error: errorText(error) })
        ),
        Effect.fail(ServiceUnavailable.database())
      )
      : Effect.die(error))

/** Which database failures mean "unavailable, retry later" (503) and which are bugs (500). */
import { Effect, Schema } from "effect"
import { SqlError } from "effect/sql"
import { ServiceUnavailable } from "../../domain/Errors.js"
import { DatabaseGate } from "./DatabaseGate.js"

/** SQLSTATE classes of a server that is gone, starting, overloaded, or cancelled a statement. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|57014|40001|40P01)/

/** The SQLSTATE a driver error carries, if any. */
export const sqlState = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/**
 * The driver's own words, if `cause` has them: a `SqlError` wraps a reason whose cause is the
 * driver's error (PostgreSQL's message with its SQLSTATE, or the socket's `connect ECONNREFUSED …`).
 */
const driverMessage = (cause: unknown): string | undefined =>
  SqlError.isSqlError(cause)
    ? driverMessage(cause.reason.cause) ?? cause.message
    : cause instanceof Error
    ? cause.message
    : undefined

/** A failure's own words for logs: the driver's message where it has one. */
export const errorText = (error: { readonly cause?: unknown; readonly message: string }) =>
  (SqlError.isSqlError(error) ? driverMessage(error) : driverMessage(error.cause)) ?? error.message

export const isSqlError = SqlError.isSqlError

export const isUnavailable = (error: SqlError.SqlError) => {
  const code = sqlState(error.reason.cause)
  // No SQLSTATE: the connection itself failed (refused, reset, timed out waiting for a client).
  return code === undefined || UNAVAILABLE_SQLSTATE.test(code) || /^E[A-Z]+$/.test(code)
}

const onSqlError = (error: SqlError.SqlError): Effect.Effect<never, ServiceUnavailable> =>
  isUnavailable(error)
    ? Effect.andThen(
      Effect.logWarning("database unavailable").pipe(
        Effect.annotateLogs({ error: errorText(error) })
      ),
      Effect.fail(ServiceUnavailable.database())
    )
    : Effect.die(error)

/**
 * One repository operation: through the pool's bounded wait queue (DatabaseGate.ts: 503 `overloaded`
 * past it), its SqlError mapped to 503 `database_unavailable`, or to a defect when it is a bug.
 */
export const orUnavailable = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError.SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | ServiceUnavailable, R> => {
  // Not returned directly: the declared return type would steer catchIf's inference.
  const handled = Effect.catchIf(effect, isSqlError, onSqlError)
  return Effect.withFiber((fiber) => {
    const gate = fiber.getRef(DatabaseGate)
    return gate === undefined ? handled : gate.run(handled)
  })
}

/**
 * A row that its schema refuses is a defect (500), as a failed query that is not about
 * availability is: rows come from our own tables, whose constraints the schemas restate.
 */
export const decodedOrDie = <A, E, R>(
  effect: Effect.Effect<A, E | Schema.SchemaError, R>
): Effect.Effect<A, Exclude<E, Schema.SchemaError>, R> => {
  const handled = Effect.catchIf(effect, Schema.isSchemaError, Effect.die)
  return handled
}

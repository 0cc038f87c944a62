/**
 * What an RPC call answers when its handler dies, as REST's error mapping does for a request: a
 * lost database connection that escaped its repository's mapping is still `ServiceUnavailable`
 * ("retry later"), and a bug is logged with its cause and answered as a bare defect ("Internal
 * Server Error"), never with its message (which could carry SQL or internals).
 */
import { Cause, Effect, Stream } from "effect"
import { ServiceUnavailable } from "../domain/Errors.js"
import { isSqlError, isUnavailable } from "../infra/DatabaseErrors.js"

export const answerDefects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ServiceUnavailable, R> =>
  Effect.catchAllCause(effect, (cause): Effect.Effect<never, E | ServiceUnavailable> => {
    if (!Cause.isDie(cause)) return Effect.failCause(cause)
    const defect = Cause.squash(cause)
    if (isSqlError(defect) && isUnavailable(defect)) {
      return Effect.zipRight(
        Effect.logWarning("database unavailable (unmapped)", cause),
        Effect.fail(ServiceUnavailable.database())
      )
    }
    return Effect.zipRight(Effect.logError("unhandled error", cause), Effect.dieMessage("Internal Server Error"))
  })

export const answerStreamDefects = <A, E, R>(
  stream: Stream.Stream<A, E, R>
): Stream.Stream<A, E | ServiceUnavailable, R> =>
  Stream.catchAllCause(stream, (cause) => Stream.fromEffect(answerDefects(Effect.failCause(cause))))

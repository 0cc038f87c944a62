/**
 * What an RPC call answers when its handler dies, as REST's error mapping does for a request: a
 * lost database connection that escaped its repository's mapping is still `ServiceUnavailable`
 * ("retry later"), and a bug is logged with its cause and answered as a bare defect ("Internal
 * Server Error"), never with its message (which could carry SQL or internals).
 */
import { Cause, Effect, Stream } from "effect"
import type { ServiceUnavailable } from "../domain/Errors.js"
import { answerLostDatabase, isLostDatabase, logUnhandled } from "./Errors.js"

export const answerDefects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ServiceUnavailable, R> =>
  Effect.catchAllCause(effect, (cause): Effect.Effect<never, E | ServiceUnavailable> => {
    // Only defects: a procedure's failures are its typed answers, encoded as they are.
    if (!Cause.isDie(cause)) return Effect.failCause(cause)
    if (isLostDatabase(Cause.squash(cause))) return answerLostDatabase(cause)
    return Effect.zipRight(logUnhandled(cause), Effect.dieMessage("Internal Server Error"))
  })

export const answerStreamDefects = <A, E, R>(
  stream: Stream.Stream<A, E, R>
): Stream.Stream<A, E | ServiceUnavailable, R> =>
  Stream.catchAllCause(stream, (cause) => Stream.fromEffect(answerDefects(Effect.failCause(cause))))

/**
 * What an RPC call answers when its handler dies, as REST's error mapping does for a request: a
 * lost database connection that escaped its repository's mapping is still `ServiceUnavailable`
 * ("retry later"), and a bug is logged with its cause and answered as a bare defect ("Internal
 * Server Error"), never with its message (which could carry SQL or internals).
 */
import { Cause, Effect, Stream } from "effect"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { answerLostDatabase, isLostDatabase, logUnhandled } from "../edge/Errors.js"

/** The answer to a cause that holds a defect. */
const answerDefect = (cause: Cause.Cause<unknown>): Effect.Effect<never, ServiceUnavailable> =>
  isLostDatabase(Cause.squash(cause))
    ? answerLostDatabase(cause)
    : Effect.andThen(logUnhandled(cause), Effect.die(new Error("Internal Server Error")))

// Only defects: a procedure's failures are its typed answers, encoded as they are.
export const answerDefects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ServiceUnavailable, R> =>
  Effect.catchCauseIf(effect, Cause.hasDies, answerDefect)

export const answerStreamDefects = <A, E, R>(
  stream: Stream.Stream<A, E, R>
): Stream.Stream<A, E | ServiceUnavailable, R> =>
  Stream.catchCauseIf(stream, Cause.hasDies, (cause) => Stream.fromEffect(answerDefect(cause)))

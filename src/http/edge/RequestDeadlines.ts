/**
 * REQUEST_TIMEOUT without a timer fiber per request. Every request gets the same timeout, so the
 * deadlines of requests in flight come in the order the requests started: one sweeper fiber sleeps
 * (on Effect's Clock, so TestClock drives it in tests) until the oldest deadline, interrupts each
 * request whose deadline has come, and sleeps again. A request only adds and removes itself from an
 * ordered set; `Effect.timeout` would fork a fiber per request and race it, which measured as a
 * quarter of the CPU time of a task read.
 *
 * An interrupted request's SQL statement is cancelled and its transaction rolled back, as with any
 * interruption; the edge answers it 503 `request_timeout` (see Edge.ts).
 */
import { Clock, Deferred, Duration, Effect, type Scope } from "effect"

interface InFlight {
  readonly deadline: number
  /** Interrupts the request's fiber; marks it timed out first, so the edge can tell why it ended. */
  readonly expire: () => void
}

/** Who interrupted a request that ran out of time (the fiber id its interruption carries). */
export const REQUEST_TIMEOUT_FIBER_ID = -1

export interface RequestDeadlines {
  /** Runs `request`, interrupting it if it has not returned its response within the timeout. */
  readonly within: <A, E, R>(request: Effect.Effect<A, E, R>, onExpire: () => void) => Effect.Effect<A, E, R>
}

export const makeRequestDeadlines = (timeout: Duration.Duration): Effect.Effect<RequestDeadlines, never, Scope.Scope> =>
  Effect.gen(function*() {
    const timeoutMillis = Duration.toMillis(timeout)
    const clock = yield* Clock.Clock
    // Insertion order is deadline order (same timeout for all).
    const inFlight = new Set<InFlight>()
    let wake = yield* Deferred.make<void>()

    const expireDue = Effect.sync(() => {
      const now = clock.currentTimeMillisUnsafe()
      for (const request of inFlight) {
        if (request.deadline > now) break
        inFlight.delete(request)
        request.expire()
      }
    })

    const sweepOnce = Effect.suspend(() => {
      const oldest = inFlight.values().next()
      if (oldest.done) {
        // Nothing in flight: wait for a request instead of polling.
        return Effect.andThen(
          Deferred.await(wake),
          Effect.flatMap(Deferred.make<void>(), (next) =>
            Effect.sync(() => {
              wake = next
            }))
        )
      }
      const wait = oldest.value.deadline - clock.currentTimeMillisUnsafe()
      return Effect.andThen(wait > 0 ? Effect.sleep(Duration.millis(wait)) : Effect.void, expireDue)
    })
    yield* Effect.forkScoped(Effect.forever(sweepOnce))

    const within = <A, E, R>(request: Effect.Effect<A, E, R>, onExpire: () => void) =>
      Effect.withFiber<A, E, R>((fiber) => {
        const entry: InFlight = {
          deadline: clock.currentTimeMillisUnsafe() + timeoutMillis,
          expire: () => {
            onExpire()
            fiber.interruptUnsafe(REQUEST_TIMEOUT_FIBER_ID)
          }
        }
        inFlight.add(entry)
        if (inFlight.size === 1) Deferred.doneUnsafe(wake, Effect.void)
        return Effect.ensuring(
          request,
          Effect.sync(() => {
            inFlight.delete(entry)
          })
        )
      })
    return { within }
  })

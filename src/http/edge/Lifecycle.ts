/**
 * Where the service stands between boot and exit, as the HTTP edge sees it: whether shutdown has
 * begun (readiness then fails and responses close their connections) and how many requests are in
 * flight (the drain waits for none). The server's front (Front.ts) counts requests, from Node's
 * `request` event to the response's `close`, which Node emits however the response ends (written,
 * or the connection lost): the count cannot leak, whatever the request's fiber does meanwhile.
 * `GracefulShutdown.ts` flips the flag and waits.
 */
import { Context, Effect, Layer } from "effect"

export interface LifecycleShape {
  /** True from the moment shutdown begins: readiness answers 503 from then on. */
  readonly shuttingDown: Effect.Effect<boolean>
  /** Requests whose response has not been written (or its connection lost) yet. */
  readonly inFlight: Effect.Effect<number>
  /** The same, synchronously, for Node's event handlers. */
  readonly inFlightUnsafe: () => number
  readonly shuttingDownUnsafe: () => boolean
  /** Counts one request in flight; the function it answers ends the count (a second call does nothing). */
  readonly enterUnsafe: () => () => void
  readonly beginShutdown: Effect.Effect<void>
  /**
   * Completes once nothing is in flight. It completes at once when nothing is, and never sleeps:
   * under TestClock a timer would only fire when a test moves the clock, and a suite's teardown
   * would hang.
   */
  readonly idle: Effect.Effect<void>
}

export class Lifecycle extends Context.Service<Lifecycle, LifecycleShape>()("tasks-api/Lifecycle") {}

export const makeLifecycle: Effect.Effect<LifecycleShape> = Effect.sync(() => {
  // Plain mutable state: every access happens on the event loop in one synchronous step.
  let shuttingDown = false
  let inFlight = 0
  const waiters = new Set<() => void>()

  const finished = () => {
    inFlight -= 1
    if (inFlight > 0) return
    for (const wake of waiters) wake()
    waiters.clear()
  }

  return {
    shuttingDown: Effect.sync(() => shuttingDown),
    inFlight: Effect.sync(() => inFlight),
    inFlightUnsafe: () => inFlight,
    shuttingDownUnsafe: () => shuttingDown,
    enterUnsafe: () => {
      inFlight += 1
      let counted = true
      return () => {
        if (!counted) return
        counted = false
        finished()
      }
    },
    beginShutdown: Effect.sync(() => {
      shuttingDown = true
    }),
    idle: Effect.callback<void>((resume) => {
      if (inFlight === 0) return resume(Effect.void)
      const wake = () => resume(Effect.void)
      waiters.add(wake)
      return Effect.sync(() => {
        waiters.delete(wake)
      })
    })
  }
})

export const LifecycleLive: Layer.Layer<Lifecycle> = Layer.effect(Lifecycle, makeLifecycle)

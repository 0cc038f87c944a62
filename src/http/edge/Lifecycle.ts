/**
 * Where the service stands between boot and exit, as the HTTP edge sees it: whether shutdown has
 * begun (readiness then fails and responses close their connections) and how many requests are in
 * flight (the drain waits for none). The edge middleware counts requests; `GracefulShutdown.ts`
 * flips the flag and waits.
 */
import { Context, Effect, Layer } from "effect"

export interface LifecycleShape {
  /** True from the moment shutdown begins: readiness answers 503 from then on. */
  readonly shuttingDown: Effect.Effect<boolean>
  /** Requests whose handling (and response write) has not finished yet. */
  readonly inFlight: Effect.Effect<number>
  /** Counts `request` as in flight until it ends, however it ends (success, failure, interruption). */
  readonly track: <A, E, R>(request: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
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

  const finished = Effect.sync(() => {
    inFlight -= 1
    if (inFlight > 0) return
    for (const wake of waiters) wake()
    waiters.clear()
  })

  return {
    shuttingDown: Effect.sync(() => shuttingDown),
    inFlight: Effect.sync(() => inFlight),
    track: (request) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          inFlight += 1
        }),
        () => request,
        () => finished
      ),
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

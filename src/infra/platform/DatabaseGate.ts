/**
 * The pool's wait queue, bounded, in front of the pool (whose own queue, @effect/sql-pg's, has no
 * bound and no timeout). Every repository operation (`orUnavailable` in DatabaseErrors.ts: one query,
 * or one transaction with everything in it) takes one of DATABASE_POOL_MAX permits, so a permit holder
 * nearly always finds a connection free. Past them:
 * - at most DATABASE_POOL_MAX_WAITING operations wait, each at most DATABASE_POOL_ACQUIRE_TIMEOUT;
 *   the others, and those that waited too long, answer 503 `overloaded`: the pool is saturated,
 *   PostgreSQL is fine, and what waits is memory (an unbounded queue grows until the process dies).
 * - an operation still running DATABASE_STATEMENT_TIMEOUT + 500 ms after it started answers 503
 *   `database_unavailable` at once: PostgreSQL enforces the statement timeout itself, so only an
 *   unresponsive server (frozen, partitioned) gets this far, and the driver's cancel of a statement
 *   on such a server takes seconds more. The operation runs in a fiber of its own, interrupted
 *   without being waited for; its permit comes back when it has actually ended.
 * Operations nested in one (a transaction's statements) run inside its permit.
 */
import { Context, Duration, Effect, type Exit, type Fiber, Layer } from "effect"
import { ServiceUnavailable } from "../../domain/Errors.js"
import { AppConfig } from "./Config.js"

export interface DatabaseGateShape {
  readonly run: <A, E, R>(operation: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ServiceUnavailable, R>
}

/** The service's gate; none (operations run as they are) where no database layer put one. */
export const DatabaseGate = Context.Reference<DatabaseGateShape | undefined>("tasks-api/DatabaseGate", {
  defaultValue: () => undefined
})

/** Inside an operation that holds a permit: nested ones run within it. */
const InsidePermit = Context.Reference<boolean>("tasks-api/DatabaseGate/InsidePermit", {
  defaultValue: () => false
})

/** How far past the statement timeout a silent server is given before an operation gives up on it. */
const UNRESPONSIVE_MARGIN = Duration.millis(500)

interface DatabaseGateOptions {
  readonly permits: number
  readonly maxWaiting: number
  readonly acquireTimeout: Duration.Duration
  readonly operationTimeout: Duration.Duration
}

const overloaded = Effect.fail(ServiceUnavailable.overloaded())
const unresponsive = Effect.andThen(
  Effect.logWarning("database unavailable: no answer within the statement timeout"),
  Effect.fail(ServiceUnavailable.database())
)

/**
 * Plain callbacks and Node timers, not fibers: the wait and the bound cost nothing unless they
 * happen, and every access happens on the event loop in one synchronous step.
 */
const makeDatabaseGate = (options: DatabaseGateOptions): DatabaseGateShape => {
  const acquireTimeoutMs = Duration.toMillis(options.acquireTimeout)
  const operationTimeoutMs = Duration.toMillis(options.operationTimeout)
  let free = options.permits
  // Insertion order is arrival order: the oldest waiter is granted first.
  const waiting = new Set<() => void>()

  const release = () => {
    const next = waiting.values().next()
    if (next.done) {
      free += 1
      return
    }
    waiting.delete(next.value)
    next.value()
  }

  const run = <A, E, R>(operation: Effect.Effect<A, E, R>): Effect.Effect<A, E | ServiceUnavailable, R> =>
    Effect.withFiber((parent) => {
      if (parent.getRef(InsidePermit)) return operation
      const context = Context.add(parent.context as Context.Context<R>, InsidePermit, true)
      return Effect.callback<A, E | ServiceUnavailable>((resume) => {
        let settled = false
        let running: Fiber.Fiber<A, E> | undefined
        let bound: ReturnType<typeof setTimeout> | undefined
        let waitBound: ReturnType<typeof setTimeout> | undefined
        const settle = (answer: Effect.Effect<A, E | ServiceUnavailable>) => {
          if (settled) return
          settled = true
          resume(answer)
        }
        const start = () => {
          const fiber = Effect.runForkWith(context)(operation)
          running = fiber
          bound = setTimeout(() => {
            fiber.interruptUnsafe()
            settle(unresponsive)
          }, operationTimeoutMs)
          fiber.addObserver((exit: Exit.Exit<A, E>) => {
            clearTimeout(bound)
            release()
            settle(exit)
          })
        }
        const granted = () => {
          clearTimeout(waitBound)
          start()
        }
        if (free > 0) {
          free -= 1
          start()
        } else if (waiting.size >= options.maxWaiting) {
          settle(overloaded)
        } else {
          waiting.add(granted)
          waitBound = setTimeout(() => {
            waiting.delete(granted)
            settle(overloaded)
          }, acquireTimeoutMs)
        }
        // Interrupted (REQUEST_TIMEOUT, the client gone): stop waiting, and stop the operation
        // without waiting for it to unwind; its permit comes back when it has.
        return Effect.sync(() => {
          settled = true
          clearTimeout(waitBound)
          waiting.delete(granted)
          running?.interruptUnsafe()
        })
      })
    })

  return { run }
}

/** The pool's bounded wait queue, for every repository operation of the requests built above it. */
export const DatabaseGateLive = Layer.effect(
  DatabaseGate,
  Effect.map(AppConfig, (config) =>
    makeDatabaseGate({
      permits: config.databasePoolMax,
      maxWaiting: config.databasePoolMaxWaiting,
      acquireTimeout: config.databasePoolAcquireTimeout,
      operationTimeout: Duration.sum(config.databaseStatementTimeout, UNRESPONSIVE_MARGIN)
    }))
)

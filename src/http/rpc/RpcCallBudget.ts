/**
 * The per-user half of the RPC call budget (the per-request half is the transport's, see
 * RpcHttpProtocol.ts): at most RPC_MAX_IN_FLIGHT_PER_USER calls of one user run at once on this
 * instance, over all of their requests, so one account cannot hold the database pool by opening
 * many requests. A call past the bound is refused with `RpcLimitReached` at once rather than
 * queued: a queue would be a store of work the caller controls. `WatchTasks` streams are not
 * counted here: they are long-lived and capped on their own (WATCH_STREAMS_PER_USER).
 */
import { Context, Effect, Layer } from "effect"
import { RpcLimitReached } from "../../domain/tasks/TasksRpc.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { securityEvent } from "../../infra/platform/SecurityEvents.js"

export interface RpcCallBudgetShape {
  /** Runs `call` as one of the user's calls in flight; refused when they already have as many as allowed. */
  readonly forUser: <A, E, R>(
    userId: string,
    call: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | RpcLimitReached, R>
}

export class RpcCallBudget extends Context.Service<RpcCallBudget, RpcCallBudgetShape>()("tasks-api/RpcCallBudget") {}

export const RpcCallBudgetLive = Layer.effect(
  RpcCallBudget,
  Effect.map(AppConfig, ({ rpcMaxInFlightPerUser: limit }) => {
    // Users with calls in flight, and how many: a user is forgotten when their last call ends.
    const inFlight = new Map<string, number>()
    const leave = (userId: string) =>
      Effect.sync(() => {
        const left = (inFlight.get(userId) ?? 1) - 1
        if (left > 0) inFlight.set(userId, left)
        else inFlight.delete(userId)
      })
    return RpcCallBudget.of({
      forUser: <A, E, R>(userId: string, call: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend((): Effect.Effect<A, E | RpcLimitReached, R> => {
            const running = inFlight.get(userId) ?? 0
            if (running >= limit) {
              return Effect.andThen(
                securityEvent("rpc.limit_reached", { rule: "in_flight_per_user", limit, user_id: userId }),
                Effect.fail(RpcLimitReached.inFlight(limit))
              )
            }
            inFlight.set(userId, running + 1)
            return Effect.ensuring(restore(call), leave(userId))
          })
        )
    })
  })
)

/**
 * Bearer authentication of `/rpc`: the RPC face of REST's Authentication middleware, with the same
 * token rules, the same `AccessChecks.check` and the same per-user API rate limit (one shared
 * budget: a user's REST and RPC calls count against the same `api:user` key), then the per-user
 * RPC budget (calls in flight, see RpcCallBudget.ts).
 */
import { Effect, Layer } from "effect"
import { RpcSchema } from "effect/rpc"
import { CurrentCaller } from "../../domain/auth/AuthApi.js"
import { RpcAuthentication } from "../../domain/tasks/TasksRpc.js"
import { AccessChecksLive } from "../../infra/auth/AccessChecks.js"
import { RateLimitsLive } from "../../infra/platform/RateLimits.js"
import { makeAuthenticateHeaders } from "../auth/Authentication.js"
import { RpcCallBudget, RpcCallBudgetLive } from "./RpcCallBudget.js"

export const RpcAuthenticationLive = Layer.effect(
  RpcAuthentication,
  Effect.gen(function*() {
    const authenticate = yield* makeAuthenticateHeaders
    const budget = yield* RpcCallBudget
    // The headers are the HTTP request's and the RPC message's (the shipped client sets it there).
    return RpcAuthentication.of((procedure, { headers, rpc }) =>
      Effect.flatMap(authenticate(headers), (caller) => {
        const call = Effect.provideService(procedure, CurrentCaller, caller)
        return RpcSchema.isStreamSchema(rpc.successSchema) ? call : budget.forUser(caller.user.id, call)
      })
    )
  })
).pipe(Layer.provide([AccessChecksLive, RateLimitsLive, RpcCallBudgetLive]))

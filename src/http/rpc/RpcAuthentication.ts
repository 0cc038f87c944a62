/**
 * Bearer authentication of `/rpc`: the RPC face of REST's Authentication middleware, with the same
 * token rules, the same `AccessChecks.check` and the same per-user API rate limit (one shared
 * budget: a user's REST and RPC calls count against the same `api:user` key).
 */
import { Effect, Layer } from "effect"
import { CurrentCaller } from "../../domain/auth/AuthApi.js"
import { RpcAuthentication } from "../../domain/tasks/TasksRpc.js"
import { AccessChecksLive } from "../../infra/auth/AccessChecks.js"
import { RateLimitsLive } from "../../infra/platform/RateLimits.js"
import { makeAuthenticateHeaders } from "../auth/Authentication.js"

export const RpcAuthenticationLive = Layer.effect(
  RpcAuthentication,
  Effect.map(makeAuthenticateHeaders, (authenticate) =>
    // The headers are the HTTP request's and the RPC message's (the shipped client sets it there).
    RpcAuthentication.of((procedure, { headers }) =>
      Effect.flatMap(authenticate(headers), (caller) => Effect.provideService(procedure, CurrentCaller, caller))
    ))
).pipe(Layer.provide([AccessChecksLive, RateLimitsLive]))

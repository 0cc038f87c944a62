/** `/api/tasks`: the REST face of the Tasks service, for the authenticated caller. */
import { Effect, Layer } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../domain/Api.js"
import { callerId } from "../../domain/auth/AuthApi.js"
import { envelope } from "../../domain/Envelope.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { Tasks, TasksLive } from "../../infra/tasks/Tasks.js"
import { AuthenticationLive } from "../auth/Authentication.js"

/**
 * How an answer goes out: as the handler's value, which HttpApi encodes by the endpoint's success
 * schema; or, for a benchmark measuring what that encoding costs (BENCH_GUARDS_OFF=response-encoding),
 * as a response written with JSON.stringify, which HttpApi passes through. For these bodies the JSON
 * is the same (instants are `Date`s, written as ISO 8601 either way).
 */
const answerOf = (unencoded: boolean) => (status: number) => <A>(body: A): A | HttpServerResponse.HttpServerResponse =>
  unencoded ? HttpServerResponse.jsonUnsafe(body, { status }) : body

export const TasksHttpLive = HttpApiBuilder.group(Api, "tasks", (handlers) =>
  Effect.gen(function*() {
    const tasks = yield* Tasks
    const answer = answerOf((yield* AppConfig).benchGuardsOff.has("response-encoding"))
    const created = answer(201)
    const ok = answer(200)
    return handlers
      .handle("create", ({ headers, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.create(userId, payload, headers["idempotency-key"])),
          Effect.map(envelope),
          Effect.map(created)
        ))
      .handle("list", ({ query }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.list(userId, query)),
          Effect.map(envelope),
          Effect.map(ok)
        ))
      .handle("get", ({ params }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.get(userId, params.task_id)),
          Effect.map(envelope),
          Effect.map(ok)
        ))
      .handle("update", ({ params, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.update(userId, params.task_id, payload)),
          Effect.map(envelope),
          Effect.map(ok)
        ))
      .handle("setCompleted", ({ params, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.setCompleted(userId, params.task_id, payload.completed)),
          Effect.map(envelope),
          Effect.map(ok)
        ))
      .handle("delete", ({ params }) => callerId.pipe(Effect.flatMap((userId) => tasks.delete(userId, params.task_id))))
  })).pipe(Layer.provide([TasksLive, AuthenticationLive]))

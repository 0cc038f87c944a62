/** `/api/tasks`: the REST face of the Tasks service, for the authenticated caller. */
import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "../../domain/Api.js"
import { callerId } from "../../domain/auth/AuthApi.js"
import { envelope } from "../../domain/Envelope.js"
import { Tasks, TasksLive } from "../../infra/tasks/Tasks.js"
import { AuthenticationLive } from "../auth/Authentication.js"

export const TasksHttpLive = HttpApiBuilder.group(Api, "tasks", (handlers) =>
  Effect.gen(function*() {
    const tasks = yield* Tasks
    return handlers
      .handle("create", ({ headers, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.create(userId, payload, headers["idempotency-key"])),
          Effect.map(envelope)
        ))
      .handle("list", ({ query }) =>
        callerId.pipe(Effect.flatMap((userId) => tasks.list(userId, query)), Effect.map(envelope)))
      .handle("get", ({ params }) =>
        callerId.pipe(
          Effect.flatMap((userId) =>
            tasks.get(userId, params.task_id)
          ),
          Effect.map(envelope)
        ))
      .handle("update", ({ params, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.update(userId, params.task_id, payload)),
          Effect.map(envelope)
        ))
      .handle("setCompleted", ({ params, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.setCompleted(userId, params.task_id, payload.completed)),
          Effect.map(envelope)
        ))
      .handle("delete", ({ params }) => callerId.pipe(Effect.flatMap((userId) => tasks.delete(userId, params.task_id))))
  })).pipe(Layer.provide([TasksLive, AuthenticationLive]))

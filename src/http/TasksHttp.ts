/** `/api/tasks`: the REST face of the Tasks service, for the authenticated caller. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Api, callerId } from "../domain/Api.js"
import { envelope } from "../domain/Envelope.js"
import { Tasks } from "../infra/Tasks.js"

export const TasksHttpLive = HttpApiBuilder.group(Api, "tasks", (handlers) =>
  Effect.gen(function*() {
    const tasks = yield* Tasks
    return handlers
      .handle("create", ({ headers, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.create(userId, payload, headers["idempotency-key"])),
          Effect.map(envelope)
        ))
      .handle("list", ({ urlParams }) =>
        callerId.pipe(Effect.flatMap((userId) => tasks.list(userId, urlParams)), Effect.map(envelope)))
      .handle("get", ({ path }) =>
        callerId.pipe(Effect.flatMap((userId) => tasks.get(userId, path.task_id)), Effect.map(envelope)))
      .handle("update", ({ path, payload }) =>
        callerId.pipe(Effect.flatMap((userId) => tasks.update(userId, path.task_id, payload)), Effect.map(envelope)))
      .handle("setCompleted", ({ path, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.setCompleted(userId, path.task_id, payload.completed)),
          Effect.map(envelope)
        ))
      .handle("delete", ({ path }) => callerId.pipe(Effect.flatMap((userId) => tasks.delete(userId, path.task_id))))
  }))

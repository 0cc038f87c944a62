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
import { taskAnswerJson, taskPageAnswerJson } from "./TaskJson.js"

/**
 * How an answer goes out: as the JSON TaskJson.ts writes (the text the success schemas encode to);
 * or, for a benchmark measuring what that costs (BENCH_GUARDS_OFF=response-encoding), as
 * JSON.stringify writes the domain value. HttpApi passes a response through.
 */
const answerOf =
  (unencoded: boolean) =>
  <A>(status: number, json: (value: A) => string) =>
  (value: A): HttpServerResponse.HttpServerResponse =>
    unencoded
      ? HttpServerResponse.jsonUnsafe(envelope(value), { status })
      : HttpServerResponse.text(json(value), { status, contentType: "application/json" })

export const TasksHttpLive = HttpApiBuilder.group(Api, "tasks", (handlers) =>
  Effect.gen(function*() {
    const tasks = yield* Tasks
    const answer = answerOf((yield* AppConfig).benchGuardsOff.has("response-encoding"))
    const created = answer(201, taskAnswerJson)
    const ok = answer(200, taskAnswerJson)
    const page = answer(200, taskPageAnswerJson)
    return handlers
      .handle("create", ({ headers, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.create(userId, payload, headers["idempotency-key"])),
          Effect.map(created)
        ))
      .handle("list", ({ query }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.list(userId, query)),
          Effect.map(page)
        ))
      .handle("get", ({ params }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.get(userId, params.task_id)),
          Effect.map(ok)
        ))
      .handle("update", ({ params, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.update(userId, params.task_id, payload)),
          Effect.map(ok)
        ))
      .handle("setCompleted", ({ params, payload }) =>
        callerId.pipe(
          Effect.flatMap((userId) => tasks.setCompleted(userId, params.task_id, payload.completed)),
          Effect.map(ok)
        ))
      .handle("delete", ({ params }) => callerId.pipe(Effect.flatMap((userId) => tasks.delete(userId, params.task_id))))
  })).pipe(Layer.provide([TasksLive, AuthenticationLive]))

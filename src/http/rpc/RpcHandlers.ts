/** The procedures of `TasksRpc`: the RPC face of the Tasks service, for the authenticated caller. */
import { Effect, Layer, Stream } from "effect"
import { callerId, CurrentCaller } from "../../domain/auth/AuthApi.js"
import { IdempotencyHeaders } from "../../domain/tasks/Idempotency.js"
import { CreateTaskBody, ListTasksQuery, SetCompletedBody, TaskPath, UpdateTaskBody } from "../../domain/tasks/Task.js"
import { TasksRpc } from "../../domain/tasks/TasksRpc.js"
import { Tasks, TasksLive } from "../../infra/tasks/Tasks.js"
import { bearerToken } from "../auth/Authentication.js"
import { answerDefects, answerStreamDefects } from "./RpcFailures.js"
import { asQueryParameters, validate } from "./RpcValidation.js"
import { TaskFeed, TaskFeedLive } from "./TaskFeed.js"

/**
 * The id validated (and canonicalised) as REST's `/api/tasks/:task_id` path is. Any method will
 * do: `task_id` is a path parameter, so its issues are located in the path whatever the method.
 * Like REST, the path is decoded before the body, and the body before the headers.
 */
const taskIdOf = (id: string) => Effect.map(validate(TaskPath, { task_id: id }, "GET"), (path) => path.task_id)

export const RpcHandlersLive = TasksRpc.toLayer(
  Effect.gen(function*() {
    const tasks = yield* Tasks
    const feed = yield* TaskFeed
    return TasksRpc.of({
      ListTasks: (options) =>
        Effect.gen(function*() {
          const query = yield* validate(ListTasksQuery, asQueryParameters(options), "GET")
          return yield* tasks.list(yield* callerId, query)
        }).pipe(answerDefects),
      GetTask: ({ id }) =>
        Effect.gen(function*() {
          const taskId = yield* taskIdOf(id)
          return yield* tasks.get(yield* callerId, taskId)
        }).pipe(answerDefects),
      CreateTask: ({ idempotency_key, ...fields }) =>
        Effect.gen(function*() {
          const body = yield* validate(CreateTaskBody, fields, "POST")
          const headers = yield* validate(
            IdempotencyHeaders,
            idempotency_key === undefined ? {} : { "idempotency-key": idempotency_key },
            "POST"
          )
          return yield* tasks.create(yield* callerId, body, headers["idempotency-key"])
        }).pipe(answerDefects),
      UpdateTask: ({ id, ...fields }) =>
        Effect.gen(function*() {
          const taskId = yield* taskIdOf(id)
          const body = yield* validate(UpdateTaskBody, fields, "PUT")
          return yield* tasks.update(yield* callerId, taskId, body)
        }).pipe(answerDefects),
      SetTaskCompleted: ({ completed, id }) =>
        Effect.gen(function*() {
          const taskId = yield* taskIdOf(id)
          const body = yield* validate(SetCompletedBody, { completed }, "PATCH")
          return yield* tasks.setCompleted(yield* callerId, taskId, body.completed)
        }).pipe(answerDefects),
      DeleteTask: ({ id }) =>
        Effect.gen(function*() {
          const taskId = yield* taskIdOf(id)
          return yield* tasks.delete(yield* callerId, taskId)
        }).pipe(answerDefects),
      CurrentUser: () => Effect.map(CurrentCaller, (caller) => caller.user),
      // The token is kept (the middleware has verified it) so the feed can re-check it as it runs.
      WatchTasks: ({ after }, { headers }) =>
        Stream.unwrap(
          Effect.gen(function*() {
            const caller = yield* CurrentCaller
            return feed.watch(caller, yield* bearerToken(headers), after)
          })
        ).pipe(answerStreamDefects)
    })
  })
).pipe(Layer.provide([TasksLive, TaskFeedLive]))

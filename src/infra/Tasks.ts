/**
 * Task operations for one caller, shared by REST and RPC so validation, isolation and errors
 * cannot drift between them. Enum-like inputs are checked here to answer the old backend's 400s.
 */
import { Context, Effect, Layer, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { BadRequest, ServiceUnavailable } from "../domain/Errors.js"
import { TaskNotFound } from "../domain/Errors.js"
import {
  type CreateTaskBody,
  invalidPriority,
  invalidSortField,
  invalidSortOrder,
  isPriority,
  isSortField,
  isSortOrder,
  type ListTasksQuery,
  type Task,
  TaskPage,
  type UpdateTaskBody
} from "../domain/Task.js"
import { type TaskChanges, TaskRepo } from "./TaskRepo.js"
import { currentDate } from "./Time.js"

export interface TasksShape {
  readonly create: (userId: string, body: CreateTaskBody) => Effect.Effect<Task, BadRequest | ServiceUnavailable>
  readonly list: (userId: string, query: ListTasksQuery) => Effect.Effect<TaskPage, BadRequest | ServiceUnavailable>
  readonly get: (userId: string, taskId: string) => Effect.Effect<Task, TaskNotFound | ServiceUnavailable>
  readonly update: (
    userId: string,
    taskId: string,
    body: UpdateTaskBody
  ) => Effect.Effect<Task, TaskNotFound | BadRequest | ServiceUnavailable>
  readonly setCompleted: (
    userId: string,
    taskId: string,
    completed: boolean
  ) => Effect.Effect<Task, TaskNotFound | ServiceUnavailable>
  readonly delete: (userId: string, taskId: string) => Effect.Effect<void, TaskNotFound | ServiceUnavailable>
}

export class Tasks extends Context.Tag("tasks-api/Tasks")<Tasks, TasksShape>() {}

export const TasksLive = Layer.effect(
  Tasks,
  Effect.gen(function*() {
    const repo = yield* TaskRepo
    const now = currentDate

    const create: TasksShape["create"] = Effect.fn("Tasks.create")(function*(userId, body) {
      if (!isPriority(body.priority)) return yield* invalidPriority()
      return yield* repo.insert({
        id: randomUUID(),
        userId,
        title: body.title,
        description: body.description ?? null,
        dueDatetime: body.due_datetime ?? null,
        priority: body.priority,
        isCompleted: body.is_completed,
        now: yield* now
      })
    })

    const list: TasksShape["list"] = Effect.fn("Tasks.list")(function*(userId, query) {
      const { priority, sort_by, sort_order } = query
      if (priority !== undefined && !isPriority(priority)) return yield* invalidPriority()
      if (!isSortField(sort_by)) return yield* invalidSortField()
      if (!isSortOrder(sort_order)) return yield* invalidSortOrder()
      const { tasks, total } = yield* repo.page(userId, {
        priority,
        completed: query.completed,
        limit: query.limit,
        offset: query.offset,
        sortBy: sort_by,
        sortOrder: sort_order
      })
      return new TaskPage({ tasks, total_count: total, limit: query.limit, offset: query.offset }, true)
    })

    const get: TasksShape["get"] = Effect.fn("Tasks.get")(function*(userId, taskId) {
      return yield* Option.match(yield* repo.findOwned(userId, taskId), {
        onNone: () => Effect.fail(TaskNotFound.onRead()),
        onSome: Effect.succeed
      })
    })

    const change = (userId: string, taskId: string, changes: TaskChanges) =>
      Effect.flatMap(now, (at) => repo.update(userId, taskId, changes, at)).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(TaskNotFound.onWrite()), onSome: Effect.succeed }))
      )

    const update: TasksShape["update"] = Effect.fn("Tasks.update")(function*(userId, taskId, body) {
      if (body.priority !== undefined && !isPriority(body.priority)) return yield* invalidPriority()
      // Only the fields present in the body change (a partial update, as the old backend did).
      const changes: TaskChanges = Object.fromEntries(
        Object.entries(body).filter(([, value]) => value !== undefined)
      )
      return yield* change(userId, taskId, changes)
    })

    const setCompleted: TasksShape["setCompleted"] = Effect.fn("Tasks.setCompleted")(
      (userId, taskId, completed) => change(userId, taskId, { is_completed: completed })
    )

    const delete_: TasksShape["delete"] = Effect.fn("Tasks.delete")(function*(userId, taskId) {
      if (!(yield* repo.delete(userId, taskId))) return yield* TaskNotFound.onWrite()
    })

    return { create, list, get, update, setCompleted, delete: delete_ }
  })
)

/**
 * Task operations for one caller, shared by REST and RPC so validation, isolation and errors
 * cannot drift between them. Enum-like inputs are checked here to answer the old backend's 400s.
 */
import { Context, Duration, Effect, Layer, Option, Result, Schema } from "effect"
import { randomUUID } from "node:crypto"
import type { UserId } from "../../domain/auth/User.js"
import { Envelope, envelope } from "../../domain/Envelope.js"
import type { BadRequest, ServiceUnavailable, ValidationFailed } from "../../domain/Errors.js"
import { TaskNotFound } from "../../domain/Errors.js"
import { IDEMPOTENCY_KEY_TTL, IdempotencyKeyReused } from "../../domain/tasks/Idempotency.js"
import {
  CreateTaskBody,
  invalidPriority,
  invalidSortField,
  invalidSortOrder,
  isPriority,
  isSortField,
  isSortOrder,
  LIST_DEFAULTS,
  type ListTasksQuery,
  type Priority,
  Task,
  TaskId,
  type TaskPage,
  type UpdateTaskBody,
  withCreateDefaults
} from "../../domain/tasks/Task.js"
import {
  cursorAfter,
  cursorContinues,
  cursorMismatch,
  cursorWithOffset,
  invalidListCursor
} from "../../domain/tasks/TaskCursor.js"
import { AppConfig } from "../platform/Config.js"
import { currentDate } from "../platform/Time.js"
import { fingerprint } from "./Fingerprint.js"
import { type IdempotencyEntry, IdempotencyRepo, IdempotencyRepoLive } from "./IdempotencyRepo.js"
import { ListCursors, ListCursorsLive } from "./ListCursors.js"
import { type TaskChanges, TaskRepo, TaskRepoLive } from "./TaskRepo.js"

export interface TasksShape {
  /**
   * With an idempotency key, a repeat of the same body within IDEMPOTENCY_KEY_TTL answers the
   * task the first request created (and creates nothing); another body fails with
   * IdempotencyKeyReused.
   */
  readonly create: (
    userId: UserId,
    body: CreateTaskBody,
    idempotencyKey?: string
  ) => Effect.Effect<Task, BadRequest | IdempotencyKeyReused | ServiceUnavailable>
  /** With a `cursor`, the page after the one that cursor ended (keyset paging; `offset` must be 0). */
  readonly list: (
    userId: UserId,
    query: ListTasksQuery
  ) => Effect.Effect<TaskPage, BadRequest | ValidationFailed | ServiceUnavailable>
  readonly get: (userId: UserId, taskId: TaskId) => Effect.Effect<Task, TaskNotFound | ServiceUnavailable>
  readonly update: (
    userId: UserId,
    taskId: TaskId,
    body: UpdateTaskBody
  ) => Effect.Effect<Task, TaskNotFound | BadRequest | ServiceUnavailable>
  readonly setCompleted: (
    userId: UserId,
    taskId: TaskId,
    completed: boolean
  ) => Effect.Effect<Task, TaskNotFound | ServiceUnavailable>
  readonly delete: (userId: UserId, taskId: TaskId) => Effect.Effect<void, TaskNotFound | ServiceUnavailable>
}

export class Tasks extends Context.Service<Tasks, TasksShape>()("tasks-api/Tasks") {}

/**
 * What a key replays is the REST response of `POST /api/tasks` (status and envelope), stored as
 * it went on the wire (the schema's JSON codec, as HttpApi encodes it): decoded again through
 * the same codec, it encodes to the same JSON.
 */
const CREATED = 201
const CreatedResponse = Schema.toCodecJson(Envelope(Task))
const encodeCreated = Schema.encodeEffect(CreatedResponse)
const decodeCreated = Schema.decodeUnknownEffect(CreatedResponse)
const encodeCreateBody = Schema.encodeEffect(CreateTaskBody)

/** A create body whose priority is checked and whose left-out fields are filled in. */
type ValidCreateBody = ReturnType<typeof withCreateDefaults> & { readonly priority: Priority }

export const TasksLive = Layer.effect(
  Tasks,
  Effect.gen(function*() {
    const repo = yield* TaskRepo
    const idempotency = yield* IdempotencyRepo
    const cursors = yield* ListCursors
    const now = currentDate
    // A benchmark measuring what the key's lookup costs ignores the key (BENCH_GUARDS_OFF=idempotency).
    const idempotent = !(yield* AppConfig).benchGuardsOff.has("idempotency")

    const insert = (userId: UserId, body: ValidCreateBody, at: Date) =>
      repo.insert({
        id: TaskId.make(randomUUID()),
        userId,
        title: body.title,
        description: body.description ?? null,
        dueDatetime: body.due_datetime ?? null,
        priority: body.priority,
        isCompleted: body.is_completed,
        now: at
      })

    // Stored entries were written by `createIdempotent` below: one that does not decode is a bug.
    const replay = (entry: IdempotencyEntry, requestFingerprint: string) =>
      entry.fingerprint !== requestFingerprint
        ? Effect.fail(new IdempotencyKeyReused())
        : entry.status !== CREATED
        ? Effect.die(new Error(`idempotency entry with unexpected status ${entry.status}`))
        : Effect.map(Effect.orDie(decodeCreated(entry.body)), (response) => response.data)

    const createIdempotent = Effect.fn("Tasks.createIdempotent")(
      function*(userId: UserId, body: ValidCreateBody, key: string) {
        // The decoded body, encoded back: defaults applied and values normalised (a trimmed title,
        // an ISO instant), so retries that mean the same request match.
        const requestFingerprint = fingerprint(yield* Effect.orDie(encodeCreateBody(body)))
        const at = yield* now
        const liveSince = new Date(at.getTime() - Duration.toMillis(IDEMPOTENCY_KEY_TTL))
        // The common retry (the first request has long finished) needs no transaction.
        const stored = yield* idempotency.findLive(userId, key, liveSince)
        if (Option.isSome(stored)) return yield* replay(stored.value, requestFingerprint)
        const outcome = yield* idempotency.createOnce(
          { userId, key, fingerprint: requestFingerprint },
          { now: at, liveSince },
          Effect.gen(function*() {
            const task = yield* insert(userId, body, at)
            const response = yield* Effect.orDie(encodeCreated(envelope(task)))
            return { value: task, response: { status: CREATED, body: response } }
          })
        )
        // Failure: a concurrent request with this key won; its task stands and ours was rolled back.
        return yield* Result.match(outcome, {
          onSuccess: Effect.succeed,
          onFailure: (winner) => replay(winner, requestFingerprint)
        })
      }
    )

    const create: TasksShape["create"] = Effect.fn("Tasks.create")(function*(userId, body, idempotencyKey) {
      const { priority } = body
      if (!isPriority(priority)) return yield* invalidPriority()
      const valid = { ...withCreateDefaults(body), priority }
      if (idempotencyKey !== undefined && idempotent) return yield* createIdempotent(userId, valid, idempotencyKey)
      return yield* insert(userId, valid, yield* now)
    })

    const list: TasksShape["list"] = Effect.fn("Tasks.list")(function*(userId, query) {
      const {
        completed,
        limit = LIST_DEFAULTS.limit,
        offset = LIST_DEFAULTS.offset,
        priority,
        sort_by = LIST_DEFAULTS.sort_by,
        sort_order = LIST_DEFAULTS.sort_order
      } = query
      // Sealed for this user by one of the service's keys, or the query's 422 for a bad cursor.
      const cursor = query.cursor === undefined
        ? undefined
        : yield* Option.match(cursors.open(userId, query.cursor), {
          onNone: () => Effect.fail(invalidListCursor()),
          onSome: Effect.succeed
        })
      // The query's shape (422) before the old backend's 400s on its values, as FastAPI orders them.
      if (cursor !== undefined && offset > 0) return yield* cursorWithOffset()
      if (priority !== undefined && !isPriority(priority)) return yield* invalidPriority()
      if (!isSortField(sort_by)) return yield* invalidSortField()
      if (!isSortOrder(sort_order)) return yield* invalidSortOrder()
      // Only a valid sort can be compared with the cursor's.
      const shape = { sort_by, sort_order, priority, completed }
      if (cursor !== undefined && !cursorContinues(cursor, shape)) return yield* cursorMismatch()
      const { next, tasks, total } = yield* repo.page(userId, {
        priority,
        completed,
        limit,
        offset,
        sortBy: sort_by,
        sortOrder: sort_order,
        after: cursor === undefined ? undefined : { key: cursor.key, id: cursor.id }
      })
      const next_cursor = Option.match(next, {
        onNone: () => null,
        onSome: (at) => cursors.seal(userId, cursorAfter(shape, at))
      })
      return { tasks, total_count: total, limit, offset, next_cursor }
    })

    const get: TasksShape["get"] = Effect.fn("Tasks.get")(function*(userId, taskId) {
      return yield* Option.match(yield* repo.findOwned(userId, taskId), {
        onNone: () => Effect.fail(TaskNotFound.onRead()),
        onSome: Effect.succeed
      })
    })

    const change = (userId: UserId, taskId: TaskId, changes: TaskChanges) =>
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
).pipe(Layer.provide([TaskRepoLive, IdempotencyRepoLive, ListCursorsLive]))

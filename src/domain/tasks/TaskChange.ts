/**
 * The change feed of a user's tasks (RPC `WatchTasks`): what a watcher receives, where it stands
 * (a cursor), and how long changes are kept. No server code: clients import these schemas.
 */
import { Duration, Schema } from "effect"
import { fixed } from "../Errors.js"
import { Task } from "./Task.js"
import { TaskChangeCursor } from "./TaskCursor.js"

// The feed cursor is defined with the list cursor; clients import it from here too.
export { FEED_CURSOR_PATTERN as CURSOR_PATTERN, TaskChangeCursor } from "./TaskCursor.js"

/** How long changes are kept: a watcher resuming from an older cursor gets `CursorExpired`. */
export const TASK_CHANGE_RETENTION = Duration.days(7)

export class TaskCreated extends Schema.TaggedClass<TaskCreated>()("TaskCreated", {
  cursor: TaskChangeCursor,
  changed_at: Schema.Date,
  task: Task
}) {}

/** Any change to a task's fields, completion included; `task` is its state after the change. */
export class TaskUpdated extends Schema.TaggedClass<TaskUpdated>()("TaskUpdated", {
  cursor: TaskChangeCursor,
  changed_at: Schema.Date,
  task: Task
}) {}

export class TaskDeleted extends Schema.TaggedClass<TaskDeleted>()("TaskDeleted", {
  cursor: TaskChangeCursor,
  changed_at: Schema.Date,
  task_id: Schema.String
}) {}

/**
 * Everything up to `cursor` has been delivered. Sent once the backlog after the requested point
 * is out (at once when there is none: the subscription is live from then on), and again now and
 * then while nothing changes, as a heartbeat that also carries the cursor to resume from.
 */
export class CaughtUp extends Schema.TaggedClass<CaughtUp>()("CaughtUp", {
  cursor: TaskChangeCursor
}) {}

export const TaskChange = Schema.Union([TaskCreated, TaskUpdated, TaskDeleted])
export type TaskChange = typeof TaskChange.Type

/** One element of `WatchTasks`. */
export const TaskFeedEvent = Schema.Union([TaskCreated, TaskUpdated, TaskDeleted, CaughtUp])
export type TaskFeedEvent = typeof TaskFeedEvent.Type

/**
 * The cursor is older than the retained changes: some may be lost. Resynchronise: watch without a
 * cursor and, once its first `CaughtUp` arrives, list the tasks again (in that order, so a change
 * made in between is seen by one or the other).
 */
export class CursorExpired extends Schema.TaggedError<CursorExpired>()("CursorExpired", {
  detail: fixed("Changes after this cursor are no longer kept; watch from now and list the tasks again"),
  error_code: fixed("cursor_expired")
}) {}

/**
 * A watch refused because its user, or this instance, already has as many open as allowed
 * (WATCH_STREAMS_PER_USER, WATCH_STREAMS_PER_INSTANCE): close one, or retry later (or elsewhere).
 */
export class WatchLimitReached extends Schema.TaggedError<WatchLimitReached>()("WatchLimitReached", {
  detail: fixed("Too many open watches"),
  error_code: fixed("too_many_watches")
}) {}

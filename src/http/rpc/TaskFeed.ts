/**
 * `WatchTasks`: a user's task changes as a stream, polled from the `task_change` table (written by
 * a trigger, so REST and RPC changes on every instance are in it). A watcher gets the backlog
 * after its cursor, then `CaughtUp`, then each change within a poll interval, with a `CaughtUp`
 * heartbeat while nothing changes. Old changes are pruned here too (TASK_CHANGE_RETENTION).
 */
import { Clock, Context, Duration, Effect, Layer, Option, Ref, Schedule, Stream } from "effect"
import type { Caller } from "../../domain/auth/AuthApi.js"
import { ServiceUnavailable, type Unauthorized, ValidationFailed } from "../../domain/Errors.js"
import { CaughtUp, CursorExpired, TASK_CHANGE_RETENTION, type TaskFeedEvent } from "../../domain/tasks/TaskChange.js"
import { invalidFeedCursor, isFeedCursor } from "../../domain/tasks/TaskCursor.js"
import { AccessChecks, AccessChecksLive } from "../../infra/auth/AccessChecks.js"
import { TaskChangeRepo, TaskChangeRepoLive } from "../../infra/tasks/TaskChangeRepo.js"
import { Lifecycle } from "../edge/Lifecycle.js"

export interface TaskFeedSettingsShape {
  /** How long a watcher waits between polls that found less than a batch. */
  readonly pollInterval: Duration.Duration
  /** How long a watcher may stay silent before a heartbeat (and a re-check of its token). */
  readonly heartbeatInterval: Duration.Duration
  /** How often this instance deletes expired changes in the background (on Effect's Clock). */
  readonly pruneEvery: Duration.Duration
}

/**
 * Half a second between polls: changes show up quickly, and an idle watcher costs two indexed
 * look-ups a second. 30 s heartbeats stay under the idle timeouts of common proxies. Tests
 * provide other values (`Layer.succeed(TaskFeedSettings, …)`) to see heartbeats sooner.
 */
export const TaskFeedSettings = Context.Reference<TaskFeedSettingsShape>("tasks-api/TaskFeedSettings", {
  defaultValue: () => ({
    pollInterval: Duration.millis(500),
    heartbeatInterval: Duration.seconds(30),
    pruneEvery: Duration.hours(1)
  })
})

/** Changes per poll: a backlog is read in batches of this size, back to back. */
const BATCH = 100
/** A new subscription prunes first, unless this instance did so less than this long ago. */
const PRUNE_ON_SUBSCRIBE_AT_MOST_EVERY = Duration.minutes(1)

export interface TaskFeedShape {
  /** The caller's changes after `after` (from now on without it), for as long as `accessToken` holds. */
  readonly watch: (
    caller: Caller,
    accessToken: string,
    after: string | undefined
  ) => Stream.Stream<TaskFeedEvent, CursorExpired | ValidationFailed | Unauthorized | ServiceUnavailable>
}

export class TaskFeed extends Context.Service<TaskFeed, TaskFeedShape>()("tasks-api/TaskFeed") {}

/**
 * Waits `duration` of wall-clock time. The poll pace is I/O pacing, not a lifetime the service
 * reasons about (those come from Effect's Clock): on that clock, a watcher under TestClock (the
 * in-process test service) would never poll again and never see a change.
 */
const pause = (duration: Duration.Duration) =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration))
    return Effect.sync(() => clearTimeout(timer))
  })

interface FeedState {
  readonly cursor: string
  readonly caughtUp: boolean
  /** Polls in a row that found nothing: a heartbeat is due when they add up to its interval. */
  readonly idlePolls: number
  /** The last poll read less than a batch: wait before the next one. */
  readonly wait: boolean
}

export const TaskFeedLive = Layer.effect(
  TaskFeed,
  Effect.gen(function*() {
    const repo = yield* TaskChangeRepo
    const accessChecks = yield* AccessChecks
    const lifecycle = yield* Lifecycle
    const settings = yield* TaskFeedSettings
    const heartbeatPolls = Math.max(
      1,
      Math.round(Duration.toMillis(settings.heartbeatInterval) / Duration.toMillis(settings.pollInterval))
    )

    // Retention is measured on Effect's Clock, like every lifetime in the service. Pruning is
    // housekeeping: a failure is logged (by the repository) and retried next time.
    const prune = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const deleted = yield* repo.prune(new Date(now - Duration.toMillis(TASK_CHANGE_RETENTION)))
      if (deleted > 0) {
        yield* Effect.logInfo("task changes pruned").pipe(Effect.annotateLogs({ event: "task_change.pruned", deleted }))
      }
    }).pipe(Effect.ignore)

    yield* Effect.forkScoped(Effect.repeat(prune, Schedule.spaced(settings.pruneEvery)))

    const lastPruneOnSubscribe = yield* Ref.make(Number.NEGATIVE_INFINITY)
    const pruneIfDue = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const due = yield* Ref.modify(
        lastPruneOnSubscribe,
        (last) => now - last >= Duration.toMillis(PRUNE_ON_SUBSCRIBE_AT_MOST_EVERY) ? [true, now] : [false, last]
      )
      if (due) yield* prune
    })

    const watch: TaskFeedShape["watch"] = (caller, accessToken, after) => {
      const userId = caller.user.id

      const step = (state: FeedState) =>
        Effect.gen(function*() {
          if (state.wait) yield* pause(settings.pollInterval)
          if (yield* lifecycle.shuttingDown) return yield* ServiceUnavailable.shuttingDown()
          if (state.idlePolls >= heartbeatPolls) {
            // A watch outlives the request's authentication: the token may have expired, or its
            // session ended, since. Same check as every request; a failure ends the watch.
            yield* accessChecks.check(accessToken)
            const heartbeat: ReadonlyArray<TaskFeedEvent> = [new CaughtUp({ cursor: state.cursor })]
            return [heartbeat, Option.some<FeedState>({ ...state, idlePolls: 0, wait: false })] as const
          }
          const { changes, expired } = yield* repo.changesAfter(userId, state.cursor, BATCH)
          if (expired) return yield* new CursorExpired()
          const cursor = changes.at(-1)?.cursor ?? state.cursor
          const full = changes.length === BATCH
          const events: Array<TaskFeedEvent> = [...changes]
          if (!full && !state.caughtUp) events.push(new CaughtUp({ cursor }))
          const next: FeedState = {
            cursor,
            caughtUp: state.caughtUp || !full,
            idlePolls: changes.length === 0 ? state.idlePolls + 1 : 0,
            wait: !full
          }
          return [events, Option.some(next)] as const
        })

      return Stream.unwrap(
        Effect.gen(function*() {
          if (after !== undefined && !isFeedCursor(after)) return yield* invalidFeedCursor()
          yield* pruneIfDue
          const cursor = after ?? (yield* repo.latestCursor(userId))
          const initial: FeedState = { cursor, caughtUp: false, idlePolls: 0, wait: false }
          // `paginate` pulls the next step as soon as one emits nothing (a quiet poll), so the
          // feed never stops on its own: it ends by failing (token, shutdown, database).
          return Stream.paginate(initial, step)
        })
      ).pipe(Stream.withSpan("TaskFeed.watch", { attributes: { user_id: userId } }))
    }

    return { watch }
  })
).pipe(Layer.provide([TaskChangeRepoLive, AccessChecksLive]))

/**
 * `WatchTasks`: a user's task changes as a stream, polled from the `task_change` table (written by
 * a trigger, so REST and RPC changes on every instance are in it). A watcher gets the backlog
 * after its cursor, then `CaughtUp`, then each change within a poll interval, with a `CaughtUp`
 * heartbeat every heartbeat interval. Old changes are pruned here too (TASK_CHANGE_RETENTION).
 *
 * One poller per instance, not one per watch: every poll interval, one statement reads the new
 * changes of every watched user (polling, not LISTEN/NOTIFY, which a transaction-mode pooler cannot
 * carry), and fans them out to that user's watches. A watch reads only its own backlog. Watches are
 * capped per user and per instance (WATCH_STREAMS_PER_USER / _PER_INSTANCE), refused with
 * `WatchLimitReached`. Each watch re-reads its session every SESSION_CHECK_INTERVAL on Effect's
 * Clock, whatever the traffic, and ends with the error a request would get once it is refused.
 */
import { Cause, Clock, Context, Duration, Effect, Layer, Option, Queue, Ref, Schedule, Stream } from "effect"
import type { Caller } from "../../domain/auth/AuthApi.js"
import type { UserId } from "../../domain/auth/User.js"
import { ServiceUnavailable, type Unauthorized, ValidationFailed } from "../../domain/Errors.js"
import {
  CaughtUp,
  CursorExpired,
  TASK_CHANGE_RETENTION,
  type TaskChange,
  type TaskFeedEvent,
  WatchLimitReached
} from "../../domain/tasks/TaskChange.js"
import { invalidFeedCursor, isFeedCursor } from "../../domain/tasks/TaskCursor.js"
import { AccessChecks, AccessChecksLive } from "../../infra/auth/AccessChecks.js"
import { AppConfig } from "../../infra/platform/Config.js"
import { TaskChangeRepo, TaskChangeRepoLive } from "../../infra/tasks/TaskChangeRepo.js"
import { Lifecycle } from "../edge/Lifecycle.js"

export interface TaskFeedSettingsShape {
  /** How long the instance's poller waits between polls that found less than a batch. */
  readonly pollInterval: Duration.Duration
  /** How often a watcher gets a `CaughtUp` heartbeat (on Effect's Clock). */
  readonly heartbeatInterval: Duration.Duration
  /** How often this instance deletes expired changes in the background (on Effect's Clock). */
  readonly pruneEvery: Duration.Duration
}

/**
 * Half a second between polls: changes show up quickly, and the instance's watchers cost one
 * statement every half second between them. 30 s heartbeats stay under the idle timeouts of common proxies. Tests
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
  ) => Stream.Stream<
    TaskFeedEvent,
    CursorExpired | WatchLimitReached | ValidationFailed | Unauthorized | ServiceUnavailable
  >
}

export class TaskFeed extends Context.Service<TaskFeed, TaskFeedShape>()("tasks-api/TaskFeed") {}

/** What a watch's queue carries: a change from the poller, or the heartbeat's tick. */
type Delivery = TaskChange | "heartbeat"
type WatchError = CursorExpired | Unauthorized | ServiceUnavailable

/**
 * Changes a watch may have waiting (read from the database, not yet taken by its client): a watch
 * whose client reads slower than its changes come is ended with `CursorExpired` (it resumes from
 * its last cursor), not buffered without bound.
 */
const WATCH_BUFFER = 1_000

/**
 * Waits `duration` of wall-clock time. The poll pace is I/O pacing, not a lifetime the service
 * reasons about (those come from Effect's Clock): on that clock, the poller under TestClock (the
 * in-process test service) would never poll again and no watch would see a change.
 */
const pause = (duration: Duration.Duration) =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), Duration.toMillis(duration))
    return Effect.sync(() => clearTimeout(timer))
  })

interface Watched {
  /** The user's changes up to here have been read by the poller (and given to their watches). */
  cursor: string | undefined
  readonly queues: Set<Queue.Queue<Delivery, WatchError>>
}

export const TaskFeedLive = Layer.effect(
  TaskFeed,
  Effect.gen(function*() {
    const repo = yield* TaskChangeRepo
    const accessChecks = yield* AccessChecks
    const lifecycle = yield* Lifecycle
    const settings = yield* TaskFeedSettings
    const config = yield* AppConfig
    // At most the interval security.md allows; with 0 ("every request"), once a second.
    const sessionCheckEvery = Duration.isZero(config.sessionCheckInterval)
      ? Duration.seconds(1)
      : config.sessionCheckInterval

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

    // Open watches, per user and in all (the caps), and the users the poller reads for.
    const openPerUser = new Map<UserId, number>()
    let openInAll = 0
    const watched = new Map<UserId, Watched>()

    const admit = (userId: UserId) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const ofUser = openPerUser.get(userId) ?? 0
          if (ofUser >= config.watchStreamsPerUser || openInAll >= config.watchStreamsPerInstance) {
            return Effect.fail(new WatchLimitReached())
          }
          openPerUser.set(userId, ofUser + 1)
          openInAll++
          return Effect.void
        }),
        () =>
          Effect.sync(() => {
            const ofUser = (openPerUser.get(userId) ?? 1) - 1
            if (ofUser === 0) openPerUser.delete(userId)
            else openPerUser.set(userId, ofUser)
            openInAll--
          })
      )

    /**
     * Gives the poller's changes of the user to `queue` from now on, until the watch's scope closes.
     * A user watched anew is polled from `latest`, read after the registration.
     */
    const register = (userId: UserId, queue: Queue.Queue<Delivery, WatchError>) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const entry = watched.get(userId)
          if (entry === undefined) watched.set(userId, { cursor: undefined, queues: new Set([queue]) })
          else entry.queues.add(queue)
        }),
        () =>
          Effect.sync(() => {
            const entry = watched.get(userId)
            entry?.queues.delete(queue)
            if (entry?.queues.size === 0) watched.delete(userId)
          })
      ).pipe(
        Effect.andThen(repo.latestCursor(userId)),
        Effect.tap((latest) =>
          Effect.sync(() => {
            const entry = watched.get(userId)
            if (entry !== undefined && entry.cursor === undefined) entry.cursor = latest
          })
        )
      )

    const endAll = (error: WatchError) => {
      for (const entry of watched.values()) {
        for (const queue of entry.queues) Queue.failCauseUnsafe(queue, Cause.fail(error))
      }
      watched.clear()
    }

    const deliver = (queue: Queue.Queue<Delivery, WatchError>, changes: ReadonlyArray<TaskChange>) => {
      for (const change of changes) {
        if (!Queue.offerUnsafe(queue, change)) {
          Queue.failCauseUnsafe(queue, Cause.fail(new CursorExpired()))
          return
        }
      }
    }

    /** One poll for every watched user; answers whether a user had a full batch (poll again at once). */
    const pollOnce = Effect.gen(function*() {
      if (watched.size === 0) return false
      if (yield* lifecycle.shuttingDown) {
        endAll(ServiceUnavailable.shuttingDown())
        return false
      }
      const users = Array.from(watched).flatMap(([userId, { cursor }]) =>
        cursor === undefined ? [] : [{ userId, cursor }]
      )
      if (users.length === 0) return false
      const found = yield* repo.changesOfWatched(users, BATCH)
      let full = false
      for (const [userId, changes] of found.changes) {
        const entry = watched.get(userId)
        if (entry === undefined || changes.length === 0) continue
        entry.cursor = changes.at(-1)!.cursor
        full ||= changes.length === BATCH
        for (const queue of entry.queues) deliver(queue, changes)
      }
      for (const userId of found.expired) {
        for (const queue of watched.get(userId)?.queues ?? []) {
          Queue.failCauseUnsafe(queue, Cause.fail(new CursorExpired()))
        }
        watched.delete(userId)
      }
      return full
    }).pipe(
      // The database failed: every watch ends as its own poll would have (clients reconnect).
      Effect.catchTag("ServiceUnavailable", (error) => Effect.sync(() => (endAll(error), false)))
    )

    yield* Effect.forkScoped(Effect.forever(
      Effect.flatMap(pollOnce, (full) => full ? Effect.void : pause(settings.pollInterval))
    ))

    /** The user's changes after `cursor` read by the watch itself, batch by batch, up to now. */
    const backlog = (userId: UserId, cursor: string) =>
      Stream.paginate(cursor, (after) =>
        Effect.gen(function*() {
          const { changes, expired } = yield* repo.changesAfter(userId, after, BATCH)
          if (expired) return yield* new CursorExpired()
          const last = changes.at(-1)?.cursor
          return [changes, changes.length === BATCH && last !== undefined ? Option.some(last) : Option.none()] as const
        }))

    const watch: TaskFeedShape["watch"] = (caller, accessToken, after) => {
      const userId = caller.user.id
      return Stream.unwrap(
        Effect.gen(function*() {
          if (after !== undefined && !isFeedCursor(after)) return yield* invalidFeedCursor()
          if (yield* lifecycle.shuttingDown) return yield* ServiceUnavailable.shuttingDown()
          yield* admit(userId)
          yield* pruneIfDue
          const queue = yield* Queue.bounded<Delivery, WatchError>(WATCH_BUFFER)
          // Registered before the backlog is read: a change is either in the backlog or delivered
          // (or both, the copy dropped below by its cursor).
          const latest = yield* register(userId, queue)
          // The session, on Effect's Clock: whatever the traffic, an ended one ends the watch.
          yield* Effect.forkScoped(
            Effect.forever(
              Effect.andThen(Effect.sleep(sessionCheckEvery), accessChecks.recheck(accessToken))
            ).pipe(Effect.catch((error) => Queue.failCause(queue, Cause.fail(error))))
          )
          yield* Effect.forkScoped(Effect.forever(
            Effect.andThen(Effect.sleep(settings.heartbeatInterval), Queue.offer(queue, "heartbeat"))
          ))

          let cursor = after ?? latest
          const delivered = (event: TaskFeedEvent) => {
            cursor = event.cursor
            return event
          }
          const fresh = (delivery: Delivery): delivery is TaskChange =>
            delivery !== "heartbeat" && BigInt(delivery.cursor) > BigInt(cursor)
          const live = Stream.fromQueue(queue).pipe(
            Stream.filter((delivery) => delivery === "heartbeat" || fresh(delivery)),
            Stream.map((delivery): TaskFeedEvent =>
              delivery === "heartbeat" ? new CaughtUp({ cursor }) : delivered(delivery)
            )
          )
          const caughtUp = Stream.sync(() => new CaughtUp({ cursor }))
          return backlog(userId, cursor).pipe(Stream.map(delivered), Stream.concat(caughtUp), Stream.concat(live))
        })
      ).pipe(Stream.withSpan("TaskFeed.watch", { attributes: { user_id: userId } }))
    }

    return { watch }
  })
).pipe(Layer.provide([TaskChangeRepoLive, AccessChecksLive]))

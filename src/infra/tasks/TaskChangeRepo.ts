/**
 * The task change feed's storage (migration 0006): rows written by a trigger on `task`, read per
 * user in id order, and pruned after TASK_CHANGE_RETENTION. Every read is scoped by the owner.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { UserId } from "../../domain/auth/User.js"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { Task } from "../../domain/tasks/Task.js"
import { type TaskChange, TaskCreated, TaskDeleted, TaskUpdated } from "../../domain/tasks/TaskChange.js"
import { orUnavailable } from "../platform/DatabaseErrors.js"

export interface ChangesAfter {
  /** Some of the user's changes after the cursor were pruned: the watcher must resynchronise. */
  readonly expired: boolean
  readonly changes: ReadonlyArray<TaskChange>
}

export interface ChangesOfWatched {
  readonly changes: ReadonlyMap<UserId, ReadonlyArray<TaskChange>>
  readonly expired: ReadonlySet<UserId>
}

export interface TaskChangeRepoShape {
  /** Where a new subscription starts: after the user's latest change, recorded or pruned. */
  readonly latestCursor: (userId: UserId) => Effect.Effect<string, ServiceUnavailable>
  /** Up to `limit` of the user's changes after `cursor` (a valid cursor), oldest first. */
  readonly changesAfter: (
    userId: UserId,
    cursor: string,
    limit: number
  ) => Effect.Effect<ChangesAfter, ServiceUnavailable>
  /**
   * For each watched user, up to `limit` of their changes after their cursor, in one statement (the
   * instance's shared poll): answers them per user, with the users whose cursor was pruned past.
   */
  readonly changesOfWatched: (
    watched: ReadonlyArray<{ readonly userId: UserId; readonly cursor: string }>,
    limit: number
  ) => Effect.Effect<ChangesOfWatched, ServiceUnavailable>
  /** Deletes (a batch of) the changes recorded before `before`; answers how many. */
  readonly prune: (before: Date) => Effect.Effect<number, ServiceUnavailable>
}

export class TaskChangeRepo
  extends Context.Service<TaskChangeRepo, TaskChangeRepoShape>()("tasks-api/TaskChangeRepo")
{}

/** Enough to catch up on a large backlog in a few statements, small enough for the statement timeout. */
const PRUNE_BATCH = 10_000

interface ChangeRow {
  readonly expired: boolean
  /** null: no change after the cursor (the row only carries `expired`). */
  readonly id: string | null
  readonly kind: "created" | "updated" | "deleted"
  readonly task_id: string
  readonly task: unknown
  readonly changed_at: Date
}

// The snapshot was written by our own trigger in the API's JSON form (instants as ISO 8601 text),
// so it is read with the JSON codec of `Task`: one that does not decode is a bug.
const decodeTask = Schema.decodeUnknownEffect(Schema.toCodecJson(Task))

const toChange = (row: ChangeRow & { readonly id: string }): Effect.Effect<TaskChange> => {
  const common = { cursor: row.id, changed_at: row.changed_at }
  return row.kind === "deleted"
    ? Effect.succeed(new TaskDeleted({ ...common, task_id: row.task_id }))
    : Effect.map(
      Effect.orDie(decodeTask(row.task)),
      (task) => row.kind === "created" ? new TaskCreated({ ...common, task }) : new TaskUpdated({ ...common, task })
    )
}

export const TaskChangeRepoLive = Layer.effect(
  TaskChangeRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const latestCursor: TaskChangeRepoShape["latestCursor"] = (userId) =>
      sql<{ readonly cursor: string }>`
        SELECT greatest(
          (SELECT coalesce(max(id), 0) FROM task_change WHERE user_id = ${userId}),
          (SELECT coalesce(max(pruned_through), 0) FROM task_change_horizon WHERE user_id = ${userId})
        )::text AS cursor`.pipe(
        Effect.map((rows) => rows[0]?.cursor ?? "0"),
        orUnavailable,
        Effect.withSpan("TaskChangeRepo.latestCursor")
      )

    // One statement, so the horizon and the rows come from one snapshot: a prune that commits
    // in between cannot make a gap look like "nothing happened".
    const changesAfter: TaskChangeRepoShape["changesAfter"] = (userId, cursor, limit) =>
      sql<ChangeRow>`
        WITH horizon AS (
          SELECT coalesce(max(pruned_through), 0) AS pruned_through
          FROM task_change_horizon WHERE user_id = ${userId}
        )
        SELECT ${cursor}::bigint < horizon.pruned_through AS expired,
               c.id::text AS id, c.kind, c.task_id, c.task, c.changed_at
        FROM horizon LEFT JOIN LATERAL (
          SELECT id, kind, task_id, task, changed_at FROM task_change
          WHERE user_id = ${userId} AND id > ${cursor}::bigint
          ORDER BY id LIMIT ${limit}
        ) c ON true
        ORDER BY c.id`.pipe(
        orUnavailable,
        Effect.flatMap((rows) =>
          Effect.map(
            Effect.forEach(rows.filter((row): row is ChangeRow & { readonly id: string } => row.id !== null), toChange),
            (changes) => ({ expired: rows[0]?.expired ?? false, changes })
          )
        ),
        Effect.withSpan("TaskChangeRepo.changesAfter")
      )

    // The watched users and their cursors travel as one JSON parameter; each user's rows come from
    // the same (user_id, id) index scan as `changesAfter`, and the horizon from the same snapshot.
    const changesOfWatched: TaskChangeRepoShape["changesOfWatched"] = (watched, limit) =>
      sql<ChangeRow & { readonly user_id: UserId }>`
        WITH w AS (
          SELECT * FROM json_to_recordset(${JSON.stringify(watched)}::json) AS w("userId" text, cursor bigint)
        )
        SELECT w."userId" AS user_id,
               w.cursor < coalesce(h.pruned_through, 0) AS expired,
               c.id::text AS id, c.kind, c.task_id, c.task, c.changed_at
        FROM w
        LEFT JOIN task_change_horizon h ON h.user_id = w."userId"
        LEFT JOIN LATERAL (
          SELECT id, kind, task_id, task, changed_at FROM task_change
          WHERE user_id = w."userId" AND id > w.cursor
          ORDER BY id LIMIT ${limit}
        ) c ON true
        ORDER BY w."userId", c.id`.pipe(
        orUnavailable,
        Effect.flatMap(Effect.fnUntraced(function*(rows) {
          const changes = new Map<UserId, Array<TaskChange>>()
          const expired = new Set<UserId>()
          for (const row of rows) {
            if (row.expired) expired.add(row.user_id)
            else if (row.id !== null) {
              const change = yield* toChange(row as ChangeRow & { readonly id: string })
              const ofUser = changes.get(row.user_id)
              if (ofUser === undefined) changes.set(row.user_id, [change])
              else ofUser.push(change)
            }
          }
          return { changes, expired } satisfies ChangesOfWatched
        })),
        Effect.withSpan("TaskChangeRepo.changesOfWatched")
      )

    const prune: TaskChangeRepoShape["prune"] = (before) =>
      sql<{ readonly deleted: number }>`
        WITH pruned AS (
          DELETE FROM task_change
          WHERE id IN (SELECT id FROM task_change WHERE changed_at < ${before} ORDER BY id LIMIT ${PRUNE_BATCH})
          RETURNING user_id, id
        ), horizon AS (
          INSERT INTO task_change_horizon (user_id, pruned_through)
          SELECT user_id, max(id) FROM pruned GROUP BY user_id
          ON CONFLICT (user_id) DO UPDATE
            SET pruned_through = greatest(task_change_horizon.pruned_through, excluded.pruned_through)
        )
        SELECT count(*)::int AS deleted FROM pruned`.pipe(
        Effect.map((rows) => rows[0]?.deleted ?? 0),
        orUnavailable,
        Effect.withSpan("TaskChangeRepo.prune")
      )

    return { latestCursor, changesAfter, changesOfWatched, prune }
  })
)

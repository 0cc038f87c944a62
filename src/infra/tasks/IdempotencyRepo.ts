/**
 * Idempotency-Key storage: per (user, key), the request's fingerprint and the response it got.
 * `createOnce` makes "create, then remember the answer" one transaction whose key row is the
 * arbiter, so two racing requests with the same key can never both create.
 */
import { Context, Data, Effect, Layer, Option, Result, Schema } from "effect"
import { SqlClient, SqlSchema } from "effect/sql"
import { UserId } from "../../domain/auth/User.js"
import type { ServiceUnavailable } from "../../domain/Errors.js"
import { decodedOrDie, orUnavailable } from "../platform/DatabaseErrors.js"
import { hotSpan } from "../platform/HotSpans.js"
import type { Json } from "./Fingerprint.js"

/** Identifies one idempotent request. */
export interface IdempotencyScope {
  readonly userId: UserId
  readonly key: string
  /** sha256 of the request body's canonical JSON. */
  readonly fingerprint: string
}

/** The response a key answers for as long as it lives. */
export interface StoredResponse {
  readonly status: number
  readonly body: Json
}

/** A live key's entry: the stored response, the fingerprint of the request that got it, and when. */
const IdempotencyEntry = Schema.Struct({
  fingerprint: Schema.String,
  status: Schema.Number,
  body: Schema.Json,
  createdAt: Schema.Date
}).pipe(Schema.encodeKeys({
  fingerprint: "request_fingerprint",
  status: "response_status",
  body: "response_body",
  createdAt: "created_at"
}))
export type IdempotencyEntry = typeof IdempotencyEntry.Type

export interface IdempotencyRepoShape {
  /** The entry of (user, key) created after `liveSince`, if any: older ones have expired. */
  readonly findLive: (
    userId: UserId,
    key: string,
    liveSince: Date
  ) => Effect.Effect<Option.Option<IdempotencyEntry>, ServiceUnavailable>
  /**
   * Runs `create` and records its response under the scope's key, in one transaction. When a live
   * entry holds the key already (a concurrent request got there first: the insert waits for it to
   * commit), the transaction is rolled back, so nothing `create` wrote survives, and that entry is
   * answered instead (a `Failure`). Expired entries of the user are deleted on the way.
   */
  readonly createOnce: <A, E, R>(
    scope: IdempotencyScope,
    at: { readonly now: Date; readonly liveSince: Date },
    create: Effect.Effect<{ readonly value: A; readonly response: StoredResponse }, E, R>
  ) => Effect.Effect<Result.Result<A, IdempotencyEntry>, E | ServiceUnavailable, R>
}

export class IdempotencyRepo
  extends Context.Service<IdempotencyRepo, IdempotencyRepoShape>()("tasks-api/IdempotencyRepo")
{}

/** Fails the transaction (rolling back what `create` wrote) and carries the winner's entry out. */
class KeyTaken extends Data.TaggedError("KeyTaken")<{ readonly entry: IdempotencyEntry }> {}

export const IdempotencyRepoLive = Layer.effect(
  IdempotencyRepo,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const selectLiveRow = SqlSchema.findOneOption({
      Request: Schema.Struct({ userId: UserId, key: Schema.String, liveSince: Schema.Date }),
      Result: IdempotencyEntry,
      execute: ({ key, liveSince, userId }) =>
        sql`
        SELECT request_fingerprint, response_status, response_body, created_at
        FROM idempotency_key
        WHERE user_id = ${userId} AND key = ${key} AND created_at > ${liveSince}`
    })
    const selectLive = (userId: UserId, key: string, liveSince: Date) =>
      decodedOrDie(selectLiveRow({ userId, key, liveSince }))

    const findLive: IdempotencyRepoShape["findLive"] = (userId, key, liveSince) =>
      selectLive(userId, key, liveSince).pipe(orUnavailable, hotSpan("IdempotencyRepo.findLive"))

    /**
     * Inserts the entry unless a live one holds the key. On a conflict the existing row is locked
     * (also when the WHERE refuses the update), so the entry read next is the one that won. An
     * expired row in the way is overwritten: its key is free again.
     */
    const claim = (scope: IdempotencyScope, now: Date, liveSince: Date, response: StoredResponse) =>
      sql<{ readonly key: string }>`
        INSERT INTO idempotency_key (user_id, key, request_fingerprint, response_status, response_body, created_at)
        VALUES (${scope.userId}, ${scope.key}, ${scope.fingerprint}, ${response.status},
                ${JSON.stringify(response.body)}::jsonb, ${now})
        ON CONFLICT (user_id, key) DO UPDATE SET
          request_fingerprint = EXCLUDED.request_fingerprint,
          response_status = EXCLUDED.response_status,
          response_body = EXCLUDED.response_body,
          created_at = EXCLUDED.created_at
        WHERE idempotency_key.created_at <= ${liveSince}
        RETURNING key`.pipe(Effect.map((rows) => rows.length > 0))

    /**
     * Opportunistic clean-up of the user's other expired keys (bounded to one user: an index range
     * scan). SKIP LOCKED: rows another request is deleting are left to it, so this never waits
     * and two clean-ups cannot deadlock. The scope's own key is `claim`'s business.
     */
    const deleteExpired = (scope: IdempotencyScope, liveSince: Date) =>
      sql`
        DELETE FROM idempotency_key WHERE (user_id, key) IN (
          SELECT user_id, key FROM idempotency_key
          WHERE user_id = ${scope.userId} AND key <> ${scope.key} AND created_at <= ${liveSince}
          FOR UPDATE SKIP LOCKED)`

    const createOnce: IdempotencyRepoShape["createOnce"] = (scope, { now, liveSince }, create) =>
      sql.withTransaction(
        Effect.gen(function*() {
          const { value, response } = yield* create
          yield* deleteExpired(scope, liveSince)
          if (yield* claim(scope, now, liveSince, response)) return Result.succeed(value)
          const winner = yield* selectLive(scope.userId, scope.key, liveSince)
          // The conflicting row is locked by us and live, so it is there; a miss would be a bug.
          if (Option.isNone(winner)) {
            return yield* Effect.die(new Error("idempotency key conflict without a live entry"))
          }
          return yield* new KeyTaken({ entry: winner.value })
        })
      ).pipe(
        Effect.catchIf(
          (error): error is KeyTaken => error instanceof KeyTaken,
          ({ entry }) => Effect.succeed(Result.fail(entry))
        ),
        orUnavailable,
        hotSpan("IdempotencyRepo.createOnce")
      )

    return { findLive, createOnce }
  })
)

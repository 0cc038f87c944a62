/**
 * Helpers of the RPC suites (test/rpc-*.test.ts). Expected values come from the contract
 * (rest-api.md, via tasks-helpers.ts), not from src, so a drift between REST and RPC fails a test.
 */
import { expect } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Predicate, Queue, Schema, Stream } from "effect"
import { Task, type TaskFeedEvent } from "../../src/client/index.js"

/** A task in its wire form (instants as ISO 8601 strings): what REST answers under `data`. */
const encodeTaskJson = Schema.encodeSync(Schema.toCodecJson(Task))
export const taskJson = (task: Task) => encodeTaskJson(task)

/**
 * The typed failure of a call that must fail with `tag` (matched by `_tag`). A success, another
 * failure or a defect fails the test, with what happened instead.
 */
export const failure = <A, E, R, const Tag extends string>(effect: Effect.Effect<A, E, R>, tag: Tag) =>
  Effect.flatMap(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) {
      return Effect.die(new Error(`expected ${tag}, but succeeded with ${JSON.stringify(exit.value)}`))
    }
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isSome(error) && Predicate.isTagged(error.value, tag)) return Effect.succeed(error.value)
    return Effect.die(new Error(`expected ${tag}, got ${Cause.pretty(exit.cause)}`))
  })

/** A ValidationFailed in FastAPI's shape with (at least) one issue located at `loc`. */
export const expectIssueAt = (
  error: { readonly detail: ReadonlyArray<{ readonly loc: ReadonlyArray<string | number> }> },
  loc: ReadonlyArray<string>
) => {
  expect(error).toMatchObject({ _tag: "ValidationFailed", error_code: "validation_error" })
  expect(error.detail.map((issue) => issue.loc), JSON.stringify(error.detail)).toContainEqual(loc)
}

/**
 * A subscription's events, read one at a time. The watch runs in a fiber of the test's scope
 * (interrupted, and its HTTP request aborted, when the test ends).
 */
export const subscribe = <E, R>(stream: Stream.Stream<TaskFeedEvent, E, R>) =>
  Effect.gen(function*() {
    const events = yield* Queue.unbounded<Exit.Exit<TaskFeedEvent, E>>()
    yield* stream.pipe(
      Stream.runForEach((event) => Queue.offer(events, Exit.succeed(event))),
      Effect.catchCause((cause) => Queue.offer(events, Exit.failCause(cause))),
      Effect.forkScoped
    )
    /** The next event (the test's timeout bounds the wait); a failed stream fails here. */
    const next = Effect.flatten(Queue.take(events))
    /** The next event that is not a heartbeat. */
    const nextChange = Effect.gen(function*() {
      while (true) {
        const event = yield* next
        if (event._tag !== "CaughtUp") return event
      }
    })
    /** How the stream ended, skipping the events before. */
    const end = Effect.gen(function*() {
      while (true) {
        const item = yield* Queue.take(events)
        if (Exit.isFailure(item)) return item.cause
      }
    })
    return { next, nextChange, end }
  })

// ---------------------------------------------------------------------------------------------
// `POST /rpc` bodies as an attacker writes them (NDJSON by hand), and their answers.

/** A body of `count` calls of `tag` with `payload`, ids 1…count, one JSON message a line. */
export const batchOf = (count: number, tag: string, payload: unknown) =>
  Array.from({ length: count }, (_, i) => JSON.stringify({ _tag: "Request", id: i + 1, tag, payload, headers: [] }))
    .join("\n") + "\n"

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
export type Frame = any

/** The messages of an NDJSON answer. */
export const framesOf = (text: string): Array<Frame> =>
  text.split("\n").filter((line) => line !== "").map((line): Frame => JSON.parse(line))

/** The typed error of a failed Exit message (undefined for a success or a defect). */
export const errorOf = (frame: Frame) => frame?.exit?.cause?.[0]?.error

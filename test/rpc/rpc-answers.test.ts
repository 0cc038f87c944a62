/**
 * The RPC answers written as JSON text (src/http/rpc/RpcAnswers.ts) are the frames effect/rpc's
 * own encoding writes, character for character: for arbitrary tasks and pages, and for the
 * failures of a written procedure, which its schemas still encode.
 */
import { expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, Schema } from "effect"
import { Rpc, RpcSerialization } from "effect/rpc"
import type { ExitEncoded } from "effect/rpc/RpcMessage"
import { TaskNotFound } from "../../src/domain/Errors.js"
import { TasksRpc } from "../../src/domain/Rpc.js"
import { codecForWritten, makeFrameEncoder } from "../../src/http/rpc/RpcAnswers.js"
import { taskJson, taskPageJson } from "../../src/http/tasks/TaskJson.js"
import { pages, tasks } from "../support/taskArbitraries.js"

const serialization = RpcSerialization.ndjson
const written = codecForWritten(
  TasksRpc.requests,
  { GetTask: taskJson, ListTasks: taskPageJson },
  serialization.codecFor
)

/** The Exit of a call to `tag`, encoded by `codecFor`'s codec for it, as the server encodes it. */
const encodedExit = (codecFor: RpcSerialization.CodecFor, tag: string, exit: Exit.Exit<unknown, unknown>) =>
  Schema.encodeUnknownSync(codecFor(Rpc.exitSchema(TasksRpc.requests.get(tag)!)))(exit) as ExitEncoded<unknown, unknown>

/** The frame our transport writes for the call `tag`'s Exit. */
const ourFrame = (tag: string, exit: Exit.Exit<unknown, unknown>) =>
  makeFrameEncoder(serialization.makeUnsafe())({ _tag: "Exit", requestId: "7", exit: encodedExit(written, tag, exit) })

/** The frame effect/rpc's own encoding writes for it. */
const libraryFrame = (tag: string, exit: Exit.Exit<unknown, unknown>) =>
  serialization.makeUnsafe().encode({
    _tag: "Exit",
    requestId: "7",
    exit: encodedExit(serialization.codecFor, tag, exit)
  })

const framesAsTheLibrary = <A>(values: Arbitrary.Arbitrary<A>, tag: string, runs: number) =>
  Effect.gen(function*() {
    const result = yield* Arbitrary.checkEffect(
      values,
      (value) => ourFrame(tag, Exit.succeed(value)) === libraryFrame(tag, Exit.succeed(value)),
      { runs, seed: 16 }
    )
    expect(Arbitrary.formatCheckFailure(result)).toBeUndefined()
  })

it.effect("GetTask: an arbitrary task's frame is the library's", () => framesAsTheLibrary(tasks, "GetTask", 300))

it.effect("ListTasks: an arbitrary page's frame is the library's", () => framesAsTheLibrary(pages, "ListTasks", 100))

it("a written procedure's failure is encoded by its schema, as the library encodes it", () => {
  const failed = Exit.fail(TaskNotFound.onRead())
  const frame = ourFrame("GetTask", failed)
  expect(frame).toBe(libraryFrame("GetTask", failed))
  expect(JSON.parse(frame!)).toMatchObject({
    _tag: "Exit",
    exit: { _tag: "Failure", cause: [{ _tag: "Fail", error: { _tag: "TaskNotFound", error_code: "task_not_found" } }] }
  })
})

it("a written success goes on the wire as its writer's text", () => {
  const page = { tasks: [], total_count: 0, limit: 50, offset: 0, next_cursor: "c\"ursor" }
  expect(ourFrame("ListTasks", Exit.succeed(page))).toBe(
    `{"_tag":"Exit","requestId":"7","exit":{"_tag":"Success","value":` +
      `{"tasks":[],"total_count":0,"limit":50,"offset":0,"next_cursor":"c\\"ursor"}}}\n`
  )
})

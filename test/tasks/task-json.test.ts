/**
 * The writers of the task answers (src/http/tasks/TaskJson.ts) write the very text
 * HttpApi's encoding by the success schemas writes: for arbitrary tasks and pages, and for the
 * values a generator rarely makes (quotes, control characters, lone surrogates, far instants).
 */
import { expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { Envelope, envelope } from "../../src/domain/Envelope.js"
import { Task, TaskId, TaskPage } from "../../src/domain/tasks/Task.js"
import { taskAnswerJson, taskJson, taskPageAnswerJson, taskPageJson } from "../../src/http/tasks/TaskJson.js"
import { pages, tasks } from "../support/taskArbitraries.js"

const schemaJson = <S extends Schema.Codec<unknown, unknown>>(schema: S) => {
  const encode = Schema.encodeSync(Schema.toCodecJson(Envelope(schema)))
  return (value: S["Type"]) => JSON.stringify(encode(envelope(value)))
}
const taskBySchema = schemaJson(Task)
const pageBySchema = schemaJson(TaskPage)

/** `write` gives, for every value `values` makes, the text of `bySchema`. */
const writesAsTheSchema = <A>(
  values: Arbitrary.Arbitrary<A>,
  write: (value: A) => string,
  bySchema: (value: A) => string,
  runs: number
) =>
  Effect.gen(function*() {
    const result = yield* Arbitrary.checkEffect(values, (value) => write(value) === bySchema(value), {
      runs,
      seed: 16
    })
    expect(Arbitrary.formatCheckFailure(result)).toBeUndefined()
  })

it.effect("an arbitrary task is written as the schema encodes it", () =>
  writesAsTheSchema(tasks, taskAnswerJson, taskBySchema, 500))

it.effect("an arbitrary page is written as the schema encodes it", () =>
  writesAsTheSchema(pages, taskPageAnswerJson, pageBySchema, 200))

it("the rare values: quotes and control characters, lone surrogates, nulls, the last instant there is", () => {
  const task: Task = {
    id: TaskId.make("6f1c2a4e-1b2c-4d5e-8f90-000000000001"),
    user_id: "11111111-2222-4333-8444-555555555555",
    title: "\"quoted\" \\ back\u0000slash\n\u2028 \ud800 ✓ 🎉",
    description: null,
    due_datetime: null,
    priority: "urgent_important",
    is_completed: true,
    created_at: new Date("+275760-09-13T00:00:00.000Z"),
    updated_at: new Date(0)
  }
  const text = taskAnswerJson(task)
  expect(text).toBe(taskBySchema(task))
  // RPC answers carry the unenveloped text
  expect(text).toBe(`{"success":true,"data":${taskJson(task)}}`)
  expect(JSON.parse(text).data).toMatchObject({
    created_at: "+275760-09-13T00:00:00.000Z",
    description: null,
    is_completed: true
  })
  const page: TaskPage = { tasks: [task, task], total_count: 7, limit: 2, offset: 0, next_cursor: "c\"ursor" }
  expect(taskPageAnswerJson(page)).toBe(pageBySchema(page))
  expect(taskPageAnswerJson(page)).toBe(`{"success":true,"data":${taskPageJson(page)}}`)
  const empty: TaskPage = { tasks: [], total_count: 0, limit: 50, offset: 10, next_cursor: null }
  expect(taskPageAnswerJson(empty)).toBe(
    `{"success":true,"data":{"tasks":[],"total_count":0,"limit":50,"offset":10,"next_cursor":null}}`
  )
})

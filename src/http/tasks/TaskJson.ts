/**
 * The JSON of the task endpoints' answers, written field by field: the same text as HttpApi's
 * encoding by the success schemas (`Envelope(Task)`, `Envelope(TaskPage)`), at a quarter of its
 * CPU on a page of 50 tasks, where the schema walk per field per task was most of a list's cost.
 * The fields are the schemas', in their order; test/tasks/task-json.test.ts proves the text equal
 * to the schemas' for arbitrary tasks and pages, so a field added to a schema fails it.
 */
import type { Task, TaskPage } from "../../domain/tasks/Task.js"

const string = (value: string) => JSON.stringify(value)
const nullableString = (value: string | null) => value === null ? "null" : JSON.stringify(value)
/** As the schema's `Date` ↔ string link writes it: ISO 8601 in UTC. (No `Task` holds an invalid `Date`.) */
const instant = (date: Date) => `"${date.toISOString()}"`
const nullableInstant = (date: Date | null) => date === null ? "null" : instant(date)

export const taskJson = (task: Task): string =>
  `{"id":${string(task.id)},"user_id":${string(task.user_id)},"title":${string(task.title)},` +
  `"description":${nullableString(task.description)},"due_datetime":${nullableInstant(task.due_datetime)},` +
  `"priority":${string(task.priority)},"is_completed":${task.is_completed},` +
  `"created_at":${instant(task.created_at)},"updated_at":${instant(task.updated_at)}}`

export const taskPageJson = (page: TaskPage): string =>
  `{"tasks":[${page.tasks.map(taskJson).join(",")}],"total_count":${page.total_count},` +
  `"limit":${page.limit},"offset":${page.offset},"next_cursor":${nullableString(page.next_cursor)}}`

/** The old backend's success envelope around a JSON text. */
export const envelopeJson = (data: string): string => `{"success":true,"data":${data}}`

/**
 * The JSON of the task endpoints' answers: the same text as HttpApi's encoding by the success
 * schemas (`Envelope(Task)`, `Envelope(TaskPage)`), at a fraction of its CPU on a page of 50 tasks,
 * where the schema walk per field per task was most of a list's cost. Each answer is a plain object
 * with the schemas' fields in their order, written by one native `JSON.stringify`: pasting the text
 * together field by field allocated ≈ 3 × the page's size in intermediate strings.
 * test/tasks/task-json.test.ts proves the text equal to the schemas' for arbitrary tasks and pages,
 * so a field added to a schema fails it.
 */
import { envelope } from "../../domain/Envelope.js"
import type { Task, TaskPage } from "../../domain/tasks/Task.js"

/** As the schema's `Date` ↔ string link writes it: ISO 8601 in UTC. (No `Task` holds an invalid `Date`.) */
const nullableInstant = (date: Date | null) => date === null ? null : date.toISOString()

/** A task's wire fields, in the schema's order; the dates as strings, which spares JSON.stringify `toJSON` calls. */
const wireTask = (task: Task) => ({
  id: task.id,
  user_id: task.user_id,
  title: task.title,
  description: task.description,
  due_datetime: nullableInstant(task.due_datetime),
  priority: task.priority,
  is_completed: task.is_completed,
  created_at: task.created_at.toISOString(),
  updated_at: task.updated_at.toISOString()
})

const wirePage = (page: TaskPage) => ({
  tasks: page.tasks.map(wireTask),
  total_count: page.total_count,
  limit: page.limit,
  offset: page.offset,
  next_cursor: page.next_cursor
})

const writtenBy = <A>(wire: (value: A) => unknown) => (value: A): string => JSON.stringify(wire(value))

/** The unenveloped text (RPC answers carry it). */
export const taskJson = writtenBy(wireTask)
export const taskPageJson = writtenBy(wirePage)
/** REST answers: the old backend's success envelope around the answer, written in the same pass. */
export const taskAnswerJson = writtenBy((task: Task) => envelope(wireTask(task)))
export const taskPageAnswerJson = writtenBy((page: TaskPage) => envelope(wirePage(page)))

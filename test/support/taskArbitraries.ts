/** Arbitrary tasks and pages, with ids as the database holds them (the schemas' encoding checks the pattern). */
import { Arbitrary } from "effect"
import { Task, TaskId, TaskPage } from "../../src/domain/tasks/Task.js"

const stored = (task: Task, n: number): Task => ({
  ...task,
  id: TaskId.make(`6f1c2a4e-1b2c-4d5e-8f90-${String(n).padStart(12, "0")}`)
})

export const tasks = Arbitrary.map(Arbitrary.schema(Task), (task) => stored(task, task.title.length))

export const pages = Arbitrary.map(
  Arbitrary.schema(TaskPage),
  (page): TaskPage => ({ ...page, tasks: page.tasks.map(stored) })
)

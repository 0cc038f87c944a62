/** The tasks part of the REST contract: a user's tasks, behind the Bearer authentication. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication } from "../auth/AuthApi.js"
import { Envelope, NoContent } from "../Envelope.js"
import { BadRequest, TaskNotFound } from "../Errors.js"
import { IdempotencyHeaders, IdempotencyKeyReused } from "./Idempotency.js"
import { CreateTaskBody, ListTasksQuery, SetCompletedBody, Task, TaskPage, TaskPath, UpdateTaskBody } from "./Task.js"

export class TasksApi extends HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.post("create", "/api/tasks", {
      payload: CreateTaskBody,
      headers: IdempotencyHeaders,
      success: Envelope(Task).pipe(HttpApiSchema.status(201)),
      error: [BadRequest.Response, IdempotencyKeyReused.Response]
    }).annotate(OpenApi.Summary, "Create a task").annotate(
      OpenApi.Description,
      "With an `Idempotency-Key` header, a retry with the same key and body within 24 hours answers the " +
        "original 201 (same task) and creates nothing; the same key with another body answers 422 " +
        "`idempotency_key_reused`. Keys are per user."
    ),
    HttpApiEndpoint.get("list", "/api/tasks", {
      query: ListTasksQuery,
      success: Envelope(TaskPage),
      error: BadRequest.Response
    }).annotate(OpenApi.Summary, "List the caller's tasks"),
    HttpApiEndpoint.get("get", "/api/tasks/:task_id", {
      params: TaskPath,
      success: Envelope(Task),
      error: TaskNotFound.Response
    }).annotate(OpenApi.Summary, "Read a task"),
    HttpApiEndpoint.put("update", "/api/tasks/:task_id", {
      params: TaskPath,
      payload: UpdateTaskBody,
      success: Envelope(Task),
      error: [TaskNotFound.Response, BadRequest.Response]
    }).annotate(OpenApi.Summary, "Change a task's fields (those present)"),
    HttpApiEndpoint.patch("setCompleted", "/api/tasks/:task_id/complete", {
      params: TaskPath,
      payload: SetCompletedBody,
      success: Envelope(Task),
      error: TaskNotFound.Response
    }).annotate(OpenApi.Summary, "Mark a task completed or not"),
    HttpApiEndpoint.delete("delete", "/api/tasks/:task_id", {
      params: TaskPath,
      success: NoContent,
      error: TaskNotFound.Response
    }).annotate(OpenApi.Summary, "Delete a task")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "A user's tasks. Another user's task answers 404, never 403.")
{}

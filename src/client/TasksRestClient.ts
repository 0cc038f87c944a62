/** A typed client of the REST API (`HttpApiClient.make(Api)`): the same contract, over `/api/…`. */
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { Api } from "../domain/Api.js"
import { currentToken, type TasksClientOptions } from "./AccessToken.js"

/** The client; with an access token, every request carries it as `Authorization: Bearer …`. */
export const makeTasksRestClient = (options: TasksClientOptions) => {
  const { accessToken } = options
  return HttpApiClient.make(Api, {
    baseUrl: options.baseUrl,
    transformClient: accessToken === undefined ?
      undefined :
      HttpClient.mapRequestEffect((request) =>
        Effect.map(currentToken(accessToken), (token) => HttpClientRequest.bearerToken(request, token))
      )
  })
}

export type TasksRestClientShape = Effect.Success<ReturnType<typeof makeTasksRestClient>>

export class TasksRestClient extends Context.Service<TasksRestClient, TasksRestClientShape>()(
  "tasks-api/TasksRestClient"
) {
  /** A ready client over `fetch`. */
  static readonly layer = (options: TasksClientOptions): Layer.Layer<TasksRestClient> =>
    Layer.effect(TasksRestClient, makeTasksRestClient(options)).pipe(Layer.provide(FetchHttpClient.layer))
}

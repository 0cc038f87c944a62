/** A typed client of the REST API (`HttpApiClient.make(Api)`): the same contract, over `/api/…`. */
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { type HttpApi, HttpApiClient, type HttpApiEndpoint, type HttpApiGroup } from "effect/http-api"
import { Api } from "../domain/Api.js"
import { currentToken, type TasksClientOptions } from "./AccessToken.js"

type ResponseMode = HttpApiClient.Client.ResponseMode

/** HttpApi's client of the API, as generated. */
type GeneratedClient = HttpApiClient.ForApi<typeof Api>

/** An endpoint of the API, as the API has it (with its middleware's errors). */
type EndpointOf<Group extends string, Name extends string> = typeof Api extends HttpApi.HttpApi<string, infer Groups>
  ? HttpApiGroup.WithIdentifier<Groups, Group>["endpoints"][Name]
  : never

/** What the generated method of an endpoint takes, and answers. */
type RequestOf<Endpoint extends HttpApiEndpoint.ConstraintRequest, Mode extends ResponseMode> =
  HttpApiEndpoint.ClientRequest<
    Endpoint["~Params"],
    Endpoint["~Query"],
    Endpoint["~Payload"],
    Endpoint["~Headers"],
    Mode
  >
type ReturnOf<Endpoint extends HttpApiEndpoint.ConstraintRequest, Mode extends ResponseMode> =
  HttpApiClient.Client.MethodReturn<Endpoint, never, never, Mode, never>

/** A request whose headers (all of them optional) may be left out. */
type WithoutHeaders<Request extends { readonly headers: object }> =
  & Omit<Request, "headers">
  & { readonly headers?: Request["headers"] | undefined }

type Create = EndpointOf<"tasks", "create">
type List = EndpointOf<"tasks", "list">
type Logout = EndpointOf<"auth", "logout">

/**
 * The client: HttpApi's, where what is all optional may be left out: `tasks.list()` (the server's
 * defaults), `auth.logout()` (no body: this session) and the headers of `tasks.create` (no
 * `Idempotency-Key`).
 */
export interface TasksRestClientShape extends Omit<GeneratedClient, "tasks" | "auth"> {
  readonly tasks: Omit<GeneratedClient["tasks"], "create" | "list"> & {
    readonly create: <Mode extends ResponseMode = "decoded-only">(
      request: WithoutHeaders<RequestOf<Create, Mode>>
    ) => ReturnOf<Create, Mode>
    readonly list: <Mode extends ResponseMode = "decoded-only">(request?: RequestOf<List, Mode>) => ReturnOf<List, Mode>
  }
  readonly auth: Omit<GeneratedClient["auth"], "logout"> & {
    readonly logout: <Mode extends ResponseMode = "decoded-only">(
      request?: RequestOf<Logout, Mode>
    ) => ReturnOf<Logout, Mode>
  }
}

/** The client; with an access token, every request carries it as `Authorization: Bearer …`. */
export const makeTasksRestClient = (
  options: TasksClientOptions
): Effect.Effect<TasksRestClientShape, never, HttpClient.HttpClient> => {
  const { accessToken } = options
  return Effect.map(
    HttpApiClient.make(Api, {
      baseUrl: options.baseUrl,
      transformClient: accessToken === undefined ?
        undefined :
        HttpClient.mapRequestEffect((request) =>
          Effect.map(currentToken(accessToken), (token) => HttpClientRequest.bearerToken(request, token))
        )
    }),
    (client): TasksRestClientShape => {
      const { create, list } = client.tasks
      const { logout } = client.auth
      return {
        ...client,
        tasks: {
          ...client.tasks,
          create: (request) => create({ ...request, headers: request.headers ?? {} }),
          list: (request = { query: {} }) => list(request)
        },
        auth: { ...client.auth, logout: (request = { payload: null }) => logout(request) }
      }
    }
  )
}

export class TasksRestClient extends Context.Service<TasksRestClient, TasksRestClientShape>()(
  "tasks-api/TasksRestClient"
) {
  /** A ready client over `fetch`. */
  static readonly layer = (options: TasksClientOptions): Layer.Layer<TasksRestClient> =>
    Layer.effect(TasksRestClient, makeTasksRestClient(options)).pipe(Layer.provide(FetchHttpClient.layer))
}

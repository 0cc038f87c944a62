/**
 * The test kit: the whole service booted in-process on a free loopback port over a fresh
 * database, with `TestClock` as its clock (started at the real time, so tokens look normal, and
 * moved only by `TestClock.adjust`). A suite is `it.layer(TestService())(…)`.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { FetchHttpClient, HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { inject } from "vitest"
import { HttpLive, nodeServerOn, ServicesLive } from "../../src/App.js"
import {
  type AccessToken,
  makeTasksRestClient,
  makeTasksRpcClient,
  type TasksRestClientShape,
  type TasksRpcClientShape
} from "../../src/client/index.js"
import { appConfigFrom } from "../../src/infra/platform/Config.js"
import { TelemetryLive } from "../../src/infra/platform/Telemetry.js"
import { createDatabase, dropDatabase } from "./postgres.js"
import { temporaryDirectory } from "./temporaryDirectory.js"

/** A fixed secret for tests (≥ 32 bytes), so suites can mint tokens of their own. */
export const TEST_JWT_SECRET = "test-secret-for-tasks-api-0123456789abcdef"

export interface TestServerInfo {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** The suite's own database. */
  readonly databaseUrl: string
}

export class TestServer extends Context.Service<TestServer, TestServerInfo>()("test/TestServer") {}

/** A database for one suite, dropped with it: a copy of the migrated template by default. */
export const suiteDatabase = (template?: string) =>
  Effect.acquireRelease(
    Effect.promise(() => createDatabase(inject("pgAdminUrl"), template)),
    ({ name }) => Effect.promise(() => dropDatabase(inject("pgAdminUrl"), name))
  )

/** TestClock starts at the epoch; put it at the real time once, before the service starts. */
const ClockAtNow = Layer.effectDiscard(TestClock.setTime(Date.now()))

export interface TestServiceOptions {
  /** Extra environment variables (they win over the test defaults). */
  readonly env?: Record<string, string>
  /** Prepares the database before the service boots on it; answers its URL. Default: a fresh copy. */
  readonly database?: Effect.Effect<{ readonly url: string }, never, Scope.Scope>
}

/** The running service, its SQL client (for assertions on rows) and where to reach it. */
export const TestService = (options: TestServiceOptions = {}) =>
  Layer.unwrap(
    Effect.gen(function*() {
      const database = yield* (options.database ?? suiteDatabase())
      const dataDir = yield* temporaryDirectory("tasks-api-test-")
      const config = appConfigFrom({
        APP_ENV: "test",
        DATABASE_URL: database.url,
        JWT_SECRET: TEST_JWT_SECRET,
        BCRYPT_COST: "10",
        DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
        // Suites sign up many users from 127.0.0.1; the rate-limit suites turn limits back on.
        RATE_LIMIT_ENABLED: "false",
        // Suites share a test worker's event loop with the test itself (and vitest): a late loop
        // there is not overload. The shedding suite turns it back on.
        MAX_EVENT_LOOP_DELAY: "0ms",
        MAX_EVENT_LOOP_UTILIZATION: "0",
        ...options.env
      })
      const info = Layer.effect(
        TestServer,
        Effect.map(HttpServer.HttpServer, (server) => {
          const address = server.address
          const port = address._tag === "UnixPathAddress" ? 0 : address.port
          return { baseUrl: `http://127.0.0.1:${port}`, databaseUrl: database.url }
        })
      )
      return info.pipe(
        Layer.provideMerge(HttpLive),
        // The service's own server (its timeouts and front), on a free loopback port.
        Layer.provideMerge(nodeServerOn({ host: "127.0.0.1", port: 0 })),
        Layer.provideMerge(ServicesLive),
        // Beneath the service, as in AppLive: traces and metrics export when OTEL_* is configured.
        Layer.provideMerge(TelemetryLive),
        Layer.provideMerge(config),
        Layer.provide(ClockAtNow)
      )
    })
  )

// ---------------------------------------------------------------------------------------------
// The shipped clients (src/client) against the suite's service: a suite that needs a signed-up
// user and typed clients is `it.layer(TestServiceWithClients())(…)` and reads them from
// `TestUser`; further users come from `clientUser()`.

/** The shipped RPC client on the suite's service, for the scope; anonymous without a token. */
export const rpcClient = (accessToken?: AccessToken) =>
  Effect.flatMap(TestServer, ({ baseUrl }) => makeTasksRpcClient({ baseUrl, accessToken })).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

/** The shipped REST client (`HttpApiClient.make(Api)`) on the suite's service; anonymous without a token. */
export const restClient = (accessToken?: AccessToken) =>
  Effect.flatMap(TestServer, ({ baseUrl }) => makeTasksRestClient({ baseUrl, accessToken })).pipe(
    Effect.provide(FetchHttpClient.layer)
  )

export interface ClientUser {
  readonly email: string
  readonly password: string
  readonly userId: string
  readonly token: string
  readonly refreshToken: string
  /** Both clients, acting as this user. */
  readonly rpc: TasksRpcClientShape
  readonly rest: TasksRestClientShape
}

export const TEST_PASSWORD = "correct horse battery staple"

/** Signs a new user up (through the REST client) and answers both clients acting as them. */
export const clientUser = (prefix = "client") =>
  Effect.gen(function*() {
    const email = `${prefix}-${randomUUID()}@example.com`
    const anonymous = yield* restClient()
    const { data } = yield* anonymous.auth.signup({ payload: { email, password: TEST_PASSWORD, name: prefix } }).pipe(
      Effect.orDie
    )
    const user: ClientUser = {
      email,
      password: TEST_PASSWORD,
      userId: data.user_id,
      token: data.token,
      refreshToken: data.refresh_token,
      rpc: yield* rpcClient(data.token),
      rest: yield* restClient(data.token)
    }
    return user
  })

/** The suite's signed-up user of `TestServiceWithClients`. */
export class TestUser extends Context.Service<TestUser, ClientUser>()("test/TestUser") {}

/** `TestService` (same options) plus a signed-up user with both clients, as `TestUser`. */
export const TestServiceWithClients = (options: TestServiceOptions = {}) =>
  Layer.effect(TestUser, clientUser("suite")).pipe(Layer.provideMerge(TestService(options)))

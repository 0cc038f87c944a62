/**
 * The test kit: the whole service booted in-process on a free loopback port over a fresh
 * database, with `TestClock` as its clock (started at the real time, so tokens look normal, and
 * moved only by `TestClock.adjust`). A suite is `it.layer(TestService())(…)`.
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, TestClock } from "effect"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { HttpLive, ServicesLive } from "../../src/http/Server.js"
import { appConfigFrom } from "../../src/infra/Config.js"
import { createDatabase, dropDatabase } from "./postgres.js"

/** A fixed secret for tests (≥ 32 bytes), so suites can mint tokens of their own. */
export const TEST_JWT_SECRET = "test-secret-for-tasks-api-0123456789abcdef"

export interface TestServerInfo {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string
  /** The suite's own database. */
  readonly databaseUrl: string
}

export class TestServer extends Context.Tag("test/TestServer")<TestServer, TestServerInfo>() {}

/** A database for one suite, dropped with it: a copy of the migrated template by default. */
export const suiteDatabase = (template?: string) =>
  Effect.acquireRelease(
    Effect.promise(() => createDatabase(inject("pgAdminUrl"), template)),
    ({ name }) => Effect.promise(() => dropDatabase(inject("pgAdminUrl"), name))
  )

const temporaryDirectory = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "tasks-api-test-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/** TestClock starts at the epoch; put it at the real time once, before the service starts. */
const ClockAtNow = Layer.effectDiscard(TestClock.setTime(Date.now()))

export interface TestServiceOptions {
  /** Extra environment variables (they win over the test defaults). */
  readonly env?: Record<string, string>
  /** Prepares the database before the service boots on it; answers its URL. Default: a fresh copy. */
  readonly database?: Effect.Effect<{ readonly url: string }, never, import("effect").Scope.Scope>
}

/** The running service, its SQL client (for assertions on rows) and where to reach it. */
export const TestService = (options: TestServiceOptions = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const database = yield* (options.database ?? suiteDatabase())
      const dataDir = yield* temporaryDirectory
      const config = appConfigFrom({
        APP_ENV: "test",
        DATABASE_URL: database.url,
        JWT_SECRET: TEST_JWT_SECRET,
        BCRYPT_COST: "10",
        DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
        // Suites sign up many users from 127.0.0.1; the rate-limit suites turn limits back on.
        RATE_LIMIT_ENABLED: "false",
        ...options.env
      })
      const info = Layer.effect(
        TestServer,
        Effect.map(HttpServer.HttpServer, (server) => {
          const address = server.address
          const port = address._tag === "TcpAddress" ? address.port : 0
          return { baseUrl: `http://127.0.0.1:${port}`, databaseUrl: database.url }
        })
      )
      return info.pipe(
        Layer.provideMerge(HttpLive),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: 0 })),
        Layer.provideMerge(ServicesLive),
        Layer.provideMerge(config),
        Layer.provide(ClockAtNow)
      )
    })
  )

/**
 * A second service process on the suite's database: the built service (`dist/main.js`, built by
 * `npm test`) with the same JWT secret, ready before the suite's tests run, stopped when it ends.
 */
import { Context, Effect, Layer } from "effect"
import { readyService } from "./serviceProcess.js"
import { TestServer } from "./TestService.js"

/** Where the second instance listens. */
export class SecondInstance
  extends Context.Service<SecondInstance, { readonly baseUrl: string }>()("test/SecondInstance")
{}

/** The second instance, with `env` added to its environment (rate limits are off unless given). */
export const SecondInstanceLive = (env: Record<string, string> = {}) =>
  Layer.effect(
    SecondInstance,
    Effect.gen(function*() {
      const { databaseUrl } = yield* TestServer
      const service = yield* readyService({ DATABASE_URL: databaseUrl, MIGRATE_ON_START: "false", ...env })
      return { baseUrl: service.baseUrl }
    })
  )

/** Runs HTTP helpers against the second instance instead of the in-process one. */
export const onSecondInstance = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const first = yield* TestServer
    const { baseUrl } = yield* SecondInstance
    return yield* Effect.provideService(effect, TestServer, { ...first, baseUrl })
  })

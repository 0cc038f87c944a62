/**
 * The composition root: validate configuration, then bring up the database (migrated), the
 * services and the HTTP server as one layer graph. Bad configuration exits 78 (EX_CONFIG).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppConfig, loadConfig } from "./infra/Config.js"
import { loggingLayer } from "./infra/Logging.js"
import { AppLive } from "./http/Server.js"

const EX_CONFIG = 78

const program = Effect.gen(function*() {
  const config = yield* loadConfig()
  return yield* Layer.launch(AppLive).pipe(
    Effect.provideService(AppConfig, config),
    Effect.provide(loggingLayer(config))
  )
}).pipe(
  Effect.catchTag("ConfigInvalid", (error) =>
    Effect.sync(() => {
      process.stderr.write(error.diagnostic + "\n")
      process.exit(EX_CONFIG)
    }))
)

// The logger is ours (JSON or pretty, from config): runMain must not add a second one.
NodeRuntime.runMain(program, { disablePrettyLogger: true })

/** The composition root: the whole service as one layer graph, launched until SIGTERM/SIGINT. */
import { Effect, Layer } from "effect"
import { AppLive } from "./App.js"
import { runEntryPoint } from "./Boot.js"
import { AppConfig } from "./infra/platform/Config.js"

/** The first line a boot logs: which runtime and environment this is (Node comes from npm, see README). */
const bootLine = Effect.flatMap(AppConfig, (config) =>
  Effect.logInfo("starting").pipe(
    Effect.annotateLogs({ event: "service.starting", node: process.versions.node, environment: config.env })
  ))

runEntryPoint(Effect.andThen(bootLine, Layer.launch(AppLive)))

/** The composition root: the whole service as one layer graph, launched until SIGTERM/SIGINT. */
import { Effect, Layer } from "effect"
import { AppLive } from "./App.js"
import { runEntryPoint } from "./Boot.js"
import { AppConfig } from "./infra/platform/Config.js"
import { SERVICE_VERSION } from "./infra/platform/Version.js"

/** The first line a boot logs: which build, runtime and environment this is, and where it will listen. */
const bootLine = Effect.flatMap(AppConfig, (config) =>
  Effect.logInfo("starting").pipe(
    Effect.annotateLogs({
      event: "service.starting",
      version: SERVICE_VERSION,
      node: process.versions.node,
      environment: config.env,
      listen: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`
    })
  ))

runEntryPoint(
  {
    command: "npm start (node dist/main.js)",
    summary: "Serves the tasks-api REST API, /rpc, /openapi.json, /docs and /health on HOST:PORT, on DATABASE_URL\n" +
      "or, without it, on an embedded PostgreSQL in DATA_DIR. SIGTERM or SIGINT drains and stops it."
  },
  Effect.andThen(bootLine, Layer.launch(AppLive))
)

/** The composition root: the whole service as one layer graph, launched until SIGTERM/SIGINT. */
import { Effect, Layer } from "effect"
import { AppLive } from "./App.js"
import { runEntryPoint } from "./Boot.js"
import { AppConfig } from "./infra/platform/Config.js"
import { SERVICE_VERSION } from "./infra/platform/Version.js"

/**
 * The first line a boot logs: which build, runtime and environment this is, and where it will listen.
 * Guards switched off for a benchmark (BENCH_GUARDS_OFF) are named in it, as a warning, so that no
 * one reads such a run's logs or figures as the service's.
 */
const bootLine = Effect.flatMap(AppConfig, (config) => {
  const guardsOff = [...config.benchGuardsOff]
  return (guardsOff.length === 0 ? Effect.logInfo("starting") : Effect.logWarning("starting")).pipe(
    Effect.annotateLogs({
      event: "service.starting",
      version: SERVICE_VERSION,
      node: process.versions.node,
      environment: config.env,
      listen: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`,
      ...(guardsOff.length === 0 ? {} : { bench_guards_off: guardsOff.join(",") })
    })
  )
})

runEntryPoint(
  {
    command: "npm start (node dist/main.js)",
    summary: "Serves the tasks-api REST API, /rpc, /openapi.json, /docs and /health on HOST:PORT, on DATABASE_URL\n" +
      "or, without it, on an embedded PostgreSQL in DATA_DIR. SIGTERM or SIGINT drains and stops it."
  },
  Effect.andThen(bootLine, Layer.launch(AppLive))
)

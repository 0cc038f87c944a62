/**
 * Runs an entry point (the service or a command) the same way: configuration first, then the
 * program with our logger; a bad configuration exits 78 (EX_CONFIG) with the one-line JSON
 * diagnostic, a failed boot exits 1 with a diagnostic naming what failed.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { AppConfig, type AppConfigShape, loadConfig } from "./infra/Config.js"
import { loggingLayer } from "./infra/Logging.js"

const EX_CONFIG = 78

const fatal = (event: string, fields: Record<string, unknown>) =>
  Effect.sync(() => {
    process.stderr.write(JSON.stringify({ level: "fatal", event, ...fields }) + "\n")
  })

export const runEntryPoint = <E extends { readonly _tag: string; readonly message: string }>(
  program: Effect.Effect<unknown, E, AppConfig>
) =>
  Effect.gen(function*() {
    const config: AppConfigShape = yield* loadConfig()
    return yield* program.pipe(Effect.provideService(AppConfig, config), Effect.provide(loggingLayer(config)))
  }).pipe(
    Effect.catchAll((error) =>
      error._tag === "ConfigInvalid" && "diagnostic" in error
        ? Effect.zipRight(
          Effect.sync(() => process.stderr.write(`${String(error.diagnostic)}\n`)),
          Effect.sync(() => process.exit(EX_CONFIG))
        )
        : Effect.zipRight(
          fatal("boot_failed", { error: error._tag, message: error.message }),
          Effect.sync(() => process.exit(1))
        )
    ),
    // The logger is ours (JSON or pretty, from config): runMain must not add a second one.
    (effect) => NodeRuntime.runMain(effect, { disablePrettyLogger: true })
  )

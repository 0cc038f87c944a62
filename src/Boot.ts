/**
 * Runs an entry point (the service or a command) the same way: configuration first, then the
 * program with our logger; a bad configuration exits 78 (EX_CONFIG) with the one-line JSON
 * diagnostic, a failed boot exits 1 with a diagnostic naming what failed.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Runtime } from "effect"
import { AppConfig, type AppConfigShape, ConfigInvalid, loadConfig } from "./infra/platform/Config.js"
import { loggingLayer } from "./infra/platform/Logging.js"

const EX_CONFIG = 78

const fatal = (event: string, fields: Record<string, unknown>) =>
  Effect.sync(() => {
    process.stderr.write(JSON.stringify({ level: "fatal", event, ...fields }) + "\n")
  })

/**
 * SIGTERM / SIGINT interrupt the main fiber, which drains and stops: a clean stop exits 0
 * (operations.md), where Effect 4's default teardown answers 130 for an interruption.
 */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/** Some errors (the server's `ServeError`: a port in use, say) carry their reason only in `cause`. */
const causeText = (error: object): string => "cause" in error && error.cause instanceof Error ? error.cause.message : ""

export const runEntryPoint = <E extends { readonly _tag: string; readonly message: string }>(
  program: Effect.Effect<unknown, E, AppConfig>
) =>
  Effect.gen(function*() {
    const config: AppConfigShape = yield* loadConfig()
    return yield* program.pipe(Effect.provideService(AppConfig, config), Effect.provide(loggingLayer(config)))
  }).pipe(
    Effect.catch((error) =>
      error instanceof ConfigInvalid
        ? Effect.andThen(
          Effect.sync(() => process.stderr.write(`${error.diagnostic}\n`)),
          Effect.sync(() => process.exit(EX_CONFIG))
        )
        : Effect.andThen(
          fatal("boot_failed", { error: error._tag, message: error.message || causeText(error) }),
          Effect.sync(() => process.exit(1))
        )
    ),
    // The logger is ours (JSON or pretty, from config), provided above.
    (effect) => NodeRuntime.runMain(effect, { teardown })
  )

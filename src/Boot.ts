/**
 * Runs an entry point (the service or a command) the same way: `--help` first (usage, exit 0, nothing
 * read or touched), then configuration, then the program with our logger; a bad configuration exits 78
 * (EX_CONFIG) with the one-line JSON diagnostic, a failed boot exits 1 with a diagnostic naming what
 * failed, and an unknown argument exits 64 (EX_USAGE) with the usage.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Runtime } from "effect"
import { AppConfig, type AppConfigShape, ConfigInvalid, loadConfig } from "./infra/platform/Config.js"
import { loggingLayer } from "./infra/platform/Logging.js"

const EX_CONFIG = 78
const EX_USAGE = 64

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

/** What `--help` prints: the command, what it does, and where its settings are described. */
export interface Usage {
  readonly command: string
  readonly summary: string
}

const usageText = ({ command, summary }: Usage) =>
  `usage: ${command} [--help]\n\n${summary}\n\n` +
  "Settings come from environment variables or a .env file in the working\n" +
  "directory; every one is listed, with its default, in .env.example and the README.\n"

/** `--help` / `-h` print the usage and exit 0; anything else on the command line is refused. */
const exitOnArguments = (usage: Usage, args: ReadonlyArray<string>) => {
  if (args.length === 0) return
  if (args.every((arg) => arg === "--help" || arg === "-h")) {
    process.stdout.write(usageText(usage))
    process.exit(0)
  }
  process.stderr.write(`unknown argument: ${args.join(" ")}\n\n${usageText(usage)}`)
  process.exit(EX_USAGE)
}

export const runEntryPoint = <E extends { readonly _tag: string; readonly message: string }>(
  usage: Usage,
  program: Effect.Effect<unknown, E, AppConfig>
) => {
  exitOnArguments(usage, process.argv.slice(2))
  return Effect.gen(function*() {
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
}

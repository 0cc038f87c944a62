/** `npm run migrate`: applies pending migrations and exits, for deployments that migrate as a step. */
import { Effect } from "effect"
import { runEntryPoint } from "../Boot.js"
import { DatabaseConnectionLive } from "../infra/platform/Database.js"
import { runMigrations } from "../infra/platform/Migrations.js"

runEntryPoint(
  {
    command: "npm run migrate (node dist/cli/migrate.js)",
    summary: "Applies the pending migrations to DATABASE_URL (or the embedded database) and exits."
  },
  runMigrations.pipe(
    Effect.tap((applied) =>
      Effect.logInfo("migrations complete").pipe(Effect.annotateLogs({ applied: applied.length }))
    ),
    Effect.provide(DatabaseConnectionLive)
  )
)

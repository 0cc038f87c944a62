/** `npm run config:check`: validates the configuration without starting anything; exits 0 or 78. */
import { Effect } from "effect"
import { runEntryPoint } from "../Boot.js"

runEntryPoint(
  {
    command: "npm run config:check (node dist/cli/config-check.js)",
    summary:
      "Validates the configuration without starting anything: exits 0, or 78 with a JSON line listing every problem."
  },
  Effect.sync(() => process.stdout.write(JSON.stringify({ level: "info", event: "config_valid" }) + "\n"))
)

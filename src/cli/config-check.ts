/** `npm run config:check`: validates the configuration without starting anything; exits 0 or 78. */
import { Effect } from "effect"
import { runEntryPoint } from "../Boot.js"

runEntryPoint(Effect.sync(() => process.stdout.write(JSON.stringify({ level: "info", event: "config_valid" }) + "\n")))

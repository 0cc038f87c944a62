/**
 * `npm run lint:openapi [file]`: `redocly lint` with its recommended rules on the API description,
 * test/fixtures/openapi.json (the live document, pinned by test/ops/openapi-contract.test.ts) unless
 * a file is given; exits with redocly's status (non-zero on any error). Without telemetry or an
 * update check: it runs offline.
 */
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const file = process.argv[2] ?? join(root, "test", "fixtures", "openapi.json")
const redocly = join(root, "node_modules", "@redocly", "cli", "bin", "cli.js")

const { status } = spawnSync(process.execPath, [redocly, "lint", "--extends=recommended", file], {
  stdio: "inherit",
  env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" }
})
process.exit(status ?? 1)

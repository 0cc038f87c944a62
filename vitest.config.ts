import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One PostgreSQL server for the whole run; each suite gets a fresh database from a template.
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Suites boot whole services (and bcrypt worker threads): two at a time suits a 2-core machine.
    pool: "forks",
    maxWorkers: 2
  }
})

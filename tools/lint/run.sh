#!/usr/bin/env bash
# `npm run lint [-- --fix]`: installs the linter's own tree on first use (tools/lint/package-lock.json), then lints.
set -euo pipefail
cd "$(dirname "$0")/../.."
lint=tools/lint
if [ ! -f "$lint/node_modules/.package-lock.json" ] || [ "$lint/package-lock.json" -nt "$lint/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$lint" --no-audit --no-fund --silent
fi
exec node "$lint/node_modules/eslint/bin/eslint.js" --config "$lint/eslint.config.mjs" --max-warnings 0 "$@" src test bench tools/build.mjs vitest.config.ts "$lint"

#!/usr/bin/env bash
# npm start: build and package the extension, then open a real VS Code (code-server) with it installed and a
# sample workspace. Prints the URL; Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent package >/dev/null
exec node scripts/start.mjs "$@"

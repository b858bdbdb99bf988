#!/usr/bin/env bash
# npm start: install what is missing (apt packages, npm ci: .ci/setup), build and package the extension, then open
# a real VS Code (code-server, installed into its cache on first use) with it installed and a sample workspace.
# Prints the URL; Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup
echo "building and packaging the extension ..."
npm run --silent package >/dev/null
exec node scripts/start.mjs "$@"

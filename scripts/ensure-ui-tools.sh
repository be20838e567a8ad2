#!/usr/bin/env bash
# Install what the UI end-to-end test needs, when it is missing: nginx and chromium from the distribution,
# Node-RED 4 and FlowFuse Dashboard 2 from npm into the git-ignored .cache/nodered/ (pinned by
# tests/nodered/package.json and package-lock.json). Idempotent: a second run does nothing.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "The UI test needs: ${need[*]} (e.g. sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "Installing ${need[*]} from the distribution's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The nginx package starts a system-wide server on port 80; the tests run their own.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service nginx stop >/dev/null 2>&1 || true; fi
fi

command -v npm >/dev/null 2>&1 || { echo "The UI test needs Node.js 18+ and npm." >&2; exit 1; }
dest="$root/.cache/nodered"
src="$root/tests/nodered"
mkdir -p "$dest"
if ! cmp -s "$src/package-lock.json" "$dest/package-lock.json" || [ ! -x "$dest/node_modules/.bin/node-red" ]; then
  echo "Installing Node-RED and the dashboard into $dest..." >&2
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

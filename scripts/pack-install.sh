#!/usr/bin/env bash
# pack-install.sh DEST: build and pack this checkout (npm pack), then install the tarball with
# production dependencies only into DEST, as a user or the Docker image does. Expects the
# project's Node first on PATH and the dev dependencies installed (for the build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:?usage: pack-install.sh DEST}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
tgz=$(cd "$ROOT" && npm pack --silent --pack-destination "$DEST" | tail -1)
# The install must not try to download ONNX Runtime's CUDA providers from outside npm.
cp "$ROOT/.npmrc" "$DEST/.npmrc"
cd "$DEST"
[ -f package.json ] || echo '{"name":"surgeguard-install","private":true}' >package.json
npm install --omit=dev --no-audit --no-fund --loglevel=error "./$tgz" >&2
rm -f "$tgz"
echo "$DEST/node_modules/.bin/surgeguard"

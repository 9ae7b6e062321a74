#!/usr/bin/env bash
# Build KEDA's operator and metrics adapter from the Go module proxy, once, cached by version, with
# its CRDs beside them. Prints the bin directory (last line of stdout): keda-operator, keda-adapter
# and crds/*.yaml. For the actuator Keda test (test/integration/controller/keda-actuator.test.ts).
#
# github.com/kedacore/keda/v2's go.mod has a replace line, which `go install pkg@version` refuses,
# so the module's source is copied out of the module cache and built in place.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
KV=${KEDA_VERSION:-v2.21.0}
BIN="$SG_CACHE/keda/$KV/bin"
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || die "Go is required to build KEDA (go 1.26 or newer)"
mkdir -p "$BIN/crds"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
t0=$(date +%s)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
DIR=$(cd "$T" && go mod download -json "github.com/kedacore/keda/v2@$KV" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$DIR" ] || die "the Go proxy did not serve github.com/kedacore/keda/v2@$KV"
cp -r "$DIR" "$T/src"; chmod -R u+w "$T/src"
log "building KEDA $KV (operator and metrics adapter; a few minutes the first time)"
( cd "$T/src" && go build -trimpath -ldflags "-s -w -X github.com/kedacore/keda/v2/version.Version=$KV" -o "$T/out/" ./cmd/operator ./cmd/adapter )
mv "$T/out/operator" "$BIN/keda-operator"
mv "$T/out/adapter" "$BIN/keda-adapter"
cp "$T"/src/config/crd/bases/keda.sh_*.yaml "$BIN/crds/"
touch "$BIN/.complete"
log "KEDA $KV built in $(( $(date +%s) - t0 )) s"
echo "$BIN"

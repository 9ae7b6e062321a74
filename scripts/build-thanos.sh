#!/usr/bin/env bash
# Build Thanos (one binary: `thanos sidecar`, `thanos query`, ...) from the Go module proxy, once,
# cached by version. Prints the bin directory (last line of stdout), which holds `thanos`. For the
# Thanos Query test (test/integration/controller/thanos.test.ts): the controller's Prometheus reads
# against a querier in front of sidecars in front of real Prometheus servers.
#
# github.com/thanos-io/thanos's go.mod has replace lines (forks of gomemcache, galaxycache, kingpin,
# ...), which `go install pkg@version` refuses, so the module is downloaded and built in its own
# directory, with its own go.mod and go.sum (-mod=readonly: the published dependency graph, nothing
# resolved anew). v0.42.5 says `go 1.26.10`, newer than the Go on these machines (1.26.8): the go
# command takes the approved go1.27.3 toolchain from the module proxy (GOTOOLCHAIN), for this build only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
TV=${THANOS_VERSION:-v0.42.5}
BIN="$SG_CACHE/thanos/$TV/bin"
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || die "Go is required to build Thanos (go 1.26 or newer)"
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=${THANOS_GOTOOLCHAIN:-go1.27.3}
t0=$(date +%s)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
DIR=$(cd "$T" && go mod download -json "github.com/thanos-io/thanos@$TV" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$DIR/cmd/thanos" ] || die "the Go proxy did not serve github.com/thanos-io/thanos@$TV"
log "building Thanos $TV with $GOTOOLCHAIN (several minutes the first time)"
# The module cache is read-only; the build writes only to the Go build cache and to $T.
# Version info the way Thanos's Makefile sets it (thanos --version, thanos_build_info).
# The tags of Thanos's own release build (.promu.yml). slicelabels is needed, not optional: Thanos
# converts Prometheus's labels to its protobuf labels by casting slices, which only holds for the
# slice form; built with the default (stringlabels) a sidecar panics on its first gRPC answer
# (makeslice: len out of range in extgrpc's codec).
(cd "$DIR" && go build -trimpath -tags netgo,slicelabels -o "$T/thanos" \
  -ldflags "-s -w -X github.com/prometheus/common/version.Version=${TV#v} -X github.com/prometheus/common/version.Branch=release -X github.com/prometheus/common/version.Revision=$TV" \
  ./cmd/thanos)
mv "$T/thanos" "$BIN/thanos"
"$BIN/thanos" --version >&2
touch "$BIN/.complete"
log "Thanos $TV built in $(( $(date +%s) - t0 )) s"
echo "$BIN"

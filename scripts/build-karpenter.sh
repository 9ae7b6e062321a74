#!/usr/bin/env bash
# Build Karpenter's kwok provider (the real Karpenter controllers with a cloud provider that makes
# kwok-managed Nodes instead of cloud instances) from the Go module proxy, once, cached by version,
# with the CRDs it serves beside it. Prints the bin directory (last line of stdout): karpenter-kwok
# and crds/*.yaml (NodePool, NodeClaim, NodeOverlay, KWOKNodeClass). For the capacity test
# (test/integration/controller/karpenter.test.ts).
#
# sigs.k8s.io/karpenter's go.mod has no replace line, so `go install pkg@version` builds it as
# published. v1.15.0 says `go 1.26.9`, newer than the Go on these machines (1.26.8): the go command
# takes the approved go1.27.3 toolchain from the module proxy (GOTOOLCHAIN), for this build only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
KV=${KARPENTER_VERSION:-v1.15.0}
BIN="$SG_CACHE/karpenter/$KV/bin"
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || die "Go is required to build Karpenter (go 1.26 or newer)"
mkdir -p "$BIN/crds"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${KARPENTER_GOTOOLCHAIN:-go1.27.3}
t0=$(date +%s)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
DIR=$(cd "$T" && go mod download -json "sigs.k8s.io/karpenter@$KV" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$DIR/kwok" ] || die "the Go proxy did not serve sigs.k8s.io/karpenter@$KV (or it has no kwok provider)"
log "building Karpenter $KV kwok provider with $GOTOOLCHAIN (a few minutes the first time)"
GOBIN="$T/out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/karpenter/kwok@$KV"
mv "$T/out/kwok" "$BIN/karpenter-kwok"
# The kwok chart's copies: its NodeClaim and NodePool CRDs list KWOKNodeClass as a node class.
cp "$DIR"/kwok/charts/crds/karpenter.sh_*.yaml "$DIR"/kwok/apis/crds/karpenter.kwok.sh_kwoknodeclasses.yaml "$BIN/crds/"
chmod u+w "$BIN"/crds/*.yaml
touch "$BIN/.complete"
log "Karpenter $KV built in $(( $(date +%s) - t0 )) s"
echo "$BIN"

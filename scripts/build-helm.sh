#!/usr/bin/env bash
# Build the helm CLI from the Go module proxy, once, cached by version. Prints the bin directory
# (last line of stdout), which holds `helm`.
#
# helm.sh/helm/v3's go.mod has no replace lines, so `go install pkg@version` works as it is. The
# ldflags are the ones helm's Makefile sets: the version `helm version` reports, and the Kubernetes
# version that `helm template` and `helm lint` assume (taken from the client-go that helm builds
# with), which otherwise default to v1.20 and make lint's deprecation check look at an old release.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
HV=${HELM_VERSION:-v3.22.0}
BIN="$SG_CACHE/helm/$HV/bin"
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || die "Go is required to build helm (go 1.26 or newer)"
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
t0=$(date +%s)

MAJOR=${HV%%.*}                                   # v3 or v4: the module path's major suffix
MOD="helm.sh/helm/$MAJOR"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
MODFILE=$(cd "$T" && go mod download -json "$MOD@$HV" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
[ -f "$MODFILE" ] || die "the Go proxy did not serve $MOD@$HV"
CG=$(sed -n 's#^[[:space:]]*k8s\.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$MODFILE" | head -1)
LDF="-s -w -X $MOD/internal/version.version=$HV -X $MOD/internal/version.gitTreeState=clean"
if [ -n "$CG" ]; then
  for p in pkg/lint/rules pkg/chartutil; do LDF="$LDF -X $MOD/$p.k8sVersionMajor=1 -X $MOD/$p.k8sVersionMinor=$CG"; done
fi
log "building helm $HV (Kubernetes 1.${CG:-?} assumed by template and lint)"
GOBIN="$BIN" go install -trimpath -ldflags "$LDF" "$MOD/cmd/helm@$HV"
"$BIN/helm" version --short >&2

touch "$BIN/.complete"
log "built in $(( $(date +%s) - t0 )) s"
echo "$BIN"

#!/usr/bin/env bash
# Build the Kubernetes test control plane from the Go module proxy, once, cached by version:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes with every
# staging module pinned to the matching v0.x), etcd and kwok. Prints the bin directory.
#
# k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them through replace
# lines that a dependent module ignores, so a scratch module replaces each with its published
# v0.Y.Z tag (kubernetes/kubernetes#79384).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
KV=${KUBE_VERSION:-v1.35.4}
EV=${ETCD_VERSION:-v3.6.16}
WV=${KWOK_VERSION:-v0.8.0}
BIN="$SG_CACHE/k8s/$KV-etcd$EV-kwok$WV/bin"
KUBE_CMDS="kube-apiserver kube-controller-manager kube-scheduler kubectl"
MISSING=$(for c in $KUBE_CMDS; do [ -x "$BIN/$c" ] || echo "$c"; done)
# A cache from before kubectl was built again has .complete but no kubectl: build just that one.
if [ -f "$BIN/.complete" ] && [ -z "$MISSING" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || die "Go is required to build the Kubernetes binaries (go 1.26 or newer)"
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
t0=$(date +%s)

if [ -n "$MISSING" ]; then
  B=$(mktemp -d); trap 'rm -rf "$B"' EXIT
  ( cd "$B"
    go mod init local/sgk8sbin >/dev/null 2>&1
    SV=v0.${KV#v1.}
    MINOR=$(echo "$KV" | cut -d. -f2)
    MODFILE=$(go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
    [ -f "$MODFILE" ] || die "the Go proxy did not serve k8s.io/kubernetes@$KV"
    STAGING=$( { sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$MODFILE"
                 sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) v0\.0\.0\([[:space:]].*\)\{0,1\}$#\1#p' "$MODFILE"; } | sort -u)
    log "k8s $KV: pinning $(echo $STAGING | wc -w) staging modules to $SV"
    for m in $STAGING; do go mod edit -replace="$m=$m@$SV"; done
    go get -tool $(for c in $MISSING; do echo "k8s.io/kubernetes/cmd/$c@$KV"; done) >/dev/null
    LDF="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      LDF="$LDF -X $p.gitVersion=$KV -X $p.gitMajor=1 -X $p.gitMinor=$MINOR -X $p.gitTreeState=clean"
    done
    # kubectl: the tests talk to the API server through @kubernetes/client-node, but a person
    # looking into a failed run wants `kubectl --kubeconfig <run dir>/kubeconfig`; the smoke test runs it.
    log "building $(echo $MISSING)"
    go build -trimpath -ldflags "$LDF" -o "$BIN/" $(for c in $MISSING; do echo "k8s.io/kubernetes/cmd/$c"; done) )
fi

if [ ! -x "$BIN/etcd" ]; then
  E=$(mktemp -d)
  ( cd "$E"; go mod init local/sgetcdbin >/dev/null 2>&1
    log "building etcd $EV"
    go get -tool "go.etcd.io/etcd/server/v3@$EV" >/dev/null
    # the package path ends in /v3, which would name the binary "v3": name it
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 )
  rm -rf "$E"
fi

if [ ! -x "$BIN/kwok" ]; then
  log "building kwok $WV"
  GOBIN="$BIN" go install "sigs.k8s.io/kwok/cmd/kwok@$WV"
  # kwok's stage definitions ship in its module; keep a copy beside the binary
  S="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$WV/kustomize/stage"
  rm -rf "$BIN/../stage"; cp -r "$S" "$BIN/../stage"; chmod -R u+w "$BIN/../stage"
fi

touch "$BIN/.complete"
log "built in $(( $(date +%s) - t0 )) s"
echo "$BIN"

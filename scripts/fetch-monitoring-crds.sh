#!/usr/bin/env bash
# The ServiceMonitor and PrometheusRule CRDs as the Prometheus Operator publishes them, taken
# from its module on the Go module proxy (example/prometheus-operator-crd/), cached by version.
# Prints the folder holding the two YAML files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
V=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
D="$SG_CACHE/monitoring-crds/$V"
if [ ! -f "$D/.complete" ]; then
  command -v go >/dev/null || die "Go is required to fetch the Prometheus Operator CRDs from the module proxy"
  T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
  DIR=$(cd "$T" && GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$V" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -d "$DIR/example/prometheus-operator-crd" ] || die "the module has no example/prometheus-operator-crd folder ($DIR)"
  mkdir -p "$D"
  cp "$DIR/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$DIR/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" "$D/"
  chmod u+w "$D"/*.yaml
  touch "$D/.complete"
fi
echo "$D"

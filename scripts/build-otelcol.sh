#!/usr/bin/env bash
# Build a minimal OpenTelemetry Collector from the Go module proxy, once, cached by version.
# Prints the bin directory (last line of stdout), which holds `otelcol-surgeguard`. For the OTLP
# metrics test (test/integration/agent/otlp-metrics.test.ts), which reads what it received.
#
# The distribution is the smallest one that lets a test see what arrived: the core `otlp`
# receiver and contrib's `file` exporter (OTLP/JSON, one line per request), nothing else. The
# released otelcol-contrib binary is not on a registry, and ocb (the builder) would only write
# the same two Go files, so they are written here. Every collector module is kept at one
# release: otelcol, otlpreceiver and fileexporter at $OTELCOL_VERSION, the v1 core modules at
# whatever that release requires (v0.161.0 goes with v1.67.0); the build fails if the module
# graph mixes releases. v0.161.0 is the newest fileexporter the Go proxy here served whole.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
CV=${OTELCOL_VERSION:-v0.161.0}
BIN="$SG_CACHE/otelcol/$CV/bin"
if [ -f "$BIN/.complete" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || die "Go is required to build the OpenTelemetry Collector (go 1.26 or newer)"
mkdir -p "$BIN"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
t0=$(date +%s)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

cat >"$T/main.go" <<'GO'
// otelcol-surgeguard: an OpenTelemetry Collector with the otlp receiver and the file exporter only.
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

var version = "dev"

func components() (otelcol.Factories, error) {
	// The collector's own logs and metrics (service.telemetry in its config).
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](fileexporter.NewFactory())
	return f, err
}

func main() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-surgeguard", Description: "OpenTelemetry Collector for SurgeGuard's tests (otlp receiver, file exporter)", Version: version},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			// Only the file provider is built in: ${...} in a config would name a file, not a variable.
			ResolverSettings: confmap.ResolverSettings{ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()}, DefaultScheme: "file"},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		log.Fatal(err)
	}
}
GO

log "building the OpenTelemetry Collector $CV (otlp receiver + file exporter; a few minutes the first time)"
(
  cd "$T"
  go mod init surgeguard.local/otelcol >/dev/null 2>&1
  go get "go.opentelemetry.io/collector/otelcol@$CV" "go.opentelemetry.io/collector/receiver/otlpreceiver@$CV" \
    "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter@$CV" >&2
  go mod tidy >&2
  # One release: every go.opentelemetry.io/collector module at $CV or at the v1 line that $CV requires.
  CORE=$(go list -m -f '{{.Version}}' go.opentelemetry.io/collector/component)
  MIXED=$(go list -m -f '{{.Path}} {{.Version}}' all | awk -v cv="$CV" -v core="$CORE" \
    '$1 ~ /^go\.opentelemetry\.io\/collector(\/|$)|^github\.com\/open-telemetry\/opentelemetry-collector-contrib\// && $2 != cv && $2 != core')
  [ -z "$MIXED" ] || die "collector modules from another release than $CV/$CORE: $MIXED"
  go build -trimpath -ldflags "-s -w -X main.version=$CV" -o "$BIN/otelcol-surgeguard" .
)
"$BIN/otelcol-surgeguard" --version >&2
touch "$BIN/.complete"
log "built in $(( $(date +%s) - t0 )) s"
echo "$BIN"

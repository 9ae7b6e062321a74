#!/usr/bin/env bash
# Prometheus, promtool and Alertmanager from Debian's packages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
apt_ensure prometheus prometheus-alertmanager
command -v promtool >/dev/null || die "promtool missing after install"

#!/usr/bin/env bash
# Headless Chromium from Debian's packages, for the demo page's browser test (driven by
# playwright-core, which uses this browser instead of downloading its own). Prints its path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
apt_ensure chromium
command -v chromium >/dev/null || die "chromium missing after install"
command -v chromium

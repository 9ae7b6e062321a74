#!/usr/bin/env bash
# nginx for the tests' authenticating reverse proxy in front of Prometheus (bearer token, basic
# auth, a tenant header, TLS), from Debian. Prints the binary's path. No service is started: the
# tests run their own instance on a free port with a config of their own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_ensure nginx
command -v nginx 2>/dev/null || echo /usr/sbin/nginx

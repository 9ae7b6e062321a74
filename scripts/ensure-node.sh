#!/usr/bin/env bash
# Print the path of a Node.js binary the project can run on (>= 22.19).
# Uses the system node when it is new enough; otherwise installs Node 24 from the
# `node` npm package once into the cache (keyed by major version) and uses that.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
NODE_MAJOR=${SURGEGUARD_NODE_MAJOR:-24}
ok() { # $1: a node binary; true when it is >= 22.19
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}
if [ -n "${SURGEGUARD_NODE:-}" ] && ok "$SURGEGUARD_NODE"; then echo "$SURGEGUARD_NODE"; exit 0; fi
if command -v node >/dev/null && ok "$(command -v node)"; then command -v node; exit 0; fi
D="$SG_CACHE/node/$NODE_MAJOR"
N="$D/node_modules/node/bin/node"
if [ ! -x "$N" ] || ! ok "$N"; then
  command -v npm >/dev/null || apt_ensure npm
  log "system node is older than 22.19: installing node@$NODE_MAJOR from npm into $D"
  mkdir -p "$D"
  npm install --prefix "$D" --no-save --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >&2
  ok "$N" || die "node@$NODE_MAJOR from npm did not produce a working binary at $N"
fi
echo "$N"

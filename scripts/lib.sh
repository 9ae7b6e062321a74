# Shared helpers for the install scripts. Sourced, not run.
# Everything is cached outside the clone, keyed by version, so a fresh clone on
# the same machine reuses what an earlier one built.
SG_CACHE=${SURGEGUARD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/surgeguard}
mkdir -p "$SG_CACHE"
log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# Run apt-get install only for packages that are missing; 'apt-get update' once first.
apt_ensure() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "need Debian packages ${missing[*]} but apt-get is missing"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

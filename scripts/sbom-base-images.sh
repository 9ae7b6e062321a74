#!/usr/bin/env bash
# sbom-base-images.sh [--write]: the Dockerfile's base images (ARG NODE_IMAGE, ARG RUNTIME_IMAGE,
# each `repo:tag@sha256:...`) against what their tags point to on Docker Hub now. Prints one line
# per image: the ARG, the tag, the pinned digest and the current one. --write puts the current
# digests into the Dockerfile (commit it, then build: the image's SBOM names these bases).
#
# Moving to another tag: NODE_IMAGE_TAG=node:24.19.0-bookworm-slim or
# RUNTIME_IMAGE_TAG=debian:bookworm-20261012-slim (use a dated or exact tag, so the tag in the
# Dockerfile still says what the digest is).
#
# It asks the registry's HTTP API (an anonymous pull token from auth.docker.io, then a HEAD of the
# manifest, whose Docker-Content-Digest is the multi-platform index digest that `docker pull
# repo@sha256:...` takes), or `crane digest` when crane is installed. Needs access to Docker Hub.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCKERFILE=${DOCKERFILE:-$ROOT/Dockerfile}
WRITE=0
case "${1:-}" in
  --write) WRITE=1 ;;
  "") ;;
  *) echo "usage: $0 [--write]" >&2; exit 2 ;;
esac

ACCEPT='application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'

# digest REPO:TAG -> sha256:... on stdout
digest() {
  local ref=$1 repo tag token headers
  if command -v crane >/dev/null; then crane digest "$ref"; return; fi
  repo=${ref%%:*}
  tag=${ref#*:}
  [[ $repo == */* ]] || repo="library/$repo"
  # `set -e` does not apply inside a function called from `||`: each step checks for itself.
  token=$(curl -fsS --max-time 20 "https://auth.docker.io/token?service=registry.docker.io&scope=repository:$repo:pull") \
    || { echo "sbom-base-images.sh: cannot get a pull token for $repo from auth.docker.io" >&2; return 1; }
  token=$(printf '%s' "$token" | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p')
  headers=$(curl -fsS --max-time 20 -I -H "Authorization: Bearer $token" -H "Accept: $ACCEPT" "https://registry-1.docker.io/v2/$repo/manifests/$tag") \
    || { echo "sbom-base-images.sh: registry-1.docker.io did not answer for $ref" >&2; return 1; }
  printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p' | grep -E '^sha256:[0-9a-f]{64}$' \
    || { echo "sbom-base-images.sh: no Docker-Content-Digest for $ref" >&2; return 1; }
}

status=0
for arg in NODE_IMAGE RUNTIME_IMAGE; do
  line=$(grep -E "^ARG $arg=" "$DOCKERFILE") || { echo "sbom-base-images.sh: no 'ARG $arg=' in $DOCKERFILE" >&2; exit 1; }
  value=${line#ARG "$arg"=}
  pinned=${value#*@}
  [[ $value == *@sha256:* ]] || pinned="(none)"
  override_var="${arg}_TAG"
  ref=${!override_var:-${value%@*}}
  current=$(digest "$ref") || { status=1; continue; }
  echo "$arg $ref pinned=$pinned current=$current"
  if [ "$WRITE" = 1 ] && [ "$ref@$current" != "$value" ]; then
    sed -i "s|^ARG $arg=.*|ARG $arg=$ref@$current|" "$DOCKERFILE"
    echo "  wrote ARG $arg=$ref@$current" >&2
  fi
done
exit $status

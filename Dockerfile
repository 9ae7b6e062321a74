# syntax=docker/dockerfile:1
# Repeatable builds (same inputs, same contents; layer timestamps still differ):
# - both base images are pinned by digest (a tag moves, a digest does not). The tag in front of
#   each digest is what it was resolved from, for people; Docker uses only the digest. Refresh
#   both with `scripts/sbom-base-images.sh --write` (it asks the registry what the tags point to
#   now) and commit the result; test/unit/deploy/dockerfile.test.ts fails on a FROM without one.
#   A build may override them: --build-arg NODE_IMAGE=... --build-arg RUNTIME_IMAGE=...
# - dependencies come from package-lock.json (`npm ci`, which refuses a lockfile that does not
#   match package.json), never from a fresh resolution of package.json's ranges;
# - the runtime image has node and the application only: no npm, npx, corepack or yarn (a
#   package manager in a production image is attack surface and a second, unpinned installer).
# glibc base (Debian bookworm): ONNX Runtime's prebuilt binaries do not run on musl/Alpine.
ARG NODE_IMAGE=node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
ARG RUNTIME_IMAGE=debian:bookworm-20260824-slim@sha256:88200866dfff7ea7f5cbcb6ec7c8a701889efe6fe859fe64d6990e4b07ea4171

# Build: the dev dependencies compile TypeScript; `npm pack` gives exactly the files a user
# installs (package.json's "files"), which are unpacked as the application.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm pack --silent --pack-destination /tmp \
 && mkdir -p /opt/surgeguard \
 && tar -xzf /tmp/surgeguard-*.tgz -C /opt/surgeguard --strip-components=1 \
 && rm /tmp/surgeguard-*.tgz \
 && bash scripts/sbom.sh /opt/surgeguard/sbom.cdx.json
# Production dependencies from the lockfile (`npm ci --omit=dev`): the versions and integrity
# hashes the repository was tested with. .npmrc keeps onnxruntime-node from downloading CUDA
# providers from outside npm.
WORKDIR /opt/surgeguard
RUN cp /src/package-lock.json /src/.npmrc ./ \
 && npm ci --omit=dev --no-audit --no-fund \
 && rm .npmrc

# Runtime: Debian slim (libstdc++ and libgcc for node and ONNX Runtime), the node binary from the
# same pinned node image, and the application. Nothing from /usr/local/lib/node_modules.
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /opt/surgeguard /opt/surgeguard
# GPU nodes get nvidia-smi from the NVIDIA container runtime (see deploy/), not from the image.
ENV NODE_ENV=production
# Fails the build, not the first pod, when a shared library of node is missing.
RUN ["/usr/local/bin/node", "/opt/surgeguard/dist/cli/surgeguard.js", "version"]
# Numeric, so the kubelet can check runAsNonRoot; the manifests set their own uid as well.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/node", "/opt/surgeguard/dist/cli/surgeguard.js"]
CMD ["--help"]

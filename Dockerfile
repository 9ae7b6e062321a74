# syntax=docker/dockerfile:1
# glibc base (Debian bookworm): ONNX Runtime's prebuilt binaries do not run on musl/Alpine.
# The build stage runs the same script the pack-and-install test runs (scripts/pack-install.sh).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/pack-install.sh /opt/surgeguard

FROM node:24-bookworm-slim
# GPU nodes get nvidia-smi from the NVIDIA container runtime (see deploy/), not from the image.
COPY --from=build /opt/surgeguard /opt/surgeguard
ENV NODE_ENV=production PATH=/opt/surgeguard/node_modules/.bin:$PATH
# The image's built-in unprivileged user (uid 1000).
USER node
ENTRYPOINT ["surgeguard"]
CMD ["--help"]

# Convenience targets; each one goes through the project's own Node (scripts/ensure-node.sh).
.PHONY: test build demo
test:
	bash scripts/test.sh
build:
	PATH="$$(dirname "$$(scripts/ensure-node.sh)"):$$PATH" && scripts/ensure-deps.sh && npm run build

# CycloneDX SBOM of the npm packages the image ships (package-lock.json without dev
# dependencies; offline, about 2 s) into dist/ (ignored by git); `make sbom SBOM=path` writes
# elsewhere. Not part of `test`.
.PHONY: sbom
SBOM ?= dist/sbom.cdx.json
sbom:
	mkdir -p "$$(dirname "$(SBOM)")" && PATH="$$(dirname "$$(scripts/ensure-node.sh)"):$$PATH" && bash scripts/sbom.sh "$(SBOM)"

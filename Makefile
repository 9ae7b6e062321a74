# Convenience targets; each one goes through the project's own Node (scripts/ensure-node.sh).
.PHONY: test build demo
test:
	bash scripts/test.sh
build:
	PATH="$$(dirname "$$(scripts/ensure-node.sh)"):$$PATH" && scripts/ensure-deps.sh && npm run build

#!/usr/bin/env bash
# Runs every test of SurgeGuard on a fresh machine: installs what is missing (Node 24, npm
# packages, Prometheus and Alertmanager, the Kafka broker's jars, the Kubernetes binaries, an
# OpenTelemetry Collector),
# type-checks, lints, builds, then runs the unit and integration tests against real
# components. Prints how long each step took and one closing "N passed, N failed" line.
#   SURGEGUARD_TEST_GROUPS="unit integration"   which test groups to run (default: all)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/lib.sh
STEPS=() TIMES=() RESULTS=() RUN_T0=$(date +%s)
PASSED=0 FAILED=0 SKIPPED=0 TODO=0 FAILED_STEPS=()
FAILURES=$(mktemp) # each failing test's place and the head of its error, for the closing lines

step() { # step NAME COMMAND...: runs and times one step; a failed step fails the run.
  local name=$1; shift
  local t0=$(date +%s.%N)
  printf '\n=== %s\n' "$name"
  "$@"; local rc=$?
  STEPS+=("$name"); TIMES+=("$(echo "$(date +%s.%N) - $t0" | bc)")
  if [ $rc -eq 0 ]; then RESULTS+=(ok); else RESULTS+=("FAILED ($rc)"); FAILED_STEPS+=("$name"); fi
  # Said as each step ends, not only in the closing table: a run cut off by CI's time limit
  # still shows where the time went.
  printf -- '--- %s: %.1f s, %s (%d s since the start)\n' "$name" "${TIMES[-1]}" "${RESULTS[-1]}" $(( $(date +%s) - RUN_T0 ))
  return $rc
}

tests() { # tests GROUP GLOB...: one runner per group (scripts/run-tests.sh); counts go into the closing line.
  local group=$1; shift
  local out; out=$(mktemp)
  SURGEGUARD_FAILURE_HEADS="$FAILURES" scripts/run-tests.sh "$group" "$@" | tee "$out"
  local rc=${PIPESTATUS[0]}
  local p f s t
  read -r p f s t <<<"$(sed -n 's/^'"$group"': \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped, \([0-9]*\) todo$/\1 \2 \3 \4/p' "$out" | tail -1)"
  PASSED=$((PASSED + ${p:-0})); FAILED=$((FAILED + ${f:-0})); SKIPPED=$((SKIPPED + ${s:-0})); TODO=$((TODO + ${t:-0}))
  rm -f "$out"
  # No verdict line at all: the runner itself broke.
  [ -z "${f:-}" ] && FAILED=$((FAILED + 1)) && rc=1
  return $rc
}

ensure_node() { NODE=$(scripts/ensure-node.sh) && export PATH="$(dirname "$NODE"):$PATH" && node --version; }
export KAFKAJS_NO_PARTITIONER_WARNING=1
# kafkajs 2.2.4 passes a negative delay to setTimeout, which Node 24 warns about on every
# connection (tulios/kafkajs#1751); Node treats it as 1 ms, so the warning is noise here.
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--disable-warning=TimeoutNegativeWarning"
GROUPS_WANTED=${SURGEGUARD_TEST_GROUPS:-unit integration}

step "install: node" ensure_node || { echo "cannot get Node >= 22.19"; exit 1; }
step "install: npm packages" scripts/ensure-deps.sh || exit 1
step "install: prometheus + alertmanager" scripts/install-prometheus.sh
step "install: kafka jars" scripts/install-kafka.sh
step "install: kubernetes binaries (go build)" scripts/build-k8s.sh
step "install: helm (go build)" scripts/build-helm.sh
step "install: keda (go build)" scripts/build-keda.sh
# Cold (toolchain go1.27.3 and the module graph fetched): 742 s wall, 208 s user CPU, 0.99 GB peak on the
# 2-core machine under load average 15 (2026-12-06); instant once cached in ~/.cache/surgeguard/karpenter/.
step "install: karpenter (go build)" scripts/build-karpenter.sh
# Cold (empty Go caches, 217 modules fetched): 376 s wall, 144 s CPU, 603 MiB peak on the 2-core
# machine under load average 13 (2026-12-06); instant once cached in ~/.cache/surgeguard/otelcol/.
step "install: otel collector (go build)" scripts/build-otelcol.sh
# Cold (go1.27.3 toolchain cached, the module graph fetched, the Go build cache warm from the other
# builds): 376 s wall, 334 s CPU, 1.18 GiB peak on the 2-core machine under load average 6 to 10
# (2026-12-07, built without the slicelabels tag; the tagged rebuild after it: 359 s wall, 156 s CPU,
# 1.19 GiB); instant once cached in ~/.cache/surgeguard/thanos/.
step "install: thanos (go build)" scripts/build-thanos.sh
step "install: llama-server (cmake build)" scripts/build-llm-server.sh
step "install: prometheus-operator CRDs" scripts/fetch-monitoring-crds.sh
step "install: chromium (browser test)" scripts/install-chromium.sh
step "typecheck" npx tsc -p tsconfig.json
step "lint" npx eslint .
step "build" npm run --silent build
case " $GROUPS_WANTED " in *" unit "*) step "tests: unit" tests unit 'test/unit/**/*.test.ts' ;; esac
case " $GROUPS_WANTED " in *" integration "*) step "tests: integration" tests integration 'test/integration/**/*.test.ts' ;; esac

printf '\n%-40s %10s  %s\n' "step" "seconds" "result"
for i in "${!STEPS[@]}"; do printf '%-40s %10.1f  %s\n' "${STEPS[$i]}" "${TIMES[$i]}" "${RESULTS[$i]}"; done
if [ -s "$FAILURES" ]; then
  printf '\nfailing tests (the head of each error; the whole report is above):\n'
  head -n 40 "$FAILURES"
fi
rm -f "$FAILURES"
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  printf '\nfailed steps: %s\n' "${FAILED_STEPS[*]}"
  [ "$FAILED" -eq 0 ] && FAILED=${#FAILED_STEPS[@]}
fi
printf '\ntests: %d passed, %d failed, %d skipped, %d todo\n' "$PASSED" "$FAILED" "$SKIPPED" "$TODO"
[ ${#FAILED_STEPS[@]} -eq 0 ]

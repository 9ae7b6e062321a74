#!/usr/bin/env bash
# Runs every test of SurgeGuard on a fresh machine: installs what is missing (Node 24, npm
# packages, Prometheus and Alertmanager, the Kafka broker's jars, the Kubernetes binaries),
# type-checks, lints, builds, then runs the unit and integration tests against real
# components. Prints how long each step took and one closing "N passed, N failed" line.
#   SURGEGUARD_TEST_GROUPS="unit integration"   which test groups to run (default: all)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/lib.sh
STEPS=() TIMES=() RESULTS=() RUN_T0=$(date +%s)
PASSED=0 FAILED=0 FAILED_STEPS=()
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

tests() { # tests GROUP GLOB...: one node --test run; counts go into the closing line.
  local group=$1; shift
  local out; out=$(mktemp)
  # --test-force-exit: a test file whose tests and hooks are done exits even if a client it
  # used left a handle open (kafkajs can leave a socket whose request queue re-arms a 1 ms
  # timer, tulios/kafkajs#1751); without it that file hangs until the timeout (it did in CI).
  # test/helpers/blocking-report-pipe.ts makes each test file's result pipe blocking: with
  # --test-force-exit, Node can otherwise drop a file's last results and still exit 0
  # (nodejs/node#64833). lost_verdicts below still checks that every test that began also ended.
  node --import ./test/helpers/blocking-report-pipe.ts --test --test-force-exit --test-reporter=spec --test-global-setup=test/helpers/global-setup.ts \
    --test-timeout="${SURGEGUARD_TEST_TIMEOUT_MS:-300000}" --test-concurrency="${SURGEGUARD_TEST_CONCURRENCY:-2}" \
    "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$out" | tail -1); f=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$out" | tail -1)
  PASSED=$((PASSED + ${p:-0})); FAILED=$((FAILED + ${f:-0}))
  failure_heads "$out" >>"$FAILURES"
  local lost; lost=$(lost_verdicts "$out")
  if [ -n "$lost" ]; then
    printf 'tests that began but whose result never reached the runner (counted as failed):\n%s\n' "$lost" | tee -a "$FAILURES"
    FAILED=$((FAILED + $(printf '%s\n' "$lost" | wc -l))); rc=1
  fi
  rm -f "$out"
  # A runner that died before its summary counts as a failure even with no failing test.
  [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && FAILED=$((FAILED + 1))
  return $rc
}

failure_heads() { # failure_heads SPEC_OUTPUT: the reporter's "failing tests" list, stack traces cut.
  # CI keeps only the end of a long log; the error's first lines there say what broke without
  # a rerun (the run before this existed showed a failing test's name and nothing else).
  awk '/^✖ failing tests:/ { on = 1; next }
       on && /^test at / { n = 0; skip = 0 }
       on && /^ +at / { skip = 1 }
       on && !skip && NF && n++ < 8 { print }' "$1"
}

lost_verdicts() { # lost_verdicts SPEC_OUTPUT: names of tests the reporter saw begin (▶) but not end.
  awk '{ sub(/^[ \t]+/, "") }
       /^▶ / { started[substr($0, length("▶ ") + 1)]++; next }
       /^(✔|✖|﹣) / { line = $0; sub(/^(✔|✖|﹣) /, "", line)
                      if (match(line, / \([0-9.]+ms\)( # [A-Z]+.*)?$/)) ended[substr(line, 1, RSTART - 1)]++ }
       END { for (n in started) if (ended[n] < started[n]) print n }' "$1"
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
printf '\ntests: %d passed, %d failed\n' "$PASSED" "$FAILED"
[ ${#FAILED_STEPS[@]} -eq 0 ]

#!/usr/bin/env bash
# Runs one group of tests with node --test and prints its verdict. Used by scripts/test.sh for
# each group; usable alone (Node >= 22.19 on PATH):
#   scripts/run-tests.sh NAME GLOB...
# Prints the spec report, then each skip, todo and lost result, then one line
#   NAME: P passed, F failed, S skipped, T todo
# Exit status 0 only when nothing failed, no result was lost, and every skip gave a reason.
# SURGEGUARD_TEST_TIMEOUT_MS and SURGEGUARD_TEST_CONCURRENCY tune the runner.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
name=$1; shift
# Taken out of the environment before the tests run: the agent and the controller that tests
# start read every SURGEGUARD_* variable as configuration and reject an unknown key (CI failed
# on exactly this), and a nested run of this script (test/unit/tools) must not append to it.
heads=${SURGEGUARD_FAILURE_HEADS:-}
unset SURGEGUARD_FAILURE_HEADS
out=$(mktemp) verdicts=$(mktemp)
trap 'rm -f "$out" "$verdicts"' EXIT
# --test-force-exit: a test file whose tests and hooks are done exits even if a client it
# used left a handle open (kafkajs can leave a socket whose request queue re-arms a 1 ms
# timer, tulios/kafkajs#1751); without it that file hangs until the timeout (it did in CI).
# test/helpers/blocking-report-pipe.ts makes each test file's result pipe blocking: with
# --test-force-exit, Node can otherwise drop a file's last results and still exit 0
# (nodejs/node#64833). The verdict reporter still checks that every test that began also ended,
# with or without subtests (the spec output shows a "began" line only for tests with subtests).
node --import ./test/helpers/blocking-report-pipe.ts --test --test-force-exit \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./test/helpers/verdict-reporter.ts --test-reporter-destination="$verdicts" \
  --test-global-setup=test/helpers/global-setup.ts \
  --test-timeout="${SURGEGUARD_TEST_TIMEOUT_MS:-300000}" --test-concurrency="${SURGEGUARD_TEST_CONCURRENCY:-2}" \
  "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
summary=$(node test/helpers/verdict-summary.ts "$verdicts")
printf '%s\n' "$summary" | grep -v '^counts ' | tee -a "$out"
read -r _ pass fail skipped todo lost unexplained <<<"$(printf '%s\n' "$summary" | grep '^counts ')"
fail=$((fail + lost + unexplained))
# A runner that exits non-zero with no failing test (it died before its summary, or the global
# teardown threw after every test passed) counts as a failure, and says so: its cause is above.
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
  fail=1
  printf 'runner exited with status %d though no test failed (counted as failed); look above for its cause, e.g. "test run teardown failed"\n' "$rc" | tee -a "$out"
fi
if [ "$fail" -gt 0 ] && [ "$rc" -eq 0 ]; then rc=1; fi
# The reporter's "failing tests" list with stack traces cut, for test.sh's closing lines.
if [ -n "$heads" ]; then
  # A todo test that fails is listed there too (marked ⚠); it is not a failure, so it is left out.
  awk '/^✖ failing tests:/ { on = 1; next }
       on && /^test at / { n = 0; skip = 0; todo = 0; at = $0; next }
       on && at != "" && /^⚠/ { todo = 1 }
       on && at != "" { if (!todo) print at; at = "" }
       on && /^ +at / { skip = 1 }
       on && !skip && !todo && NF && n++ < 8 { print }' "$out" >>"$heads"
  grep -E '^(began but|skipped: .*NO REASON|runner exited|test run teardown failed)' "$out" >>"$heads"
fi
printf '%s: %d passed, %d failed, %d skipped, %d todo\n' "$name" "$pass" "$fail" "$skipped" "$todo"
exit "$rc"

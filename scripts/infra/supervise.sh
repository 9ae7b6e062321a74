#!/usr/bin/env bash
# supervise.sh OWNER_PID PIDFILE LOGFILE -- COMMAND...
# Runs COMMAND in the background, writes its PID to PIDFILE, and stops it (TERM, then KILL
# after 10 s) as soon as OWNER_PID is gone, so components started for a test run never
# outlive it, even when the run is interrupted with Ctrl-C or killed. Once COMMAND is gone the
# PIDFILE becomes PIDFILE.exited, so a teardown never signals a PID the kernel has reused since.
set -u
owner=$1 pidfile=$2 logfile=$3; shift 3; [ "${1:-}" = "--" ] && shift
"$@" >>"$logfile" 2>&1 &
child=$!
echo "$child" >"$pidfile"
while kill -0 "$owner" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
if kill -0 "$child" 2>/dev/null; then
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq 1 20); do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$child" 2>/dev/null && kill -KILL "$child" 2>/dev/null
fi
wait "$child" 2>/dev/null
mv -f "$pidfile" "$pidfile.exited" 2>/dev/null
exit 0

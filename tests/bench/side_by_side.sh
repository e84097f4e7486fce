#!/usr/bin/env bash
# side_by_side.sh [ROUNDS]: issue 11's table in one run on this machine.
# Starts the fast fake upstream (peer/fake.mjs), the peer gateway (copilot-api
# 0.7.0 from npm on Node), our gateway as `copilot-api start` from this
# checkout's build/, and, when $COPILOT_API_REFSEED names the refseed kit with
# its set-up done, the reference (Bun) as a fifth column; FLOOR is the same
# lighttpd configuration in front of a pass-through FastCGI responder on our
# libraries (floor_fcgi.c, start-floor.sh): what the deployment costs before
# any gateway work.  Then it runs
# peer/bench.sh over them in interleaved rounds and prints the tables, the
# CPU ratios and the first byte each gateway adds over DIRECT.
# Scratch (installs, pidfiles, results) lives under $BENCH_ROOT
# (default ~/.cache/bench-peer); everything binds 127.0.0.1.
# Then the many-streams load (peer/streams.mjs): STREAMS_C (256) clients of
# 64-delta streams 20 ms apart for STREAMS_SECS (60) per target, with the
# target's PSS at the peak and STREAMS_IDLE_SECS (60) after.
# Env: BENCH_ROUNDS / $1 (2), DURATION (10 s per load), the rest as peer/bench.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PROJ=$(cd "$HERE/../.." && pwd)
K=$HERE/peer
. "$K/lib.sh"
ROUNDS=${1:-${BENCH_ROUNDS:-2}}
S=$STATE_DIR
REF_PORT=${REF_PORT:-18341}
cleanup() {
  "$K/stop.sh" >/dev/null 2>&1 || true
  stop_pidfile "$S/ours.pid" 2>/dev/null || true
  stop_pidfile "$S/floor.pid" 2>/dev/null || true
  [ -z "${REF_STARTED:-}" ] || "$COPILOT_API_REFSEED/stop.sh" "$REF_PORT" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$K/start-fake.sh" >/dev/null
"$K/start-peer.sh" >/dev/null
"$K/start-ours.sh" "$PROJ" >/dev/null
"$PROJ/tests/bench/start-floor.sh" "$PROJ" >/dev/null
targets=("DIRECT=http://127.0.0.1:$FAKE_PORT=$S/fake.pid"
         "FLOOR=http://127.0.0.1:${FLOOR_PORT:-18441}=$S/floor.pid"
         "PEER=http://127.0.0.1:$PEER_PORT=$S/peer.pid"
         "OURS=http://127.0.0.1:${OURS_PORT:-18241}=$S/ours.pid")
if [ -n "${COPILOT_API_REFSEED:-}" ] && [ -x "$COPILOT_API_REFSEED/start.sh" ]; then
  if REFSEED_API_KEY=${BENCH_API_KEY:-bench-key} "$COPILOT_API_REFSEED/start.sh" \
      "http://127.0.0.1:$FAKE_PORT" "$REF_PORT" >/dev/null 2>"$S/ref-start.log"; then
    REF_STARTED=1
    rstate=${REFSEED_STATE:-${REFSEED_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/refseed}/state}
    targets+=("REF=http://127.0.0.1:$REF_PORT=$rstate/ref-$REF_PORT.pid")
  else
    log "the reference did not start (see $S/ref-start.log); three columns only"
  fi
fi
"$K/run-rounds.sh" "$ROUNDS" "${targets[@]}"

# ---- many streams at once --------------------------------------------------
pss_mb() {   # PSS in MB of the pids in $1 and their descendants
  local todo p kids t=0 v
  todo=$(cat "$1" 2>/dev/null)
  while [ -n "$todo" ]; do
    set -- $todo; todo=
    for p; do
      [ -d /proc/$p ] || continue
      v=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null); t=$((t + ${v:-0}))
      kids=$(cat /proc/$p/task/*/children 2>/dev/null); todo="$todo $kids"
    done
    todo=$(echo $todo)
  done
  echo "scale=1; $t/1024" | bc
}
C=${STREAMS_C:-256}; SECS=${STREAMS_SECS:-60}; IDLE=${STREAMS_IDLE_SECS:-60}
echo
echo "### $C concurrent streams (64 deltas, 20 ms apart) for $SECS s"
echo
echo "| target | streams ok | broken | first byte p50 ms | p99 ms | total p50 ms | PSS MB before | at the peak | ${IDLE} s after |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  label=${t%%=*}; rest=${t#*=}; url=${rest%%=*}; pf=${rest#*=}
  before=$(pss_mb "$pf")
  node "$K/streams.mjs" "$url" "$C" "$SECS" 64 20 >"$S/streams-$label.json" &
  probe=$!
  sleep $((SECS / 2)); peak=$(pss_mb "$pf")
  wait $probe
  sleep "$IDLE"; after=$(pss_mb "$pf")
  jq -r --arg l "$label" --arg b "$before" --arg p "$peak" --arg a "$after" \
    '"| \($l) | \(.streams_ok) | \(.streams_broken) | \(.first_byte_ms.p50) | \(.first_byte_ms.p99) | \(.total_ms.p50) | \($b) | \($p) | \($a) |"' \
    "$S/streams-$label.json"
done

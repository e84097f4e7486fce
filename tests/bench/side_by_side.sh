#!/usr/bin/env bash
# side_by_side.sh [ROUNDS]: issue 11's table in one run on this machine.
# Starts the fast fake upstream (peer/fake.mjs), the peer gateway (copilot-api
# 0.7.0 from npm on Node), our gateway as `copilot-api start` from this
# checkout's build/, and, when $COPILOT_API_REFSEED names the refseed kit with
# its set-up done, the reference (Bun) as a fourth column; then runs
# peer/bench.sh over them in interleaved rounds and prints the tables, the
# CPU ratios and the first byte each gateway adds over DIRECT.
# Scratch (installs, pidfiles, results) lives under $BENCH_ROOT
# (default ~/.cache/bench-peer); everything binds 127.0.0.1.
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
  [ -z "${REF_STARTED:-}" ] || "$COPILOT_API_REFSEED/stop.sh" "$REF_PORT" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$K/start-fake.sh" >/dev/null
"$K/start-peer.sh" >/dev/null
"$K/start-ours.sh" "$PROJ" >/dev/null
targets=("DIRECT=http://127.0.0.1:$FAKE_PORT=$S/fake.pid"
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

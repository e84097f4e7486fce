#!/usr/bin/env bash
# start-floor.sh PROJECT_DIR [PORT]: the FLOOR column of `make bench`: lighttpd
# with the configuration `copilot-api start` writes (the same fastcgi.server
# and stream settings) in front of build/bench/floor_fcgi (floor_fcgi.c: a
# pass-through FastCGI responder, no translation) under spawn-fcgi, against
# the fake on $FAKE_PORT.  Pidfile $STATE_DIR/floor.pid holds lighttpd and
# the responder.  Env: FLOOR_PORT (18441), FLOOR_THREADS (256: one per stream of the streams phase).
set -euo pipefail
. "$(dirname "$0")/peer/lib.sh"
PROJ=$(cd "${1:?usage: start-floor.sh PROJECT_DIR [PORT]}" && pwd)
PORT=${2:-${FLOOR_PORT:-18441}}
BIN=$PROJ/build/bench/floor_fcgi
[ -x "$BIN" ] || die "no $BIN: make build/bench/floor_fcgi first"
PIDFILE=$STATE_DIR/floor.pid
stop_pidfile "$PIDFILE"
D=$STATE_DIR/floor-run
rm -rf "$D"; mkdir -p "$D/docroot"
# The lines of src/cli/launch.c's write_lighttpd_conf, with this socket and port.
cat >"$D/lighttpd.conf" <<CONF
server.modules += ( "mod_fastcgi" )
server.document-root = "$D/docroot"
server.bind = "127.0.0.1"
server.port = $PORT
server.stream-response-body = 2
server.max-request-size = 0
server.tag = "copilot-api"
fastcgi.server = ( "/" => (( "socket" => "$D/fcgi.sock", "check-local" => "disable", "tcp-fin-propagate" => "enable" )) )
CONF
FLOOR_UPSTREAM=http://127.0.0.1:$FAKE_PORT FLOOR_THREADS=${FLOOR_THREADS:-256} \
  spawn-fcgi -n -s "$D/fcgi.sock" -M 0600 -- "$BIN" >"$D/responder.log" 2>&1 </dev/null &
echo $! >"$PIDFILE"
for i in $(seq 50); do [ -S "$D/fcgi.sock" ] && break; sleep 0.1; done
lighttpd -D -f "$D/lighttpd.conf" >"$D/lighttpd.log" 2>&1 </dev/null &
echo $! >>"$PIDFILE"
wait_http "http://127.0.0.1:$PORT/" 100 || die "floor did not come up; see $D"
log "floor pids $(tr '\n' ' ' <"$PIDFILE") on http://127.0.0.1:$PORT"
echo "$PORT"

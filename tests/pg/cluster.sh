#!/bin/sh
# tests/pg/cluster.sh: a private PostgreSQL cluster for the tests (issue 15),
# from Debian's postgresql package, on 127.0.0.1 only.
#
#   cluster.sh start DIR PORT [OWNER_PID]  initdb DIR/data once (a role "gw"
#                  with a random password, scram on TCP), start it on
#                  127.0.0.1:PORT with its socket in DIR, wait until ready.
#                  With OWNER_PID, a watcher stops the cluster once that
#                  process is gone, so a killed test leaves no postgres
#                  (and removes DIR when it holds a remove-when-stopped).
#   cluster.sh stop DIR                    stop it (fast, then by signal)
#   cluster.sh url DIR PORT                print its postgresql:// URL
#   cluster.sh run CMD [ARG...]            a cluster in a new temp dir on a
#                  free port for CMD alone: exports GW_TEST_PG_URL,
#                  GW_TEST_PG_DIR, GW_TEST_PG_PORT, runs CMD, stops and
#                  removes the cluster whatever happens; without the server
#                  binaries it says so loudly and runs CMD without them.
#
# PostgreSQL refuses to run as root: as root, initdb and the server run as
# the postgres user (DIR is given to it).  Speed over durability: fsync off,
# small shared_buffers; this cluster holds nothing worth keeping.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "cluster.sh: $*" >&2; exit 1; }

# The server's bin directory: PG_BINDIR, else the newest Debian one, else PATH.
bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		[ -x "$PG_BINDIR/initdb" ] || return 1
		echo "$PG_BINDIR"; return 0
	fi
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
	p=$(command -v initdb 2>/dev/null) || return 1
	dirname "$p"
}

# Runs a server program as the postgres user when we are root (from /: our
# working directory may be closed to that user).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# A port the kernel gives; without python3 (a package build) a random one
# (cmd_run tries again when it is taken).
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
	else
		echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
	fi
}

cmd_url() {
	dir=$1 port=$2
	[ -r "$dir/password" ] || die "no cluster in $dir (no password file)"
	printf 'postgresql://gw:%s@127.0.0.1:%s/postgres\n' "$(cat "$dir/password")" "$port"
}

init_cluster() {
	dir=$1 bin=$2
	# hex: safe in a URL without escaping
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$dir/password"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres "$dir"
	fi
	chmod 0700 "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -U gw --pwfile="$dir/password" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
		--locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	cat >>"$dir/data/postgresql.conf" <<EOF
# tests/pg/cluster.sh: a throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
logging_collector = off
log_min_messages = warning
EOF
}

cmd_start() {
	dir=$1 port=$2 owner=${3:-}
	bin=$(bindir) || die "the PostgreSQL server is not installed (apt-get install postgresql)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ -f "$dir/data/PG_VERSION" ] || init_cluster "$dir" "$bin"
	[ "$(id -u)" -ne 0 ] || chown postgres "$dir"
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-p $port" start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; die "pg_ctl start on port $port failed"; }
	as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 10 ||
		die "the server on port $port is not ready"
	if [ -n "$owner" ]; then
		# detached, its output nowhere: a pipe held open would keep a
		# caller's reader waiting
		nohup sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
			sh "$3" stop "$2"
			[ ! -f "$2/remove-when-stopped" ] || rm -rf "$2"' watch "$owner" "$dir" "$HERE/cluster.sh" \
			</dev/null >/dev/null 2>&1 &
	fi
}

cmd_stop() {
	dir=$1
	[ -f "$dir/data/postmaster.pid" ] || return 0
	bin=$(bindir) || die "the PostgreSQL server is not installed"
	as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 10 stop >/dev/null 2>&1 && return 0
	pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null || true
		# the postmaster's children leave when it does
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
	fi
	rm -f "$dir/data/postmaster.pid"
}

cmd_run() {
	if ! bindir >/dev/null; then
		echo "############################################################"
		echo "# SKIPPED: the PostgreSQL tests: no PostgreSQL server here"
		echo "# (apt-get install postgresql); $* runs without GW_TEST_PG_URL"
		echo "############################################################"
		"$@"
		return $?
	fi
	dir=$(mktemp -d -t gw-pg.XXXXXX)
	if [ "$(id -u)" -eq 0 ]; then
		# the server's user must reach it: not so under a private TMPDIR
		chown postgres "$dir"
		if ! as_pg test -w "$dir"; then
			rmdir "$dir"
			dir=$(TMPDIR= mktemp -d -t gw-pg.XXXXXX)   # the system one
		fi
	fi
	: >"$dir/remove-when-stopped"    # by the watcher, if we are killed
	trap 'cmd_stop "$dir"; rm -rf "$dir"' EXIT
	trap 'exit 1' INT TERM HUP
	tries=0
	while :; do
		port=$(free_port)
		# the port may be taken between the pick and the bind: try again
		if (cmd_start "$dir" "$port" $$) 2>"$dir/start.err"; then break; fi
		tries=$((tries + 1))
		[ $tries -lt 5 ] || { cat "$dir/start.err" >&2; die "could not start a cluster"; }
	done
	GW_TEST_PG_URL=$(cmd_url "$dir" "$port")
	GW_TEST_PG_DIR=$dir
	GW_TEST_PG_PORT=$port
	export GW_TEST_PG_URL GW_TEST_PG_DIR GW_TEST_PG_PORT
	rc=0
	"$@" || rc=$?
	return $rc
}

[ $# -ge 1 ] || die "usage: cluster.sh start DIR PORT [OWNER_PID] | stop DIR | url DIR PORT | run CMD..."
op=$1; shift
case "$op" in
start) [ $# -ge 2 ] || die "usage: cluster.sh start DIR PORT [OWNER_PID]"; cmd_start "$@" ;;
stop) [ $# -eq 1 ] || die "usage: cluster.sh stop DIR"; cmd_stop "$1" ;;
url) [ $# -eq 2 ] || die "usage: cluster.sh url DIR PORT"; cmd_url "$1" "$2" ;;
run) [ $# -ge 1 ] || die "usage: cluster.sh run CMD [ARG...]"; cmd_run "$@" ;;
*) die "unknown command: $op" ;;
esac

# tests/deb/lib.sh: shared by smoke.sh and upgrade.sh (sourced, POSIX sh).
# The installed package's pieces run the way an admin runs them: the
# responder under copilot-api.service's own command line, lighttpd with the
# installed snippet, the fake upstream (tests/fake) in place of GitHub.
# Needs ROOT (the source tree), WORK (a scratch directory, mode 0755) and
# PORT (loopback port for lighttpd).

FAKE_PID= FCGI_PID= LIGHTTPD_PID=
UNIT=/lib/systemd/system/copilot-api.service

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Root check, the scratch directory WORK (removed at exit unless KEEP=yes),
# the traps.  $1: the script's name, $2: the scratch directory's prefix.
deb_begin() {
	[ "$(id -u)" -eq 0 ] || { echo "$1: run as root (it installs a package)" >&2; exit 2; }
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX")
	chmod 0755 "$WORK"
	trap 'deb_cleanup; [ "$KEEP" = yes ] || rm -rf "$WORK"' EXIT
	trap 'exit 1' INT TERM
	export DEBIAN_FRONTEND=noninteractive
	VERSION=$(deb_version "$ROOT")
	[ -n "$VERSION" ] || fail "no version in $ROOT/debian/changelog"
}

deb_cleanup() {
	for p in $LIGHTTPD_PID $FCGI_PID $FAKE_PID; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}

# The version of the tree: debian/changelog's first line.
deb_version() {
	sed -n '1s/^copilot-api (\([^)]*\)).*/\1/p' "$1/debian/changelog"
}

# Copies the tree at $1 (its tracked and new files, or `git archive` of
# commit $3 when given) to $2.
deb_copy_tree() {
	mkdir -p "$2"
	if [ -n "${3:-}" ]; then
		(cd "$1" && git archive "$3") | tar -xf - -C "$2"
	else
		(cd "$1" && git ls-files -co --exclude-standard -z |
			tar --null -T - -cf -) | tar -xf - -C "$2"
	fi
}

# Builds the binary package in $1 (log in $2); the .deb lands in $1/..
deb_build() {
	(cd "$1" && apt-get build-dep -y -q ./ >"$2" 2>&1) ||
		{ tail -20 "$2"; fail "apt-get build-dep in $1"; }
	(cd "$1" && dpkg-buildpackage -us -uc -b >>"$2" 2>&1) ||
		{ tail -40 "$2"; fail "dpkg-buildpackage in $1"; }
}

deb_install() {
	dpkg -i "$1" || apt-get -f install -y -q
	dpkg-query -W -f='${Status}\n' copilot-api | grep -q 'install ok installed' ||
		fail "copilot-api is not installed"
}

start_fake() {
	python3 "$ROOT/tests/fake/fake_upstream.py" --port 0 --portfile "$WORK/fake.port" \
		>"$WORK/fake.log" 2>&1 &
	FAKE_PID=$!
	i=0
	while [ ! -s "$WORK/fake.port" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "fake upstream did not start"; sleep 0.1
	done
	FAKE=http://127.0.0.1:$(cat "$WORK/fake.port")
}

# config.json pointing at the fake, written as the admin would: owned by
# the service's user, 0600; then the sign-in, as that user, without
# COPILOT_API_HOME (the programs find /var/lib/copilot-api themselves).
configure_and_sign_in() {
	umask 077
	cat >"$WORK/config.json" <<JSON
{ "upstream": { "githubUrl": "$FAKE", "githubApiUrl": "$FAKE",
                "copilotApiUrl": "$FAKE", "anthropicApiUrl": "$FAKE" } }
JSON
	umask 022
	install -o copilot-api -g www-data -m 0600 "$WORK/config.json" \
		/var/lib/copilot-api/config.json
	runuser -u copilot-api -- copilot-api auth login --github-token gho_deb_smoke ||
		fail "auth login as copilot-api"
	[ -f /var/lib/copilot-api/copilot-api.db ] || fail "no database in /var/lib/copilot-api"
}

unit_value() { sed -n "s/^$1=//p" "$UNIT"; }

# The responder under the installed unit: systemctl when systemd runs the
# machine, else by hand with what the unit says (RuntimeDirectory, User,
# Group, Environment, ExecStart); then lighttpd with the installed snippet.
serve() {
	USER_=$(unit_value User); GROUP_=$(unit_value Group)
	EXEC=$(unit_value ExecStart)
	ENVS=$(unit_value Environment | tr '\n' ' ')
	if [ -d /run/systemd/system ]; then
		systemctl restart copilot-api.service
	else
		install -d -o "$USER_" -g "$GROUP_" -m "$(unit_value RuntimeDirectoryMode)" \
			/run/"$(unit_value RuntimeDirectory)"
		# shellcheck disable=SC2086 # the unit's words, split as systemd does
		setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups \
			env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $ENVS $EXEC \
			>>"$WORK/fcgi.log" 2>&1 &
		FCGI_PID=$!
	fi
	SOCK=$(echo "$EXEC" | sed -n 's/.* -s \([^ ]*\) .*/\1/p')
	# spawn-fcgi creates the socket, then sets its owner and mode.
	i=0
	until [ -S "$SOCK" ] &&
	    [ "$(stat -c '%U:%G %a' "$SOCK")" = "$USER_:$GROUP_ 660" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$WORK/fcgi.log" 2>/dev/null
			fail "no socket $SOCK owned by $USER_:$GROUP_, mode 660"; }
		sleep 0.1
	done

	mkdir -p "$WORK/docroot"
	cat >"$WORK/lighttpd.conf" <<CONF
server.document-root = "$WORK/docroot"
server.bind = "127.0.0.1"
server.port = $PORT
server.username = "www-data"
server.groupname = "www-data"
include "/etc/lighttpd/conf-available/50-copilot-api.conf"
CONF
	lighttpd -tt -f "$WORK/lighttpd.conf" || fail "lighttpd rejects the snippet"
	lighttpd -D -f "$WORK/lighttpd.conf" 2>>"$WORK/lighttpd.err" &
	LIGHTTPD_PID=$!
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$WORK/lighttpd.err"; fail "lighttpd did not start"; }
		sleep 0.1
	done
}

# GET /v1/models through lighttpd: 200 and the fake's model list.
check_models() {
	code=$(curl -s -o "$WORK/models.json" -w '%{http_code}' \
		"http://127.0.0.1:$PORT/v1/models")
	[ "$code" = 200 ] || { cat "$WORK/models.json"; fail "/v1/models answered $code"; }
	python3 - "$WORK/models.json" <<'PY' || fail "/v1/models: not a model list"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["object"] == "list" and m["data"], m
print("models:", ", ".join(x["id"] for x in m["data"]))
PY
}

# POST /v1/chat/completions through lighttpd: 200 with a choice (a
# relayed request, so the responder records one usage row).
check_chat() {
	code=$(curl -s -o "$WORK/chat.json" -w '%{http_code}' \
		-H 'Content-Type: application/json' \
		-d '{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}' \
		"http://127.0.0.1:$PORT/v1/chat/completions")
	[ "$code" = 200 ] || { cat "$WORK/chat.json"; fail "/v1/chat/completions answered $code"; }
	python3 - "$WORK/chat.json" <<'PY' || fail "/v1/chat/completions: no choice"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["choices"][0]["message"], m
PY
}

stop_serving() {
	kill "$LIGHTTPD_PID"; wait "$LIGHTTPD_PID" || true; LIGHTTPD_PID=
	if [ -n "$FCGI_PID" ]; then
		kill "$FCGI_PID"
		wait "$FCGI_PID" || fail "the responder did not exit 0 on SIGTERM"
		FCGI_PID=
		rm -rf /run/copilot-api
	else
		systemctl stop copilot-api.service
	fi
}

# The schema version of the installed database (PRAGMA user_version).
db_schema() {
	python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("PRAGMA user_version").fetchone()[0])' \
		/var/lib/copilot-api/copilot-api.db
}

# Purge, then nothing of the package may be left but what policy keeps:
# man-db's page cache (/var/cache/man, man-db's own to expire), nothing else.
purge_and_check() {
	dpkg --purge copilot-api
	! getent passwd copilot-api >/dev/null || fail "purge left the user"
	! getent group copilot-api >/dev/null || fail "purge left the group"
	left=$(find /etc /usr /lib /var /run \( -path /var/tmp -o -path /var/cache/apt -o -path /var/cache/man \) -prune -o \
		\( -name '*copilot-api*' -o -name '*copilot-refresh*' \) -print 2>/dev/null |
		grep -v -e "^$ROOT" -e "^$WORK" || true)
	[ -z "$left" ] || { echo "$left"; fail "purge left files behind"; }
}

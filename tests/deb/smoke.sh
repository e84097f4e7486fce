#!/bin/sh
# tests/deb/smoke.sh: build the Debian package from a clean copy of the
# tree, check it with lintian, install it, smoke-test the installed files
# (versions, man pages, the responder under the installed unit's command
# line behind the installed lighttpd snippet, against the fake upstream),
# remove it (data kept), purge it (nothing left).  Root only: it installs
# packages and creates a system user.  .ci/run calls it after `make check`.
#
#   tests/deb/smoke.sh [--deb FILE] [--keep-work]
#
# --deb FILE   test this .deb instead of building one
# SMOKE_PORT   the loopback port lighttpd listens on (default 34141)
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${SMOKE_PORT:-34141}
DEB=
KEEP=no
while [ $# -gt 0 ]; do
	case "$1" in
	--deb) DEB=$2; shift ;;
	--keep-work) KEEP=yes ;;
	*) echo "usage: $0 [--deb FILE] [--keep-work]" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "smoke.sh: run as root (it installs a package)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/copilot-api-deb.XXXXXX")
chmod 0755 "$WORK"
FAKE_PID= FCGI_PID= LIGHTTPD_PID=
cleanup() {
	for p in $LIGHTTPD_PID $FCGI_PID $FAKE_PID; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ "$KEEP" = yes ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
VERSION=$(sed -n '1s/^copilot-api (\([^)]*\)).*/\1/p' "$ROOT/debian/changelog")
[ -n "$VERSION" ] || fail "no version in debian/changelog"

if [ -z "$DEB" ]; then
	step "build copilot-api $VERSION from a clean copy of the tree"
	mkdir "$WORK/src"
	(cd "$ROOT" && git ls-files -co --exclude-standard -z |
		tar --null -T - -cf -) | tar -xf - -C "$WORK/src"
	(cd "$WORK/src" && apt-get build-dep -y -q ./ >"$WORK/build-dep.log" 2>&1) ||
		{ tail -20 "$WORK/build-dep.log"; fail "apt-get build-dep"; }
	(cd "$WORK/src" && dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1) ||
		{ tail -40 "$WORK/build.log"; fail "dpkg-buildpackage"; }
	DEB=$(ls "$WORK"/copilot-api_"$VERSION"_*.deb)
fi
echo "package: $DEB"

step "lintian"
command -v lintian >/dev/null || apt-get install -y -q --no-install-recommends lintian >/dev/null
lintian --fail-on error,warning "$DEB" || fail "lintian"

step "install (dpkg -i, then apt-get -f install)"
dpkg -i "$DEB" || apt-get -f install -y -q
dpkg-query -W -f='${Status}\n' copilot-api | grep -q 'install ok installed' ||
	fail "copilot-api is not installed"

step "versions"
for p in /usr/bin/copilot-api /usr/bin/copilot-refresh \
    /usr/libexec/copilot-api/copilot-api.fcgi; do
	out=$("$p" --version)
	echo "$out"
	[ "$out" = "${p##*/} $VERSION" ] || fail "$p --version: '$out', want '${p##*/} $VERSION'"
done

step "man pages"
for m in man1/copilot-api.1 man8/copilot-refresh.8 man8/copilot-api.fcgi.8 \
    man5/copilot-api.json.5; do
	f=/usr/share/man/$m.gz
	[ -f "$f" ] || fail "missing $f"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" >"$WORK/man.out" 2>"$WORK/man.err" ||
		fail "man -l $f"
	[ ! -s "$WORK/man.err" ] || { cat "$WORK/man.err"; fail "man -l $f warns"; }
	grep -q '^NAME' "$WORK/man.out" || fail "man -l $f: no NAME section"
	echo "$m: $(wc -l <"$WORK/man.out") lines"
done

step "user, data directory, snippets"
getent passwd copilot-api >/dev/null || fail "no user copilot-api"
[ "$(stat -c '%U:%G %a' /var/lib/copilot-api)" = "copilot-api:www-data 750" ] ||
	fail "/var/lib/copilot-api is $(stat -c '%U:%G %a' /var/lib/copilot-api)"
for f in /etc/lighttpd/conf-available/50-copilot-api.conf \
    /etc/apache2/conf-available/copilot-api.conf \
    /usr/share/copilot-api/caddy/Caddyfile \
    /usr/share/copilot-api/tokenizer/o200k_base.tiktoken; do
	[ -f "$f" ] || fail "missing $f"
done
[ ! -e /etc/lighttpd/conf-enabled/50-copilot-api.conf ] ||
	fail "the lighttpd snippet is enabled by the package"
UNIT=/lib/systemd/system/copilot-api.service
grep -q '^ExecStart=/usr/bin/spawn-fcgi .*/usr/libexec/copilot-api/copilot-api.fcgi$' "$UNIT" ||
	fail "$UNIT: unexpected ExecStart"

step "the fake upstream"
python3 "$ROOT/tests/fake/fake_upstream.py" --port 0 --portfile "$WORK/fake.port" \
	>"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
i=0
while [ ! -s "$WORK/fake.port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "fake upstream did not start"; sleep 0.1
done
FAKE=http://127.0.0.1:$(cat "$WORK/fake.port")

step "config and sign-in, as the service's user"
# Written by the admin, the way the README says: as copilot-api, 0600.
umask 077
cat >"$WORK/config.json" <<JSON
{ "upstream": { "githubUrl": "$FAKE", "githubApiUrl": "$FAKE",
                "copilotApiUrl": "$FAKE", "anthropicApiUrl": "$FAKE" } }
JSON
umask 022
install -o copilot-api -g www-data -m 0600 "$WORK/config.json" /var/lib/copilot-api/config.json
# No COPILOT_API_HOME: the CLI finds the system data directory itself.
runuser -u copilot-api -- copilot-api auth login --github-token gho_deb_smoke ||
	fail "auth login as copilot-api"
[ -f /var/lib/copilot-api/copilot-api.db ] || fail "no database in /var/lib/copilot-api"

step "the responder under copilot-api.service's command line"
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
USER_=$(unit_value User); GROUP_=$(unit_value Group)
EXEC=$(unit_value ExecStart)
ENVS=$(unit_value Environment | tr '\n' ' ')
if [ -d /run/systemd/system ]; then
	systemctl restart copilot-api.service
else
	# What systemd would do: RuntimeDirectory, User/Group, Environment.
	install -d -o "$USER_" -g "$GROUP_" -m "$(unit_value RuntimeDirectoryMode)" \
		/run/"$(unit_value RuntimeDirectory)"
	# shellcheck disable=SC2086 # the unit's words, split as systemd does
	setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $ENVS $EXEC >"$WORK/fcgi.log" 2>&1 &
	FCGI_PID=$!
fi
SOCK=$(echo "$EXEC" | sed -n 's/.* -s \([^ ]*\) .*/\1/p')
i=0
while [ ! -S "$SOCK" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$WORK/fcgi.log" 2>/dev/null; fail "no socket $SOCK"; }
	sleep 0.1
done
[ "$(stat -c '%U:%G %a' "$SOCK")" = "$USER_:$GROUP_ 660" ] ||
	fail "$SOCK is $(stat -c '%U:%G %a' "$SOCK")"

step "lighttpd with the installed snippet on 127.0.0.1:$PORT"
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
lighttpd -D -f "$WORK/lighttpd.conf" 2>"$WORK/lighttpd.err" &
LIGHTTPD_PID=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$PORT/"; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$WORK/lighttpd.err"; fail "lighttpd did not start"; }
	sleep 0.1
done

step "GET /v1/models"
code=$(curl -s -o "$WORK/models.json" -w '%{http_code}' "http://127.0.0.1:$PORT/v1/models")
[ "$code" = 200 ] || { cat "$WORK/models.json"; fail "/v1/models answered $code"; }
python3 - "$WORK/models.json" <<'PY' || fail "/v1/models: not a model list"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["object"] == "list" and m["data"], m
print("models:", ", ".join(x["id"] for x in m["data"]))
PY
mode=$(stat -c '%a' /var/lib/copilot-api/config.json)
case "$mode" in *0) ;; *) fail "config.json is mode $mode (world-readable)" ;; esac

step "stop"
kill "$LIGHTTPD_PID"; wait "$LIGHTTPD_PID" || true; LIGHTTPD_PID=
if [ -n "$FCGI_PID" ]; then
	kill "$FCGI_PID"; wait "$FCGI_PID" || fail "the responder did not exit 0 on SIGTERM"
	FCGI_PID=
	rm -rf /run/copilot-api
else
	systemctl stop copilot-api.service
fi

step "remove: the data stays"
dpkg -r copilot-api
[ -f /var/lib/copilot-api/config.json ] && [ -f /var/lib/copilot-api/copilot-api.db ] ||
	fail "remove deleted the data"
getent passwd copilot-api >/dev/null || fail "remove deleted the user"
[ -f /etc/lighttpd/conf-available/50-copilot-api.conf ] || fail "remove deleted a conffile"

step "purge: nothing left"
dpkg --purge copilot-api
! getent passwd copilot-api >/dev/null || fail "purge left the user"
! getent group copilot-api >/dev/null || fail "purge left the group"
left=$(find /etc /usr /lib /var /run \( -path /var/tmp -o -path /var/cache/apt \) -prune -o \
	\( -name '*copilot-api*' -o -name '*copilot-refresh*' \) -print 2>/dev/null |
	grep -v -e "^$ROOT" -e "^$WORK" || true)
[ -z "$left" ] || { echo "$left"; fail "purge left files behind"; }

echo "smoke.sh: ok (copilot-api $VERSION)"

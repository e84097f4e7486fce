#!/bin/sh
# tests/deb/smoke.sh: build the Debian package from a clean copy of the
# tree, check it with lintian, install it, smoke-test the installed files
# (versions, man pages, units, the responder under the installed unit's
# command line behind the installed lighttpd snippet, against the fake
# upstream), remove it (data kept), purge it (nothing left).  Root only: it
# installs packages and creates a system user.  .ci/run calls it after
# `make check`.
#
#   tests/deb/smoke.sh [--deb FILE] [--keep-work]
#
# --deb FILE   test this .deb instead of building one
# SMOKE_PORT   the loopback port lighttpd listens on (default 34141)
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/deb/lib.sh"
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
deb_begin smoke.sh copilot-api-deb

if [ -z "$DEB" ]; then
	step "build copilot-api $VERSION from a clean copy of the tree"
	deb_copy_tree "$ROOT" "$WORK/src"
	deb_build "$WORK/src" "$WORK/build.log"
	DEB=$(ls "$WORK"/copilot-api_"$VERSION"_*.deb)
fi
echo "package: $DEB"

step "lintian"
command -v lintian >/dev/null || apt-get install -y -q --no-install-recommends lintian >/dev/null
lintian --fail-on error,warning "$DEB" || fail "lintian"

step "install (dpkg -i, then apt-get -f install)"
deb_install "$DEB"

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

step "units, user, data directory, snippets"
# With the man pages installed, Documentation=man: is checked too.
systemd-analyze verify /lib/systemd/system/copilot-api.service \
	/lib/systemd/system/copilot-refresh.service \
	/lib/systemd/system/copilot-refresh.timer || fail "systemd-analyze verify"
grep -q '^ExecStart=/usr/bin/spawn-fcgi .*/usr/libexec/copilot-api/copilot-api.fcgi$' "$UNIT" ||
	fail "$UNIT: unexpected ExecStart"
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

step "the fake upstream; config and sign-in as the service's user"
start_fake
configure_and_sign_in

step "the responder under copilot-api.service's command line, lighttpd on 127.0.0.1:$PORT"
serve

step "GET /v1/models, POST /v1/chat/completions"
check_models
check_chat
mode=$(stat -c '%a' /var/lib/copilot-api/config.json)
case "$mode" in *0) ;; *) fail "config.json is mode $mode (world-readable)" ;; esac

step "stop"
stop_serving

step "remove: the data stays"
dpkg -r copilot-api
[ -f /var/lib/copilot-api/config.json ] && [ -f /var/lib/copilot-api/copilot-api.db ] ||
	fail "remove deleted the data"
getent passwd copilot-api >/dev/null || fail "remove deleted the user"
[ -f /etc/lighttpd/conf-available/50-copilot-api.conf ] || fail "remove deleted a conffile"

step "purge: nothing left"
purge_and_check

echo "smoke.sh: ok (copilot-api $VERSION)"

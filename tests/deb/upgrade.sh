#!/bin/sh
# tests/deb/upgrade.sh: upgrade in place.  Builds a package from an earlier
# commit (by default the one before the newest schema step in
# src/state/db.c, with this tree's debian/ and man/ laid over it), installs
# it, signs in and serves a request with it (a database at the old schema,
# one usage row), then installs this tree's package over it: config.json
# must be byte for byte the same, and the first start migrates the database
# and keeps its rows and the sign-in.  Root only; .ci/run calls it.
#
#   tests/deb/upgrade.sh [--from COMMIT] [--deb NEW.deb] [--keep-work]
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/deb/lib.sh"
PORT=${SMOKE_PORT:-34141}
FROM= DEB= KEEP=no
while [ $# -gt 0 ]; do
	case "$1" in
	--from) FROM=$2; shift ;;
	--deb) DEB=$2; shift ;;
	--keep-work) KEEP=yes ;;
	*) echo "usage: $0 [--from COMMIT] [--deb NEW.deb] [--keep-work]" >&2; exit 2 ;;
	esac
	shift
done
deb_begin upgrade.sh copilot-api-upg

# The schema this tree writes (the last "/* N" step of db.c's migration
# list), and the commit before that step came.
NEW_SCHEMA=$(sed -n 's|^	/\* \([0-9][0-9]*\)[: ].*|\1|p' "$ROOT/src/state/db.c" |
	sort -n | tail -1)
[ -n "$NEW_SCHEMA" ] || fail "no migration step found in src/state/db.c"
if [ -z "$FROM" ]; then
	FROM=$(cd "$ROOT" && git log -1 --format=%H \
		-S"/* $NEW_SCHEMA:" -- src/state/db.c)^
fi
FROM=$(cd "$ROOT" && git rev-parse --short "$FROM" 2>/dev/null) ||
	fail "commit $FROM is not in this clone (a shallow checkout? fetch the history)"
OLD_VERSION="$VERSION~git$FROM"

step "build the old package $OLD_VERSION (commit $FROM, this tree's debian/ and man/)"
mkdir "$WORK/old"
deb_copy_tree "$ROOT" "$WORK/old/src" "$FROM"
rm -rf "$WORK/old/src/debian" "$WORK/old/src/man"
cp -R "$ROOT/debian" "$ROOT/man" "$WORK/old/src/"
rm -rf "$WORK/old/src/debian/copilot-api" "$WORK/old/src/debian/.debhelper"
sed -i "1s/^copilot-api ([^)]*)/copilot-api ($OLD_VERSION)/" "$WORK/old/src/debian/changelog"
DEB_BUILD_OPTIONS=nocheck deb_build "$WORK/old/src" "$WORK/old/build.log"
OLD_DEB=$(ls "$WORK"/old/copilot-api_"$OLD_VERSION"_*.deb)

if [ -z "$DEB" ]; then
	step "build the new package $VERSION"
	mkdir "$WORK/new"
	deb_copy_tree "$ROOT" "$WORK/new/src"
	DEB_BUILD_OPTIONS=nocheck deb_build "$WORK/new/src" "$WORK/new/build.log"
	DEB=$(ls "$WORK"/new/copilot-api_"$VERSION"_*.deb)
fi

usage_rows() {
	python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM token_usage_events").fetchone()[0])' \
		/var/lib/copilot-api/copilot-api.db
}

step "install the old package; sign in and serve one request with it"
deb_install "$OLD_DEB"
start_fake
configure_and_sign_in
serve
check_models
check_chat
stop_serving
OLD_DB_SCHEMA=$(db_schema)
OLD_ROWS=$(usage_rows)
echo "old database: schema $OLD_DB_SCHEMA, $OLD_ROWS usage rows"
[ "$OLD_DB_SCHEMA" -lt "$NEW_SCHEMA" ] ||
	fail "the old package already wrote schema $OLD_DB_SCHEMA (want < $NEW_SCHEMA)"
[ "$OLD_ROWS" -ge 1 ] || fail "the old package recorded no usage row"
sha256sum /var/lib/copilot-api/config.json >"$WORK/config.sha"

step "upgrade to $VERSION in place"
deb_install "$DEB"
[ "$(dpkg-query -W -f='${Version}' copilot-api)" = "$VERSION" ] || fail "not upgraded"
sha256sum -c --quiet "$WORK/config.sha" || fail "the upgrade changed config.json"
[ "$(stat -c '%U:%G %a' /var/lib/copilot-api)" = "copilot-api:www-data 750" ] ||
	fail "/var/lib/copilot-api is $(stat -c '%U:%G %a' /var/lib/copilot-api)"
if [ ! -d /run/systemd/system ]; then
	[ "$(db_schema)" = "$OLD_DB_SCHEMA" ] || fail "the database changed before the first start"
fi

step "first start of the new responder: the database migrates"
serve
check_models
check_chat
stop_serving
[ "$(db_schema)" = "$NEW_SCHEMA" ] || fail "database at schema $(db_schema), want $NEW_SCHEMA"
rows=$(usage_rows)
[ "$rows" -gt "$OLD_ROWS" ] || fail "usage rows: $rows after, $OLD_ROWS before"
echo "new database: schema $NEW_SCHEMA, $rows usage rows (the old ones kept, the sign-in too)"

step "purge"
purge_and_check
echo "upgrade.sh: ok ($OLD_VERSION -> $VERSION)"

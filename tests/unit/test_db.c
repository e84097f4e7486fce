#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "testutil.h"
#include "core/buf.h"
#include "core/util.h"
#include "state/db.c"
#include "state/db_sqlite.c"
#include "state/usage.h"

static char dir[512];
static char path[600];

/*
 * The migrations as the sqlite-only program shipped them (up to schema 4:
 * INTEGER columns, AUTOINCREMENT, user_version set inside each step),
 * frozen here: files made by it must open unchanged, and a fresh file
 * must get the same schema from the portable list.
 */
static const char *const shipped_sql[] = {
	"CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
	"  updated_at_ms INTEGER NOT NULL);"
	"CREATE TABLE copilot_token (id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  token TEXT NOT NULL, expires_at INTEGER NOT NULL,"
	"  refresh_in INTEGER NOT NULL, fetched_at INTEGER NOT NULL,"
	"  api_url TEXT);"
	"CREATE TABLE models_cache (id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  json TEXT NOT NULL, fetched_at_ms INTEGER NOT NULL);"
	"CREATE TABLE token_usage_events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  created_at_ms INTEGER NOT NULL, created_at_utc TEXT NOT NULL,"
	"  trace_id TEXT NOT NULL DEFAULT '', session_id TEXT NOT NULL DEFAULT '',"
	"  user_id TEXT NOT NULL DEFAULT '', source TEXT NOT NULL,"
	"  endpoint TEXT NOT NULL, provider_name TEXT, model TEXT NOT NULL,"
	"  input_tokens INTEGER NOT NULL DEFAULT 0,"
	"  output_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,"
	"  total_tokens INTEGER NOT NULL DEFAULT 0, status INTEGER,"
	"  latency_ms INTEGER, stream INTEGER NOT NULL DEFAULT 0, error TEXT);"
	"CREATE INDEX idx_token_usage_events_created_at_ms"
	"  ON token_usage_events(created_at_ms);"
	"CREATE INDEX idx_token_usage_events_model ON token_usage_events(model);"
	"CREATE INDEX idx_token_usage_events_trace_id"
	"  ON token_usage_events(trace_id);"
	"CREATE INDEX idx_token_usage_events_session_id"
	"  ON token_usage_events(session_id);"
	"CREATE INDEX idx_token_usage_events_user_id"
	"  ON token_usage_events(user_id);"
	"CREATE TABLE cooldown (model TEXT PRIMARY KEY,"
	"  until_ms INTEGER NOT NULL, reason TEXT);"
	"PRAGMA user_version = 1;",
	"ALTER TABLE copilot_token ADD COLUMN account TEXT NOT NULL DEFAULT '';"
	"UPDATE copilot_token SET account = 'opencode' WHERE EXISTS"
	"  (SELECT 1 FROM kv WHERE key = 'oauth_app' AND value = 'opencode');"
	"UPDATE kv SET key = key || ':opencode'"
	"  WHERE key IN ('github_token', 'github_login') AND EXISTS"
	"  (SELECT 1 FROM kv WHERE key = 'oauth_app' AND value = 'opencode');"
	"DELETE FROM kv WHERE key = 'oauth_app';"
	"PRAGMA user_version = 2;",
	"CREATE TABLE approvals (id TEXT PRIMARY KEY, route TEXT NOT NULL,"
	"  model TEXT NOT NULL, preview TEXT NOT NULL,"
	"  created_at_ms INTEGER NOT NULL, decision INTEGER);"
	"PRAGMA user_version = 3;",
	"ALTER TABLE token_usage_events ADD COLUMN total_nano_aiu INTEGER;"
	"ALTER TABLE token_usage_events ADD COLUMN cost_currency TEXT;"
	"ALTER TABLE token_usage_events ADD COLUMN total_cost_nanos INTEGER;"
	"ALTER TABLE token_usage_events ADD COLUMN cost_source TEXT;"
	"PRAGMA user_version = 4;",
};

static void
setup(void)
{
	test_tmpdir(dir, sizeof(dir), "gw-db");
	snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE_NAME);
}

static void
teardown(void)
{
	test_rmdir(dir);
}

/* Runs the raw SQL on its own connection and returns the first column of
 * the first row as an integer (or -1). */
static long long
raw_int(const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* raw_exec on another file. */
static void
raw_exec_at(const char *p, const char *sql)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(p, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void
raw_exec(const char *sql)
{
	raw_exec_at(path, sql);
}

/* Calls db_open_target with stderr redirected, returns what was logged. */
static enum gw_err
open_target_capturing(const char *driver, const char *target, struct db **db,
    char *logged, size_t cap)
{
	char logpath[700];
	enum gw_err e;
	ssize_t n;
	int fd, saved;

	snprintf(logpath, sizeof(logpath), "%s/stderr.txt", dir);
	fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	e = db_open_target(driver, target, db);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, logged, cap - 1, 0);
	logged[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(logpath);
	return e;
}

static enum gw_err
open_capturing(struct db **db, char *logged, size_t cap)
{
	return open_target_capturing("sqlite", path, db, logged, cap);
}

/* The schema of the file at p, one line per column and per index, in a
 * stable order; a column's declared type as sqlite's affinity (INTEGER and
 * BIGINT are both "int").  The one-row tables' "id BIGINT PRIMARY KEY" is
 * no rowid alias: sqlite keeps its uniqueness in an index of its own,
 * which is left out (the same constraint, held elsewhere). */
static char *
schema_of(const char *p)
{
	static const char sql[] =
	    "SELECT m.name, c.name, c.type, c.\"notnull\", "
	    "  COALESCE(c.dflt_value, 'NULL'), c.pk "
	    "FROM sqlite_master m, pragma_table_info(m.name) c "
	    "WHERE m.type = 'table' ORDER BY m.name, c.cid";
	static const char idx[] =
	    "SELECT m.tbl_name, m.name, i.name FROM sqlite_master m, "
	    "pragma_index_info(m.name) i WHERE m.type = 'index' AND m.name NOT IN "
	    "('sqlite_autoindex_copilot_token_1', "
	    "'sqlite_autoindex_models_cache_1') ORDER BY m.name, i.seqno";
	struct buf out = BUF_INIT;
	sqlite3_stmt *st;
	const char *type;
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(p, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		type = (const char *)sqlite3_column_text(st, 2);
		ck_assert_int_eq(buf_printf(&out, "%s.%s %s notnull=%d "
		    "default=%s pk=%d\n", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), strstr(type, "INT") != NULL ?
		    "int" : type, sqlite3_column_int(st, 3),
		    sqlite3_column_text(st, 4), sqlite3_column_int(st, 5)), GW_OK);
	}
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(h, idx, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		ck_assert_int_eq(buf_printf(&out, "index %s %s (%s)\n",
		    sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2)), GW_OK);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf_detach(&out);
}

/* The full text of every object of the file at p (what "unchanged" means). */
static char *
sql_of(const char *p)
{
	struct buf out = BUF_INIT;
	sqlite3_stmt *st;
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(p, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT type, name, "
	    "COALESCE(sql, '') FROM sqlite_master ORDER BY name", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		ck_assert_int_eq(buf_printf(&out, "%s %s %s\n",
		    sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
		    sqlite3_column_text(st, 2)), GW_OK);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return buf_detach(&out);
}

/* Long texts: check's message cannot hold them, so print a mismatch. */
static void
assert_same(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s:\n--- got\n%s--- want\n%s", what, got, want);
	ck_assert_msg(strcmp(got, want) == 0, "%s differ (printed above)", what);
}

/* A file made by the program that shipped schema 4 opens unchanged; a
 * fresh file gets the same tables, columns, keys, defaults and indexes
 * from the portable migrations, and the same AUTOINCREMENT usage ids. */
START_TEST(shipped_file_unchanged_fresh_file_equivalent)
{
	char fresh[700], *old_sql, *old_schema, *new_schema, *after;
	struct usage_event ev = { .source = "copilot", .endpoint = "messages",
	    .input_tokens = 1, .total_tokens = -1 };
	struct db *db;
	size_t i;

	ck_assert_int_eq(ARRAY_LEN(shipped_sql), 4);
	for (i = 0; i < ARRAY_LEN(shipped_sql); i++)
		raw_exec(shipped_sql[i]);
	/* what the file must become: the shipped steps as they ran, then
	 * the later steps of today's list as they are written */
	snprintf(fresh, sizeof(fresh), "%s/expected.db", dir);
	for (i = 0; i < ARRAY_LEN(shipped_sql); i++)
		raw_exec_at(fresh, shipped_sql[i]);
	for (i = ARRAY_LEN(shipped_sql); i < (size_t)db_schema_latest(); i++)
		raw_exec_at(fresh, migration_sql[i]);
	old_sql = sql_of(fresh);
	old_schema = schema_of(fresh);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_migrations_applied(db),
	    db_schema_latest() - (int)ARRAY_LEN(shipped_sql));
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	db_close(db);
	after = sql_of(path);
	assert_same("the shipped file's objects", after, old_sql);

	snprintf(fresh, sizeof(fresh), "%s/fresh.db", dir);
	ck_assert_int_eq(db_open(fresh, &db), GW_OK);
	ck_assert_int_eq(db_migrations_applied(db), db_schema_latest());
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	/* the one-row tables stay one row */
	ck_assert_int_eq(db_exec(db, "INSERT INTO models_cache VALUES "
	    "(2, '{}', 0)", "a second row"), GW_EDB);
	ck_assert_int_eq(db_models_put(db, "{}", 1), GW_OK);
	ck_assert_int_eq(db_models_put(db, "{}", 2), GW_OK);
	db_close(db);
	new_schema = schema_of(fresh);
	assert_same("the schemas", new_schema, old_schema);
	/* the usage ids come from sqlite_sequence in both */
	ck_assert_ptr_nonnull(strstr(old_sql, "table sqlite_sequence"));
	free(after);
	after = sql_of(fresh);
	ck_assert_ptr_nonnull(strstr(after, "table sqlite_sequence"));
	ck_assert_ptr_nonnull(strstr(after, "INTEGER PRIMARY KEY AUTOINCREMENT"));
	ck_assert_ptr_null(strstr(after, "{serial}"));
	free(after);
	free(old_sql);
	free(old_schema);
	free(new_schema);
}
END_TEST

/* The driver by name: sqlite as db_open; postgresql only in a build with
 * libpq; anything else a configuration error, each saying why. */
START_TEST(open_target_chooses_the_driver)
{
	char logged[4096];
	struct db *db = (struct db *)&db;

	ck_assert_int_eq(open_target_capturing("sqlite", path, &db, logged,
	    sizeof(logged)), GW_OK);
	ck_assert_str_eq(db->ops->name, "sqlite");
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	db_close(db);
	ck_assert_int_eq(open_target_capturing("mysql", path, &db, logged,
	    sizeof(logged)), GW_ECONFIG);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(logged, "storage driver \"mysql\": unknown"));
#ifndef GW_HAVE_LIBPQ
	ck_assert_int_eq(open_target_capturing("postgresql",
	    "postgresql://gw:secret@127.0.0.1:1/gw", &db, logged,
	    sizeof(logged)), GW_ECONFIG);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(logged, "no PostgreSQL support"));
	ck_assert_ptr_null(strstr(logged, "secret"));
#endif
	ck_assert_int_eq(db_open_target("sqlite", "", &db), GW_EINVAL);
	ck_assert_int_eq(db_open_target(NULL, path, &db), GW_EINVAL);
}
END_TEST

/* With sqlite (no driver lock) db_lock_named is the flock on the file:
 * another descriptor cannot take it until the unlock. */
START_TEST(named_lock_is_the_flock_file)
{
	char lock[700];
	struct db *db;
	struct db_lock l;
	int fd;

	snprintf(lock, sizeof(lock), "%s/copilot-token.lock", dir);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_lock_named(db, "copilot-token:", lock, 0, &l),
	    GW_OK);
	ck_assert_int_ge(l.fd, 0);
	ck_assert_int_eq(l.held, 0);
	ck_assert_int_eq(paths_lock(lock, PATHS_LOCK_NB, &fd, NULL), GW_EBUSY);
	db_unlock_named(db, &l);
	ck_assert_int_eq(l.fd, -1);
	ck_assert_int_eq(paths_lock(lock, PATHS_LOCK_NB, &fd, NULL), GW_OK);
	paths_unlock(fd);
	db_close(db);
}
END_TEST

/* What the log shows of a target: no password. */
START_TEST(target_label_hides_the_password)
{
	static const char *const cases[][2] = {
		{ "postgresql://gw:s3cret@db.example:5432/gw?sslmode=require",
		  "postgresql://gw:***@db.example:5432/gw?sslmode=require" },
		{ "postgresql://gw@db.example/gw", "postgresql://gw@db.example/gw" },
		{ "postgresql://db.example/gw", "postgresql://db.example/gw" },
		{ "host=db user=gw password=s3cret dbname=gw",
		  "host=db user=gw password=*** dbname=gw" },
		{ "/var/lib/copilot-api/copilot-api.db",
		  "/var/lib/copilot-api/copilot-api.db" },
	};
	char *l;
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		l = target_label(cases[i][0]);
		ck_assert_str_eq(l, cases[i][1]);
		free(l);
	}
}
END_TEST

/* The prune counts the rows it deleted (no driver reports the count). */
START_TEST(prune_counts_what_it_deleted)
{
	struct usage_event ev = { .source = "copilot", .endpoint = "messages",
	    .total_tokens = -1 };
	struct db *db;
	long n = -1;
	int i;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	for (i = 1; i <= 3; i++) {
		ev.created_at_ms = i * 1000;
		ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	}
	ck_assert_int_eq(db_prune_usage(db, 2500, &n), GW_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(db_prune_usage(db, 2500, NULL), GW_OK);
	ck_assert_int_eq(db_prune_usage(db, 2500, &n), GW_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(raw_int("SELECT created_at_ms FROM token_usage_events"),
	    3000);
	db_close(db);
}
END_TEST

START_TEST(fresh_db_is_private_wal_and_current)
{
	struct db *db;
	struct stat sb;
	char wal[700];

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	ck_assert_int_ge(db_schema_latest(), 1);
	ck_assert_int_eq(db_migrations_applied(db), db_schema_latest());
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(db_kv_set(db, "k", "v"), GW_OK);
	/* the WAL file exists while a connection is open, with the same mode */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	db_close(db);

	ck_assert_int_eq(raw_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM sqlite_master WHERE name IN "
	    "('kv', 'copilot_token', 'models_cache', 'token_usage_events', 'cooldown')"), 5);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
	    "AND tbl_name = 'token_usage_events' AND name LIKE 'idx_%'"), 6);

	/* reopening changes nothing */
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_migrations_applied(db), 0);
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	db_close(db);
	db_close(NULL);
}
END_TEST

START_TEST(mode_0600_whatever_the_umask)
{
	struct db *db;
	struct stat sb;
	mode_t old = umask(0277);

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	umask(old);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	db_close(db);
}
END_TEST

START_TEST(existing_file_mode_is_left_alone)
{
	struct db *db;
	struct stat sb;
	int fd = open(path, O_WRONLY | O_CREAT, 0640);

	ck_assert_int_ge(fd, 0);
	fchmod(fd, 0660);
	close(fd);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0660);
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	db_close(db);
}
END_TEST

/* A schema-1 database holding rows, migrated by db_open: the kv value
 * under key (NULL when absent) and the Copilot token row's account. */
static void
migrate_v1(const char *rows, const char *key, const char *want_value,
    const char *want_account)
{
	struct db_copilot_token t;
	struct db *db;
	char *v = NULL;

	raw_exec(shipped_sql[0]);
	raw_exec(rows);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_kv_get(db, key, &v), GW_OK);
	ck_assert_str_eq(v, want_value);
	free(v);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_OK);
	ck_assert_str_eq(t.account, want_account);
	db_copilot_token_free(&t);
	ck_assert_int_eq(db_kv_get(db, "oauth_app", &v), GW_ENOTFOUND);
	db_close(db);
}

/* Schema 2: a GitHub token stored under schema 1 by the opencode app
 * becomes that app's account's, with its login and Copilot token row. */
START_TEST(opencode_token_moves_to_its_account)
{
	migrate_v1("INSERT INTO kv VALUES ('github_token', 'gho_oc', 1),"
	    " ('github_login', 'octo', 1), ('oauth_app', 'opencode', 1);"
	    "INSERT INTO copilot_token VALUES (1, 'tid=oc', 2, 3, 4, NULL);",
	    "github_token:opencode", "gho_oc", "opencode");
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv WHERE key IN "
	    "('github_token', 'github_login')"), 0);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv WHERE key = "
	    "'github_login:opencode' AND value = 'octo'"), 1);
}
END_TEST

START_TEST(default_token_stays_the_default_accounts)
{
	migrate_v1("INSERT INTO kv VALUES ('github_token', 'gho_d', 1),"
	    " ('oauth_app', 'default', 1);"
	    "INSERT INTO copilot_token VALUES (1, 'tid=d', 2, 3, 4, NULL);",
	    "github_token", "gho_d", "");
}
END_TEST

START_TEST(newer_schema_is_refused)
{
	char logged[4096], want[128];
	struct db *db = (struct db *)&db;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	db_close(db);
	raw_exec("PRAGMA user_version = 99");
	ck_assert_int_eq(open_capturing(&db, logged, sizeof(logged)), GW_EDB);
	ck_assert_ptr_null(db);
	snprintf(want, sizeof(want), "database schema 99 is newer than this program (%d)",
	    db_schema_latest());
	ck_assert_ptr_nonnull(strstr(logged, want));
	ck_assert_ptr_nonnull(strstr(logged, path));
}
END_TEST

START_TEST(not_a_database)
{
	static const char junk[] = "this is a config file, not an sqlite database\n";
	char logged[4096];
	struct db *db;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
	close(fd);
	ck_assert_int_eq(open_capturing(&db, logged, sizeof(logged)), GW_EDB);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(logged, path));
	ck_assert_ptr_nonnull(strstr(logged, "file is not a database"));
}
END_TEST

START_TEST(missing_directory)
{
	char logged[4096];
	struct db *db;

	snprintf(path, sizeof(path), "%s/no/such/dir/%s", dir, DB_FILE_NAME);
	ck_assert_int_eq(open_capturing(&db, logged, sizeof(logged)), GW_EDB);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(logged, path));
	ck_assert_ptr_nonnull(strstr(logged, "cannot create"));
	ck_assert_int_eq(db_open("", &db), GW_EINVAL);
}
END_TEST

START_TEST(unwritable_directory)
{
	char logged[4096];
	struct db *db;

	if (geteuid() == 0)
		return; /* root writes anywhere: nothing to observe */
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(open_capturing(&db, logged, sizeof(logged)), GW_EDB);
	chmod(dir, 0700);
	ck_assert_ptr_nonnull(strstr(logged, "directory must be writable"));
}
END_TEST

START_TEST(kv_round_trip)
{
	struct db *db, *other;
	char *v = (char *)&v;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_kv_get(db, "github_login", &v), GW_ENOTFOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(db_kv_set(db, "github_login", "octocat"), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "account_type", "business"), GW_OK);
	ck_assert_int_eq(db_kv_get(db, "github_login", &v), GW_OK);
	ck_assert_str_eq(v, "octocat");
	free(v);
	ck_assert_int_eq(db_kv_set(db, "github_login", "hubot"), GW_OK);
	/* visible to another connection, and replaced rather than added */
	ck_assert_int_eq(db_open(path, &other), GW_OK);
	ck_assert_int_eq(db_kv_get(other, "github_login", &v), GW_OK);
	ck_assert_str_eq(v, "hubot");
	free(v);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv"), 2);
	ck_assert_int_ge(raw_int("SELECT updated_at_ms FROM kv WHERE key = 'github_login'"),
	    util_now_ms() - 60000);
	/* a value with quotes goes through bound, not spliced */
	ck_assert_int_eq(db_kv_set(db, "x'); DROP TABLE kv; --", "it's"), GW_OK);
	ck_assert_int_eq(db_kv_get(other, "x'); DROP TABLE kv; --", &v), GW_OK);
	ck_assert_str_eq(v, "it's");
	free(v);
	ck_assert_int_eq(db_kv_delete(db, "github_login"), GW_OK);
	ck_assert_int_eq(db_kv_delete(db, "github_login"), GW_OK);
	ck_assert_int_eq(db_kv_get(other, "github_login", &v), GW_ENOTFOUND);
	ck_assert_int_eq(db_kv_get(other, "account_type", &v), GW_OK);
	ck_assert_str_eq(v, "business");
	free(v);
	ck_assert_int_eq(db_kv_set(db, "k", NULL), GW_EINVAL);
	db_close(other);
	db_close(db);
}
END_TEST

static void
remove_db_files(void)
{
	char p[700];

	ck_assert_int_eq(unlink(path), 0);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* A database deleted or replaced under open connections: each one notices
 * and reopens on the new file, and closing the old one leaves the new
 * file's -wal alone (the rows of a connection already on it survive). */
START_TEST(moved_file_is_noticed_and_reopened)
{
	struct db *a, *b, *c;
	char *v = NULL, wal[700];
	struct stat st;

	ck_assert_int_eq(db_open(path, &a), GW_OK);
	ck_assert_int_eq(db_open(path, &b), GW_OK);
	ck_assert_int_eq(db_kv_set(a, "k", "old"), GW_OK);
	ck_assert_int_eq(db_moved(a), 0);
	/* replaced: another process already works on the new file */
	remove_db_files();
	ck_assert_int_eq(db_moved(a), 1);
	ck_assert_int_eq(db_open(path, &c), GW_OK);
	ck_assert_int_eq(db_kv_set(c, "k", "new"), GW_OK);
	ck_assert_int_eq(db_moved(a), 1);
	ck_assert_int_eq(db_reopen(&a), GW_OK);
	ck_assert_int_eq(db_moved(a), 0);
	ck_assert_int_eq(db_kv_get(a, "k", &v), GW_OK);
	ck_assert_str_eq(v, "new");
	free(v);
	ck_assert_int_eq(db_kv_set(a, "k2", "written after"), GW_OK);
	ck_assert_int_eq(db_reopen(&b), GW_OK);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_eq(db_kv_get(c, "k2", &v), GW_OK);
	ck_assert_str_eq(v, "written after");
	free(v);
	db_close(a);
	db_close(b);
	db_close(c);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv WHERE key = 'k2'"), 1);
	/* deleted: the reopen makes a fresh database with its schema */
	ck_assert_int_eq(db_open(path, &a), GW_OK);
	remove_db_files();
	ck_assert_int_eq(db_moved(a), 1);
	ck_assert_int_eq(db_reopen(&a), GW_OK);
	ck_assert_int_eq(db_kv_get(a, "k2", &v), GW_ENOTFOUND);
	ck_assert_int_eq(db_schema_version(a), db_schema_latest());
	db_close(a);
}
END_TEST

START_TEST(copilot_token_round_trip)
{
	struct db_copilot_token t = { 0 }, in;
	struct db *db;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_ENOTFOUND);
	ck_assert_ptr_null(t.token);

	in = (struct db_copilot_token){ "tid=abc;exp=1", 1700001800, 1500,
	    1700000000, "https://api.individual.githubcopilot.com", "opencode" };
	ck_assert_int_eq(db_copilot_token_put(db, &in), GW_OK);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_OK);
	ck_assert_str_eq(t.token, "tid=abc;exp=1");
	ck_assert_int_eq(t.expires_at, 1700001800);
	ck_assert_int_eq(t.refresh_in, 1500);
	ck_assert_int_eq(t.fetched_at, 1700000000);
	ck_assert_str_eq(t.api_url, "https://api.individual.githubcopilot.com");
	ck_assert_str_eq(t.account, "opencode");
	db_copilot_token_free(&t);
	ck_assert_ptr_null(t.token);

	in = (struct db_copilot_token){ "tid=def", 1700003600, 1400, 1700002000,
	    NULL, NULL };
	ck_assert_int_eq(db_copilot_token_put(db, &in), GW_OK);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_OK);
	ck_assert_str_eq(t.token, "tid=def");
	ck_assert_int_eq(t.expires_at, 1700003600);
	ck_assert_ptr_null(t.api_url);
	ck_assert_str_eq(t.account, "");
	db_copilot_token_free(&t);
	db_copilot_token_free(NULL);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM copilot_token"), 1);

	ck_assert_int_eq(db_copilot_token_clear(db), GW_OK);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_ENOTFOUND);
	ck_assert_int_eq(db_copilot_token_clear(db), GW_OK);
	in.token = NULL;
	ck_assert_int_eq(db_copilot_token_put(db, &in), GW_EINVAL);
	db_close(db);
}
END_TEST

START_TEST(models_and_cooldown_round_trip)
{
	struct db *db;
	char *json = NULL;
	int64_t at = 0, until = 42;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_models_get(db, &json, &at), GW_ENOTFOUND);
	ck_assert_ptr_null(json);
	ck_assert_int_eq(db_models_put(db, "{\"data\":[]}", 1000), GW_OK);
	ck_assert_int_eq(db_models_put(db, "{\"data\":[{\"id\":\"gpt-4o\"}]}", 2000), GW_OK);
	ck_assert_int_eq(db_models_get(db, &json, &at), GW_OK);
	ck_assert_str_eq(json, "{\"data\":[{\"id\":\"gpt-4o\"}]}");
	ck_assert_int_eq(at, 2000);
	free(json);
	ck_assert_int_eq(db_models_get(db, &json, NULL), GW_OK);
	free(json);
	/* only the time: the document is not read */
	at = 0;
	ck_assert_int_eq(db_models_get(db, NULL, &at), GW_OK);
	ck_assert_int_eq(at, 2000);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM models_cache"), 1);

	ck_assert_int_eq(db_cooldown_get(db, "gpt-4o", &until), GW_ENOTFOUND);
	ck_assert_int_eq(until, 0);
	ck_assert_int_eq(db_cooldown_set(db, "gpt-4o", 5000, "429 from upstream"), GW_OK);
	ck_assert_int_eq(db_cooldown_set(db, "claude", 7000, NULL), GW_OK);
	ck_assert_int_eq(db_cooldown_set(db, "gpt-4o", 9000, NULL), GW_OK);
	ck_assert_int_eq(db_cooldown_get(db, "gpt-4o", &until), GW_OK);
	ck_assert_int_eq(until, 9000);
	ck_assert_int_eq(db_cooldown_get(db, "claude", &until), GW_OK);
	ck_assert_int_eq(until, 7000);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM cooldown WHERE reason IS NULL"), 2);
	db_close(db);
}
END_TEST

START_TEST(transactions)
{
	struct db *db;
	char *v;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_rollback(db), GW_OK); /* none open: no-op */
	ck_assert_int_eq(db_begin_immediate(db), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "a", "1"), GW_OK);
	ck_assert_int_eq(db_rollback(db), GW_OK);
	ck_assert_int_eq(db_kv_get(db, "a", &v), GW_ENOTFOUND);

	ck_assert_int_eq(db_begin_immediate(db), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "a", "2"), GW_OK);
	/* uncommitted: another connection does not see it */
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv"), 0);
	ck_assert_int_eq(db_commit(db), GW_OK);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv"), 1);
	ck_assert_int_eq(db_kv_get(db, "a", &v), GW_OK);
	ck_assert_str_eq(v, "2");
	free(v);
	db_close(db);
}
END_TEST

/* Child: open the shared fresh db, write 200 usage rows and 200 token
 * upserts.  Exit 0/1 = fine (1: this process applied the migration). */
static int
child_work(int n)
{
	struct usage_event ev = { 0 };
	struct db_copilot_token t = { 0 };
	char trace[64], token[64];
	struct db *db;
	int i, migrated;

	if (db_open(path, &db) != GW_OK)
		return 10;
	migrated = db_migrations_applied(db);
	for (i = 0; i < 200; i++) {
		snprintf(trace, sizeof(trace), "child%d-%d", n, i);
		snprintf(token, sizeof(token), "tok-%d-%d", n, i);
		ev.trace_id = trace;
		ev.source = "copilot";
		ev.endpoint = "messages";
		ev.model = "gpt-4o";
		ev.status = 200;
		ev.input_tokens = 1;
		ev.total_tokens = -1;
		if (usage_record(db, &ev) != GW_OK) {
			db_close(db);
			return 11;
		}
		t.token = token;
		t.expires_at = 1700000000 + i;
		if (db_copilot_token_put(db, &t) != GW_OK) {
			db_close(db);
			return 12;
		}
	}
	db_close(db);
	return migrated;
}

START_TEST(concurrent_processes)
{
	int go[2], i, status, migrations = 0;
	pid_t pids[4];
	struct db *db;
	char *tok;
	struct db_copilot_token t;

	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			char c;

			close(go[1]);
			/* start together: wait for the parent to close the pipe */
			while (read(go[0], &c, 1) > 0)
				;
			_exit(child_work(i));
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_le(WEXITSTATUS(status), db_schema_latest());
		migrations += WEXITSTATUS(status);
	}
	/* each step applied once, by whichever process got there first */
	ck_assert_int_eq(migrations, db_schema_latest());
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM token_usage_events"), 800);
	ck_assert_int_eq(raw_int("SELECT COUNT(DISTINCT trace_id) FROM token_usage_events"), 800);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM copilot_token"), 1);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_migrations_applied(db), 0);
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_OK);
	tok = t.token;
	ck_assert(strncmp(tok, "tok-", 4) == 0);
	ck_assert_ptr_nonnull(strstr(tok, "-199"));
	ck_assert_int_eq(t.expires_at, 1700000199);
	db_copilot_token_free(&t);
	db_close(db);
}
END_TEST

START_TEST(locked_database_is_ebusy)
{
	struct db_copilot_token t = { "x", 1, 2, 3, NULL, NULL };
	struct db *db;
	sqlite3 *holder;
	int64_t t0, waited;
	char *v;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "k", "before"), GW_OK);
	ck_assert_int_eq(sqlite3_open(path, &holder), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(holder, "BEGIN EXCLUSIVE; "
	    "INSERT INTO kv VALUES ('held', 'x', 0)", NULL, NULL, NULL), SQLITE_OK);

	sq_set_busy_timeout(db, 200);
	t0 = util_mono_ms();
	ck_assert_int_eq(db_kv_set(db, "k", "during"), GW_EBUSY);
	waited = util_mono_ms() - t0;
	ck_assert_int_ge(waited, 150);
	ck_assert_int_lt(waited, 5000);
	ck_assert_int_eq(db_copilot_token_put(db, &t), GW_EBUSY);
	ck_assert_int_eq(db_begin_immediate(db), GW_EBUSY);
	/* WAL: readers are not blocked by the writer */
	ck_assert_int_eq(db_kv_get(db, "k", &v), GW_OK);
	ck_assert_str_eq(v, "before");
	free(v);

	ck_assert_int_eq(sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(db_kv_set(db, "k", "after"), GW_OK);
	ck_assert_int_eq(db_copilot_token_put(db, &t), GW_OK);
	ck_assert_int_eq(db_kv_get(db, "held", &v), GW_OK);
	free(v);
	ck_assert_int_eq(db_begin_immediate(db), GW_OK);
	ck_assert_int_eq(db_commit(db), GW_OK);
	sqlite3_close(holder);
	db_close(db);
}
END_TEST

START_TEST(checkpoint_truncates_wal)
{
	struct db *db;
	struct stat sb;
	char wal[700], key[32];
	int i;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(db_kv_set(db, key, "some value"), GW_OK);
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_gt(sb.st_size, 0);
	ck_assert_int_eq(db_checkpoint(db), GW_OK);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM kv"), 50);
	db_close(db);
}
END_TEST

/* White-box: the statement cache hands out a second statement when the
 * same SQL is in use, and keeps working past its capacity. */
START_TEST(statement_cache)
{
	struct db_stmt *a, *b, *s[48];
	char sql[48][32];
	struct db *db;
	int i;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_prepare(db, "SELECT 7", &a), GW_OK);
	ck_assert_int_eq(db_prepare(db, "SELECT 7", &b), GW_OK);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(db_step(a), GW_OK);
	ck_assert_int_eq(db_step(b), GW_OK);
	ck_assert_int_eq(db_column_int64(b, 0), 7);
	db_done(db, b);
	db_done(db, a);
	ck_assert_int_eq(db_prepare(db, "SELECT 7", &b), GW_OK);
	ck_assert_ptr_eq(a, b);
	db_done(db, b);
	for (i = 0; i < 48; i++) {
		snprintf(sql[i], sizeof(sql[i]), "SELECT %d", i + 100);
		ck_assert_int_eq(db_prepare(db, sql[i], &s[i]), GW_OK);
	}
	/* the cache is full: the last ones are one-offs */
	ck_assert_uint_eq(((struct sq_conn *)db->drv)->ncache, SQ_CACHE);
	for (i = 0; i < 48; i++) {
		ck_assert_int_eq(db_step(s[i]), GW_OK);
		ck_assert_int_eq(db_column_int64(s[i], 0), i + 100);
		db_done(db, s[i]);
	}
	db_done(db, NULL);
	ck_assert_int_eq(db_prepare(db, "SELEKT nonsense", &a), GW_EDB);
	ck_assert_ptr_null(a);
	db_close(db);
}
END_TEST

/* The driver-neutral statements: binds of each type, rows, NULLs, a bind
 * out of range reported by the step, nested use of one SQL text (the
 * second is a one-off), and a statement that runs twice. */
START_TEST(neutral_statements)
{
	struct db_stmt *a, *b;
	char *s;
	struct db *db;

	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_exec(db, "CREATE TABLE t (k TEXT, i BIGINT, "
	    "d BIGINT); CREATE TABLE u (x BIGINT)", "create"), GW_OK);
	ck_assert_int_eq(db_exec(db, "CREATE TABLE t (x)", "again"), GW_EDB);
	ck_assert_int_eq(db_prepare(db, "INSERT INTO t (k, i, d) VALUES "
	    "(?1, ?2, ?3) RETURNING i + 1", &a), GW_OK);
	db_bind_text(a, 1, "k1");
	db_bind_int64(a, 2, INT64_C(5000000000));
	db_bind_int64(a, 3, 25);
	ck_assert_int_eq(db_step(a), GW_OK);
	ck_assert_int_eq(db_column_int64(a, 0), INT64_C(5000000001));
	db_done(db, a);
	ck_assert_int_eq(db_prepare(db, "INSERT INTO t (k, i, d) VALUES "
	    "(?1, ?2, ?3)", &a), GW_OK);
	db_bind_text(a, 1, NULL);
	db_bind_text(a, 2, NULL);
	db_bind_int64(a, 3, -15);
	ck_assert_int_eq(db_step(a), GW_ENOTFOUND);
	db_done(db, a);
	/* a bind out of range fails the step, and nothing is inserted */
	ck_assert_int_eq(db_prepare(db, "INSERT INTO u (x) VALUES (?1)", &a),
	    GW_OK);
	db_bind_int64(a, 2, 1);
	ck_assert_int_eq(db_step(a), GW_EDB);
	db_done(db, a);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM u"), 0);
	/* the same SQL twice at once, then each read to its end */
	ck_assert_int_eq(db_prepare(db, "SELECT k, i, d FROM t ORDER BY d", &a),
	    GW_OK);
	ck_assert_int_eq(db_prepare(db, "SELECT k, i, d FROM t ORDER BY d", &b),
	    GW_OK);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(db_step(a), GW_OK);
	ck_assert(db_column_is_null(a, 0));
	ck_assert_ptr_null(db_column_text(a, 0));
	ck_assert(db_column_is_null(a, 1));
	ck_assert_int_eq(db_column_int64(a, 1), 0);
	ck_assert_int_eq(db_column_int64(a, 2), -15);
	ck_assert_int_eq(db_column_strdup(a, 0, &s), GW_OK);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(db_step(b), GW_OK);
	ck_assert_int_eq(db_step(b), GW_OK);
	ck_assert_str_eq(db_column_text(b, 0), "k1");
	ck_assert_int_eq(db_column_strdup(b, 0, &s), GW_OK);
	ck_assert_str_eq(s, "k1");
	free(s);
	ck_assert_int_eq(db_column_int64(b, 2), 25);
	ck_assert_int_eq(db_step(b), GW_ENOTFOUND);
	db_done(db, b);
	ck_assert_int_eq(db_step(a), GW_OK);
	ck_assert_int_eq(db_column_int64(a, 1), INT64_C(5000000000));
	ck_assert_int_eq(db_step(a), GW_ENOTFOUND);
	db_done(db, a);
	db_done(db, NULL);
	ck_assert_int_eq(db_prepare(db, "SELEKT nonsense", &a), GW_EDB);
	ck_assert_ptr_null(a);
	db_close(db);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fresh_db_is_private_wal_and_current);
	tcase_add_test(tc, mode_0600_whatever_the_umask);
	tcase_add_test(tc, existing_file_mode_is_left_alone);
	tcase_add_test(tc, newer_schema_is_refused);
	tcase_add_test(tc, opencode_token_moves_to_its_account);
	tcase_add_test(tc, default_token_stays_the_default_accounts);
	tcase_add_test(tc, not_a_database);
	tcase_add_test(tc, missing_directory);
	tcase_add_test(tc, unwritable_directory);
	tcase_add_test(tc, kv_round_trip);
	tcase_add_test(tc, moved_file_is_noticed_and_reopened);
	tcase_add_test(tc, copilot_token_round_trip);
	tcase_add_test(tc, models_and_cooldown_round_trip);
	tcase_add_test(tc, transactions);
	tcase_add_test(tc, concurrent_processes);
	tcase_add_test(tc, locked_database_is_ebusy);
	tcase_add_test(tc, checkpoint_truncates_wal);
	tcase_add_test(tc, statement_cache);
	tcase_add_test(tc, neutral_statements);
	tcase_add_test(tc, shipped_file_unchanged_fresh_file_equivalent);
	tcase_add_test(tc, open_target_chooses_the_driver);
	tcase_add_test(tc, target_label_hides_the_password);
	tcase_add_test(tc, prune_counts_what_it_deleted);
	tcase_add_test(tc, named_lock_is_the_flock_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(db_suite());
}

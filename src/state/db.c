/* The sqlite state database: open, pragmas, migrations, small state tables. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/log.h"
#include "core/util.h"
#include "state/db.h"

#define STMT_CACHE 32

/* A statement: cached per SQL text (cache[] below) or a one-off. */
struct db_stmt {
	sqlite3_stmt *st;
	struct db *db;
	int in_use;
	int bind_rc;               /* the first failed bind, for db_step */
};

struct db {
	sqlite3 *h;
	char *path;
	dev_t dev;                 /* the file opened, as db_moved compares it */
	ino_t ino;
	int busy_ms;
	int migrated;
	struct db_stmt cache[STMT_CACHE];
	size_t ncache;
};

static void db_set_busy_timeout(struct db *db, int ms);

/*
 * Migration N+1 is migration_sql[N].  Each step runs inside BEGIN IMMEDIATE and
 * ends by setting user_version, so a half-applied step never becomes
 * visible.  Plain CREATE (no IF NOT EXISTS): applying a step twice would be
 * a bug, and this makes it fail loudly instead of passing silently.
 */
static const char *const migration_sql[] = {
	/* 1 */
	"CREATE TABLE kv ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated_at_ms INTEGER NOT NULL);"
	"CREATE TABLE copilot_token ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  token TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  refresh_in INTEGER NOT NULL,"
	"  fetched_at INTEGER NOT NULL,"
	"  api_url TEXT);"
	"CREATE TABLE models_cache ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  json TEXT NOT NULL,"
	"  fetched_at_ms INTEGER NOT NULL);"
	"CREATE TABLE token_usage_events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  created_at_ms INTEGER NOT NULL,"
	"  created_at_utc TEXT NOT NULL,"
	"  trace_id TEXT NOT NULL DEFAULT '',"
	"  session_id TEXT NOT NULL DEFAULT '',"
	"  user_id TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL,"
	"  endpoint TEXT NOT NULL,"
	"  provider_name TEXT,"
	"  model TEXT NOT NULL,"
	"  input_tokens INTEGER NOT NULL DEFAULT 0,"
	"  output_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,"
	"  cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,"
	"  total_tokens INTEGER NOT NULL DEFAULT 0,"
	"  status INTEGER,"
	"  latency_ms INTEGER,"
	"  stream INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT);"
	"CREATE INDEX idx_token_usage_events_created_at_ms"
	"  ON token_usage_events(created_at_ms);"
	"CREATE INDEX idx_token_usage_events_model ON token_usage_events(model);"
	"CREATE INDEX idx_token_usage_events_trace_id"
	"  ON token_usage_events(trace_id);"
	"CREATE INDEX idx_token_usage_events_session_id"
	"  ON token_usage_events(session_id);"
	"CREATE INDEX idx_token_usage_events_user_id"
	"  ON token_usage_events(user_id);"
	"CREATE TABLE cooldown ("
	"  model TEXT PRIMARY KEY,"
	"  until_ms INTEGER NOT NULL,"
	"  reason TEXT);"
	"PRAGMA user_version = 1;",
	/* 2: one GitHub account per (OAuth app, enterprise domain).  The
	 * Copilot token row says whose it is; a token stored before this step
	 * by the opencode app moves to that app's keys. */
	"ALTER TABLE copilot_token ADD COLUMN account TEXT NOT NULL DEFAULT '';"
	"UPDATE copilot_token SET account = 'opencode' WHERE EXISTS"
	"  (SELECT 1 FROM kv WHERE key = 'oauth_app' AND value = 'opencode');"
	"UPDATE kv SET key = key || ':opencode'"
	"  WHERE key IN ('github_token', 'github_login') AND EXISTS"
	"  (SELECT 1 FROM kv WHERE key = 'oauth_app' AND value = 'opencode');"
	"DELETE FROM kv WHERE key = 'oauth_app';"
	"PRAGMA user_version = 2;",
	/* 3: manual approval's pending requests (state/approval.c); decision
	 * is NULL while undecided, 1 approved, 0 rejected. */
	"CREATE TABLE approvals ("
	"  id TEXT PRIMARY KEY,"
	"  route TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  preview TEXT NOT NULL,"
	"  created_at_ms INTEGER NOT NULL,"
	"  decision INTEGER);"
	"PRAGMA user_version = 3;",
	/* 4: what a row cost (state/pricing.h), as 1.14.7 stores it:
	 * Copilot's own charge in nano-AIU, and the estimate in nanos of
	 * cost_currency with where its price came from (NULL: no price). */
	"ALTER TABLE token_usage_events ADD COLUMN total_nano_aiu INTEGER;"
	"ALTER TABLE token_usage_events ADD COLUMN cost_currency TEXT;"
	"ALTER TABLE token_usage_events ADD COLUMN total_cost_nanos INTEGER;"
	"ALTER TABLE token_usage_events ADD COLUMN cost_source TEXT;"
	"PRAGMA user_version = 4;",
	/* 5: named Copilot accounts (state/accounts.c); the default
	 * account's state row is "default" with no GitHub token; usage rows
	 * say which account served them (NULL: before this step). */
	"CREATE TABLE accounts ("
	"  name TEXT PRIMARY KEY,"
	"  github_token TEXT,"
	"  login TEXT NOT NULL DEFAULT '',"
	"  plan TEXT,"
	"  premium_unlimited BIGINT NOT NULL DEFAULT 0,"
	"  premium_remaining BIGINT NOT NULL DEFAULT 0,"
	"  premium_entitlement BIGINT NOT NULL DEFAULT 0,"
	"  quota_at_ms BIGINT NOT NULL DEFAULT 0,"
	"  cooldown_until_ms BIGINT NOT NULL DEFAULT 0,"
	"  cooldown_reason TEXT,"
	"  last_pick_ms BIGINT NOT NULL DEFAULT 0,"
	"  created_at_ms BIGINT NOT NULL);"
	"CREATE TABLE account_tokens ("
	"  account TEXT PRIMARY KEY,"
	"  token TEXT NOT NULL,"
	"  api_url TEXT,"
	"  expires_at BIGINT NOT NULL,"
	"  refresh_in BIGINT NOT NULL,"
	"  fetched_at BIGINT NOT NULL);"
	"CREATE TABLE account_models ("
	"  account TEXT PRIMARY KEY,"
	"  json TEXT NOT NULL,"
	"  fetched_at_ms BIGINT NOT NULL);"
	"CREATE TABLE session_accounts ("
	"  session TEXT PRIMARY KEY,"
	"  account TEXT NOT NULL,"
	"  last_use_ms BIGINT NOT NULL);"
	"CREATE INDEX idx_session_accounts_last_use"
	"  ON session_accounts(last_use_ms);"
	"ALTER TABLE token_usage_events ADD COLUMN account TEXT;"
	"PRAGMA user_version = 5;",
};

/* The schema version this program writes. */
static int
db_schema_latest(void)
{
	return (int)ARRAY_LEN(migration_sql);
}

/* How many migration steps this connection applied when it was opened;
 * no caller in the gateway (test_db.c includes this file to reach it). */
static __attribute__((unused)) int
db_migrations_applied(const struct db *db)
{
	return db != NULL ? db->migrated : 0;
}

enum gw_err
db_sqlite_error(struct db *db, int rc, const char *what)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("database %s: %s: database is locked (gave up after %d ms)",
		    db->path, what, db->busy_ms);
		return GW_EBUSY;
	case SQLITE_NOMEM:
		log_error("database %s: %s: out of memory", db->path, what);
		return GW_ENOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		log_error("database %s: %s: %s (the file and its directory must "
		    "be writable: WAL keeps -wal and -shm files next to it)",
		    db->path, what, sqlite3_errmsg(db->h));
		return GW_EDB;
	default:
		log_error("database %s: %s: %s", db->path, what,
		    sqlite3_errmsg(db->h));
		return GW_EDB;
	}
}

enum gw_err
db_sqlite_prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	struct db_stmt *c;
	size_t i;
	int rc;

	*st = NULL;
	for (i = 0; i < db->ncache; i++) {
		c = &db->cache[i];
		if (!c->in_use && strcmp(sqlite3_sql(c->st), sql) == 0) {
			c->in_use = 1;
			*st = c->st;
			return GW_OK;
		}
	}
	if (db->ncache < STMT_CACHE) {
		rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    st, NULL);
		if (rc != SQLITE_OK)
			return db_sqlite_error(db, rc, "prepare");
		db->cache[db->ncache].st = *st;
		db->cache[db->ncache].in_use = 1;
		db->ncache++;
		return GW_OK;
	}
	/* Cache full, or the same SQL is already being stepped: a one-off. */
	rc = sqlite3_prepare_v2(db->h, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return db_sqlite_error(db, rc, "prepare");
	return GW_OK;
}

void
db_sqlite_done(struct db *db, sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			db->cache[i].in_use = 0;
			return;
		}
	}
	sqlite3_finalize(st);
}

enum gw_err
db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *c;
	sqlite3_stmt *st;
	enum gw_err e;
	size_t i;

	*out = NULL;
	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].st == st) {
			c = &db->cache[i];
			c->db = db;
			c->bind_rc = SQLITE_OK;
			*out = c;
			return GW_OK;
		}
	}
	/* a one-off: db_done finalizes it and frees the wrapper */
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		sqlite3_finalize(st);
		return GW_ENOMEM;
	}
	c->st = st;
	c->db = db;
	c->in_use = 1;
	*out = c;
	return GW_OK;
}

static void
bind_rc(struct db_stmt *st, int rc)
{
	if (rc != SQLITE_OK && st->bind_rc == SQLITE_OK)
		st->bind_rc = rc;
}

void
db_bind_text(struct db_stmt *st, int i, const char *s)
{
	bind_rc(st, s == NULL ? sqlite3_bind_null(st->st, i) :
	    sqlite3_bind_text(st->st, i, s, -1, SQLITE_STATIC));
}

void
db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	bind_rc(st, sqlite3_bind_int64(st->st, i, (sqlite3_int64)v));
}

enum gw_err
db_step(struct db_stmt *st)
{
	int rc;

	if (st->bind_rc != SQLITE_OK)
		return db_sqlite_error(st->db, st->bind_rc, "bind a parameter");
	rc = sqlite3_step(st->st);
	if (rc == SQLITE_ROW)
		return GW_OK;
	if (rc == SQLITE_DONE)
		return GW_ENOTFOUND;
	return db_sqlite_error(st->db, rc, "run a statement");
}

int
db_column_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

int64_t
db_column_int64(struct db_stmt *st, int col)
{
	return (int64_t)sqlite3_column_int64(st->st, col);
}

/* Valid until the next step or done; NULL for NULL (and on ENOMEM). */
static const char *
db_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->st, col);
}

enum gw_err
db_column_strdup(struct db_stmt *st, int col, char **out)
{
	const char *s = db_column_text(st, col);

	*out = NULL;
	if (s == NULL)
		return db_column_is_null(st, col) ? GW_OK : GW_ENOMEM;
	*out = strdup(s);
	return *out != NULL ? GW_OK : GW_ENOMEM;
}

void
db_done(struct db *db, struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (st >= db->cache && st < db->cache + STMT_CACHE) {
		db_sqlite_done(db, st->st);
		return;
	}
	sqlite3_finalize(st->st);
	free(st);
}

/* Runs SQL without parameters (one or several statements), rows ignored. */
static GW_MUST_CHECK enum gw_err
db_exec(struct db *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? GW_OK : db_sqlite_error(db, rc, what);
}

/* Runs a statement without parameters that returns no rows. */
static GW_MUST_CHECK enum gw_err
run_simple(struct db *db, const char *sql, const char *what)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	rc = sqlite3_step(st);
	e = rc == SQLITE_DONE || rc == SQLITE_ROW ? GW_OK : db_sqlite_error(db, rc, what);
	db_sqlite_done(db, st);
	return e;
}

static GW_MUST_CHECK enum gw_err
read_user_version(struct db *db, int *v)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if ((e = db_sqlite_prepare(db, "PRAGMA user_version", &st)) != GW_OK)
		return e;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		e = GW_OK;
	} else {
		e = db_sqlite_error(db, rc, "reading the schema version");
	}
	db_sqlite_done(db, st);
	return e;
}

int
db_schema_version(struct db *db)
{
	int v;

	return read_user_version(db, &v) == GW_OK ? v : -1;
}

static GW_MUST_CHECK enum gw_err
newer_schema(struct db *db, int v)
{
	log_error("database %s: database schema %d is newer than this program (%d)",
	    db->path, v, db_schema_latest());
	return GW_EDB;
}

/* One step per BEGIN IMMEDIATE; the version is read again under the write
 * lock because another process may have migrated while we waited. */
static GW_MUST_CHECK enum gw_err
migrate(struct db *db)
{
	enum gw_err e;
	int v;

	if ((e = read_user_version(db, &v)) != GW_OK)
		return e;
	if (v > db_schema_latest())
		return newer_schema(db, v);
	while (v < db_schema_latest()) {
		if ((e = db_begin_immediate(db)) != GW_OK)
			return e;
		if ((e = read_user_version(db, &v)) != GW_OK)
			goto fail;
		if (v > db_schema_latest()) {
			e = newer_schema(db, v);
			goto fail;
		}
		if (v == db_schema_latest()) {
			/* another process got there first */
			if ((e = db_commit(db)) != GW_OK)
				goto fail;
			break;
		}
		if ((e = db_exec(db, migration_sql[v], "migrating the schema"))
		    != GW_OK)
			goto fail;
		if ((e = db_commit(db)) != GW_OK)
			goto fail;
		db->migrated++;
		v++;
		log_info("database %s: schema migrated to version %d", db->path, v);
	}
	return GW_OK;
fail:
	/* best effort: e is returned whatever the rollback says */
	GW_IGNORE(db_rollback(db));
	return e;
}

/* Creating the file ourselves gives it mode 0600 without touching the
 * process umask, which other threads share.  sqlite gives the -wal and -shm
 * files the mode of the database file. */
static GW_MUST_CHECK enum gw_err
precreate(const char *path)
{
	char msg[128];
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return GW_OK;
	if (fd < 0) {
		int err = errno;

		log_error("database %s: cannot create it: %s%s", path,
		    strerror_r(err, msg, sizeof(msg)),
		    err == EACCES || err == EROFS || err == EPERM ?
		    " (the directory must be writable by this user)" : "");
		return GW_EDB;
	}
	if (fchmod(fd, 0600) != 0)
		log_warn("database %s: chmod 0600: %s", path,
		    strerror_r(errno, msg, sizeof(msg)));
	close(fd);
	return GW_OK;
}

/*
 * Switching a new file to WAL needs the exclusive lock while holding a
 * shared one; when two processes try at once sqlite answers SQLITE_BUSY at
 * once instead of calling the busy handler (it would deadlock), so retry
 * here for as long as the busy timeout allows.
 */
static GW_MUST_CHECK enum gw_err
set_wal(struct db *db)
{
	int64_t deadline = util_mono_ms() + db->busy_ms;
	int64_t pause = 2;
	const char *mode;
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if ((e = db_sqlite_prepare(db, "PRAGMA journal_mode=WAL", &st)) != GW_OK)
		return e;
	while ((rc = sqlite3_step(st)) != SQLITE_ROW &&
	    ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
	    util_mono_ms() < deadline) {
		sqlite3_reset(st);
		util_sleep_ms(pause);
		pause = pause < 50 ? pause * 2 : 50;
	}
	if (rc != SQLITE_ROW) {
		e = db_sqlite_error(db, rc, "enabling WAL");
	} else if ((mode = (const char *)sqlite3_column_text(st, 0)) == NULL) {
		e = GW_ENOMEM;
	} else if (strcmp(mode, "wal") != 0) {
		/* e.g. a file system without shared memory: works, but readers
		 * and the writer then block each other. */
		log_warn("database %s: WAL refused, journal mode is %s", db->path,
		    mode);
	}
	db_sqlite_done(db, st);
	return e;
}

enum gw_err
db_open(const char *path, struct db **out)
{
	struct db *db = NULL;
	struct stat st;
	enum gw_err e;
	int rc;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return GW_EINVAL;
	if (!sqlite3_threadsafe()) {
		/* connections per thread are only safe with a threadsafe build */
		log_error("database %s: sqlite3 was built without thread support",
		    path);
		return GW_EDB;
	}
	if ((e = precreate(path)) != GW_OK)
		return e;
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->path = strdup(path)) == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	/* NOMUTEX: one connection per thread, so sqlite's per-connection
	 * mutex would only cost time. */
	rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		e = db->h != NULL ? db_sqlite_error(db, rc, "open") : GW_ENOMEM;
		goto fail;
	}
	/* the file just opened (a swap in between is seen at the first look) */
	if (stat(path, &st) == 0) {
		db->dev = st.st_dev;
		db->ino = st.st_ino;
	}
	/* The busy timeout first: switching to WAL already takes a lock. */
	db_set_busy_timeout(db, DB_DEFAULT_BUSY_TIMEOUT_MS);
	if ((e = set_wal(db)) != GW_OK ||
	    (e = run_simple(db, "PRAGMA synchronous=NORMAL", "set synchronous")) != GW_OK ||
	    (e = run_simple(db, "PRAGMA foreign_keys=ON", "set foreign_keys")) != GW_OK ||
	    (e = migrate(db)) != GW_OK)
		goto fail;
	*out = db;
	return GW_OK;
fail:
	db_close(db);
	return e;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].st);
	/* sqlite rolls back an open transaction on close. */
	sqlite3_close(db->h);
	free(db->path);
	free(db);
}

int
db_moved(struct db *db)
{
	struct stat st;

	if (stat(db->path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR;
	return st.st_dev != db->dev || st.st_ino != db->ino;
}

enum gw_err
db_reopen(struct db **db)
{
	struct db *fresh;
	enum gw_err e;

	if ((e = db_open((*db)->path, &fresh)) != GW_OK)
		return e;
	/* Closing the last connection to a WAL database checkpoints it and
	 * deletes the -wal file by name: a name that is the new file's now.
	 * sqlite skips that for a file it sees moved; say so explicitly. */
	sqlite3_db_config((*db)->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	db_close(*db);
	*db = fresh;
	return GW_OK;
}

static void
db_set_busy_timeout(struct db *db, int ms)
{
	db->busy_ms = ms < 0 ? 0 : ms;
	sqlite3_busy_timeout(db->h, db->busy_ms);
}

enum gw_err
db_begin_immediate(struct db *db)
{
	return run_simple(db, "BEGIN IMMEDIATE", "begin a write transaction");
}

enum gw_err
db_commit(struct db *db)
{
	return run_simple(db, "COMMIT", "commit");
}

enum gw_err
db_rollback(struct db *db)
{
	if (sqlite3_get_autocommit(db->h))
		return GW_OK;
	return run_simple(db, "ROLLBACK", "rollback");
}

enum gw_err
db_checkpoint(struct db *db)
{
	int rc;

	rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	return rc == SQLITE_OK ? GW_OK : db_sqlite_error(db, rc, "checkpoint");
}

/* Copies a text column; NULL column → NULL with GW_OK. */
static GW_MUST_CHECK enum gw_err
column_strdup(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	*out = NULL;
	if (s == NULL)
		return sqlite3_column_type(st, col) == SQLITE_NULL ? GW_OK : GW_ENOMEM;
	*out = strdup((const char *)s);
	return *out != NULL ? GW_OK : GW_ENOMEM;
}

/* Binds a text parameter; the string must outlive the step (db_done
 * clears the bindings before the caller's strings go away). */
static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

enum gw_err
db_kv_get(struct db *db, const char *key, char **value)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	*value = NULL;
	if ((e = db_sqlite_prepare(db, "SELECT value FROM kv WHERE key = ?1", &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK) {
		e = db_sqlite_error(db, rc, "kv get");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = column_strdup(st, 0, value);
	else if (rc == SQLITE_DONE)
		e = GW_ENOTFOUND;
	else
		e = db_sqlite_error(db, rc, "kv get");
out:
	db_sqlite_done(db, st);
	return e;
}

enum gw_err
db_account(int opencode, const char *domain, char **out)
{
	size_t n = 16 + (domain != NULL ? strlen(domain) : 0);

	if ((*out = malloc(n)) == NULL)
		return GW_ENOMEM;
	snprintf(*out, n, "%s%s%s", opencode ? "opencode" : "",
	    domain != NULL && *domain != '\0' ? "@" : "",
	    domain != NULL ? domain : "");
	return GW_OK;
}

enum gw_err
db_account_key(const char *prefix, const char *account, char **out)
{
	size_t n;

	if (account == NULL || *account == '\0')
		return (*out = strdup(prefix)) != NULL ? GW_OK : GW_ENOMEM;
	n = strlen(prefix) + strlen(account) + 2;
	if ((*out = malloc(n)) == NULL)
		return GW_ENOMEM;
	snprintf(*out, n, "%s:%s", prefix, account);
	return GW_OK;
}

enum gw_err
db_kv_set(struct db *db, const char *key, const char *value)
{
	static const char sql[] =
	    "INSERT INTO kv (key, value, updated_at_ms) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
	    "updated_at_ms = excluded.updated_at_ms";
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if (key == NULL || value == NULL)
		return GW_EINVAL;
	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, value)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, util_now_ms())) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_sqlite_error(db, rc, "kv set");
	db_sqlite_done(db, st);
	return e;
}

/* Deleting an absent key is not an error.  No caller in the gateway
 * (test_db.c includes this file to reach it). */
static __attribute__((unused)) enum gw_err
db_kv_delete(struct db *db, const char *key)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if ((e = db_sqlite_prepare(db, "DELETE FROM kv WHERE key = ?1", &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, key)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_sqlite_error(db, rc, "kv delete");
	db_sqlite_done(db, st);
	return e;
}

void
db_copilot_token_free(struct db_copilot_token *t)
{
	if (t == NULL)
		return;
	free(t->token);
	free(t->api_url);
	free(t->account);
	memset(t, 0, sizeof(*t));
}

enum gw_err
db_copilot_token_get(struct db *db, struct db_copilot_token *out)
{
	static const char sql[] =
	    "SELECT token, expires_at, refresh_in, fetched_at, api_url, account "
	    "FROM copilot_token WHERE id = 1";
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		e = GW_ENOTFOUND;
	} else if (rc != SQLITE_ROW) {
		e = db_sqlite_error(db, rc, "read the Copilot token");
	} else {
		out->expires_at = sqlite3_column_int64(st, 1);
		out->refresh_in = sqlite3_column_int64(st, 2);
		out->fetched_at = sqlite3_column_int64(st, 3);
		if ((e = column_strdup(st, 0, &out->token)) != GW_OK ||
		    (e = column_strdup(st, 4, &out->api_url)) != GW_OK ||
		    (e = column_strdup(st, 5, &out->account)) != GW_OK)
			db_copilot_token_free(out);
	}
	db_sqlite_done(db, st);
	return e;
}

enum gw_err
db_copilot_token_put(struct db *db, const struct db_copilot_token *t)
{
	static const char sql[] =
	    "INSERT INTO copilot_token "
	    "(id, token, expires_at, refresh_in, fetched_at, api_url, account) "
	    "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT (id) DO UPDATE SET token = excluded.token, "
	    "expires_at = excluded.expires_at, refresh_in = excluded.refresh_in, "
	    "fetched_at = excluded.fetched_at, api_url = excluded.api_url, "
	    "account = excluded.account";
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if (t == NULL || t->token == NULL)
		return GW_EINVAL;
	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, t->token)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, t->expires_at)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 3, t->refresh_in)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, t->fetched_at)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, t->api_url)) != SQLITE_OK ||
	    (rc = bind_text(st, 6, t->account != NULL ? t->account : "")) !=
	    SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_sqlite_error(db, rc, "store the Copilot token");
	db_sqlite_done(db, st);
	return e;
}

enum gw_err
db_copilot_token_clear(struct db *db)
{
	return run_simple(db, "DELETE FROM copilot_token", "clear the Copilot token");
}

enum gw_err
db_models_get(struct db *db, char **json, int64_t *fetched_at_ms)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if (json != NULL)
		*json = NULL;
	if ((e = db_sqlite_prepare(db, json != NULL ?
	    "SELECT fetched_at_ms, json FROM models_cache WHERE id = 1" :
	    "SELECT fetched_at_ms FROM models_cache WHERE id = 1", &st)) != GW_OK)
		return e;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (fetched_at_ms != NULL)
			*fetched_at_ms = sqlite3_column_int64(st, 0);
		if (json != NULL)
			e = column_strdup(st, 1, json);
	} else if (rc == SQLITE_DONE) {
		e = GW_ENOTFOUND;
	} else {
		e = db_sqlite_error(db, rc, "read the models cache");
	}
	db_sqlite_done(db, st);
	return e;
}

enum gw_err
db_models_put(struct db *db, const char *json, int64_t fetched_at_ms)
{
	static const char sql[] =
	    "INSERT INTO models_cache (id, json, fetched_at_ms) VALUES (1, ?1, ?2) "
	    "ON CONFLICT (id) DO UPDATE SET json = excluded.json, "
	    "fetched_at_ms = excluded.fetched_at_ms";
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if (json == NULL)
		return GW_EINVAL;
	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, json)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, fetched_at_ms)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_sqlite_error(db, rc, "store the models cache");
	db_sqlite_done(db, st);
	return e;
}

/* Per-model 429 cooldown shared by all processes; reason may be NULL.  No
 * caller in the gateway yet (test_db.c includes this file to reach it). */
static __attribute__((unused)) enum gw_err
db_cooldown_get(struct db *db, const char *model, int64_t *until_ms)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	*until_ms = 0;
	if ((e = db_sqlite_prepare(db, "SELECT until_ms FROM cooldown WHERE model = ?1",
	    &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, model)) != SQLITE_OK) {
		e = db_sqlite_error(db, rc, "read a cooldown");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*until_ms = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		e = GW_ENOTFOUND;
	else
		e = db_sqlite_error(db, rc, "read a cooldown");
out:
	db_sqlite_done(db, st);
	return e;
}

static __attribute__((unused)) enum gw_err
db_cooldown_set(struct db *db, const char *model, int64_t until_ms,
    const char *reason)
{
	static const char sql[] =
	    "INSERT INTO cooldown (model, until_ms, reason) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (model) DO UPDATE SET until_ms = excluded.until_ms, "
	    "reason = excluded.reason";
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if (model == NULL)
		return GW_EINVAL;
	if ((e = db_sqlite_prepare(db, sql, &st)) != GW_OK)
		return e;
	if ((rc = bind_text(st, 1, model)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 2, until_ms)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, reason)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_sqlite_error(db, rc, "store a cooldown");
	db_sqlite_done(db, st);
	return e;
}

enum gw_err
db_prune_usage(struct db *db, int64_t older_than_ms, long *deleted)
{
	sqlite3_stmt *st;
	enum gw_err e;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if ((e = db_sqlite_prepare(db, "DELETE FROM token_usage_events "
	    "WHERE created_at_ms < ?1", &st)) != GW_OK)
		return e;
	if ((rc = sqlite3_bind_int64(st, 1, older_than_ms)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		e = db_sqlite_error(db, rc, "prune usage rows");
	else if (deleted != NULL)
		*deleted = (long)sqlite3_changes64(db->h);
	db_sqlite_done(db, st);
	return e;
}

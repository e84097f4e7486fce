/* The state database's common part: the driver chosen at open, the
 * migrations, the small state tables, transactions and the statements,
 * dispatched to the driver (state/db_driver.h). */
#include "gwconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
#include "state/db_driver.h"
#include "state/paths.h"

/*
 * Migration N+1 is migration_sql[N], one list for every driver: portable
 * DDL (state/db.h's rules), BIGINT for every integer column, "{serial}" for
 * the key the database assigns (the driver's serial_pk).  Each step runs
 * inside db_begin_immediate with the driver's version_set, so a half-applied
 * step never becomes visible.  Plain CREATE (no IF NOT EXISTS): applying a
 * step twice would be a bug, and this makes it fail loudly instead of
 * passing silently.  A sqlite file made by an earlier program (INTEGER
 * columns, user_version set inside each step) has the same schema:
 * INTEGER and BIGINT are the same integer affinity, and the one-row
 * tables' "id BIGINT PRIMARY KEY" is no rowid alias but holds the same one
 * row (tests/unit/test_db.c compares the two).
 */
static const char *const migration_sql[] = {
	/* 1 */
	"CREATE TABLE kv ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated_at_ms BIGINT NOT NULL);"
	"CREATE TABLE copilot_token ("
	"  id BIGINT PRIMARY KEY CHECK (id = 1),"
	"  token TEXT NOT NULL,"
	"  expires_at BIGINT NOT NULL,"
	"  refresh_in BIGINT NOT NULL,"
	"  fetched_at BIGINT NOT NULL,"
	"  api_url TEXT);"
	"CREATE TABLE models_cache ("
	"  id BIGINT PRIMARY KEY CHECK (id = 1),"
	"  json TEXT NOT NULL,"
	"  fetched_at_ms BIGINT NOT NULL);"
	"CREATE TABLE token_usage_events ("
	"  id {serial},"
	"  created_at_ms BIGINT NOT NULL,"
	"  created_at_utc TEXT NOT NULL,"
	"  trace_id TEXT NOT NULL DEFAULT '',"
	"  session_id TEXT NOT NULL DEFAULT '',"
	"  user_id TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL,"
	"  endpoint TEXT NOT NULL,"
	"  provider_name TEXT,"
	"  model TEXT NOT NULL,"
	"  input_tokens BIGINT NOT NULL DEFAULT 0,"
	"  output_tokens BIGINT NOT NULL DEFAULT 0,"
	"  cache_read_input_tokens BIGINT NOT NULL DEFAULT 0,"
	"  cache_creation_input_tokens BIGINT NOT NULL DEFAULT 0,"
	"  total_tokens BIGINT NOT NULL DEFAULT 0,"
	"  status BIGINT,"
	"  latency_ms BIGINT,"
	"  stream BIGINT NOT NULL DEFAULT 0,"
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
	"  until_ms BIGINT NOT NULL,"
	"  reason TEXT);",
	/* 2: one GitHub account per (OAuth app, enterprise domain).  The
	 * Copilot token row says whose it is; a token stored before this step
	 * by the opencode app moves to that app's keys. */
	"ALTER TABLE copilot_token ADD COLUMN account TEXT NOT NULL DEFAULT '';"
	"UPDATE copilot_token SET account = 'opencode' WHERE EXISTS"
	"  (SELECT 1 FROM kv WHERE key = 'oauth_app' AND value = 'opencode');"
	"UPDATE kv SET key = key || ':opencode'"
	"  WHERE key IN ('github_token', 'github_login') AND EXISTS"
	"  (SELECT 1 FROM kv WHERE key = 'oauth_app' AND value = 'opencode');"
	"DELETE FROM kv WHERE key = 'oauth_app';",
	/* 3: manual approval's pending requests (state/approval.c); decision
	 * is NULL while undecided, 1 approved, 0 rejected. */
	"CREATE TABLE approvals ("
	"  id TEXT PRIMARY KEY,"
	"  route TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  preview TEXT NOT NULL,"
	"  created_at_ms BIGINT NOT NULL,"
	"  decision BIGINT);",
	/* 4: what a row cost (state/pricing.h), as 1.14.7 stores it:
	 * Copilot's own charge in nano-AIU, and the estimate in nanos of
	 * cost_currency with where its price came from (NULL: no price). */
	"ALTER TABLE token_usage_events ADD COLUMN total_nano_aiu BIGINT;"
	"ALTER TABLE token_usage_events ADD COLUMN cost_currency TEXT;"
	"ALTER TABLE token_usage_events ADD COLUMN total_cost_nanos BIGINT;"
	"ALTER TABLE token_usage_events ADD COLUMN cost_source TEXT;",
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
	"ALTER TABLE token_usage_events ADD COLUMN account TEXT;",
	/* 6: each row's identity (state/usage.h row_key), so that a batch
	 * written again after its commit's answer was lost adds nothing;
	 * rows from before have none (NULLs never conflict). */
	"ALTER TABLE token_usage_events ADD COLUMN row_key TEXT;"
	"CREATE UNIQUE INDEX idx_token_usage_events_row_key"
	"  ON token_usage_events(row_key);",
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

/* --- statements, dispatched to the driver --- */

static struct db *
stmt_db(struct db_stmt *st)
{
	return ((struct db_stmt_head *)(void *)st)->db;
}

static GW_MUST_CHECK enum gw_err schema_ready(struct db *db);

enum gw_err
db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	enum gw_err e;

	*out = NULL;
	if ((e = schema_ready(db)) != GW_OK)
		return e;
	return db->ops->prepare(db, sql, out);
}

void
db_bind_text(struct db_stmt *st, int i, const char *s)
{
	stmt_db(st)->ops->bind_text(st, i, s);
}

void
db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	stmt_db(st)->ops->bind_int64(st, i, v);
}

enum gw_err
db_step(struct db_stmt *st)
{
	return stmt_db(st)->ops->step(st);
}

int
db_column_is_null(struct db_stmt *st, int col)
{
	return stmt_db(st)->ops->column_is_null(st, col);
}

int64_t
db_column_int64(struct db_stmt *st, int col)
{
	return stmt_db(st)->ops->column_int64(st, col);
}

const char *
db_column_text(struct db_stmt *st, int col)
{
	return stmt_db(st)->ops->column_text(st, col);
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
	if (st != NULL)
		db->ops->done(db, st);
}

/* Runs SQL without parameters (one or several statements), rows ignored. */
static GW_MUST_CHECK enum gw_err
db_exec(struct db *db, const char *sql, const char *what)
{
	return db->ops->exec(db, sql, what);
}

/* Runs a statement whose rows, if any, are not read. */
static GW_MUST_CHECK enum gw_err
run_simple(struct db *db, struct db_stmt *st)
{
	enum gw_err e;

	while ((e = db_step(st)) == GW_OK)
		;
	db_done(db, st);
	return e == GW_ENOTFOUND ? GW_OK : e;
}

/* --- open, migrations --- */

int
db_schema_version(struct db *db)
{
	int v;

	return db->ops->version_get(db, &v) == GW_OK ? v : -1;
}

static GW_MUST_CHECK enum gw_err
newer_schema(struct db *db, int v)
{
	log_error("database %s: database schema %d is newer than this program (%d)",
	    db->label, v, db_schema_latest());
	return GW_EDB;
}

/* Step n's SQL with "{serial}" replaced by the driver's key. */
static char *
migration_text(const struct db *db, int n)
{
	static const char mark[] = "{serial}";
	const char *sql = migration_sql[n], *at;
	struct buf b = BUF_INIT;

	while ((at = strstr(sql, mark)) != NULL) {
		if (buf_append(&b, sql, (size_t)(at - sql)) != GW_OK ||
		    buf_puts(&b, db->ops->serial_pk) != GW_OK)
			goto fail;
		sql = at + sizeof(mark) - 1;
	}
	if (buf_puts(&b, sql) == GW_OK)
		return buf_detach(&b);
fail:
	buf_free(&b);
	return NULL;
}

/* Applies step v (to version v + 1) in the open transaction. */
static GW_MUST_CHECK enum gw_err
migrate_step(struct db *db, int v)
{
	char *sql = migration_text(db, v);
	enum gw_err e;

	if (sql == NULL)
		return GW_ENOMEM;
	if ((e = db_exec(db, sql, "migrating the schema")) == GW_OK)
		e = db->ops->version_set(db, v + 1);
	free(sql);
	return e;
}

/* One step per db_begin_immediate; the version is read again under the
 * write lock because another process may have migrated while we waited. */
static GW_MUST_CHECK enum gw_err
migrate(struct db *db)
{
	enum gw_err e;
	int v;

	if ((e = db->ops->version_get(db, &v)) != GW_OK)
		return e;
	if (v > db_schema_latest())
		return newer_schema(db, v);
	while (v < db_schema_latest()) {
		if ((e = db_begin_immediate(db)) != GW_OK)
			return e;
		if ((e = db->ops->version_get(db, &v)) != GW_OK)
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
		if ((e = migrate_step(db, v)) != GW_OK ||
		    (e = db_commit(db)) != GW_OK)
			goto fail;
		db->migrated++;
		v++;
		log_info("database %s: schema migrated to version %d", db->label,
		    v);
	}
	return GW_OK;
fail:
	/* best effort: e is returned whatever the rollback says */
	GW_IGNORE(db_rollback(db));
	return e;
}

/* A connection opened while its server was down migrates at its first
 * use that reaches it; until then every use answers what migrate did. */
static enum gw_err
schema_ready(struct db *db)
{
	enum gw_err e;

	if (!db->schema_pending)
		return GW_OK;
	db->schema_pending = 0;         /* migrate's own statements pass */
	if ((e = migrate(db)) != GW_OK)
		db->schema_pending = 1;
	else
		log_info("database %s: reachable again", db->label);
	return e;
}

/* The target for the log: a URL's password (scheme://user:password@host)
 * and a conninfo's password=... replaced by "***". */
static char *
target_label(const char *t)
{
	const char *auth = strstr(t, "://"), *at, *colon, *pw, *end;

	if (auth != NULL) {
		auth += 3;
		at = strchr(auth, '@');
		colon = strchr(auth, ':');
		if (at != NULL && colon != NULL && colon < at &&
		    memchr(auth, '/', (size_t)(at - auth)) == NULL)
			return buf_strdupf("%.*s***%s", (int)(colon + 1 - t), t, at);
	} else if ((pw = strstr(t, "password=")) != NULL) {
		pw += sizeof("password=") - 1;
		end = pw + strcspn(pw, " ");
		return buf_strdupf("%.*s***%s", (int)(pw - t), t, end);
	}
	return strdup(t);
}

/* The driver named, or NULL with the reason logged. */
static const struct db_driver *
driver_named(const char *name)
{
	if (strcmp(name, "sqlite") == 0)
		return &db_driver_sqlite;
	if (strcmp(name, "postgresql") == 0) {
#ifdef GW_HAVE_LIBPQ
		return &db_driver_pg;
#else
		log_error("storage driver \"postgresql\": this build has no "
		    "PostgreSQL support (rebuild with libpq-dev installed)");
		return NULL;
#endif
	}
	log_error("storage driver \"%s\": unknown (\"sqlite\" or "
	    "\"postgresql\")", name);
	return NULL;
}

static enum gw_err
open_target(const char *driver, const char *target, int own, struct db **out)
{
	const struct db_driver *ops;
	struct db *db;
	enum gw_err e;

	*out = NULL;
	if (driver == NULL || target == NULL || *target == '\0')
		return GW_EINVAL;
	if ((ops = driver_named(driver)) == NULL)
		return GW_ECONFIG;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return GW_ENOMEM;
	db->ops = ops;
	db->busy_ms = DB_DEFAULT_BUSY_TIMEOUT_MS;
	db->own_conn = own;
	if ((db->target = strdup(target)) == NULL ||
	    (db->label = target_label(target)) == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	if ((e = ops->open(db, target)) == GW_OK)
		e = migrate(db);
	if (e == GW_EDBDOWN && db->drv != NULL) {
		/* a server down now: usable once it answers (db_driver.h) */
		log_warn("database %s: unreachable; the gateway starts and "
		    "connects at the first use that reaches it", db->label);
		db->schema_pending = 1;
		e = GW_OK;
	}
	if (e != GW_OK)
		goto fail;
	*out = db;
	return GW_OK;
fail:
	db_close(db);
	return e;
}

enum gw_err
db_open_target(const char *driver, const char *target, struct db **out)
{
	return open_target(driver, target, 0, out);
}

enum gw_err
db_open_target_own(const char *driver, const char *target, struct db **out)
{
	return open_target(driver, target, 1, out);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	/* a driver rolls back an open transaction on close */
	if (db->drv != NULL)
		db->ops->close(db);
	free(db->target);
	free(db->label);
	free(db);
}

int
db_moved(struct db *db)
{
	return db->ops->moved != NULL && db->ops->moved(db);
}

enum gw_err
db_reopen(struct db **db)
{
	struct db *fresh;
	enum gw_err e;

	if ((*db)->ops->reopen == NULL)
		return GW_OK;
	if ((e = db_open_target((*db)->ops->name, (*db)->target, &fresh)) !=
	    GW_OK)
		return e;
	if ((e = (*db)->ops->reopen(*db)) != GW_OK) {
		db_close(fresh);
		return e;
	}
	db_close(*db);
	*db = fresh;
	return GW_OK;
}

/* --- transactions --- */

enum gw_err
db_begin_immediate(struct db *db)
{
	enum gw_err e;

	if ((e = schema_ready(db)) != GW_OK)
		return e;
	return db->ops->begin_exclusive(db);
}

enum gw_err
db_begin_inserts(struct db *db)
{
	if (db->ops->begin_inserts == NULL)
		return db->ops->begin_exclusive(db);
	return db->ops->begin_inserts(db);
}

enum gw_err
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT", "commit");
}

enum gw_err
db_rollback(struct db *db)
{
	if (!db->ops->in_transaction(db))
		return GW_OK;
	return db_exec(db, "ROLLBACK", "rollback");
}

/* FNV-1a, 64 bits: a name to an advisory lock's key, the same on every
 * host and in every build. */
static int64_t
lock_key(const char *name)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ULL;
	}
	return (int64_t)h;
}

enum gw_err
db_lock_named(struct db *db, const char *name, const char *lock_path,
    int wait_ms, struct db_lock *l)
{
	enum gw_err e;

	l->fd = -1;
	l->held = 0;
	l->key = lock_key(name);
	if (db->ops->lock == NULL)
		return paths_lock(lock_path, 0, &l->fd, NULL);
	if ((e = schema_ready(db)) != GW_OK ||
	    (e = db->ops->lock(db, l->key, wait_ms)) != GW_OK)
		return e;
	l->held = 1;
	return GW_OK;
}

void
db_unlock_named(struct db *db, struct db_lock *l)
{
	if (l->held) {
		/* a lost connection took the lock with it; the driver logs
		 * what it says */
		GW_IGNORE(db->ops->unlock(db, l->key));
		l->held = 0;
	}
	paths_unlock(l->fd);
	l->fd = -1;
}

enum gw_err
db_checkpoint(struct db *db)
{
	return db->ops->checkpoint != NULL ? db->ops->checkpoint(db) : GW_OK;
}

/* --- small state tables --- */

/* sql prepared with the texts bound as ?1.., then the integers after them. */
static GW_MUST_CHECK enum gw_err
prepare_bound(struct db *db, const char *sql, const char *const *texts,
    int ntexts, const int64_t *ints, int nints, struct db_stmt **st)
{
	enum gw_err e;
	int i;

	if ((e = db_prepare(db, sql, st)) != GW_OK)
		return e;
	for (i = 0; i < ntexts; i++)
		db_bind_text(*st, i + 1, texts[i]);
	for (i = 0; i < nints; i++)
		db_bind_int64(*st, ntexts + i + 1, ints[i]);
	return GW_OK;
}

enum gw_err
db_run(struct db *db, const char *sql, const char *const *texts, int ntexts,
    const int64_t *ints, int nints, int *row)
{
	struct db_stmt *st;
	enum gw_err e;
	int got = 0;

	if ((e = prepare_bound(db, sql, texts, ntexts, ints, nints, &st)) !=
	    GW_OK)
		return e;
	while ((e = db_step(st)) == GW_OK)
		got = 1;
	db_done(db, st);
	if (row != NULL)
		*row = got;
	return e == GW_ENOTFOUND ? GW_OK : e;
}

/* Runs sql (one row at most, its first column text copied to *out when
 * out is given) with the text parameters (NULL-terminated list) and then
 * the int64 ones (n of them). */
static GW_MUST_CHECK enum gw_err
run(struct db *db, const char *sql, const char *const *texts,
    const int64_t *ints, int n, char **out)
{
	struct db_stmt *st;
	enum gw_err e;
	int i = 0;

	for (; texts != NULL && texts[i] != NULL; i++)
		;
	if (out == NULL)
		return db_run(db, sql, texts, i, ints, n, NULL);
	if ((e = prepare_bound(db, sql, texts, i, ints, n, &st)) != GW_OK)
		return e;
	if ((e = db_step(st)) == GW_OK)
		e = db_column_strdup(st, 0, out);
	db_done(db, st);
	return e;
}

enum gw_err
db_kv_get(struct db *db, const char *key, char **value)
{
	*value = NULL;
	return run(db, "SELECT value FROM kv WHERE key = ?1",
	    (const char *const[]){ key, NULL }, NULL, 0, value);
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
	int64_t now = util_now_ms();

	if (key == NULL || value == NULL)
		return GW_EINVAL;
	return run(db, "INSERT INTO kv (key, value, updated_at_ms) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
	    "value = excluded.value, updated_at_ms = excluded.updated_at_ms",
	    (const char *const[]){ key, value, NULL }, &now, 1, NULL);
}

/* Deleting an absent key is not an error.  No caller in the gateway
 * (test_db.c includes this file to reach it). */
static __attribute__((unused)) enum gw_err
db_kv_delete(struct db *db, const char *key)
{
	return run(db, "DELETE FROM kv WHERE key = ?1",
	    (const char *const[]){ key, NULL }, NULL, 0, NULL);
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
	struct db_stmt *st;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	if ((e = db_step(st)) == GW_OK) {
		out->expires_at = db_column_int64(st, 1);
		out->refresh_in = db_column_int64(st, 2);
		out->fetched_at = db_column_int64(st, 3);
		if ((e = db_column_strdup(st, 0, &out->token)) != GW_OK ||
		    (e = db_column_strdup(st, 4, &out->api_url)) != GW_OK ||
		    (e = db_column_strdup(st, 5, &out->account)) != GW_OK)
			db_copilot_token_free(out);
	}
	db_done(db, st);
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
	struct db_stmt *st;
	enum gw_err e;

	if (t == NULL || t->token == NULL)
		return GW_EINVAL;
	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	db_bind_text(st, 1, t->token);
	db_bind_int64(st, 2, t->expires_at);
	db_bind_int64(st, 3, t->refresh_in);
	db_bind_int64(st, 4, t->fetched_at);
	db_bind_text(st, 5, t->api_url);
	db_bind_text(st, 6, t->account != NULL ? t->account : "");
	return run_simple(db, st);
}

enum gw_err
db_copilot_token_clear(struct db *db)
{
	return run(db, "DELETE FROM copilot_token", NULL, NULL, 0, NULL);
}

enum gw_err
db_models_get(struct db *db, char **json, int64_t *fetched_at_ms)
{
	struct db_stmt *st;
	enum gw_err e;

	if (json != NULL)
		*json = NULL;
	if ((e = db_prepare(db, json != NULL ?
	    "SELECT fetched_at_ms, json FROM models_cache WHERE id = 1" :
	    "SELECT fetched_at_ms FROM models_cache WHERE id = 1", &st)) != GW_OK)
		return e;
	if ((e = db_step(st)) == GW_OK) {
		if (fetched_at_ms != NULL)
			*fetched_at_ms = db_column_int64(st, 0);
		if (json != NULL)
			e = db_column_strdup(st, 1, json);
	}
	db_done(db, st);
	return e;
}

enum gw_err
db_models_put(struct db *db, const char *json, int64_t fetched_at_ms)
{
	if (json == NULL)
		return GW_EINVAL;
	return run(db, "INSERT INTO models_cache (id, json, fetched_at_ms) "
	    "VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET "
	    "json = excluded.json, fetched_at_ms = excluded.fetched_at_ms",
	    (const char *const[]){ json, NULL }, &fetched_at_ms, 1, NULL);
}

/* Per-model 429 cooldown shared by all processes; reason may be NULL.  No
 * caller in the gateway yet (test_db.c includes this file to reach it). */
static __attribute__((unused)) enum gw_err
db_cooldown_get(struct db *db, const char *model, int64_t *until_ms)
{
	struct db_stmt *st;
	enum gw_err e;

	*until_ms = 0;
	if ((e = db_prepare(db, "SELECT until_ms FROM cooldown WHERE model = ?1",
	    &st)) != GW_OK)
		return e;
	db_bind_text(st, 1, model);
	if ((e = db_step(st)) == GW_OK)
		*until_ms = db_column_int64(st, 0);
	db_done(db, st);
	return e;
}

static __attribute__((unused)) enum gw_err
db_cooldown_set(struct db *db, const char *model, int64_t until_ms,
    const char *reason)
{
	struct db_stmt *st;
	enum gw_err e;

	if (model == NULL)
		return GW_EINVAL;
	if ((e = db_prepare(db, "INSERT INTO cooldown (model, until_ms, reason) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (model) DO UPDATE SET "
	    "until_ms = excluded.until_ms, reason = excluded.reason", &st)) !=
	    GW_OK)
		return e;
	db_bind_text(st, 1, model);
	db_bind_int64(st, 2, until_ms);
	db_bind_text(st, 3, reason);
	return run_simple(db, st);
}

/* The count and the delete in one write transaction, so the count is of
 * the rows deleted (no driver reports how many a statement changed). */
enum gw_err
db_prune_usage(struct db *db, int64_t older_than_ms, long *deleted)
{
	char *n = NULL;
	enum gw_err e;

	if (deleted != NULL)
		*deleted = 0;
	if ((e = db_begin_immediate(db)) != GW_OK)
		return e;
	if ((e = run(db, "SELECT COUNT(*) FROM token_usage_events "
	    "WHERE created_at_ms < ?1", NULL, &older_than_ms, 1, &n)) != GW_OK ||
	    (e = run(db, "DELETE FROM token_usage_events "
	    "WHERE created_at_ms < ?1", NULL, &older_than_ms, 1, NULL)) != GW_OK ||
	    (e = db_commit(db)) != GW_OK) {
		GW_IGNORE(db_rollback(db));  /* e says what went wrong */
		free(n);
		return e;
	}
	if (deleted != NULL && n != NULL)
		*deleted = strtol(n, NULL, 10);
	free(n);
	return GW_OK;
}

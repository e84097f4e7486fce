/*
 * The state database, shared by the FastCGI workers, copilot-refresh and
 * the CLI: by default the sqlite file copilot-api.db in the data directory
 * (state/db_sqlite.c), or a PostgreSQL server shared by several hosts
 * (state/db_pg.c, issue 15).  The engine is behind state/db_driver.h;
 * everything here is the same for both.
 *
 * Thread-safety: a struct db is one handle.  Use it from one thread at a
 * time; each worker thread opens its own.  With sqlite a handle is one
 * connection; with PostgreSQL the handles of a process share a bounded
 * pool of connections (state/db_driver.h), so a handle may answer
 * GW_EBUSY when every connection stayed in use past its busy timeout.
 * Several handles and processes may use the same database at once
 * (sqlite: WAL).
 *
 * Errors: GW_EBUSY when the database stayed locked past the busy timeout,
 * GW_EDB for any other failure of the engine (logged with the path or the
 * server and the engine's message), GW_ENOTFOUND when a row is absent.
 * Strings handed out are malloc'd and owned by the caller.
 */
#ifndef GW_DB_H
#define GW_DB_H

#include <stdint.h>

#include "core/err.h"

struct db;

#define DB_FILE_NAME "copilot-api.db"
#define DB_DEFAULT_BUSY_TIMEOUT_MS 10000

/*
 * Opens the database of a named driver and brings the schema up to date
 * (a schema newer than this program is refused): "sqlite", target a file
 * path (created with mode 0600; WAL, foreign keys, synchronous=NORMAL and
 * the default busy timeout), or "postgresql", target a postgresql:// URL
 * or a libpq conninfo (only in a build with libpq, else GW_ECONFIG with a
 * message saying so).  An unknown driver is GW_ECONFIG.  A server that is
 * unreachable now still opens: every use answers GW_EDBDOWN (at most one
 * connect attempt a second) until it answers, and the schema is brought
 * up to date at that first use (state/db_driver.h).
 */
GW_MUST_CHECK enum gw_err db_open_target(const char *driver,
    const char *target, struct db **out);
/*
 * The same for a thread that must never wait for the process's other
 * handles (the usage writer): with a database server, a connection of its
 * own outside the process's pool (state/db_driver.h); with sqlite the same
 * as db_open_target.
 */
GW_MUST_CHECK enum gw_err db_open_target_own(const char *driver,
    const char *target, struct db **out);
/* The sqlite file at path (the gateway opens what config storage says,
 * app/app.h's app_db_open; tests open files by path). */
static inline GW_MUST_CHECK enum gw_err
db_open(const char *path, struct db **out)
{
	return db_open_target("sqlite", path, out);
}
void db_close(struct db *db);

/*
 * Whether the file at the database's path is no longer the one this
 * connection opened (deleted, or replaced by another: its dev/ino changed).
 * One stat(2).  A connection to a deleted file keeps writing into it, and
 * what it writes is lost with it.  Always 0 for a database server.
 */
int db_moved(struct db *db);
/*
 * Opens the file now at the path and, once that worked, closes *db without
 * the checkpoint-on-close (which would delete the new file's -wal and -shm
 * by name) and puts the new connection in *db.  On failure *db is kept.
 * GW_OK without doing anything for a database server.
 */
GW_MUST_CHECK enum gw_err db_reopen(struct db **db);

/* The schema version of the open database (sqlite: PRAGMA user_version);
 * -1 when it cannot be read. */
int db_schema_version(struct db *db);

/* Small key/value state: github_token, github_login, oauth_app, ... */
GW_MUST_CHECK enum gw_err db_kv_get(struct db *db, const char *key, char **value);
GW_MUST_CHECK enum gw_err db_kv_set(struct db *db, const char *key, const char *value);

/*
 * Whose GitHub token: one account per (OAuth app, enterprise domain), named
 * "" (the default app on github.com), "opencode", "@<domain>" or
 * "opencode@<domain>".  db_account builds the name; db_account_key the kv
 * key of one of its values: prefix itself for "", else "prefix:<account>"
 * (github_token, github_login).  *out is malloc'd.
 */
GW_MUST_CHECK enum gw_err db_account(int opencode, const char *domain, char **out);
GW_MUST_CHECK enum gw_err db_account_key(const char *prefix, const char *account,
    char **out);

/* The current Copilot token (one row). Times are epoch seconds.  A row is
 * for one account: its reader compares account before using it. */
struct db_copilot_token {
	char *token;
	int64_t expires_at;
	int64_t refresh_in;
	int64_t fetched_at;
	char *api_url;          /* endpoints.api, or NULL */
	char *account;          /* whose (db_account); NULL is stored as "" */
};

GW_MUST_CHECK enum gw_err db_copilot_token_get(struct db *db, struct db_copilot_token *out);
GW_MUST_CHECK enum gw_err db_copilot_token_put(struct db *db, const struct db_copilot_token *t);
GW_MUST_CHECK enum gw_err db_copilot_token_clear(struct db *db);
/* Frees the contents (token, api_url, account) of a filled struct, not the struct
 * itself, and zeroes it; accepts NULL. */
void db_copilot_token_free(struct db_copilot_token *t);

/* The cached /models document; json NULL: only its time (the document's
 * pages are then not read).  GW_ENOTFOUND when none is stored. */
GW_MUST_CHECK enum gw_err db_models_get(struct db *db, char **json, int64_t *fetched_at_ms);
GW_MUST_CHECK enum gw_err db_models_put(struct db *db, const char *json, int64_t fetched_at_ms);

/* Write transactions that exclude every other writer from their start
 * (sqlite: BEGIN IMMEDIATE, so a reader never has to upgrade, which would
 * fail with SQLITE_BUSY at once; PostgreSQL: an advisory lock), so
 * read-then-write logic needs no retry.  db_rollback is a no-op outside a
 * transaction. */
GW_MUST_CHECK enum gw_err db_begin_immediate(struct db *db);
/* A write transaction for rows inserted together and nothing read back
 * (the usage batches): all or none of them, without excluding the other
 * writers where the engine allows it (PostgreSQL: every host's batches
 * commit side by side; sqlite: as db_begin_immediate). */
GW_MUST_CHECK enum gw_err db_begin_inserts(struct db *db);
GW_MUST_CHECK enum gw_err db_commit(struct db *db);
GW_MUST_CHECK enum gw_err db_rollback(struct db *db);

/*
 * A mutex named name (e.g. "copilot-token:<account>") across threads and
 * processes, and across hosts when the database is a server: PostgreSQL's
 * session advisory lock on a 64-bit hash of name, polled up to wait_ms
 * (GW_EBUSY past it; GW_EDBDOWN when the server is unreachable: nobody
 * can refresh then); sqlite, whose driver has no lock: an flock on the
 * file at lock_path, waited for without bound (GW_EIO when it cannot be
 * opened).  The lock dies with its connection (or file descriptor), so a
 * crashed holder never blocks the others.  *l is filled on success and
 * handed to db_unlock_named, which does nothing for one whose
 * db_lock_named failed.
 */
struct db_lock {
	int fd;                 /* the flock's descriptor, else -1 */
	int64_t key;            /* the advisory lock's key */
	int held;               /* by the database (advisory) */
};

GW_MUST_CHECK enum gw_err db_lock_named(struct db *db, const char *name,
    const char *lock_path, int wait_ms, struct db_lock *l);
void db_unlock_named(struct db *db, struct db_lock *l);

/* sqlite: wal_checkpoint(TRUNCATE); GW_EBUSY when readers kept it from
 * finishing.  GW_OK without doing anything for a database server. */
GW_MUST_CHECK enum gw_err db_checkpoint(struct db *db);
/* Deletes usage rows created before older_than_ms in a write transaction
 * of its own (not to be called inside one); deleted may be NULL. */
GW_MUST_CHECK enum gw_err db_prune_usage(struct db *db, int64_t older_than_ms, long *deleted);

/*
 * Statements, the same for every driver (sqlite; PostgreSQL through
 * libpq, issue 15).  The SQL a caller writes must run on both:
 *   - parameters are numbered ?1 .. ?N (the PostgreSQL driver turns them
 *     into $1 .. $N; a '?' may appear nowhere else, not even in a literal);
 *   - integers are 64-bit (BIGINT), text is TEXT (no reals: amounts are
 *     integers in small units, as the cost in nanos);
 *   - upserts as INSERT .. ON CONFLICT (..) DO UPDATE SET x = excluded.x;
 *     RETURNING is fine; no sqlite-only functions (strftime, printf,
 *     IFNULL: use COALESCE) and no PostgreSQL-only ones;
 *   - an expression over parameters only gets no type from its context
 *     in PostgreSQL: a parameter compared with or stored into a column
 *     is fine, one that stands alone (SELECT ?1, ?1 + 1) is not;
 *   - COALESCE's arguments share one type (COALESCE(SUM(n), 0), never
 *     COALESCE(n, 'none')); no CAST to an engine's own type (BLOB);
 *   - no division and no AVG in SQL (do them in C); SUM of a BIGINT is
 *     a NUMERIC in PostgreSQL, read as an integer like any other;
 *   - GROUP BY and ORDER BY name columns or aliases of the select list,
 *     and every selected column that is not an aggregate is grouped by;
 *   - LIMIT ?N OFFSET ?M, both given (no OFFSET without LIMIT);
 *   - no "CREATE .. IF NOT EXISTS" in a migration, no ALTER TABLE other
 *     than ADD COLUMN, no column defaults other than constants;
 *   - a boolean is a BIGINT 0/1 (sqlite has no boolean), compared as
 *     "x <> 0", never used bare as a condition;
 *   - text sorts by bytes in sqlite but by the database's collation in
 *     PostgreSQL (where "gpt-4.1" and "gpt-4o" may swap): an order of
 *     text that is part of an answer is made in C, with strcmp;
 *   - the number of rows a statement changed is not reported: count them
 *     with RETURNING or a SELECT COUNT(*) in the same transaction.
 * db_prepare hands out a statement cached for the SQL text; every
 * successful db_prepare is paired with db_done, which resets it (so no read
 * transaction stays open) and clears its bindings.  A failed bind is
 * remembered and returned by the next db_step, so binds need no checks of
 * their own.  db_step: GW_OK with a row to read, GW_ENOTFOUND when there is
 * no (further) row, GW_EBUSY/GW_EDB/GW_ENOMEM on failure (logged).  Text
 * bound must outlive the statement's use (until db_done); text read is
 * valid until the next db_step or db_done.
 */
struct db_stmt;

GW_MUST_CHECK enum gw_err db_prepare(struct db *db, const char *sql,
    struct db_stmt **st);
void db_bind_text(struct db_stmt *st, int i, const char *s);   /* NULL: NULL */
void db_bind_int64(struct db_stmt *st, int i, int64_t v);
GW_MUST_CHECK enum gw_err db_step(struct db_stmt *st);
int db_column_is_null(struct db_stmt *st, int col);
int64_t db_column_int64(struct db_stmt *st, int col);      /* NULL: 0 */
/* Valid until the next db_step or db_done; NULL for a NULL column (and on
 * ENOMEM: db_column_is_null tells them apart). */
const char *db_column_text(struct db_stmt *st, int col);
/* A malloc'd copy of a text column (NULL column: *out NULL, GW_OK). */
GW_MUST_CHECK enum gw_err db_column_strdup(struct db_stmt *st, int col,
    char **out);
void db_done(struct db *db, struct db_stmt *st);
/*
 * One statement whose rows are not read: ntexts text parameters bound as
 * ?1.. (NULL binds NULL), then nints integers after them.  *row (may be
 * NULL) says whether a row came back (an UPDATE .. RETURNING that found
 * its row).
 */
GW_MUST_CHECK enum gw_err db_run(struct db *db, const char *sql,
    const char *const *texts, int ntexts, const int64_t *ints, int nints,
    int *row);

#endif

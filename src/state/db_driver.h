/*
 * The storage drivers behind state/db.h (issue 15): what db.c asks of a
 * database engine.  Two implement it: db_sqlite.c (the embedded default,
 * one file in the data directory) and db_pg.c (PostgreSQL through libpq,
 * config storage.driver "postgresql").  Only db.c and the drivers include
 * this header; everything else speaks state/db.h.
 *
 * A struct db is one handle, used by one thread at a time.  db.c owns
 * the struct and the parts common to both engines (migrations, kv, tokens,
 * models, transactions by name); the driver keeps its own state behind
 * db->drv and its own statement type behind struct db_stmt.
 *
 * Connections: sqlite's handle is one connection (one file descriptor,
 * cheap).  A database server's driver shares a bounded pool of
 * connections per process among its handles (db_pg.c: per URL,
 * COPILOT_API_PG_POOL, default 8; a handle opened with own_conn has one
 * of its own outside it), so a process's server connections do not follow
 * its thread count.  A handle borrows a connection for one statement
 * (prepare .. done), for one exec, and for as long as it must keep the
 * same session: from a BEGIN (begin_exclusive, or exec) to its COMMIT or
 * ROLLBACK, and from a lock to its unlock; then gives it back.  A
 * handle's statements run on the connection it holds, so its
 * transaction and its locks are its own: another handle of the process
 * never sees them.  Prepared statements belong to a connection (keyed by
 * SQL text) and stay with it when it is lent again.  No connection free
 * within busy_ms is GW_EBUSY (logged: the pool is exhausted, its size); a
 * connection that dies is dropped from the pool and the next use that
 * needs one connects again (after a failed connect the pool waits a
 * second).  Closing a handle that still keeps a connection (a transaction,
 * a lock) closes that connection: the server rolls back and unlocks.
 *
 * Errors, as in state/db.h: GW_EBUSY when a lock was not granted in time,
 * GW_EDBDOWN when a database server cannot be reached (connect refused or
 * timed out, connection lost: the caller may spool and retry later),
 * GW_EDB for anything else, GW_ENOMEM; each failure is logged once, by the
 * driver, with what was being done.
 */
#ifndef GW_STATE_DB_DRIVER_H
#define GW_STATE_DB_DRIVER_H

#include <stdint.h>

#include "core/err.h"

struct db_driver;
struct db_stmt;

/*
 * The first member of every driver's struct db_stmt: the connection the
 * statement belongs to, through which db.c dispatches db_bind_*, db_step
 * and db_column_* (they take no struct db).
 */
struct db_stmt_head {
	struct db *db;
};

/* One connection (state/db.h's opaque struct db). */
struct db {
	const struct db_driver *ops;
	void *drv;                 /* the driver's connection state */
	char *target;              /* what was opened: a path or a URL */
	char *label;               /* target for the log: a URL's password
	                            * replaced by "***" */
	int busy_ms;               /* how long a lock may be waited for */
	int migrated;              /* migration steps this connection applied */
	int schema_pending;        /* opened while the server was down: the
	                            * migrations run at the first use */
	int own_conn;              /* db_open_target_own: never waits for
	                            * the process's other handles */
};

struct db_driver {
	const char *name;               /* "sqlite", "postgresql" */
	/* Connects db to target (a file path; a postgresql:// URL) and sets
	 * db->drv; on failure db->drv stays NULL, except GW_EDBDOWN from a
	 * database server: the target is valid but the server unreachable
	 * now, db->drv is kept and every later use connects (at most once a
	 * second) and answers GW_EDBDOWN until it can.  So a pool starts
	 * while its database server is down (db.c runs the migrations at
	 * the first use that reaches it). */
	GW_MUST_CHECK enum gw_err (*open)(struct db *db, const char *target);
	void (*close)(struct db *db);   /* db->drv may be NULL */
	GW_MUST_CHECK enum gw_err (*prepare)(struct db *db, const char *sql,
	    struct db_stmt **st);
	void (*bind_text)(struct db_stmt *st, int i, const char *s);
	void (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	GW_MUST_CHECK enum gw_err (*step)(struct db_stmt *st);
	int (*column_is_null)(struct db_stmt *st, int col);
	int64_t (*column_int64)(struct db_stmt *st, int col);
	const char *(*column_text)(struct db_stmt *st, int col);
	/* Resets st (no read transaction stays open) and clears its
	 * bindings for the next prepare of its SQL; st is never NULL. */
	void (*done)(struct db *db, struct db_stmt *st);
	/* SQL without parameters, one or several statements separated by
	 * ';' (migrations), rows ignored; what is for the log. */
	GW_MUST_CHECK enum gw_err (*exec)(struct db *db, const char *sql,
	    const char *what);
	/*
	 * A write transaction that excludes every other writer of the same
	 * database from its start (sqlite: BEGIN IMMEDIATE; PostgreSQL: BEGIN
	 * plus a transaction-scoped advisory lock), so read-then-write logic
	 * (the rate-limit slot, migrations) needs no retry.
	 */
	GW_MUST_CHECK enum gw_err (*begin_exclusive)(struct db *db);
	/* A write transaction for all-or-nothing inserts that read nothing
	 * back, so other writers need not wait (PostgreSQL: a plain BEGIN;
	 * NULL: begin_exclusive, which sqlite needs anyway so that a deferred
	 * transaction never fails to upgrade its lock). */
	GW_MUST_CHECK enum gw_err (*begin_inserts)(struct db *db);
	/* Whether a transaction is open (db_rollback is a no-op without
	 * one; sqlite: not in autocommit mode, PostgreSQL:
	 * PQtransactionStatus is not PQTRANS_IDLE).  COMMIT and ROLLBACK
	 * themselves go through exec. */
	int (*in_transaction)(struct db *db);
	/* The schema version (sqlite: PRAGMA user_version; PostgreSQL: the
	 * one row of table schema_version (id 1, version), which the driver's
	 * version_set makes when missing: no migration creates it).
	 * version_set runs inside the migration step's transaction. */
	GW_MUST_CHECK enum gw_err (*version_get)(struct db *db, int *v);
	GW_MUST_CHECK enum gw_err (*version_set)(struct db *db, int v);
	/* What a migration's "{serial}" becomes: a 64-bit integer primary key
	 * the database assigns (sqlite: INTEGER PRIMARY KEY AUTOINCREMENT;
	 * PostgreSQL: BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY). */
	const char *serial_pk;
	/* sqlite only (NULL in drivers without a local file): whether the
	 * file at the path is no longer the one opened; reopen: called by
	 * db_reopen on the old connection once a new one to the file now at
	 * the path is open, just before the old one is closed, so that its
	 * close leaves what is now at the path alone (sqlite: no checkpoint
	 * on close, which would delete the new file's -wal and -shm by
	 * name); and checkpoint the WAL. */
	int (*moved)(struct db *db);
	GW_MUST_CHECK enum gw_err (*reopen)(struct db *db);
	GW_MUST_CHECK enum gw_err (*checkpoint)(struct db *db);
	/* A cross-host mutex outside transactions (PostgreSQL: a session
	 * advisory lock on key; sqlite: NULL, db.c uses the flock file). */
	GW_MUST_CHECK enum gw_err (*lock)(struct db *db, int64_t key,
	    int wait_ms);
	GW_MUST_CHECK enum gw_err (*unlock)(struct db *db, int64_t key);
};

extern const struct db_driver db_driver_sqlite;
extern const struct db_driver db_driver_pg;   /* only with libpq built in */

#endif

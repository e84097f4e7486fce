/*
 * The storage drivers behind state/db.h (issue 15): what db.c asks of a
 * database engine.  Two implement it: db_sqlite.c (the embedded default,
 * one file in the data directory) and db_pg.c (PostgreSQL through libpq,
 * config storage.driver "postgresql").  Only db.c and the drivers include
 * this header; everything else speaks state/db.h.
 *
 * A struct db is one connection, used by one thread at a time.  db.c owns
 * the struct and the parts common to both engines (migrations, kv, tokens,
 * models, transactions by name); the driver keeps its own state behind
 * db->drv and its own statement type behind struct db_stmt.
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

struct db;
struct db_stmt;

struct db_driver {
	const char *name;               /* "sqlite", "postgresql" */
	/* Connects db to target (a file path; a postgresql:// URL) and sets
	 * db->drv; on failure db->drv stays NULL. */
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
	void (*done)(struct db *db, struct db_stmt *st);
	GW_MUST_CHECK enum gw_err (*exec)(struct db *db, const char *sql,
	    const char *what);
	/*
	 * A write transaction that excludes every other writer of the same
	 * database from its start (sqlite: BEGIN IMMEDIATE; PostgreSQL: BEGIN
	 * plus a transaction-scoped advisory lock), so read-then-write logic
	 * (the rate-limit slot, migrations) needs no retry.
	 */
	GW_MUST_CHECK enum gw_err (*begin_exclusive)(struct db *db);
	/* A cross-host mutex outside transactions (PostgreSQL: a session
	 * advisory lock on key; sqlite: NULL, db.c uses the flock file). */
	GW_MUST_CHECK enum gw_err (*lock)(struct db *db, int64_t key,
	    int wait_ms);
	GW_MUST_CHECK enum gw_err (*unlock)(struct db *db, int64_t key);
};

extern const struct db_driver db_driver_sqlite;
extern const struct db_driver db_driver_pg;   /* only with libpq built in */

#endif

/*
 * The sqlite storage driver (state/db_driver.h): one file in the data
 * directory, opened in WAL mode, one connection per thread, each with a
 * cache of prepared statements keyed by their SQL text.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
#include "state/db_driver.h"

#define SQ_CACHE 32

/* A statement: one of the connection's cache[] or a one-off. */
struct db_stmt {
	struct db_stmt_head head;  /* first: db.c dispatches through it */
	sqlite3_stmt *st;
	int in_use;
	int bind_rc;               /* the first failed bind, for the step */
};

/* db->drv */
struct sq_conn {
	sqlite3 *h;
	dev_t dev;                 /* the file opened, as sq_moved compares it */
	ino_t ino;
	struct db_stmt cache[SQ_CACHE];
	size_t ncache;
};

static sqlite3 *
sq_handle(struct db *db)
{
	return ((struct sq_conn *)db->drv)->h;
}

/* Maps a sqlite result code to GW_EBUSY/GW_ENOMEM/GW_EDB and logs it with
 * what was being done. */
static GW_MUST_CHECK enum gw_err
sq_error(struct db *db, int rc, const char *what)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("database %s: %s: database is locked (gave up after %d ms)",
		    db->label, what, db->busy_ms);
		return GW_EBUSY;
	case SQLITE_NOMEM:
		log_error("database %s: %s: out of memory", db->label, what);
		return GW_ENOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		log_error("database %s: %s: %s (the file and its directory must "
		    "be writable: WAL keeps -wal and -shm files next to it)",
		    db->label, what, sqlite3_errmsg(sq_handle(db)));
		return GW_EDB;
	default:
		log_error("database %s: %s: %s", db->label, what,
		    sqlite3_errmsg(sq_handle(db)));
		return GW_EDB;
	}
}

static GW_MUST_CHECK enum gw_err
sq_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct sq_conn *c = db->drv;
	struct db_stmt *s;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < c->ncache; i++) {
		s = &c->cache[i];
		if (!s->in_use && strcmp(sqlite3_sql(s->st), sql) == 0) {
			s->in_use = 1;
			s->bind_rc = SQLITE_OK;
			*out = s;
			return GW_OK;
		}
	}
	if (c->ncache < SQ_CACHE) {
		rc = sqlite3_prepare_v3(c->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    &st, NULL);
		if (rc != SQLITE_OK)
			return sq_error(db, rc, "prepare");
		s = &c->cache[c->ncache++];
	} else {
		/* Cache full, or the same SQL is already being stepped: a
		 * one-off, finalized and freed by sq_done. */
		rc = sqlite3_prepare_v2(c->h, sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return sq_error(db, rc, "prepare");
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			sqlite3_finalize(st);
			return GW_ENOMEM;
		}
	}
	s->head.db = db;
	s->st = st;
	s->in_use = 1;
	s->bind_rc = SQLITE_OK;
	*out = s;
	return GW_OK;
}

static void
sq_bind_rc(struct db_stmt *st, int rc)
{
	if (rc != SQLITE_OK && st->bind_rc == SQLITE_OK)
		st->bind_rc = rc;
}

static void
sq_bind_text(struct db_stmt *st, int i, const char *s)
{
	sq_bind_rc(st, s == NULL ? sqlite3_bind_null(st->st, i) :
	    sqlite3_bind_text(st->st, i, s, -1, SQLITE_STATIC));
}

static void
sq_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	sq_bind_rc(st, sqlite3_bind_int64(st->st, i, (sqlite3_int64)v));
}

static GW_MUST_CHECK enum gw_err
sq_step(struct db_stmt *st)
{
	int rc;

	if (st->bind_rc != SQLITE_OK)
		return sq_error(st->head.db, st->bind_rc, "bind a parameter");
	rc = sqlite3_step(st->st);
	if (rc == SQLITE_ROW)
		return GW_OK;
	if (rc == SQLITE_DONE)
		return GW_ENOTFOUND;
	return sq_error(st->head.db, rc, "run a statement");
}

static int
sq_column_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

static int64_t
sq_column_int64(struct db_stmt *st, int col)
{
	return (int64_t)sqlite3_column_int64(st->st, col);
}

static const char *
sq_column_text(struct db_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->st, col);
}

static void
sq_done(struct db *db, struct db_stmt *st)
{
	struct sq_conn *c = db->drv;

	if (st >= c->cache && st < c->cache + SQ_CACHE) {
		sqlite3_reset(st->st);
		sqlite3_clear_bindings(st->st);
		st->in_use = 0;
		return;
	}
	sqlite3_finalize(st->st);
	free(st);
}

static GW_MUST_CHECK enum gw_err
sq_exec(struct db *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(sq_handle(db), sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? GW_OK : sq_error(db, rc, what);
}

/* BEGIN IMMEDIATE takes the write lock up front so a reader never has to
 * upgrade (which would fail with SQLITE_BUSY at once). */
static GW_MUST_CHECK enum gw_err
sq_begin_exclusive(struct db *db)
{
	return sq_exec(db, "BEGIN IMMEDIATE", "begin a write transaction");
}

static int
sq_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(sq_handle(db));
}

static GW_MUST_CHECK enum gw_err
sq_version_get(struct db *db, int *v)
{
	struct db_stmt *st;
	enum gw_err e;

	if ((e = sq_prepare(db, "PRAGMA user_version", &st)) != GW_OK)
		return e;
	if ((e = sq_step(st)) == GW_OK)
		*v = (int)sq_column_int64(st, 0);
	else if (e == GW_ENOTFOUND)
		e = GW_EDB;     /* the pragma always answers one row */
	sq_done(db, st);
	return e;
}

static GW_MUST_CHECK enum gw_err
sq_version_set(struct db *db, int v)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return sq_exec(db, sql, "set the schema version");
}

/* Creating the file ourselves gives it mode 0600 without touching the
 * process umask, which other threads share.  sqlite gives the -wal and -shm
 * files the mode of the database file. */
static GW_MUST_CHECK enum gw_err
sq_precreate(const char *path)
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
sq_set_wal(struct db *db)
{
	int64_t deadline = util_mono_ms() + db->busy_ms;
	int64_t pause = 2;
	const char *mode;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(sq_handle(db), "PRAGMA journal_mode=WAL", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return sq_error(db, rc, "enabling WAL");
	while ((rc = sqlite3_step(st)) != SQLITE_ROW &&
	    ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
	    util_mono_ms() < deadline) {
		sqlite3_reset(st);
		util_sleep_ms(pause);
		pause = pause < 50 ? pause * 2 : 50;
	}
	if (rc != SQLITE_ROW) {
		enum gw_err e = sq_error(db, rc, "enabling WAL");

		sqlite3_finalize(st);
		return e;
	}
	if ((mode = (const char *)sqlite3_column_text(st, 0)) == NULL) {
		sqlite3_finalize(st);
		return GW_ENOMEM;
	}
	if (strcmp(mode, "wal") != 0)
		/* e.g. a file system without shared memory: works, but readers
		 * and the writer then block each other. */
		log_warn("database %s: WAL refused, journal mode is %s",
		    db->label, mode);
	sqlite3_finalize(st);
	return GW_OK;
}

static void
sq_set_busy_timeout(struct db *db, int ms)
{
	db->busy_ms = ms < 0 ? 0 : ms;
	sqlite3_busy_timeout(sq_handle(db), db->busy_ms);
}

static void
sq_close(struct db *db)
{
	struct sq_conn *c = db->drv;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ncache; i++)
		sqlite3_finalize(c->cache[i].st);
	/* sqlite rolls back an open transaction on close. */
	sqlite3_close(c->h);
	free(c);
	db->drv = NULL;
}

/*
 * No page-cache memory allocated up front: by default each connection
 * takes 20 pages (about 86 KB) in one block at its first read, and a
 * responder keeps one connection per thread (256 threads under many
 * streams: 22 MB of mostly idle cache).  Pages are then allocated as read.
 * Process-wide, and only possible before sqlite initialises itself.
 */
static void
sq_config_once(void)
{
	if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0) != SQLITE_OK)
		log_debug("sqlite: initialised already: the page cache keeps "
		    "its initial bulk allocation");
}

static GW_MUST_CHECK enum gw_err
sq_open(struct db *db, const char *path)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sq_conn *c;
	struct stat st;
	enum gw_err e;
	int rc;

	if (!sqlite3_threadsafe()) {
		/* connections per thread are only safe with a threadsafe build */
		log_error("database %s: sqlite3 was built without thread support",
		    path);
		return GW_EDB;
	}
	pthread_once(&once, sq_config_once);
	if ((e = sq_precreate(path)) != GW_OK)
		return e;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GW_ENOMEM;
	db->drv = c;
	/* NOMUTEX: one connection per thread, so sqlite's per-connection
	 * mutex would only cost time. */
	rc = sqlite3_open_v2(path, &c->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		e = c->h != NULL ? sq_error(db, rc, "open") : GW_ENOMEM;
		goto fail;
	}
	/* the file just opened (a swap in between is seen at the first look) */
	if (stat(path, &st) == 0) {
		c->dev = st.st_dev;
		c->ino = st.st_ino;
	}
	/* The busy timeout first: switching to WAL already takes a lock. */
	sq_set_busy_timeout(db, db->busy_ms);
	if ((e = sq_set_wal(db)) != GW_OK ||
	    (e = sq_exec(db, "PRAGMA synchronous=NORMAL", "set synchronous")) !=
	    GW_OK ||
	    (e = sq_exec(db, "PRAGMA foreign_keys=ON", "set foreign_keys")) !=
	    GW_OK)
		goto fail;
	return GW_OK;
fail:
	sq_close(db);
	return e;
}

static int
sq_moved(struct db *db)
{
	struct sq_conn *c = db->drv;
	struct stat st;

	if (stat(db->target, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR;
	return st.st_dev != c->dev || st.st_ino != c->ino;
}

/* Closing the last connection to a WAL database checkpoints it and deletes
 * the -wal file by name: a name that is the new file's now.  sqlite skips
 * that for a file it sees moved; say so explicitly. */
static GW_MUST_CHECK enum gw_err
sq_reopen(struct db *old)
{
	int rc = sqlite3_db_config(sq_handle(old),
	    SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);

	return rc == SQLITE_OK ? GW_OK : sq_error(old, rc,
	    "turn off the checkpoint on close");
}

static GW_MUST_CHECK enum gw_err
sq_checkpoint(struct db *db)
{
	int rc;

	rc = sqlite3_wal_checkpoint_v2(sq_handle(db), NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return rc == SQLITE_OK ? GW_OK : sq_error(db, rc, "checkpoint");
}

const struct db_driver db_driver_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.prepare = sq_prepare,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.step = sq_step,
	.column_is_null = sq_column_is_null,
	.column_int64 = sq_column_int64,
	.column_text = sq_column_text,
	.done = sq_done,
	.exec = sq_exec,
	.begin_exclusive = sq_begin_exclusive,
	.in_transaction = sq_in_transaction,
	.version_get = sq_version_get,
	.version_set = sq_version_set,
	.serial_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
	.moved = sq_moved,
	.reopen = sq_reopen,
	.checkpoint = sq_checkpoint,
	.lock = NULL,
	.unlock = NULL,
};

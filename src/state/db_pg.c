/*
 * The PostgreSQL storage driver (state/db_driver.h) through libpq, for
 * several hosts sharing one database (issue 15, config storage.driver
 * "postgresql").  One struct db is one libpq connection; nothing here
 * waits without a bound: connect_timeout, TCP keepalives and
 * tcp_user_timeout on the socket, statement_timeout and lock_timeout on the
 * session, and a client-side deadline on every answer.  A lost connection
 * is GW_EDBDOWN and is made again on a later use, at most once a second.
 */
#include "gwconfig.h"

#ifdef GW_HAVE_LIBPQ

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db_driver.h"

#define PG_STMT_CACHE 64
#define PG_RECONNECT_MS 1000       /* at most one connect a second */
/* statement_timeout is busy_ms + this (lock_timeout, busy_ms, always fires
 * first); our own deadline on an answer 1 s after that: a server that took
 * the statement and went silent is a lost connection. */
#define PG_STMT_SLACK_MS 2000
#define PG_WAIT_SLACK_MS 3000
#define PG_INT8OID 20              /* catalog/pg_type.h's INT8OID */
/* pg_advisory_xact_lock's two-int4 key of begin_exclusive: a key space of
 * its own, apart from the bigint keys of lock/unlock. */
#define PG_WRITER_KEY "1735420013, 1"

/* A statement: cached per SQL text for its connection, or a one-off. */
struct db_stmt {
	struct db_stmt_head head;  /* first: db.c dispatches through it */
	char *sql;                 /* as the caller wrote it: the cache key */
	char *pgsql;               /* ?N turned into $N */
	int nparams;
	const char **vals;         /* per parameter: its text, NULL for NULL */
	char (*nums)[24];          /* per parameter: an int64 bound, as text */
	unsigned *types;           /* per parameter: int8 or 0 (the server's guess) */
	unsigned *ptypes;          /* the types it was prepared with */
	int cached;                /* in the cache; else done() frees it */
	int in_use;
	int idx;                   /* its name: gw<idx> */
	unsigned gen;              /* the connection it was prepared on; 0 none */
	enum gw_err bind_err;
	PGresult *res;
	int ran, row, nrows;
};

struct pg {
	char *url;                 /* open's target, for every reconnect */
	char *where;               /* user@host:port/db from it: no password */
	PGconn *c;                 /* NULL while down */
	unsigned gen;              /* counts connections made */
	int64_t next_try_ms;       /* no connect before this (monotonic) */
	int busy_applied;          /* the busy_ms the session has, -1 none */
	int in_tx;                 /* a transaction was open before the call */
	int tx_lost;               /* the connection went inside a transaction */
	struct db_stmt *cache[PG_STMT_CACHE];
	int ncache;
};

/* The log's name for the database: rebuilt from the URL's parsed parts,
 * so no spelling of a password (user:pw@, ?password=) can reach it. */
static const char *
label(const struct db *db)
{
	const struct pg *pg = db->drv;

	if (pg != NULL && pg->where != NULL)
		return pg->where;
	return db->label != NULL ? db->label : "(postgresql)";
}

static char *
where_of(const PQconninfoOption *opts)
{
	const char *user = "", *host = "", *port = "", *dbname = "";
	const PQconninfoOption *o;

	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	return buf_strdupf("postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "",
	    host, *port ? ":" : "", port, dbname);
}

/* libpq's messages end with a newline; the log adds its own. */
static void
log_pg(enum log_level l, const struct db *db, const char *what,
    const char *msg)
{
	size_t n = msg != NULL ? strlen(msg) : 0;

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (n == 0) {
		msg = "no message";
		n = strlen(msg);
	}
	log_msg(l, "postgresql %s: %s: %.*s", label(db), what, (int)n, msg);
}

static void
notice(void *arg, const char *msg)
{
	log_pg(LOG_DEBUG, arg, "notice", msg);
}

static void
drop_conn(struct pg *pg)
{
	if (pg->c != NULL)
		PQfinish(pg->c);
	pg->c = NULL;
}

/* The connection is gone: a transaction open on it is gone with it. */
static enum gw_err
conn_lost(struct db *db, const char *what, const char *msg)
{
	struct pg *pg = db->drv;

	log_pg(LOG_ERROR, db, what, msg);
	if (pg->in_tx)
		pg->tx_lost = 1;
	drop_conn(pg);
	return GW_EDBDOWN;
}

static int
stmt_timeout_ms(const struct db *db)
{
	return (db->busy_ms > 0 ? db->busy_ms : 1) + PG_STMT_SLACK_MS;
}

/*
 * Waits for the whole answer to what was sent, within our own deadline (a
 * frozen server acknowledges TCP but never answers).  *out: the first
 * error result, else the last one; NULL when the connection failed.
 */
static enum gw_err
collect(struct db *db, const char *what, PGresult **out)
{
	struct pg *pg = db->drv;
	int64_t deadline = util_mono_ms() + db->busy_ms + PG_WAIT_SLACK_MS;
	PGresult *r, *keep = NULL;
	struct pollfd pfd;
	int64_t left;

	*out = NULL;
	for (;;) {
		while (PQisBusy(pg->c)) {
			if ((left = deadline - util_mono_ms()) <= 0) {
				PQclear(keep);
				return conn_lost(db, what, "no answer in time");
			}
			if ((pfd.fd = PQsocket(pg->c)) < 0) {
				PQclear(keep);
				return conn_lost(db, what, PQerrorMessage(pg->c));
			}
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
				PQclear(keep);
				return conn_lost(db, what, strerror(errno));
			}
			if (!PQconsumeInput(pg->c))
				break;  /* PQgetResult reports it */
		}
		if ((r = PQgetResult(pg->c)) == NULL)
			break;
		if (keep == NULL || PQresultStatus(keep) != PGRES_FATAL_ERROR) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
		if (PQstatus(pg->c) == CONNECTION_BAD)
			break;
	}
	*out = keep;
	return GW_OK;
}

static int
sqlstate_is(const char *state, const char *prefix)
{
	return state != NULL && strncmp(state, prefix, strlen(prefix)) == 0;
}

/* A result to an error: lock waits and conflicts are GW_EBUSY, a lost or
 * refused connection GW_EDBDOWN, the rest GW_EDB; each logged here. */
static enum gw_err
check(struct db *db, PGresult *res, const char *what)
{
	struct pg *pg = db->drv;
	ExecStatusType s;
	const char *state;

	s = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return GW_OK;
	if (pg->c == NULL || PQstatus(pg->c) == CONNECTION_BAD)
		return conn_lost(db, what, pg->c != NULL ?
		    PQerrorMessage(pg->c) : "connection lost");
	if (res == NULL) {
		log_pg(LOG_ERROR, db, what, PQerrorMessage(pg->c));
		return GW_ENOMEM;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* 08: connection exception; 57P01-03: the server shuts down */
	if (sqlstate_is(state, "08") || sqlstate_is(state, "57P"))
		return conn_lost(db, what, PQresultErrorMessage(res));
	/* lock_timeout, serialization failure, deadlock, statement_timeout */
	if (sqlstate_is(state, "55P03") || sqlstate_is(state, "40001") ||
	    sqlstate_is(state, "40P01") || sqlstate_is(state, "57014")) {
		log_msg(LOG_WARN, "postgresql %s: %s: database is busy (gave up "
		    "after %d ms): %s", label(db), what, db->busy_ms,
		    PQresultErrorMessage(res));
		return GW_EBUSY;
	}
	log_pg(LOG_ERROR, db, what, PQresultErrorMessage(res));
	return GW_EDB;
}

/*
 * The answer to what was just sent (sent: what PQsend* returned), checked;
 * kept in *keep when asked for and a success, else cleared.
 */
static enum gw_err
answer(struct db *db, int sent, const char *what, PGresult **keep)
{
	struct pg *pg = db->drv;
	PGresult *res;
	enum gw_err e;

	if (keep != NULL)
		*keep = NULL;
	if (!sent)
		return conn_lost(db, what, PQerrorMessage(pg->c));
	if ((e = collect(db, what, &res)) != GW_OK)
		return e;
	if ((e = check(db, res, what)) == GW_OK && keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return e;
}

static enum gw_err
connect_now(struct db *db)
{
	struct pg *pg = db->drv;
	/* ours first: settings in the URL itself come later and win */
	static const char *const keys[] = {
		"connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"application_name", "dbname", NULL
	};
	const char *vals[] = {
		"3", "1", "10", "5", "3", "10000", "copilot-api", pg->url,
		NULL
	};

	pg->next_try_ms = util_mono_ms() + PG_RECONNECT_MS;
	pg->c = PQconnectdbParams(keys, vals, 1);
	if (pg->c == NULL) {
		log_pg(LOG_ERROR, db, "connect", "out of memory");
		return GW_ENOMEM;
	}
	if (PQstatus(pg->c) != CONNECTION_OK) {
		log_pg(LOG_ERROR, db, "connect", PQerrorMessage(pg->c));
		drop_conn(pg);
		return GW_EDBDOWN;
	}
	PQsetNoticeProcessor(pg->c, notice, db);
	pg->gen++;
	pg->busy_applied = -1;
	return GW_OK;
}

/* statement_timeout and lock_timeout from db->busy_ms, outside a
 * transaction only (a rollback would undo a SET made inside one). */
static enum gw_err
apply_busy(struct db *db)
{
	struct pg *pg = db->drv;
	char sql[128];
	enum gw_err e;

	if (pg->busy_applied == db->busy_ms ||
	    PQtransactionStatus(pg->c) != PQTRANS_IDLE)
		return GW_OK;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; "
	    "SET lock_timeout = %d", stmt_timeout_ms(db),
	    db->busy_ms > 0 ? db->busy_ms : 1);
	e = answer(db, PQsendQuery(pg->c, sql), "set the timeouts", NULL);
	if (e == GW_OK)
		pg->busy_applied = db->busy_ms;
	return e;
}

/* A connection to send on: the one we have, or a new one when the last
 * attempt is a second old. */
static enum gw_err
ready(struct db *db, const char *what)
{
	struct pg *pg = db->drv;
	PGTransactionStatusType ts;
	enum gw_err e;

	if (pg == NULL)
		return GW_EINTERNAL;
	if (pg->tx_lost) {
		log_msg(LOG_WARN, "postgresql %s: %s: the connection was lost "
		    "inside a transaction, which must be rolled back first",
		    label(db), what);
		return GW_EDBDOWN;
	}
	if (pg->c != NULL && PQstatus(pg->c) != CONNECTION_OK)
		drop_conn(pg);
	if (pg->c == NULL) {
		if (util_mono_ms() < pg->next_try_ms) {
			log_debug("postgresql %s: %s: database unreachable "
			    "(next connect attempt within a second)",
			    label(db), what);
			return GW_EDBDOWN;
		}
		pg->in_tx = 0;
		if ((e = connect_now(db)) != GW_OK)
			return e;
	}
	if ((e = apply_busy(db)) != GW_OK)
		return e;
	ts = PQtransactionStatus(pg->c);
	pg->in_tx = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
	return GW_OK;
}

/* ?N → $N; *nparams the highest N.  A '?' without a number is refused. */
static enum gw_err
rewrite(struct db *db, const char *sql, char **out, int *nparams)
{
	size_t n = strlen(sql), i, j = 0;
	char *p;
	long v;

	*out = NULL;
	*nparams = 0;
	if ((p = malloc(n + 1)) == NULL)
		return GW_ENOMEM;
	for (i = 0; i < n; i++) {
		if (sql[i] != '?') {
			p[j++] = sql[i];
			continue;
		}
		if (sql[i + 1] < '0' || sql[i + 1] > '9') {
			log_pg(LOG_ERROR, db, "prepare", "a '?' without a "
			    "number (parameters are ?1 .. ?N)");
			free(p);
			return GW_EDB;
		}
		p[j++] = '$';
		for (v = 0; sql[i + 1] >= '0' && sql[i + 1] <= '9'; i++) {
			p[j++] = sql[i + 1];
			if (v < 100000)
				v = v * 10 + (sql[i + 1] - '0');
		}
		if (v < 1 || v > 65535) {
			log_pg(LOG_ERROR, db, "prepare", "parameter number out "
			    "of range");
			free(p);
			return GW_EDB;
		}
		if (v > *nparams)
			*nparams = (int)v;
	}
	p[j] = '\0';
	*out = p;
	return GW_OK;
}

static void
stmt_free(struct db_stmt *st)
{
	if (st == NULL)
		return;
	PQclear(st->res);
	free(st->sql);
	free(st->pgsql);
	free(st->vals);
	free(st->nums);
	free(st->types);
	free(st->ptypes);
	free(st);
}

static enum gw_err
stmt_new(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_stmt *st;
	size_t n;
	enum gw_err e;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return GW_ENOMEM;
	st->head.db = db;
	if ((e = rewrite(db, sql, &st->pgsql, &st->nparams)) != GW_OK)
		goto out;
	n = st->nparams > 0 ? (size_t)st->nparams : 1;
	st->sql = strdup(sql);
	st->vals = calloc(n, sizeof(*st->vals));
	st->nums = calloc(n, sizeof(*st->nums));
	st->types = calloc(n, sizeof(*st->types));
	st->ptypes = calloc(n, sizeof(*st->ptypes));
	if (st->sql == NULL || st->vals == NULL || st->nums == NULL ||
	    st->types == NULL || st->ptypes == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	*out = st;
	st = NULL;
out:
	stmt_free(st);
	return e;
}

static enum gw_err
pg_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct pg *pg = db->drv;
	struct db_stmt *st;
	enum gw_err e;
	int i;

	*out = NULL;
	if (pg == NULL)
		return GW_EINTERNAL;
	for (i = 0; i < pg->ncache; i++) {
		st = pg->cache[i];
		if (strcmp(st->sql, sql) != 0)
			continue;
		if (st->in_use)
			break;  /* nested use of the same SQL: a one-off */
		st->in_use = 1;
		*out = st;
		return GW_OK;
	}
	if ((e = stmt_new(db, sql, &st)) != GW_OK)
		return e;
	st->in_use = 1;
	if (i == pg->ncache && pg->ncache < PG_STMT_CACHE) {
		st->cached = 1;
		st->idx = pg->ncache;
		pg->cache[pg->ncache++] = st;
	}
	*out = st;
	return GW_OK;
}

/* Parameter i (1-based) takes s with type (0: the server's guess); a
 * number out of range is remembered for step. */
static void
bind_param(struct db_stmt *st, int i, const char *s, unsigned type)
{
	if (i < 1 || i > st->nparams) {
		if (st->bind_err == GW_OK)
			st->bind_err = GW_EDB;
		return;
	}
	st->vals[i - 1] = s;
	st->types[i - 1] = type;
}

static void
pg_bind_text(struct db_stmt *st, int i, const char *s)
{
	bind_param(st, i, s, 0);
}

static void
pg_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	if (i >= 1 && i <= st->nparams)
		snprintf(st->nums[i - 1], sizeof(st->nums[i - 1]), "%lld",
		    (long long)v);
	bind_param(st, i, i >= 1 && i <= st->nparams ? st->nums[i - 1] : NULL,
	    PG_INT8OID);
}

/*
 * The parameter types to prepare with: int8 where an integer is bound (so
 * "?1 + 1" is not taken for int4), the server's inference elsewhere; a NULL
 * keeps the type the statement has.  Whether they differ from those it was
 * prepared with.
 */
static int
types_changed(struct db_stmt *st)
{
	int i, changed = 0;

	for (i = 0; i < st->nparams; i++) {
		if (st->vals[i] == NULL && st->gen != 0)
			st->types[i] = st->ptypes[i];
		if (st->types[i] != st->ptypes[i])
			changed = 1;
	}
	return changed;
}

/* The named server-side statement for this connection and these types. */
static enum gw_err
ensure_prepared(struct db_stmt *st, const char *name)
{
	struct db *db = st->head.db;
	struct pg *pg = db->drv;
	char sql[48];
	enum gw_err e;

	if (st->gen == pg->gen && !types_changed(st))
		return GW_OK;
	if (st->gen == pg->gen) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
		if ((e = answer(db, PQsendQuery(pg->c, sql), "deallocate",
		    NULL)) != GW_OK)
			return e;
	}
	st->gen = 0;
	if ((e = answer(db, PQsendPrepare(pg->c, name, st->pgsql, st->nparams,
	    st->types), "prepare", NULL)) != GW_OK)
		return e;
	memcpy(st->ptypes, st->types, (size_t)st->nparams * sizeof(*st->types));
	st->gen = pg->gen;
	return GW_OK;
}

/* Runs the statement once and keeps its whole result. */
static enum gw_err
run(struct db_stmt *st)
{
	struct db *db = st->head.db;
	struct pg *pg = db->drv;
	char name[16];
	enum gw_err e;
	int sent;

	if ((e = ready(db, "run a statement")) != GW_OK)
		return e;
	if (st->cached) {
		snprintf(name, sizeof(name), "gw%d", st->idx);
		if ((e = ensure_prepared(st, name)) != GW_OK)
			return e;
		sent = PQsendQueryPrepared(pg->c, name, st->nparams, st->vals,
		    NULL, NULL, 0);
	} else {
		sent = PQsendQueryParams(pg->c, st->pgsql, st->nparams,
		    st->types, st->vals, NULL, NULL, 0);
	}
	if ((e = answer(db, sent, "run a statement", &st->res)) != GW_OK)
		return e;
	st->nrows = PQntuples(st->res);
	st->row = -1;
	return GW_OK;
}

static enum gw_err
pg_step(struct db_stmt *st)
{
	enum gw_err e;

	if (st->bind_err != GW_OK) {
		log_pg(LOG_ERROR, st->head.db, "bind a parameter", "no such "
		    "parameter number");
		return st->bind_err;
	}
	if (!st->ran) {
		st->ran = 1;
		if ((e = run(st)) != GW_OK) {
			st->nrows = 0;
			return e;
		}
	}
	if (st->res == NULL || st->row >= st->nrows)
		return GW_ENOTFOUND;
	st->row++;
	return st->row < st->nrows ? GW_OK : GW_ENOTFOUND;
}

static int
has_cell(struct db_stmt *st, int col)
{
	return st->res != NULL && st->row >= 0 && st->row < st->nrows &&
	    col >= 0 && col < PQnfields(st->res);
}

static int
pg_column_is_null(struct db_stmt *st, int col)
{
	return !has_cell(st, col) || PQgetisnull(st->res, st->row, col);
}

/* Integers as text; a boolean ("t"/"f") as 1/0; NULL as 0. */
static int64_t
pg_column_int64(struct db_stmt *st, int col)
{
	const char *s;

	if (pg_column_is_null(st, col))
		return 0;
	s = PQgetvalue(st->res, st->row, col);
	if (s[0] == 't' || s[0] == 'f')
		return s[0] == 't';
	return (int64_t)strtoll(s, NULL, 10);
}

static const char *
pg_column_text(struct db_stmt *st, int col)
{
	if (pg_column_is_null(st, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

static void
pg_done(struct db *db, struct db_stmt *st)
{
	int i;

	if (st == NULL)
		return;
	if (!st->cached) {
		stmt_free(st);
		return;
	}
	PQclear(st->res);
	st->res = NULL;
	st->ran = 0;
	st->row = -1;
	st->nrows = 0;
	st->bind_err = GW_OK;
	for (i = 0; i < st->nparams; i++) {
		st->vals[i] = NULL;
		st->types[i] = 0;
	}
	st->in_use = 0;
}

static int
is_word(const char *sql, const char *word)
{
	size_t n = strlen(word);

	while (*sql == ' ' || *sql == '\n' || *sql == '\t')
		sql++;
	return strncasecmp(sql, word, n) == 0 &&
	    (sql[n] == '\0' || sql[n] == ';' || sql[n] == ' ');
}

static enum gw_err
pg_exec(struct db *db, const char *sql, const char *what)
{
	struct pg *pg = db->drv;
	int commit = is_word(sql, "COMMIT") || is_word(sql, "END");
	PGresult *res;
	enum gw_err e;

	/* A transaction lost with its connection is over: a ROLLBACK has
	 * nothing left to do, a COMMIT must not say it kept anything. */
	if (pg != NULL && pg->tx_lost && (commit || is_word(sql, "ROLLBACK"))) {
		pg->tx_lost = 0;
		if (is_word(sql, "ROLLBACK"))
			return GW_OK;
		log_msg(LOG_ERROR, "postgresql %s: %s: the connection was lost "
		    "inside the transaction: nothing of it was kept",
		    label(db), what);
		return GW_EDBDOWN;
	}
	if ((e = ready(db, what)) != GW_OK)
		return e;
	if ((e = answer(db, PQsendQuery(pg->c, sql), what, &res)) != GW_OK)
		return e;
	/* COMMIT of a transaction a failed statement aborted rolls it back
	 * and says so only in its tag (sqlite would have kept the rest) */
	if (commit && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		log_msg(LOG_ERROR, "postgresql %s: %s: a statement in the "
		    "transaction had failed: it was rolled back", label(db),
		    what);
		e = GW_EDB;
	}
	PQclear(res);
	return e;
}

/* One row, one column of a query with at most one int64 parameter. */
static enum gw_err
query_int64(struct db *db, const char *sql, const int64_t *arg,
    const char *what, int64_t *out, int *isnull)
{
	struct db_stmt *st;
	enum gw_err e;

	*out = 0;
	if ((e = stmt_new(db, sql, &st)) != GW_OK)
		return e;
	if (arg != NULL)
		pg_bind_int64(st, 1, *arg);
	if ((e = pg_step(st)) == GW_OK) {
		*out = pg_column_int64(st, 0);
		if (isnull != NULL)
			*isnull = pg_column_is_null(st, 0);
	} else if (e == GW_ENOTFOUND) {
		log_pg(LOG_ERROR, db, what, "no row");
		e = GW_EDB;
	}
	stmt_free(st);
	return e;
}

/* Inside a transaction, or one the lost connection left open (what
 * follows fails with GW_EDBDOWN until the rollback). */
static int
pg_in_transaction(struct db *db)
{
	struct pg *pg = db->drv;

	if (pg == NULL)
		return 0;
	if (pg->in_tx)
		return 1;
	return pg->c != NULL && PQstatus(pg->c) == CONNECTION_OK &&
	    PQtransactionStatus(pg->c) != PQTRANS_IDLE;
}

static enum gw_err
pg_begin_exclusive(struct db *db)
{
	int64_t ignored;
	enum gw_err e;

	if ((e = pg_exec(db, "BEGIN", "begin a write transaction")) != GW_OK)
		return e;
	e = query_int64(db, "SELECT 1 FROM pg_advisory_xact_lock("
	    PG_WRITER_KEY ")", NULL, "wait for the write lock", &ignored,
	    NULL);
	if (e != GW_OK)
		GW_IGNORE(pg_exec(db, "ROLLBACK", "roll back"));  /* e says why */
	return e;
}

static enum gw_err
pg_version_get(struct db *db, int *v)
{
	int64_t have, ver;
	int isnull = 1;
	enum gw_err e;

	*v = 0;
	e = query_int64(db, "SELECT to_regclass('schema_version') IS NOT NULL",
	    NULL, "read the schema version", &have, NULL);
	if (e != GW_OK || !have)
		return e;
	e = query_int64(db, "SELECT MAX(version) FROM schema_version", NULL,
	    "read the schema version", &ver, &isnull);
	if (e == GW_OK && !isnull)
		*v = (int)ver;
	return e;
}

static enum gw_err
pg_version_set(struct db *db, int v)
{
	struct db_stmt *st;
	enum gw_err e;

	e = pg_exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
	    "  version BIGINT NOT NULL)", "make the schema_version table");
	if (e != GW_OK)
		return e;
	if ((e = stmt_new(db, "INSERT INTO schema_version (id, version) "
	    "VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET version = "
	    "excluded.version", &st)) != GW_OK)
		return e;
	pg_bind_int64(st, 1, v);
	if ((e = pg_step(st)) == GW_ENOTFOUND)
		e = GW_OK;
	stmt_free(st);
	return e;
}

/* A session advisory lock, polled (pg_try_advisory_lock) until wait_ms:
 * a blocking wait would hold the connection past any deadline we keep. */
static enum gw_err
pg_lock(struct db *db, int64_t key, int wait_ms)
{
	int64_t deadline = util_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	int64_t got, pause = 10, left;
	enum gw_err e;

	for (;;) {
		e = query_int64(db, "SELECT pg_try_advisory_lock(?1)", &key,
		    "take a lock", &got, NULL);
		if (e != GW_OK || got)
			return e;
		if ((left = deadline - util_mono_ms()) <= 0)
			break;
		util_sleep_ms(pause < left ? pause : left);
		if (pause < 100)
			pause *= 2;
	}
	log_msg(LOG_WARN, "postgresql %s: lock %lld: still held elsewhere after "
	    "%d ms", label(db), (long long)key, wait_ms);
	return GW_EBUSY;
}

static enum gw_err
pg_unlock(struct db *db, int64_t key)
{
	int64_t was;
	enum gw_err e;

	e = query_int64(db, "SELECT pg_advisory_unlock(?1)", &key,
	    "release a lock", &was, NULL);
	if (e == GW_OK && !was) {
		log_msg(LOG_ERROR, "postgresql %s: lock %lld was not held by this "
		    "connection", label(db), (long long)key);
		e = GW_EDB;
	}
	return e;
}

static void
pg_close(struct db *db)
{
	struct pg *pg = db->drv;
	int i;

	if (pg == NULL)
		return;
	drop_conn(pg);
	for (i = 0; i < pg->ncache; i++)
		stmt_free(pg->cache[i]);
	free(pg->url);
	free(pg->where);
	free(pg);
	db->drv = NULL;
}

static enum gw_err
pg_open(struct db *db, const char *target)
{
	PQconninfoOption *opts;
	struct pg *pg;
	char *err = NULL;
	enum gw_err e;

	db->drv = NULL;
	if ((opts = PQconninfoParse(target, &err)) == NULL) {
		log_pg(LOG_ERROR, db, "open", err != NULL ? err :
		    "out of memory");
		PQfreemem(err);
		return err != NULL ? GW_EDB : GW_ENOMEM;
	}
	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		PQconninfoFree(opts);
		return GW_ENOMEM;
	}
	db->drv = pg;
	pg->busy_applied = -1;
	pg->where = where_of(opts);
	PQconninfoFree(opts);
	if ((pg->url = strdup(target)) == NULL || pg->where == NULL)
		e = GW_ENOMEM;
	else
		e = ready(db, "open");
	/* down now: kept, connected at a later use (state/db_driver.h) */
	if (e != GW_OK && e != GW_EDBDOWN)
		pg_close(db);
	return e;
}

const struct db_driver db_driver_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.prepare = pg_prepare,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.step = pg_step,
	.column_is_null = pg_column_is_null,
	.column_int64 = pg_column_int64,
	.column_text = pg_column_text,
	.done = pg_done,
	.exec = pg_exec,
	.begin_exclusive = pg_begin_exclusive,
	.in_transaction = pg_in_transaction,
	.version_get = pg_version_get,
	.version_set = pg_version_set,
	.serial_pk = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
	.moved = NULL,
	.reopen = NULL,
	.checkpoint = NULL,
	.lock = pg_lock,
	.unlock = pg_unlock,
};

#endif /* GW_HAVE_LIBPQ */

/*
 * The PostgreSQL storage driver (state/db_driver.h) through libpq, for
 * several hosts sharing one database (issue 15, config storage.driver
 * "postgresql").  The struct db handles of a process share a pool of
 * libpq connections per URL (COPILOT_API_PG_POOL, default 8; the usage
 * writer's handle has one of its own): a handle borrows a connection for
 * one statement (prepare .. done) or while it must keep it (an open
 * transaction, a held session lock) and gives it back after, so a
 * process's connections do not follow its threads.  Each connection keeps
 * its prepared statements, keyed by their SQL text.  Nothing here waits
 * without a bound: a connection free within busy_ms (else GW_EBUSY),
 * connect_timeout, TCP keepalives and tcp_user_timeout on the socket,
 * statement_timeout and lock_timeout on the session, and a client-side
 * deadline on every answer.  A lost connection is GW_EDBDOWN and is
 * dropped from the pool; the next use that needs it connects anew, and
 * after a failed connect nobody in the pool tries again for a second.
 */
#include "gwconfig.h"

#ifdef GW_HAVE_LIBPQ

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db_driver.h"

#define PG_STMT_CACHE 64
#define PG_RECONNECT_MS 1000       /* after a failed connect, none for this */
#define PG_POOL_DEFAULT 8          /* connections per process and URL */
#define PG_POOL_MAX 1024
/* statement_timeout is busy_ms + this (lock_timeout, busy_ms, always fires
 * first); our own deadline on an answer 1 s after that: a server that took
 * the statement and went silent is a lost connection. */
#define PG_STMT_SLACK_MS 2000
#define PG_WAIT_SLACK_MS 3000
#define PG_INT8OID 20              /* catalog/pg_type.h's INT8OID */
/* pg_advisory_xact_lock's two-int4 key of begin_exclusive: a key space of
 * its own, apart from the bigint keys of lock/unlock. */
#define PG_WRITER_KEY "1735420013, 1"

/* A statement: cached per SQL text on its connection, or a one-off. */
struct db_stmt {
	struct db_stmt_head head;  /* first: db.c dispatches through it */
	char *sql;                 /* as the caller wrote it: the cache key */
	char *pgsql;               /* ?N turned into $N */
	int nparams;
	const char **vals;         /* per parameter: its text, NULL for NULL */
	char (*nums)[24];          /* per parameter: an int64 bound, as text */
	unsigned *types;           /* per parameter: int8 or 0 (the server's guess) */
	unsigned *ptypes;          /* the types it was prepared with */
	int cached;                /* in its connection's cache; else done()
	                            * frees it */
	int in_use;
	int idx;                   /* its name: gw<idx> */
	unsigned gen;              /* the connection it was prepared on; 0 none */
	enum gw_err bind_err;
	PGresult *res;
	int ran, row, nrows;
};

/* One connection of a pool, lent to one handle at a time. */
struct pg_conn {
	PGconn *c;                 /* NULL: not open (yet, or lost) */
	unsigned gen;              /* counts connections made on this slot */
	int busy_applied;          /* the busy_ms the session has, -1 none */
	int lent;
	struct db_stmt *cache[PG_STMT_CACHE];
	int ncache;
};

/* A process's connections to one URL, shared by its handles. */
struct pg_pool {
	char *url;                 /* open's target, for every connect */
	char *where;               /* user@host:port/db from it: no password */
	pid_t pid;                 /* the process it belongs to */
	int shared;                /* in the list below; else one handle's */
	int refs;                  /* handles using it */
	int size;
	struct pg_conn *conns;     /* size of them */
	pthread_mutex_t mu;        /* lent, next_try_ms */
	pthread_cond_t freed;
	int64_t next_try_ms;       /* no connect before this (monotonic) */
	struct pg_pool *next;
};

static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pg_pool *pools;

/* A handle (db->drv): the connection it borrowed, and why it keeps it. */
struct pg {
	struct pg_pool *pool;
	struct pg_conn *conn;      /* borrowed, or NULL */
	int uses;                  /* borrows not given back: statements
	                            * open, calls in progress */
	int locks;                 /* session locks held on conn */
	int in_tx;                 /* a transaction was open before the call */
	int tx_lost;               /* the connection went inside a transaction */
};

/* The log's name for the database: rebuilt from the URL's parsed parts,
 * so no spelling of a password (user:pw@, ?password=) can reach it. */
static const char *
label(const struct db *db)
{
	const struct pg *pg = db->drv;

	if (pg != NULL && pg->pool != NULL && pg->pool->where != NULL)
		return pg->pool->where;
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

/* arg: the pool (a connection outlives the handles that borrow it). */
static void
notice(void *arg, const char *msg)
{
	const struct pg_pool *pool = arg;
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	log_debug("postgresql %s: notice: %.*s", pool->where, (int)n, msg);
}

static void
drop_conn(struct pg_conn *pc)
{
	if (pc->c != NULL)
		PQfinish(pc->c);
	pc->c = NULL;
}

/* The connection is gone, and with it a transaction and the session
 * locks held on it; it is dropped from the pool (made anew when next
 * needed). */
static enum gw_err
conn_lost(struct db *db, const char *what, const char *msg)
{
	struct pg *pg = db->drv;

	log_pg(LOG_ERROR, db, what, msg);
	if (pg->in_tx)
		pg->tx_lost = 1;
	if (pg->locks > 0)
		log_msg(LOG_WARN, "postgresql %s: %s: the %d session lock(s) "
		    "held on the lost connection are released", label(db),
		    what, pg->locks);
	pg->locks = 0;
	drop_conn(pg->conn);
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
		while (PQisBusy(pg->conn->c)) {
			if ((left = deadline - util_mono_ms()) <= 0) {
				PQclear(keep);
				return conn_lost(db, what, "no answer in time");
			}
			if ((pfd.fd = PQsocket(pg->conn->c)) < 0) {
				PQclear(keep);
				return conn_lost(db, what, PQerrorMessage(pg->conn->c));
			}
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
				PQclear(keep);
				return conn_lost(db, what, strerror(errno));
			}
			if (!PQconsumeInput(pg->conn->c))
				break;  /* PQgetResult reports it */
		}
		if ((r = PQgetResult(pg->conn->c)) == NULL)
			break;
		if (keep == NULL || PQresultStatus(keep) != PGRES_FATAL_ERROR) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
		if (PQstatus(pg->conn->c) == CONNECTION_BAD)
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
	if (pg->conn->c == NULL || PQstatus(pg->conn->c) == CONNECTION_BAD)
		return conn_lost(db, what, pg->conn->c != NULL ?
		    PQerrorMessage(pg->conn->c) : "connection lost");
	if (res == NULL) {
		log_pg(LOG_ERROR, db, what, PQerrorMessage(pg->conn->c));
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
		return conn_lost(db, what, PQerrorMessage(pg->conn->c));
	if ((e = collect(db, what, &res)) != GW_OK)
		return e;
	if ((e = check(db, res, what)) == GW_OK && keep != NULL)
		*keep = res;
	else
		PQclear(res);
	return e;
}

/* Connects the borrowed slot; a failure stops the pool's connects for a
 * second (a server that is down is not asked again by every thread). */
static enum gw_err
connect_now(struct db *db)
{
	struct pg *pg = db->drv;
	struct pg_pool *pool = pg->pool;
	struct pg_conn *pc = pg->conn;
	/* ours first: settings in the URL itself come later and win */
	static const char *const keys[] = {
		"connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"application_name", "dbname", NULL
	};
	const char *vals[] = {
		"3", "1", "10", "5", "3", "10000", "copilot-api", pool->url,
		NULL
	};
	enum gw_err e = GW_OK;

	pc->c = PQconnectdbParams(keys, vals, 1);
	if (pc->c == NULL) {
		log_pg(LOG_ERROR, db, "connect", "out of memory");
		e = GW_ENOMEM;
	} else if (PQstatus(pc->c) != CONNECTION_OK) {
		log_pg(LOG_ERROR, db, "connect", PQerrorMessage(pc->c));
		drop_conn(pc);
		e = GW_EDBDOWN;
	}
	if (e != GW_OK) {
		pthread_mutex_lock(&pool->mu);
		pool->next_try_ms = util_mono_ms() + PG_RECONNECT_MS;
		pthread_mutex_unlock(&pool->mu);
		return e;
	}
	PQsetNoticeProcessor(pc->c, notice, pool);
	pc->gen++;
	pc->busy_applied = -1;
	return GW_OK;
}

/* statement_timeout and lock_timeout from db->busy_ms, outside a
 * transaction only (a rollback would undo a SET made inside one). */
static enum gw_err
apply_busy(struct db *db)
{
	struct pg *pg = db->drv;
	struct pg_conn *pc = pg->conn;
	char sql[128];
	enum gw_err e;

	if (pc->busy_applied == db->busy_ms ||
	    PQtransactionStatus(pc->c) != PQTRANS_IDLE)
		return GW_OK;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; "
	    "SET lock_timeout = %d", stmt_timeout_ms(db),
	    db->busy_ms > 0 ? db->busy_ms : 1);
	e = answer(db, PQsendQuery(pc->c, sql), "set the timeouts", NULL);
	if (e == GW_OK)
		pc->busy_applied = db->busy_ms;
	return e;
}

/* The borrowed connection, ready to send on: open, or opened now unless
 * the pool's last connect failed less than a second ago. */
static enum gw_err
ready(struct db *db, const char *what)
{
	struct pg *pg = db->drv;
	struct pg_conn *pc;
	PGTransactionStatusType ts;
	int64_t next;
	enum gw_err e;

	if (pg == NULL || pg->conn == NULL)
		return GW_EINTERNAL;
	pc = pg->conn;
	if (pg->tx_lost) {
		log_msg(LOG_WARN, "postgresql %s: %s: the connection was lost "
		    "inside a transaction, which must be rolled back first",
		    label(db), what);
		return GW_EDBDOWN;
	}
	if (pc->c != NULL && PQstatus(pc->c) != CONNECTION_OK)
		drop_conn(pc);
	if (pc->c == NULL) {
		pthread_mutex_lock(&pg->pool->mu);
		next = pg->pool->next_try_ms;
		pthread_mutex_unlock(&pg->pool->mu);
		if (util_mono_ms() < next) {
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
	ts = PQtransactionStatus(pc->c);
	pg->in_tx = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
	return GW_OK;
}

/* --- the pool --- */

static void stmt_free(struct db_stmt *st);

/* COPILOT_API_PG_POOL: connections per process and URL. */
static int
pool_size(void)
{
	const char *s = getenv("COPILOT_API_PG_POOL");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return PG_POOL_DEFAULT;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > PG_POOL_MAX) {
		log_warn("COPILOT_API_PG_POOL=%s: not a number from 1 to %d; "
		    "using %d", s, PG_POOL_MAX, PG_POOL_DEFAULT);
		return PG_POOL_DEFAULT;
	}
	return (int)v;
}

static void
pool_free(struct pg_pool *pool)
{
	int i, j;

	if (pool == NULL)
		return;
	for (i = 0; pool->conns != NULL && i < pool->size; i++) {
		drop_conn(&pool->conns[i]);
		for (j = 0; j < pool->conns[i].ncache; j++)
			stmt_free(pool->conns[i].cache[j]);
	}
	free(pool->conns);
	free(pool->url);
	free(pool->where);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->freed);
	free(pool);
}

static struct pg_pool *
pool_new(const char *url, const char *where, int size)
{
	struct pg_pool *pool = calloc(1, sizeof(*pool));
	pthread_condattr_t ca;
	int i;

	if (pool == NULL)
		return NULL;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->freed, &ca);
	pthread_condattr_destroy(&ca);
	pool->pid = getpid();
	pool->size = size;
	pool->refs = 1;
	pool->url = strdup(url);
	pool->where = strdup(where);
	pool->conns = calloc((size_t)size, sizeof(*pool->conns));
	if (pool->url == NULL || pool->where == NULL || pool->conns == NULL) {
		pool_free(pool);
		return NULL;
	}
	for (i = 0; i < size; i++)
		pool->conns[i].busy_applied = -1;
	return pool;
}

/* The process's pool for url (shared), or one of the handle's own. */
static struct pg_pool *
pool_get(const char *url, const char *where, int own)
{
	struct pg_pool *pool;

	if (own)
		return pool_new(url, where, 1);
	pthread_mutex_lock(&pools_mu);
	for (pool = pools; pool != NULL; pool = pool->next)
		if (pool->pid == getpid() && strcmp(pool->url, url) == 0)
			break;
	if (pool != NULL) {
		pool->refs++;
	} else if ((pool = pool_new(url, where, pool_size())) != NULL) {
		pool->shared = 1;
		pool->next = pools;
		pools = pool;
	}
	pthread_mutex_unlock(&pools_mu);
	return pool;
}

static void
pool_put(struct pg_pool *pool)
{
	struct pg_pool **p;
	int last;

	if (pool == NULL)
		return;
	if (!pool->shared) {
		pool_free(pool);
		return;
	}
	pthread_mutex_lock(&pools_mu);
	last = --pool->refs == 0;
	if (last)
		for (p = &pools; *p != NULL; p = &(*p)->next)
			if (*p == pool) {
				*p = pool->next;
				break;
			}
	pthread_mutex_unlock(&pools_mu);
	if (last)
		pool_free(pool);
}

/* A free connection of the pool: an open one first (the lowest, so the
 * others stay idle), else a slot to connect; NULL when all are lent. */
static struct pg_conn *
pool_take(struct pg_pool *pool)
{
	struct pg_conn *slot = NULL;
	int i;

	for (i = 0; i < pool->size; i++) {
		if (pool->conns[i].lent)
			continue;
		if (pool->conns[i].c != NULL) {
			slot = &pool->conns[i];
			break;
		}
		if (slot == NULL)
			slot = &pool->conns[i];
	}
	if (slot != NULL)
		slot->lent = 1;
	return slot;
}

/*
 * A connection for db for the call about to start: the one it holds, or
 * one from the pool within wait_ms (GW_EBUSY, logged unless quiet, when
 * none is given back in that time).  Every GW_OK is paired with a
 * give_back.
 */
static enum gw_err
borrow_within(struct db *db, int wait_ms, int quiet)
{
	struct pg *pg = db->drv;
	struct pg_pool *pool;
	struct timespec ts;
	int64_t deadline;

	if (pg == NULL || pg->pool == NULL)
		return GW_EINTERNAL;
	if (pg->conn != NULL) {
		pg->uses++;
		return GW_OK;
	}
	pool = pg->pool;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    (wait_ms > 0 ? wait_ms : 0);
	pthread_mutex_lock(&pool->mu);
	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000;
	while ((pg->conn = pool_take(pool)) == NULL) {
		if (pthread_cond_timedwait(&pool->freed, &pool->mu, &ts) ==
		    ETIMEDOUT) {
			pg->conn = pool_take(pool);
			break;
		}
	}
	pthread_mutex_unlock(&pool->mu);
	if (pg->conn == NULL) {
		if (quiet)
			return GW_EBUSY;
		log_msg(LOG_WARN, "postgresql %s: connection pool exhausted: "
		    "all %d connections of this process stayed in use for "
		    "%d ms (COPILOT_API_PG_POOL)", label(db), pool->size,
		    wait_ms);
		return GW_EBUSY;
	}
	pg->uses = 1;
	return GW_OK;
}

static enum gw_err
borrow(struct db *db)
{
	return borrow_within(db, db->busy_ms, 0);
}

/* Ends what borrow began; the connection goes back to the pool unless db
 * must keep it: a statement still open, a transaction, a session lock. */
static void
give_back(struct db *db)
{
	struct pg *pg = db->drv;
	struct pg_conn *pc = pg->conn;

	if (pc == NULL)
		return;
	if (pg->uses > 0)
		pg->uses--;
	if (pg->uses > 0 || pg->locks > 0 || (pc->c != NULL &&
	    PQstatus(pc->c) == CONNECTION_OK &&
	    PQtransactionStatus(pc->c) != PQTRANS_IDLE))
		return;
	pg->conn = NULL;
	pg->in_tx = 0;
	pthread_mutex_lock(&pg->pool->mu);
	pc->lent = 0;
	pthread_cond_signal(&pg->pool->freed);
	pthread_mutex_unlock(&pg->pool->mu);
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
	struct pg_conn *pc;
	struct db_stmt *st;
	enum gw_err e;
	int i;

	*out = NULL;
	/* the connection is kept from here to done */
	if ((e = borrow(db)) != GW_OK)
		return e;
	pc = pg->conn;
	for (i = 0; i < pc->ncache; i++) {
		st = pc->cache[i];
		if (strcmp(st->sql, sql) != 0)
			continue;
		if (st->in_use)
			break;  /* nested use of the same SQL: a one-off */
		st->in_use = 1;
		st->head.db = db;
		*out = st;
		return GW_OK;
	}
	if ((e = stmt_new(db, sql, &st)) != GW_OK) {
		give_back(db);
		return e;
	}
	st->in_use = 1;
	if (i == pc->ncache && pc->ncache < PG_STMT_CACHE) {
		st->cached = 1;
		st->idx = pc->ncache;
		pc->cache[pc->ncache++] = st;
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
	struct pg_conn *pc = ((struct pg *)db->drv)->conn;
	char sql[48];
	enum gw_err e;

	if (st->gen == pc->gen && !types_changed(st))
		return GW_OK;
	if (st->gen == pc->gen) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
		if ((e = answer(db, PQsendQuery(pc->c, sql), "deallocate",
		    NULL)) != GW_OK)
			return e;
	}
	st->gen = 0;
	if ((e = answer(db, PQsendPrepare(pc->c, name, st->pgsql, st->nparams,
	    st->types), "prepare", NULL)) != GW_OK)
		return e;
	memcpy(st->ptypes, st->types, (size_t)st->nparams * sizeof(*st->types));
	st->gen = pc->gen;
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
		sent = PQsendQueryPrepared(pg->conn->c, name, st->nparams, st->vals,
		    NULL, NULL, 0);
	} else {
		sent = PQsendQueryParams(pg->conn->c, st->pgsql, st->nparams,
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
		give_back(db);
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
	give_back(db);
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
	if ((e = borrow(db)) != GW_OK)
		return e;
	if ((e = ready(db, what)) != GW_OK ||
	    (e = answer(db, PQsendQuery(pg->conn->c, sql), what, &res)) !=
	    GW_OK)
		goto out;
	/* COMMIT of a transaction a failed statement aborted rolls it back
	 * and says so only in its tag (sqlite would have kept the rest) */
	if (commit && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		log_msg(LOG_ERROR, "postgresql %s: %s: a statement in the "
		    "transaction had failed: it was rolled back", label(db),
		    what);
		e = GW_EDB;
	}
	PQclear(res);
out:
	give_back(db);
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
	if ((e = borrow(db)) != GW_OK)
		return e;
	if ((e = stmt_new(db, sql, &st)) != GW_OK) {
		give_back(db);
		return e;
	}
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
	give_back(db);
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
	if (pg->tx_lost)
		return 1;
	return pg->conn != NULL && pg->conn->c != NULL &&
	    PQstatus(pg->conn->c) == CONNECTION_OK &&
	    PQtransactionStatus(pg->conn->c) != PQTRANS_IDLE;
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

/* No advisory lock: the rows of one batch need atomicity, not exclusion. */
static enum gw_err
pg_begin_inserts(struct db *db)
{
	return pg_exec(db, "BEGIN", "begin a transaction");
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
	if ((e = pg_prepare(db, "INSERT INTO schema_version (id, version) "
	    "VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET version = "
	    "excluded.version", &st)) != GW_OK)
		return e;
	pg_bind_int64(st, 1, v);
	if ((e = pg_step(st)) == GW_ENOTFOUND)
		e = GW_OK;
	pg_done(db, st);
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
		/* between tries the connection goes back to the pool; the one
		 * the lock is taken on stays with db until the unlock */
		if ((e = borrow(db)) != GW_OK)
			return e;
		e = query_int64(db, "SELECT pg_try_advisory_lock(?1)", &key,
		    "take a lock", &got, NULL);
		if (e == GW_OK && got)
			((struct pg *)db->drv)->locks++;
		give_back(db);
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
	struct pg *pg = db->drv;
	int64_t was;
	enum gw_err e;

	if ((e = borrow(db)) != GW_OK)
		return e;
	e = query_int64(db, "SELECT pg_advisory_unlock(?1)", &key,
	    "release a lock", &was, NULL);
	if (e == GW_OK && was && pg->locks > 0)
		pg->locks--;
	give_back(db);
	if (e == GW_OK && !was) {
		log_msg(LOG_ERROR, "postgresql %s: lock %lld was not held by this "
		    "connection", label(db), (long long)key);
		e = GW_EDB;
	}
	return e;
}

/* A connection still kept (an open transaction, a session lock) is
 * closed: the server rolls back and unlocks, as it did when each handle
 * had its own. */
static void
pg_close(struct db *db)
{
	struct pg *pg = db->drv;

	if (pg == NULL)
		return;
	if (pg->conn != NULL) {
		drop_conn(pg->conn);
		pg->uses = 1;
		pg->locks = 0;
		give_back(db);
	}
	pool_put(pg->pool);
	free(pg);
	db->drv = NULL;
}

static enum gw_err
pg_open(struct db *db, const char *target)
{
	PQconninfoOption *opts;
	struct pg *pg;
	char *err = NULL, *where;
	enum gw_err e;

	db->drv = NULL;
	if ((opts = PQconninfoParse(target, &err)) == NULL) {
		log_pg(LOG_ERROR, db, "open", err != NULL ? err :
		    "out of memory");
		PQfreemem(err);
		return err != NULL ? GW_EDB : GW_ENOMEM;
	}
	where = where_of(opts);
	PQconninfoFree(opts);
	if (where == NULL || (pg = calloc(1, sizeof(*pg))) == NULL) {
		free(where);
		return GW_ENOMEM;
	}
	db->drv = pg;
	pg->pool = pool_get(target, where, db->own_conn);
	free(where);
	if (pg->pool == NULL) {
		pg_close(db);
		return GW_ENOMEM;
	}
	/* reach the server now (or say it is down); every connection of
	 * a pool in use is lent: then it was reached */
	if ((e = borrow_within(db, 0, 1)) == GW_EBUSY)
		return GW_OK;
	if (e == GW_OK) {
		e = ready(db, "open");
		give_back(db);
	}
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
	.begin_inserts = pg_begin_inserts,
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

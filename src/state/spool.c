/*
 * The usage spool: rows that met a locked database wait in a JSON-lines
 * file and the next writer replays them; and the batcher that writes rows
 * off the request path (contracts in spool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
#include "state/metrics.h"
#include "state/paths.h"
#include "state/spool.h"

static void
add_str(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
}

static GW_MUST_CHECK enum gw_err
spool_append(const char *path, const struct usage_event *ev)
{
	struct buf line = BUF_INIT;
	cJSON *o;
	int fd = -1;
	enum gw_err e = GW_ENOMEM;

	if ((o = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	cJSON_AddNumberToObject(o, "created_at_ms", (double)ev->created_at_ms);
	add_str(o, "trace_id", ev->trace_id);
	add_str(o, "session_id", ev->session_id);
	add_str(o, "user_id", ev->user_id);
	add_str(o, "source", ev->source);
	add_str(o, "endpoint", ev->endpoint);
	add_str(o, "provider_name", ev->provider_name);
	add_str(o, "account", ev->account);
	add_str(o, "row_key", ev->row_key);
	add_str(o, "model", ev->model);
	add_str(o, "error", ev->error);
	cJSON_AddNumberToObject(o, "status", ev->status);
	cJSON_AddNumberToObject(o, "stream", ev->stream);
	cJSON_AddNumberToObject(o, "input_tokens", ev->input_tokens);
	cJSON_AddNumberToObject(o, "output_tokens", ev->output_tokens);
	cJSON_AddNumberToObject(o, "cache_read_input_tokens",
	    ev->cache_read_input_tokens);
	cJSON_AddNumberToObject(o, "cache_creation_input_tokens",
	    ev->cache_creation_input_tokens);
	cJSON_AddNumberToObject(o, "total_tokens", ev->total_tokens);
	cJSON_AddNumberToObject(o, "latency_ms", (double)ev->latency_ms);
	if (ev->has_nano_aiu)
		cJSON_AddNumberToObject(o, "total_nano_aiu",
		    (double)ev->total_nano_aiu);
	add_str(o, "cost_currency", ev->cost_currency);
	cJSON_AddNumberToObject(o, "total_cost_nanos",
	    (double)ev->total_cost_nanos);
	add_str(o, "cost_source", ev->cost_source);
	if (json_append(&line, o) != GW_OK || buf_putc(&line, '\n') != GW_OK)
		goto out;
	/* One lock holder at a time: lines never interleave with a replay. */
	if ((e = paths_lock(path, 0, &fd, NULL)) != GW_OK)
		goto out;
	e = write(fd, line.data, line.len) == (ssize_t)line.len ? GW_OK : GW_EIO;
out:
	paths_unlock(fd);
	cJSON_Delete(o);
	buf_free(&line);
	return e;
}

static long
num(const cJSON *o, const char *k)
{
	return (long)json_num(o, k, -1);
}

static GW_MUST_CHECK enum gw_err
replay_line(struct db *db, const char *p, size_t n)
{
	struct usage_event ev;
	cJSON *o = json_parse(p, n, NULL, NULL);
	enum gw_err e;

	if (o == NULL) {
		log_warn("usage spool: skipping an unreadable line");
		return GW_OK;
	}
	memset(&ev, 0, sizeof(ev));
	ev.created_at_ms = (int64_t)json_num(o, "created_at_ms", 0);
	ev.trace_id = json_str(o, "trace_id");
	ev.session_id = json_str(o, "session_id");
	ev.user_id = json_str(o, "user_id");
	ev.source = json_str(o, "source");
	ev.endpoint = json_str(o, "endpoint");
	ev.provider_name = json_str(o, "provider_name");
	ev.account = json_str(o, "account");
	ev.row_key = json_str(o, "row_key");
	ev.model = json_str(o, "model");
	ev.error = json_str(o, "error");
	ev.status = num(o, "status");
	ev.stream = (int)num(o, "stream");
	ev.input_tokens = num(o, "input_tokens");
	ev.output_tokens = num(o, "output_tokens");
	ev.cache_read_input_tokens = num(o, "cache_read_input_tokens");
	ev.cache_creation_input_tokens = num(o, "cache_creation_input_tokens");
	ev.total_tokens = num(o, "total_tokens");
	ev.latency_ms = (int64_t)json_num(o, "latency_ms", -1);
	ev.total_nano_aiu = (int64_t)json_num(o, "total_nano_aiu", -1);
	ev.has_nano_aiu = ev.total_nano_aiu >= 0;
	ev.cost_currency = json_str(o, "cost_currency");
	ev.total_cost_nanos = (int64_t)json_num(o, "total_cost_nanos", 0);
	ev.cost_source = json_str(o, "cost_source");
	e = usage_record(db, &ev);
	cJSON_Delete(o);
	return e;
}

/* Writes the spooled rows in one transaction and empties the file; a
 * spool another process is replaying is left to it.  replayed may be NULL. */
static GW_MUST_CHECK enum gw_err
spool_replay(struct db *db, const char *path, long *replayed)
{
	struct buf all = BUF_INIT;
	char chunk[8192], *p, *nl;
	long count = 0;
	ssize_t r;
	int fd;
	enum gw_err e = GW_OK;

	if (replayed != NULL)
		*replayed = 0;
	e = paths_lock(path, PATHS_LOCK_NB | PATHS_LOCK_EXISTING, &fd, NULL);
	/* Nothing spooled, or someone else is appending or replaying. */
	if (e == GW_ENOTFOUND || e == GW_EBUSY)
		return GW_OK;
	if (e != GW_OK)
		return e;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if ((e = buf_append(&all, chunk, (size_t)r)) != GW_OK)
			goto out_unlock;
	if (all.len == 0)
		goto out_unlock;
	if ((e = db_begin_inserts(db)) != GW_OK)
		goto out_unlock;
	for (p = all.data; p < all.data + all.len; p = nl + 1) {
		if ((nl = memchr(p, '\n', all.len - (size_t)(p - all.data))) == NULL)
			break;  /* a partial last line: a writer died mid-line */
		if ((e = replay_line(db, p, (size_t)(nl - p))) != GW_OK)
			break;
		count++;
	}
	if (e == GW_OK && (e = db_commit(db)) == GW_OK) {
		if (ftruncate(fd, 0) != 0)
			e = GW_EIO;
		log_info("usage spool: %ld rows written to the database", count);
		if (replayed != NULL)
			*replayed = count;
	} else
		GW_IGNORE(db_rollback(db));  /* best effort: e is returned */
out_unlock:
	paths_unlock(fd);
	buf_free(&all);
	return e;
}

/* A row in memory: the event and the strings it owns. */
struct held {
	struct usage_event ev;
	char *s[12];
};

/* Rows neither the database nor the spool file could take (a full disk),
 * kept for the next successful write; mu guards all three. */
static pthread_mutex_t mem_mu = PTHREAD_MUTEX_INITIALIZER;
static struct held *mem_rows;
static size_t mem_n;
static long mem_dropped;

static void
held_free(struct held *h)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(h->s); i++)
		free(h->s[i]);
}

/* Copies str into h->s[i] and points *field at it. */
static GW_MUST_CHECK enum gw_err
held_str(struct held *h, size_t i, const char **field, const char *str)
{
	if (str == NULL)
		return GW_OK;
	if ((h->s[i] = strdup(str)) == NULL)
		return GW_ENOMEM;
	*field = h->s[i];
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
held_copy(struct held *h, const struct usage_event *ev)
{
	struct usage_event *c = &h->ev;

	memset(h, 0, sizeof(*h));
	*c = *ev;
	c->trace_id = c->session_id = c->user_id = c->source = c->endpoint =
	    c->provider_name = c->model = c->error = c->cost_currency =
	    c->cost_source = c->account = c->row_key = NULL;
	/* the time it happened, not the time it is written */
	if (c->created_at_ms == 0)
		c->created_at_ms = util_now_ms();
	if (held_str(h, 0, &c->trace_id, ev->trace_id) != GW_OK ||
	    held_str(h, 1, &c->session_id, ev->session_id) != GW_OK ||
	    held_str(h, 2, &c->user_id, ev->user_id) != GW_OK ||
	    held_str(h, 3, &c->source, ev->source) != GW_OK ||
	    held_str(h, 4, &c->endpoint, ev->endpoint) != GW_OK ||
	    held_str(h, 5, &c->provider_name, ev->provider_name) != GW_OK ||
	    held_str(h, 6, &c->model, ev->model) != GW_OK ||
	    held_str(h, 7, &c->error, ev->error) != GW_OK ||
	    held_str(h, 8, &c->cost_currency, ev->cost_currency) != GW_OK ||
	    held_str(h, 9, &c->cost_source, ev->cost_source) != GW_OK ||
	    held_str(h, 10, &c->account, ev->account) != GW_OK ||
	    held_str(h, 11, &c->row_key, ev->row_key) != GW_OK) {
		held_free(h);
		return GW_ENOMEM;
	}
	return GW_OK;
}

/* n rows in one transaction: all written, or none. */
static GW_MUST_CHECK enum gw_err
write_rows(struct db *db, struct held *rows, size_t n)
{
	size_t i;
	enum gw_err e;

	if ((e = db_begin_inserts(db)) != GW_OK)
		return e;
	for (i = 0; i < n && e == GW_OK; i++)
		e = usage_record(db, &rows[i].ev);
	if (e == GW_OK)
		e = db_commit(db);
	if (e != GW_OK)
		GW_IGNORE(db_rollback(db));  /* best effort: e is returned */
	return e;
}

static GW_MUST_CHECK enum gw_err
mem_push(const struct usage_event *ev, size_t *queued)
{
	struct held h;
	enum gw_err e;

	if ((e = held_copy(&h, ev)) != GW_OK)
		return e;
	pthread_mutex_lock(&mem_mu);
	if (mem_rows == NULL &&
	    (mem_rows = calloc(SPOOL_MEM_ROWS, sizeof(*mem_rows))) == NULL)
		e = GW_ENOMEM;
	else if (mem_n == SPOOL_MEM_ROWS)
		e = GW_ETOOBIG;
	else
		mem_rows[mem_n++] = h;
	if (e != GW_OK)
		mem_dropped++;
	*queued = mem_n;
	pthread_mutex_unlock(&mem_mu);
	if (e != GW_OK)
		held_free(&h);
	return e;
}

/* Writes the rows held in memory in one transaction; on failure they stay
 * held.  Rows another thread holds meanwhile wait for the next write. */
static GW_MUST_CHECK enum gw_err
mem_flush(struct db *db)
{
	struct held *rows;
	size_t n, i, room;
	enum gw_err e;

	pthread_mutex_lock(&mem_mu);
	rows = mem_rows;
	n = mem_n;
	mem_rows = NULL;
	mem_n = 0;
	pthread_mutex_unlock(&mem_mu);
	if (n == 0) {
		free(rows);
		return GW_OK;
	}
	e = write_rows(db, rows, n);
	if (e == GW_OK) {
		log_warn("usage: %zu rows kept in memory while the disk was full "
		    "are written to the database", n);
		for (i = 0; i < n; i++)
			held_free(&rows[i]);
		free(rows);
		return GW_OK;
	}
	/* back in front of what came meanwhile; over the bound, dropped */
	pthread_mutex_lock(&mem_mu);
	room = SPOOL_MEM_ROWS - n;
	for (i = 0; i < mem_n; i++) {
		if (i < room)
			rows[n + i] = mem_rows[i];
		else {
			held_free(&mem_rows[i]);
			mem_dropped++;
		}
	}
	n += mem_n < room ? mem_n : room;
	free(mem_rows);
	mem_rows = rows;
	mem_n = n;
	pthread_mutex_unlock(&mem_mu);
	return e;
}

void
spool_mem_stats(long *held, long *dropped)
{
	pthread_mutex_lock(&mem_mu);
	*held = (long)mem_n;
	*dropped = mem_dropped;
	pthread_mutex_unlock(&mem_mu);
}

/* A row the database refused (e): to the spool file, else held in memory.
 * GW_OK when it is spooled or held. */
static GW_MUST_CHECK enum gw_err
spill(const char *path, const struct usage_event *ev, enum gw_err e)
{
	size_t queued;

	if (spool_append(path, ev) == GW_OK) {
		metrics_usage_spooled();
		log_warn("database unavailable (%s): usage row %s spooled to %s",
		    gw_strerror(e), ev->trace_id ? ev->trace_id : "", path);
		return GW_OK;
	}
	/* the spool's disk is the database's: hold the row until a write
	 * succeeds again */
	if (mem_push(ev, &queued) != GW_OK) {
		log_error("usage row %s lost: the database (%s) and the spool "
		    "%s are unwritable and %d rows are already held in "
		    "memory", ev->trace_id ? ev->trace_id : "", gw_strerror(e),
		    path, SPOOL_MEM_ROWS);
		return e;
	}
	log_error("usage row %s held in memory (%zu now): the database "
	    "(%s) and the spool %s are unwritable (is the disk full?); "
	    "written at the next successful write", ev->trace_id ?
	    ev->trace_id : "", queued, gw_strerror(e), path);
	return GW_OK;
}

/* Whether the database refused for a while (locked, failing, its server
 * unreachable): the row waits in the spool rather than being dropped. */
static int
spillable(enum gw_err e)
{
	return e == GW_EBUSY || e == GW_EDB || e == GW_EDBDOWN;
}

/* After a good write: the rows held in memory, then the spool file. */
static void
retry_spilled(struct db *db, const char *path)
{
	struct stat st;

	/* best effort: held rows that fail again stay held for the next
	 * write, and a failed replay is retried after it */
	GW_IGNORE(mem_flush(db));
	if (stat(path, &st) == 0 && st.st_size > 0)
		GW_IGNORE(spool_replay(db, path, NULL));
}

/*
 * One row (ev), or a batch of n rows (rows != NULL) in one transaction,
 * written now; what the database refuses is spilled (spool file, else
 * memory), and after a good write the held and spooled rows follow.
 */
static GW_MUST_CHECK enum gw_err
record_now(struct db *db, const char *path, const struct usage_event *ev,
    struct held *rows, size_t n)
{
	size_t i;
	enum gw_err e;

	if (rows != NULL) {
		e = write_rows(db, rows, n);
		if (spillable(e)) {
			/* best effort: a row lost is logged by spill */
			for (i = 0; i < n; i++)
				GW_IGNORE(spill(path, &rows[i].ev, e));
			return GW_OK;
		}
		if (e != GW_OK) {
			/* one bad row must not take the others: one by one */
			for (i = 0; i < n; i++)
				GW_IGNORE(record_now(db, path, &rows[i].ev, NULL, 0));
			return GW_OK;
		}
	} else if (spillable(e = usage_record(db, ev)))
		return spill(path, ev, e);
	if (e == GW_OK)
		retry_spilled(db, path);
	return e;
}

/*
 * The batcher (spool.h): rows queued by the request threads, written by
 * one thread per process in one transaction per batch.  q_mu guards every
 * q_* field; q_cv wakes the writer (a batch is due, a stop) and the
 * threads in spool_sync (a batch is written).
 */
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct held *q_rows;
static size_t q_n;
static int64_t q_first_ms;       /* when the oldest queued row came */
static uint64_t q_pushed, q_written;   /* rows queued / written, ever */
static int q_running, q_stopping, q_urgent;
static pthread_t q_thread;
static struct db *q_db;
static char *q_driver, *q_target, *q_spool_path;

/* The CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static void
deadline_in(int64_t ms, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Whether rows wait in the spool file (q_spool_path). */
static int
spooled(void)
{
	struct stat st;

	return stat(q_spool_path, &st) == 0 && st.st_size > 0;
}

/* No row queued (q_mu held): waits for one, or with rows in the spool
 * file tries them every SPOOL_RETRY_MS, so they reach a database that
 * came back even when no request comes. */
static void
idle_wait(void)
{
	struct timespec ts;

	if (!spooled()) {
		pthread_cond_wait(&q_cv, &q_mu);
		return;
	}
	deadline_in(SPOOL_RETRY_MS, &ts);
	if (pthread_cond_timedwait(&q_cv, &q_mu, &ts) == 0 || q_n > 0 ||
	    q_stopping)
		return;
	pthread_mutex_unlock(&q_mu);
	retry_spilled(q_db, q_spool_path);
	pthread_mutex_lock(&q_mu);
}

/* Room for one more queued row (q_mu held): 0 when it cannot grow. */
static int
q_room(void)
{
	struct held *grown;

	if (q_n % SPOOL_BATCH_ROWS != 0)
		return 1;
	if ((grown = realloc(q_rows, (q_n + SPOOL_BATCH_ROWS) *
	    sizeof(*q_rows))) == NULL)
		return 0;
	q_rows = grown;
	return 1;
}

static void *
batch_main(void *arg)
{
	struct held *rows;
	size_t n, i;
	uint64_t upto;
	int64_t wait_ms, last_check = 0;
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&q_mu);
	for (;;) {
		while (q_n == 0 && !q_stopping)
			idle_wait();
		if (q_n == 0)
			break;                   /* stopping, nothing left */
		wait_ms = q_first_ms + SPOOL_BATCH_MS - util_mono_ms();
		if (q_n < SPOOL_BATCH_ROWS && !q_stopping && !q_urgent &&
		    wait_ms > 0) {
			deadline_in(wait_ms, &ts);
			pthread_cond_timedwait(&q_cv, &q_mu, &ts);
			continue;
		}
		rows = q_rows;
		n = q_n;
		upto = q_pushed;
		q_rows = NULL;
		q_n = 0;
		q_urgent = 0;
		pthread_mutex_unlock(&q_mu);
		/* a database file replaced under us: reopen (at most each second) */
		if (util_mono_ms() - last_check >= 1000) {
			struct db *fresh;

			last_check = util_mono_ms();
			if (db_moved(q_db) &&
			    db_open_target_own(q_driver, q_target, &fresh) == GW_OK) {
				db_close(q_db);
				q_db = fresh;
			}
		}
		/* best effort: what the database refuses is spooled or held */
		GW_IGNORE(record_now(q_db, q_spool_path, NULL, rows, n));
		for (i = 0; i < n; i++)
			held_free(&rows[i]);
		free(rows);
		pthread_mutex_lock(&q_mu);
		q_written = upto;
		pthread_cond_broadcast(&q_cv);
	}
	pthread_mutex_unlock(&q_mu);
	return NULL;
}

enum gw_err
spool_batch_start(const char *driver, const char *target,
    const char *spool_path)
{
	enum gw_err e;

	if (q_running)
		return GW_OK;
	if ((q_driver = strdup(driver)) == NULL ||
	    (q_target = strdup(target)) == NULL ||
	    (q_spool_path = strdup(spool_path)) == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	if ((e = db_open_target_own(driver, target, &q_db)) != GW_OK)
		goto fail;
	q_stopping = 0;
	/* started before the server blocks its stop signals: takes none */
	if ((e = util_thread_nosig(&q_thread, batch_main, NULL)) != GW_OK)
		goto fail;
	q_running = 1;
	return GW_OK;
fail:
	db_close(q_db);
	q_db = NULL;
	free(q_driver);
	free(q_target);
	free(q_spool_path);
	q_driver = q_target = q_spool_path = NULL;
	return e;
}

void
spool_batch_stop(void)
{
	if (!q_running)
		return;
	pthread_mutex_lock(&q_mu);
	q_stopping = 1;
	pthread_cond_broadcast(&q_cv);
	pthread_mutex_unlock(&q_mu);
	pthread_join(q_thread, NULL);
	q_running = 0;
	db_close(q_db);
	q_db = NULL;
	free(q_driver);
	free(q_target);
	free(q_spool_path);
	q_driver = q_target = q_spool_path = NULL;
}

void
spool_sync(void)
{
	struct timespec ts;
	uint64_t want;

	pthread_mutex_lock(&q_mu);
	if (q_running) {
		want = q_pushed;
		q_urgent = 1;
		pthread_cond_broadcast(&q_cv);
		deadline_in(SPOOL_SYNC_WAIT_S * 1000LL, &ts);
		/* bounded: a database locked past this answers with what it has */
		while (q_written < want &&
		    pthread_cond_timedwait(&q_cv, &q_mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&q_mu);
}

enum gw_err
spool_record(struct db *db, const char *path, const struct usage_event *in)
{
	struct usage_event keyed = *in, *ev = &keyed;
	char key[USAGE_ROW_KEY_LEN + 1];
	struct held h;
	int queued = 0;

	/* the row's identity from here on, however often it is retried (a
	 * key the CSPRNG cannot make: the row is written without one) */
	if (ev->row_key == NULL && util_random_id("", UTIL_ID_HEX,
	    USAGE_ROW_KEY_LEN, key, sizeof(key)) == GW_OK)
		ev->row_key = key;
	if (q_running && held_copy(&h, ev) == GW_OK) {
		pthread_mutex_lock(&q_mu);
		if (q_running && !q_stopping && q_n < SPOOL_QUEUE_MAX &&
		    q_room()) {
			if (q_n == 0)
				q_first_ms = util_mono_ms();
			q_rows[q_n++] = h;
			q_pushed++;
			queued = 1;
			/* the first row starts the writer's wait, a full batch
			 * ends it */
			if (q_n == 1 || q_n >= SPOOL_BATCH_ROWS)
				pthread_cond_broadcast(&q_cv);
		}
		pthread_mutex_unlock(&q_mu);
		if (queued)
			return GW_OK;
		held_free(&h);
	}
	/* no batcher, a full queue, or no memory for the copy: now */
	return record_now(db, path, ev, NULL, 0);
}

enum gw_err
spool_pending(const char *path, long *rows)
{
	char chunk[8192], *p;
	ssize_t r;
	int fd;

	*rows = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? GW_OK : GW_EIO;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		for (p = chunk; (p = memchr(p, '\n', (size_t)(chunk + r - p))) !=
		    NULL; p++)
			(*rows)++;
	close(fd);
	return r == 0 ? GW_OK : GW_EIO;
}

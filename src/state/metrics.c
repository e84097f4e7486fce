/*
 * The shared metrics file: layout, lock-free recording, the bounded
 * series table and the Prometheus exposition (contract in metrics.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "state/metrics.h"
#include "state/paths.h"

/* Counters in a file shared by processes must be lock-free atomics. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "int atomics must be lock-free");

#define MAGIC 0x31766d6970616367ULL    /* "gcapimv1" */
#define PROC_SLOTS 128
#define NBUCKETS 12

enum { SLOT_EMPTY, SLOT_WRITING, SLOT_READY };

/* Upper bounds in ms and as the le label says them. */
static const int64_t bucket_ms[NBUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
	300000,
};
static const char *const bucket_le[NBUCKETS] = {
	"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120",
	"300",
};

struct hist {
	_Atomic uint64_t bucket[NBUCKETS + 1];   /* not cumulative; last: +Inf */
	_Atomic uint64_t sum_ms;
	_Atomic uint64_t count;
};

/* One process's open streams: a dead process's slot is not counted. */
struct proc {
	_Atomic int pid;
	_Atomic long long streams;
};

struct series {
	_Atomic unsigned state;             /* SLOT_*: labels valid at READY */
	int status;
	char route[METRICS_LABEL_MAX];
	char model[METRICS_LABEL_MAX];
	_Atomic uint64_t count;
};

struct shm {
	uint64_t magic;
	uint64_t size;
	_Atomic unsigned used;              /* slots ever claimed */
	_Atomic uint64_t refresh_ok, refresh_failed;
	_Atomic uint64_t spooled;
	_Atomic uint64_t overflow;          /* requests no slot could hold */
	_Atomic long long streams_unslotted;
	struct hist hist[METRICS_NHIST];
	struct proc proc[PROC_SLOTS];
	struct series series[METRICS_SERIES];
};

/* The process's mapping (see metrics.h: one per process, like its data
 * directory); set before threads start. */
static struct shm *shm;
static char *shm_path;

static GW_MUST_CHECK enum gw_err
io_fail(struct buf *errmsg, const char *what, const char *path)
{
	/* best effort: the error is returned whatever the message says */
	GW_IGNORE(buf_printf(errmsg, "metrics: cannot %s %s: %s", what, path,
	    strerror(errno)));
	return GW_EIO;
}

/* Under the file's lock: an empty file gets its size (*fresh = 1: the
 * caller writes the header into the mapping; the file is open for
 * appending, so a pwrite would land at its end). */
static GW_MUST_CHECK enum gw_err
prepare(int fd, const char *path, int *fresh, struct buf *errmsg)
{
	struct stat st;

	*fresh = 0;
	if (fstat(fd, &st) != 0)
		return io_fail(errmsg, "stat", path);
	if (st.st_size == 0) {
		if (ftruncate(fd, (off_t)sizeof(struct shm)) != 0)
			return io_fail(errmsg, "size", path);
		*fresh = 1;
		return GW_OK;
	}
	if (st.st_size != (off_t)sizeof(struct shm)) {
		/* best effort: the error is returned whatever it says */
		GW_IGNORE(buf_printf(errmsg, "metrics: %s has another layout "
		    "(%lld bytes); remove it", path, (long long)st.st_size));
		return GW_EIO;
	}
	return GW_OK;
}

enum gw_err
metrics_open(const char *path, struct buf *errmsg)
{
	struct shm *m = MAP_FAILED;
	char *p = NULL;
	int fd = -1, fresh;
	enum gw_err e;

	metrics_close();
	if ((p = strdup(path)) == NULL)
		return GW_ENOMEM;
	if ((e = paths_lock(path, 0, &fd, errmsg)) != GW_OK ||
	    (e = prepare(fd, path, &fresh, errmsg)) != GW_OK)
		goto out;
	m = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (m == MAP_FAILED) {
		e = io_fail(errmsg, "map", path);
		goto out;
	}
	if (fresh) {
		m->magic = MAGIC;
		m->size = sizeof(struct shm);
	}
	if (m->magic != MAGIC || m->size != sizeof(struct shm)) {
		/* best effort: the error is returned whatever it says */
		GW_IGNORE(buf_printf(errmsg, "metrics: %s is not a metrics "
		    "file of this version; remove it", path));
		e = GW_EIO;
		goto out;
	}
	shm = m;
	shm_path = p;
	m = MAP_FAILED;
	p = NULL;
out:
	if (m != MAP_FAILED)
		munmap(m, sizeof(struct shm));
	paths_unlock(fd);
	free(p);
	return e;
}

void
metrics_close(void)
{
	if (shm != NULL)
		munmap(shm, sizeof(struct shm));
	shm = NULL;
	free(shm_path);
	shm_path = NULL;
}

/* ---- the series table ---- */

static uint32_t
fnv(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h ^ 0xff) * 16777619u;
}

static uint32_t
series_hash(const char *route, int status, const char *model)
{
	char st[16];

	snprintf(st, sizeof(st), "%d", status);
	return fnv(fnv(fnv(2166136261u, route), st), model);
}

static int
series_is(const struct series *s, const char *route, int status,
    const char *model)
{
	return s->status == status && strcmp(s->route, route) == 0 &&
	    strcmp(s->model, model) == 0;
}

/*
 * The ready series with these labels, or NULL.  Lock-free: a slot's
 * labels are written before it turns READY (release), read after (acquire);
 * an empty slot ends the probe, a WRITING one (being written, or left by a
 * process that died writing it) does not.
 */
static struct series *
series_find(const char *route, int status, const char *model)
{
	uint32_t h = series_hash(route, status, model);
	struct series *s;
	unsigned i, st;

	for (i = 0; i < METRICS_SERIES; i++) {
		s = &shm->series[(h + i) % METRICS_SERIES];
		st = atomic_load_explicit(&s->state, memory_order_acquire);
		if (st == SLOT_EMPTY)
			return NULL;
		if (st == SLOT_READY && series_is(s, route, status, model))
			return s;
	}
	return NULL;
}

/* Adds the series under the file's flock unless `limit` slots are taken;
 * NULL then (or when the lock cannot be had). */
static struct series *
series_add(const char *route, int status, const char *model, unsigned limit)
{
	uint32_t h = series_hash(route, status, model);
	struct series *s, *found = NULL;
	unsigned i, st;
	int fd = -1;

	if (paths_lock(shm_path, PATHS_LOCK_EXISTING, &fd, NULL) != GW_OK)
		return NULL;
	if ((found = series_find(route, status, model)) != NULL)
		goto out;
	if (atomic_load(&shm->used) >= limit)
		goto out;
	for (i = 0; i < METRICS_SERIES && found == NULL; i++) {
		s = &shm->series[(h + i) % METRICS_SERIES];
		st = atomic_load_explicit(&s->state, memory_order_acquire);
		/* Under the lock a WRITING slot is one whose writer died. */
		if (st == SLOT_READY)
			continue;
		if (st == SLOT_EMPTY)
			atomic_fetch_add(&shm->used, 1);
		atomic_store_explicit(&s->state, SLOT_WRITING,
		    memory_order_relaxed);
		s->status = status;
		snprintf(s->route, sizeof(s->route), "%s", route);
		snprintf(s->model, sizeof(s->model), "%s", model);
		atomic_store(&s->count, 0);
		atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
		found = s;
	}
out:
	paths_unlock(fd);
	return found;
}

void
metrics_request(const char *route, int status, const char *model)
{
	struct series *s;

	if (shm == NULL)
		return;
	if (route == NULL)
		route = "none";
	if (model == NULL)
		model = "";
	if (strlen(route) >= METRICS_LABEL_MAX)
		route = "other";
	if (strlen(model) >= METRICS_LABEL_MAX)
		model = "other";
	if ((s = series_find(route, status, model)) == NULL &&
	    strcmp(model, "other") != 0)
		s = series_add(route, status, model, METRICS_SERIES * 3 / 4);
	if (s == NULL && (s = series_find(route, status, "other")) == NULL)
		s = series_add(route, status, "other", METRICS_SERIES);
	if (s != NULL)
		atomic_fetch_add(&s->count, 1);
	else
		atomic_fetch_add(&shm->overflow, 1);
}

/* ---- histograms, gauge, counters ---- */

void
metrics_observe(enum metrics_hist h, int64_t ms)
{
	struct hist *x;
	size_t i = 0;

	if (shm == NULL || ms < 0 || (unsigned)h >= METRICS_NHIST)
		return;
	x = &shm->hist[h];
	while (i < NBUCKETS && ms > bucket_ms[i])
		i++;
	atomic_fetch_add(&x->bucket[i], 1);
	atomic_fetch_add(&x->sum_ms, (uint64_t)ms);
	atomic_fetch_add(&x->count, 1);
}

static int
alive(int pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* This process's gauge slot: its own, a free one, or a dead process's
 * taken over; NULL when all are held by live processes. */
static struct proc *
own_slot(int claim)
{
	int me = (int)getpid(), p;
	size_t i;

	for (i = 0; i < PROC_SLOTS; i++)
		if (atomic_load(&shm->proc[i].pid) == me)
			return &shm->proc[i];
	if (!claim)
		return NULL;
	for (i = 0; i < PROC_SLOTS; i++) {
		p = atomic_load(&shm->proc[i].pid);
		if ((p == 0 || !alive(p)) &&
		    atomic_compare_exchange_strong(&shm->proc[i].pid, &p, me)) {
			atomic_store(&shm->proc[i].streams, 0);
			return &shm->proc[i];
		}
	}
	return NULL;
}

static void
streams_add(long long d)
{
	struct proc *p;

	if (shm == NULL)
		return;
	if ((p = own_slot(d > 0)) != NULL)
		atomic_fetch_add(&p->streams, d);
	else
		atomic_fetch_add(&shm->streams_unslotted, d);
}

void
metrics_stream_begin(void)
{
	streams_add(1);
}

void
metrics_stream_end(void)
{
	streams_add(-1);
}

void
metrics_token_refresh(int ok)
{
	if (shm != NULL)
		atomic_fetch_add(ok ? &shm->refresh_ok : &shm->refresh_failed, 1);
}

void
metrics_usage_spooled(void)
{
	if (shm != NULL)
		atomic_fetch_add(&shm->spooled, 1);
}

/* ---- the exposition ---- */

/* A label value as the text format wants it: \ " and newline escaped. */
static GW_MUST_CHECK enum gw_err
put_label(struct buf *out, const char *name, const char *v, int first)
{
	enum gw_err e;

	if ((e = buf_printf(out, "%s%s=\"", first ? "" : ",", name)) != GW_OK)
		return e;
	for (; *v != '\0' && e == GW_OK; v++) {
		if (*v == '\\')
			e = buf_puts(out, "\\\\");
		else if (*v == '"')
			e = buf_puts(out, "\\\"");
		else if (*v == '\n')
			e = buf_puts(out, "\\n");
		else
			e = buf_putc(out, *v);
	}
	return e != GW_OK ? e : buf_putc(out, '"');
}

static GW_MUST_CHECK enum gw_err
put_head(struct buf *out, const char *name, const char *type,
    const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static int
series_cmp(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a;
	const struct series *y = *(const struct series *const *)b;
	int c;

	if ((c = strcmp(x->route, y->route)) != 0)
		return c;
	if (x->status != y->status)
		return x->status < y->status ? -1 : 1;
	return strcmp(x->model, y->model);
}

static GW_MUST_CHECK enum gw_err
put_requests(struct buf *out)
{
	static const char name[] = "copilot_api_requests_total";
	struct series *list[METRICS_SERIES];
	char st[16];
	size_t i, n = 0;
	uint64_t over = atomic_load(&shm->overflow);
	enum gw_err e;

	for (i = 0; i < METRICS_SERIES; i++)
		if (atomic_load_explicit(&shm->series[i].state,
		    memory_order_acquire) == SLOT_READY)
			list[n++] = &shm->series[i];
	qsort(list, n, sizeof(list[0]), series_cmp);
	if ((e = put_head(out, name, "counter", "Requests answered, by route "
	    "pattern, HTTP status and requested model.")) != GW_OK)
		return e;
	for (i = 0; i < n && e == GW_OK; i++) {
		snprintf(st, sizeof(st), "%d", list[i]->status);
		if ((e = buf_printf(out, "%s{", name)) != GW_OK ||
		    (e = put_label(out, "route", list[i]->route, 1)) != GW_OK ||
		    (e = put_label(out, "status", st, 0)) != GW_OK ||
		    (e = put_label(out, "model", list[i]->model, 0)) != GW_OK)
			return e;
		e = buf_printf(out, "} %llu\n",
		    (unsigned long long)atomic_load(&list[i]->count));
	}
	if (e == GW_OK && over > 0)
		e = buf_printf(out, "%s{route=\"other\",status=\"other\","
		    "model=\"other\"} %llu\n", name, (unsigned long long)over);
	return e;
}

static GW_MUST_CHECK enum gw_err
put_hist(struct buf *out, const char *name, const char *help,
    struct hist *h)
{
	uint64_t cum = 0, sum = atomic_load(&h->sum_ms);
	size_t i;
	enum gw_err e;

	if ((e = put_head(out, name, "histogram", help)) != GW_OK)
		return e;
	for (i = 0; i <= NBUCKETS && e == GW_OK; i++) {
		cum += atomic_load(&h->bucket[i]);
		e = buf_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name,
		    i < NBUCKETS ? bucket_le[i] : "+Inf",
		    (unsigned long long)cum);
	}
	/* _count is the +Inf bucket, so the two always agree */
	if (e == GW_OK)
		e = buf_printf(out, "%s_sum %llu.%03llu\n%s_count %llu\n", name,
		    (unsigned long long)(sum / 1000),
		    (unsigned long long)(sum % 1000), name,
		    (unsigned long long)cum);
	return e;
}

static long long
streams_now(void)
{
	long long n = atomic_load(&shm->streams_unslotted);
	size_t i;

	for (i = 0; i < PROC_SLOTS; i++)
		if (alive(atomic_load(&shm->proc[i].pid)))
			n += atomic_load(&shm->proc[i].streams);
	return n < 0 ? 0 : n;
}

enum gw_err
metrics_render(struct buf *out)
{
	enum gw_err e;

	if (shm == NULL)
		return GW_ENOTFOUND;
	if ((e = put_requests(out)) != GW_OK ||
	    (e = put_hist(out, "copilot_api_upstream_duration_seconds",
	    "Upstream calls, from sending the request to the end of the answer.",
	    &shm->hist[METRICS_UPSTREAM_DURATION])) != GW_OK ||
	    (e = put_hist(out, "copilot_api_stream_first_byte_seconds",
	    "Streamed answers, from sending the upstream request to the first "
	    "event written to the client.",
	    &shm->hist[METRICS_STREAM_FIRST_BYTE])) != GW_OK ||
	    (e = put_head(out, "copilot_api_active_streams", "gauge",
	    "Client streams open now, in all processes.")) != GW_OK ||
	    (e = buf_printf(out, "copilot_api_active_streams %lld\n",
	    streams_now())) != GW_OK ||
	    (e = put_head(out, "copilot_api_token_refreshes_total", "counter",
	    "Copilot token exchanges, by result.")) != GW_OK ||
	    (e = buf_printf(out, "copilot_api_token_refreshes_total"
	    "{result=\"success\"} %llu\ncopilot_api_token_refreshes_total"
	    "{result=\"failure\"} %llu\n",
	    (unsigned long long)atomic_load(&shm->refresh_ok),
	    (unsigned long long)atomic_load(&shm->refresh_failed))) != GW_OK ||
	    (e = put_head(out, "copilot_api_usage_rows_spooled_total", "counter",
	    "Usage rows sent to the spool file because the database was "
	    "locked.")) != GW_OK)
		return e;
	return buf_printf(out, "copilot_api_usage_rows_spooled_total %llu\n",
	    (unsigned long long)atomic_load(&shm->spooled));
}

/*
 * The responder loop: the FastCGI worker pool with graceful stop, or one
 * plain CGI request (contract in server.h).
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/log.h"
#include "core/util.h"
#include "http/router.h"
#include "http/server.h"

#define ACCEPT_RETRIES 50        /* consecutive transient accept failures */
#define ACCEPT_BACKOFF_MS 100
/* A body this large leaves memory worth giving back (malloc_trim). */
#define TRIM_AFTER_BYTES ((size_t)1024 * 1024)

static atomic_int stop_requested;
static atomic_int worker_failed;

struct pool {
	const struct http_server_opts *o;
	pthread_t main_thread;
	pthread_attr_t attr;     /* detached, HTTP_SERVER_STACK bytes of stack */
	pthread_mutex_t accept_mu;
	pthread_mutex_t mu;      /* guards the counters below */
	pthread_cond_t cv;
	int ready;
	int failed;
	int spare;               /* threads kept waiting for a request */
	int max;                 /* threads at most */
	int total;               /* threads in the pool */
	int idle;                /* of which waiting for a request */
	int alive;               /* threads not yet returned (a retired one
	                          * is out of total but may still be freeing
	                          * its context): the stop waits for 0 */
	/* The one thread inside FCGX_Accept_r (accept_mu), for the stop. */
	pthread_t accepter;
	atomic_int in_accept;
};

/* Interrupts accept() (no SA_RESTART); libfcgi then sees the pending
 * shutdown and returns. */
static void
on_wake(int sig)
{
	(void)sig;
}

/* 1 once a stop signal arrived; long streams may check it (they still
 * finish normally). */
static __attribute__((unused)) int
http_server_stop_requested(void)
{
	return atomic_load(&stop_requested);
}

/* COPILOT_API_MAX_THREADS, else HTTP_SERVER_MAX_THREADS; at least spare. */
static int
max_threads_from_env(int spare)
{
	const char *s = getenv("COPILOT_API_MAX_THREADS");
	long n;

	if (s != NULL && *s != '\0' &&
	    util_parse_long(s, 1, HTTP_SERVER_MAX_THREADS, &n) != GW_OK) {
		log_warn("COPILOT_API_MAX_THREADS=%.32s is not in 1..%d; using %d",
		    s, HTTP_SERVER_MAX_THREADS, HTTP_SERVER_MAX_THREADS);
		s = NULL;
	}
	if (s == NULL || *s == '\0')
		n = HTTP_SERVER_MAX_THREADS;
	return n < spare ? spare : (int)n;
}

int
http_server_threads_from_env(void)
{
	const char *s = getenv("COPILOT_API_THREADS");
	long n;

	if (s == NULL || *s == '\0')
		return HTTP_SERVER_DEFAULT_THREADS;
	if (util_parse_long(s, 1, HTTP_SERVER_MAX_THREADS, &n) != GW_OK) {
		log_warn("COPILOT_API_THREADS=%.32s is not in 1..%d; using %d", s,
		    HTTP_SERVER_MAX_THREADS, HTTP_SERVER_DEFAULT_THREADS);
		return HTTP_SERVER_DEFAULT_THREADS;
	}
	return (int)n;
}

void
http_server_reject(struct http_conn *conn, enum gw_dialect d, enum gw_err e,
    size_t limit)
{
	char msg[96];
	const char *text = msg;
	/* A body the client did not finish sending is its fault (400), where
	 * a local EIO elsewhere is ours (gw_http_status: 500). */
	int status = e == GW_EIO ? 400 : gw_http_status(e);
	static const char *const retry[] = { "Retry-After", "1", NULL };
	const char *const *extra = NULL;

	switch (e) {
	case GW_EBUSY:
		/* the process holds its budget of bodies: a moment later it
		 * will not */
		status = 503;
		text = "Too many large request bodies in flight in this process "
		    "(limits.maxBodyBytesInFlight): retry shortly";
		extra = retry;
		break;
	case GW_ETOOBIG:
		snprintf(msg, sizeof(msg),
		    "Request body too large: limit is %zu bytes", limit);
		break;
	case GW_EINVAL:
		text = "Malformed request: no method, or control characters "
		    "in the path";
		break;
	case GW_EIO:
		text = "Could not read the request body";
		break;
	default:
		text = gw_strerror(e);
		break;
	}
	/* Best effort: the request has failed whatever the client gets; a
	 * failed write means it is gone, which the log line reports. */
	GW_IGNORE(http_send_error(conn, d, status, NULL, text, extra));
}

void
http_server_serve(const struct http_server_opts *o, void *tctx,
    struct http_io *io)
{
	struct http_request req;
	struct http_conn conn;
	const char *method, *path;
	int64_t t0 = util_mono_ms();
	int outsized;
	enum gw_err e;

	e = http_request_parse(io, &o->limits, &req);
	http_conn_init(&conn, io, &req);
	if (e == GW_OK) {
		o->handle(tctx, &conn);
	} else {
		log_info("request rejected (%s) trace=%s", gw_strerror(e),
		    req.trace_id);
		/* the path's dialect: a 413 on /v1/messages is
		 * Anthropic-shaped */
		http_server_reject(&conn, router_path_dialect(req.path), e,
		    req.max_body);
	}
	method = req.method != NULL ? req.method : "-";
	path = req.path != NULL ? req.path : "-";
	if (!http_conn_started(&conn) && !http_conn_gone(&conn)) {
		log_error("%s %s: the handler sent no response trace=%s",
		    method, path, req.trace_id);
		GW_IGNORE(http_send_error(&conn, router_path_dialect(req.path),
		    500, NULL,
		    "The server produced no response", NULL));
	}
	/* The answer ends here unless the handler ended it already. */
	http_end(&conn);
	log_debug("%s %s %d %lldms%s trace=%s", method, path, conn.status,
	    (long long)(util_mono_ms() - t0), http_conn_gone(&conn) ?
	    " (client gone)" : "", req.trace_id);
	http_conn_free(&conn);
	outsized = req.consumed >= TRIM_AFTER_BYTES;
	http_request_free(&req);
#ifdef __GLIBC__
	/* glibc keeps freed heap (and raises its mmap threshold after a big
	 * free): after an outsized body, give the memory back to the system */
	if (outsized)
		malloc_trim(0);
#endif
}

static void *
thread_ctx(const struct http_server_opts *o)
{
	return o->thread_init != NULL ? o->thread_init(o->arg) : o->arg;
}

static void
thread_ctx_done(const struct http_server_opts *o, void *tctx)
{
	if (o->thread_init != NULL && o->thread_fini != NULL && tctx != NULL)
		o->thread_fini(tctx);
}

static void
report_start(struct pool *p, int ok)
{
	pthread_mutex_lock(&p->mu);
	if (ok)
		p->ready++;
	else
		p->failed++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Out of descriptors or memory: worth waiting; anything else is fatal. */
static int
accept_error_transient(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM || err == EINTR || err == EAGAIN;
}

static void *worker(void *arg);

/* A thread is done with everything (its last act). */
static void
leave(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->alive--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/*
 * A request was taken: when it was the last thread waiting, one more
 * starts waiting (up to p->max), so a long stream never holds the next
 * request in the web server's queue.  Called with p->mu held.
 */
static void
took_one(struct pool *p)
{
	pthread_t t;

	p->idle--;
	if (p->idle > 0 || p->total >= p->max || atomic_load(&stop_requested))
		return;
	p->total++;
	p->idle++;
	p->alive++;
	if ((errno = pthread_create(&t, &p->attr, worker, p)) != 0) {
		p->total--;
		p->idle--;
		p->alive--;
		log_warn("cannot start one more worker (%d running): %s",
		    p->total, strerror(errno));
	}
}

/*
 * A request is done: 1 when this thread leaves (more than p->spare threads
 * already wait, the Apache worker MPM's MaxSpareThreads), else it waits
 * again.  Called with p->mu held.
 */
static int
done_one(struct pool *p)
{
	if (p->idle >= p->spare && p->total > p->spare) {
		p->total--;
		return 1;
	}
	p->idle++;
	return 0;
}

static void *
worker(void *arg)
{
	struct pool *p = arg;
	FCGX_Request req;
	struct http_io io;
	void *tctx;
	int rc, errors = 0, retired = 0;

	tctx = thread_ctx(p->o);
	if (tctx == NULL && p->o->thread_init != NULL) {
		pthread_mutex_lock(&p->mu);
		p->idle--;
		p->total--;
		pthread_mutex_unlock(&p->mu);
		report_start(p, 0);
		leave(p);
		return NULL;
	}
	FCGX_InitRequest(&req, 0, 0);
	report_start(p, 1);
	while (!atomic_load(&stop_requested)) {
		pthread_mutex_lock(&p->accept_mu);
		p->accepter = pthread_self();
		atomic_store(&p->in_accept, 1);
		rc = atomic_load(&stop_requested) ? -1 : FCGX_Accept_r(&req);
		atomic_store(&p->in_accept, 0);
		pthread_mutex_unlock(&p->accept_mu);
		if (rc < 0) {
			if (atomic_load(&stop_requested))
				break;
			if (accept_error_transient(-rc) && ++errors < ACCEPT_RETRIES) {
				log_warn("FastCGI accept: %s; retrying", strerror(-rc));
				util_sleep_ms(ACCEPT_BACKOFF_MS);
				continue;
			}
			log_error("FastCGI accept failed: %s", rc < -1 && rc > -4096 ?
			    strerror(-rc) : "libfcgi error");
			atomic_store(&worker_failed, 1);
			pthread_kill(p->main_thread, SIGTERM);
			break;
		}
		errors = 0;
		pthread_mutex_lock(&p->mu);
		took_one(p);
		pthread_mutex_unlock(&p->mu);
		http_io_fcgi(&io, &req);
		http_server_serve(p->o, tctx, &io);
		/*
		 * A connection the web server asked to keep (FCGI_KEEP_CONN)
		 * is closed anyway: a thread waiting on an idle kept
		 * connection would starve the accept and block shutdown.
		 * Detached, so the close does not linger for the peer's EOF.
		 */
		if (FCGX_Detach(&req) == 0)
			FCGX_Free(&req, 1);
		pthread_mutex_lock(&p->mu);
		retired = done_one(p);
		pthread_mutex_unlock(&p->mu);
		if (retired) {
#ifdef __GLIBC__
			/* the pool shrinks after a burst: give the heap
			 * pages its requests left free back to the system */
			malloc_trim(0);
#endif
			break;
		}
	}
	FCGX_Free(&req, 1);
	thread_ctx_done(p->o, tctx);
	leave(p);
	return NULL;
}

static int
serve_cgi(const struct http_server_opts *o, const sigset_t *sigs)
{
	struct http_io io;
	void *tctx;

	/* the web server's SIGTERM must end a CGI process */
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
	if (getenv("REQUEST_METHOD") == NULL) {
		log_error("not started by a web server: fd 0 is not a FastCGI "
		    "socket and REQUEST_METHOD is not set");
		return 2;
	}
	http_io_cgi(&io);
	tctx = thread_ctx(o);
	if (tctx == NULL && o->thread_init != NULL) {
		static const char msg[] = "Status: 500 Internal Server Error\r\n"
		    "Content-Type: text/plain\r\n\r\nServer initialisation failed\n";

		io.write(io.ctx, msg, sizeof(msg) - 1);
		io.flush(io.ctx);
		return 1;
	}
	http_server_serve(o, tctx, &io);
	thread_ctx_done(o, tctx);
	return 0;
}

/*
 * Queued accepts return at once; the thread inside accept() is woken by a
 * signal, again until it is out (it may have been just about to enter).
 * The listening socket itself is left alone: sibling processes and a
 * systemd socket unit keep using it.
 */
static void
stop_pool(struct pool *p)
{
	atomic_store(&stop_requested, 1);
	FCGX_ShutdownPending();
	while (atomic_load(&p->in_accept)) {
		pthread_kill(p->accepter, SIGUSR2);
		util_sleep_ms(10);
	}
}

static int
run_pool(const struct http_server_opts *o, const sigset_t *sigs)
{
	struct pool p;
	pthread_t t;
	int n, started = 0, i, sig, status = 0;

	n = o->nthreads > 0 ? o->nthreads : http_server_threads_from_env();
	if (n > HTTP_SERVER_MAX_THREADS)
		n = HTTP_SERVER_MAX_THREADS;
	memset(&p, 0, sizeof(p));
	p.spare = n;
	p.max = max_threads_from_env(n);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_wake;   /* no SA_RESTART: accept() gets EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
	}
	p.o = o;
	p.main_thread = pthread_self();
	pthread_mutex_init(&p.accept_mu, NULL);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	pthread_attr_init(&p.attr);
	pthread_attr_setdetachstate(&p.attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&p.attr, HTTP_SERVER_STACK);
	/* All n count as waiting before the first starts: a request the
	 * first takes while the others are still being created is not "every
	 * thread busy", which would grow the pool past n. */
	pthread_mutex_lock(&p.mu);
	p.total = p.idle = p.alive = n;
	pthread_mutex_unlock(&p.mu);
	for (i = 0; i < n; i++) {
		if ((errno = pthread_create(&t, &p.attr, worker, &p)) != 0) {
			log_error("cannot start worker %d: %s", i, strerror(errno));
			pthread_mutex_lock(&p.mu);
			p.total -= n - i;
			p.idle -= n - i;
			p.alive -= n - i;
			pthread_mutex_unlock(&p.mu);
			break;
		}
		started++;
	}
	pthread_mutex_lock(&p.mu);
	while (p.ready + p.failed < started)
		pthread_cond_wait(&p.cv, &p.mu);
	pthread_mutex_unlock(&p.mu);
	if (started < n || p.failed > 0) {
		log_error("%d of %d workers failed to start", n - p.ready, n);
		status = 1;
	} else {
		log_info("FastCGI responder ready: %d workers (up to %d while "
		    "requests wait)", n, p.max);
		sigwait(sigs, &sig);
		if (atomic_load(&worker_failed))
			status = 1;
		else
			log_info("signal %d: finishing requests in flight", sig);
	}
	stop_pool(&p);
	pthread_mutex_lock(&p.mu);
	while (p.alive > 0)
		pthread_cond_wait(&p.cv, &p.mu);
	pthread_mutex_unlock(&p.mu);
	if (atomic_load(&worker_failed))
		status = 1;
	pthread_attr_destroy(&p.attr);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	pthread_mutex_destroy(&p.accept_mu);
	log_info("FastCGI responder stopped");
	return status;
}

int
http_server_run(const struct http_server_opts *o)
{
	sigset_t sigs;
	int cgi;

	/* blocked before libfcgi installs its handlers and before any thread
	 * exists, so every thread inherits the mask and main can sigwait() */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);       /* libfcgi's own "stop after this request" */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	atomic_store(&stop_requested, 0);
	atomic_store(&worker_failed, 0);
	if (FCGX_Init() != 0) {
		log_error("FastCGI library initialisation failed");
		return 1;
	}
	cgi = FCGX_IsCGI();
	/* a client that left is a write error, not a dead process */
	signal(SIGPIPE, SIG_IGN);
	if (cgi)
		return serve_cgi(o, &sigs);
	return run_pool(o, &sigs);
}

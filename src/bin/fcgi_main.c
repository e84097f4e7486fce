/*
 * copilot-api.fcgi: the responder.
 *
 * On a FastCGI socket (fd 0, from spawn-fcgi, lighttpd bin-path or
 * mod_fcgid) it runs COPILOT_API_THREADS worker threads; with
 * COPILOT_API_PROCESSES > 1 it first pre-forks that many processes sharing
 * the socket and supervises them (so `spawn-fcgi -n` or systemd manage one
 * PID).  Started by a web server as CGI it answers one request and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "gwconfig.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"
#include "app/app.h"
#include "routes/routes.h"
#include "state/config.h"
#include "state/spool.h"
#include "upstream/client.h"
#include "upstream/ws.h"

static struct app app;
static struct buf init_error = BUF_INIT;

static void *
thread_init(void *arg)
{
	struct worker *w;
	struct buf err = BUF_INIT;

	if (init_error.len > 0)
		return &init_error;  /* broken mode: no worker needed */
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if (worker_init(w, &app, &err) != GW_OK) {
		log_error("worker start failed: %s", buf_cstr(&err));
		worker_free(w);
		free(w);
		w = NULL;
	}
	buf_free(&err);
	return w;
}

static void
thread_fini(void *tctx)
{
	if (tctx == &init_error)
		return;
	worker_free(tctx);
	free(tctx);
}

/* When the configuration cannot be loaded every request gets the reason,
 * rather than the web server's bare 503 from a responder that died. */
static void
handle_broken(void *tctx, struct http_conn *c)
{
	struct buf msg = BUF_INIT;
	const char *text = "copilot-api is misconfigured";

	if (buf_printf(&msg, "%s: %s", text, buf_cstr(&init_error)) == GW_OK)
		text = msg.data;
	/* best effort: the client may be gone; nothing else to do */
	GW_IGNORE(http_send_error(c, GW_DIALECT_OPENAI, 500, "api_error", text,
	    NULL));
	buf_free(&msg);
}

static int
is_fastcgi_socket(void)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening;
}

static int
processes_from_env(void)
{
	const char *s = getenv("COPILOT_API_PROCESSES");
	long n;

	if (s == NULL || *s == '\0')
		return 1;
	if (util_parse_long(s, 1, 64, &n) != GW_OK) {
		log_warn("COPILOT_API_PROCESSES=%s is not in 1..64; using 1", s);
		return 1;
	}
	return (int)n;
}

/*
 * One process of the pool: its usage batcher and its config watcher around
 * the request threads (a FastCGI pool only: a CGI process serves one
 * request, writes its row itself and reads config.json once), so a clean
 * stop writes every queued row.
 */
static int
serve(const struct http_server_opts *o)
{
	int rc, batching = 0;

	if (o->handle == routes_handle && is_fastcgi_socket()) {
		if (spool_batch_start(app.db_driver, app.db_target,
		    app.spool_path) == GW_OK)
			batching = 1;
		else
			log_warn("usage rows are written by each request's thread "
			    "(the batcher did not start)");
		if (app_watch_start(&app) != GW_OK)
			log_warn("config.json is looked at by requests only (the "
			    "watcher did not start)");
	}
	rc = http_server_run(o);
	app_watch_stop(&app);
	if (batching)
		spool_batch_stop();
	return rc;
}

/*
 * A worker stops with its master: SIGTERM (finish in-flight requests, take
 * no new one) when the master dies, even by SIGKILL, so no orphan keeps
 * serving the socket beside a restarted pool.  PDEATHSIG follows the
 * forking thread, and the master may die before prctl(): getppid() closes
 * that race.
 */
static pid_t
fork_worker(const sigset_t *oldmask, const struct http_server_opts *o)
{
	pid_t master = getpid(), pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
			_exit(1);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		_exit(serve(o));
	}
	if (pid < 0)
		log_error("fork failed: %s", strerror(errno));
	return pid;
}

/* Pre-forked processes: restarted when one dies, stopped on a signal. */
static int
supervise(int n, const struct http_server_opts *o)
{
	sigset_t mask, old;
	pid_t *pids;
	int i, sig, status, alive, stopping = 0;
	int64_t last_restart = 0;
	pid_t p;

	if ((pids = calloc((size_t)n, sizeof(*pids))) == NULL)
		return 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	for (i = 0; i < n; i++)
		pids[i] = fork_worker(&old, o);
	log_info("responder: %d processes x %d threads", n,
	    o->nthreads > 0 ? o->nthreads : http_server_threads_from_env());
	for (;;) {
		if (sigwait(&mask, &sig) != 0)
			continue;
		if (sig != SIGCHLD) {
			stopping = 1;
			for (i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n; i++) {
				if (pids[i] != p)
					continue;
				pids[i] = 0;
				if (stopping)
					break;
				log_warn("responder process %ld exited (%s %d); "
				    "restarting it", (long)p,
				    WIFEXITED(status) ? "status" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) :
				    WTERMSIG(status));
				/* A process that dies at once would spin: pace it. */
				if (util_mono_ms() - last_restart < 1000)
					util_sleep_ms(1000);
				last_restart = util_mono_ms();
				pids[i] = fork_worker(&old, o);
			}
		}
		for (alive = 0, i = 0; i < n; i++)
			alive += pids[i] > 0;
		if (stopping && alive == 0)
			break;
	}
	free(pids);
	return 0;
}

int
main(int argc, char **argv)
{
	struct http_server_opts o;
	const char *lv = getenv("COPILOT_API_LOG_LEVEL");
	int procs, rc;

	/* Not under a web server: a CGI query without '=' can arrive as argv. */
	if (argc == 2 && strcmp(argv[1], "--version") == 0 &&
	    getenv("GATEWAY_INTERFACE") == NULL) {
		printf("copilot-api.fcgi %s\n", GW_VERSION);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (up_global_init() != GW_OK) {
		log_error("cannot initialise libcurl");
		return 1;
	}
	memset(&o, 0, sizeof(o));
	if (app_init(&app, 1, &init_error) != GW_OK) {
		/* broken mode needs a reason (thread_init tests its length) */
		if (init_error.len == 0 &&
		    buf_puts(&init_error, "initialisation failed") != GW_OK) {
			log_error("initialisation failed");
			app_free(&app);
			ws_pool_cleanup();
			up_global_cleanup();
			return 1;
		}
		log_error("%s", init_error.data);
		o.handle = handle_broken;
	} else {
		log_set_level(app.cfg->log_level);
		o.handle = routes_handle;
		o.limits.max_body = (size_t)app.cfg->max_body_bytes;
		o.limits.max_inflight = (size_t)app.cfg->max_inflight_bytes;
	}
	if (lv != NULL && log_level_parse(lv) >= 0)
		log_set_level((enum log_level)log_level_parse(lv));
	o.thread_init = thread_init;
	o.thread_fini = thread_fini;
	procs = is_fastcgi_socket() ? processes_from_env() : 1;
	rc = procs > 1 ? supervise(procs, &o) : serve(&o);
	app_free(&app);
	buf_free(&init_error);
	ws_pool_cleanup();
	up_global_cleanup();
	return rc;
}

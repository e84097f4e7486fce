/*
 * The responder: a pool of worker threads on the FastCGI socket (fd 0), or
 * one request when started as plain CGI.
 *
 * Under FastCGI, SIGTERM, SIGINT, SIGHUP and SIGUSR1 stop the pool
 * gracefully: accepts end at once, requests in flight (long streams too)
 * run to their end, then http_server_run() returns.
 */
#ifndef GW_HTTP_SERVER_H
#define GW_HTTP_SERVER_H

#include "http/io.h"
#include "http/request.h"
#include "http/response.h"

#define HTTP_SERVER_DEFAULT_THREADS 16
#define HTTP_SERVER_MAX_THREADS 256
/* A worker's stack: the deepest path (cJSON's nesting limit of 1000 in
 * parse and print) needs well under it. */
#define HTTP_SERVER_STACK (1024 * 1024)

/*
 * The pool grows and shrinks like Apache's worker MPM: nthreads threads
 * wait for requests (the spare ones); when the last waiting thread takes
 * a request, one more starts (up to COPILOT_API_MAX_THREADS, else
 * HTTP_SERVER_MAX_THREADS), so long streams never queue the next request
 * in the web server; a thread that finishes while nthreads others already
 * wait leaves.
 */
struct http_server_opts {
	int nthreads;            /* spare threads; 0: COPILOT_API_THREADS, else
	                          * 16; 1..256 */
	void *arg;               /* given to thread_init */
	/*
	 * Runs in each worker thread before its first request and returns
	 * the thread's context (db connection, curl handle...), NULL on
	 * failure, which stops the server.  NULL hook: the context is arg.
	 */
	void *(*thread_init)(void *arg);
	void (*thread_fini)(void *tctx);   /* in the same thread; may be NULL */
	/*
	 * One parsed request (body read, size-checked).  If it sends
	 * nothing, the client gets a 500.
	 */
	void (*handle)(void *tctx, struct http_conn *conn);
	struct http_limits limits;
};

/*
 * Serves until stopped (FastCGI) or serves the single CGI request.
 * Returns the exit status for main(): 0 after a clean stop or a CGI
 * request, 1 when the pool could not start or a worker failed, 2 when
 * started neither by a web server nor on a FastCGI socket.
 */
int http_server_run(const struct http_server_opts *o);

/* One request on io: parse (413/400 answered here, the body always
 * drained), o->handle, 500 if nothing was sent, flush, free.  Exported as
 * the in-process entry tests drive with the in-memory transport
 * (http/io.h); the gateway itself calls it only from server.c. */
void http_server_serve(const struct http_server_opts *o, void *tctx,
    struct http_io *io);

/*
 * Answers a request whose body could not be taken, in dialect d: e from
 * http_request_parse or http_request_decode_body (GW_ETOOBIG: 413 naming
 * limit; GW_EBUSY: 503 with Retry-After; GW_EIO: 400; GW_EINVAL: 400, a
 * malformed request; others: their status).  Best effort: a client that
 * left gets nothing.
 */
void http_server_reject(struct http_conn *conn, enum gw_dialect d,
    enum gw_err e, size_t limit);

/* COPILOT_API_THREADS when valid (1..256), else the default (logged). */
int http_server_threads_from_env(void);

#endif

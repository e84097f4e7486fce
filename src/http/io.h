/*
 * Byte transport under the HTTP layer, so one request/response code path
 * serves FastCGI, plain CGI and the unit tests.
 */
#ifndef GW_HTTP_IO_H
#define GW_HTTP_IO_H

#include <stddef.h>

#include "core/buf.h"

struct FCGX_Request;

struct http_io {
	void *ctx;
	/* > 0: bytes read; 0: end of the request body; -1: error. */
	long (*read)(void *ctx, char *p, size_t n);
	/* All n bytes or nothing: 0 ok, -1 error (the client is gone). */
	int (*write)(void *ctx, const char *p, size_t n);
	/* 0 ok, -1 error. */
	int (*flush)(void *ctx);
	/* Waits up to timeout_ms for the client to hang up without reading
	 * or writing anything: 1 when it has, 0 when not (yet). */
	int (*hangup)(void *ctx, int timeout_ms);
	/* Ends the response: the web server has all of it and closes the
	 * client's answer; nothing can be read or written after it, and envp
	 * is gone.  Idempotent. */
	void (*finish)(void *ctx);
	char **envp;            /* NULL-terminated NAME=value, borrowed */
};

/* The request's FCGX streams and parameters; r must outlive io. */
void http_io_fcgi(struct http_io *io, struct FCGX_Request *r);

/* stdin (fd 0), stdout and environ: one plain CGI request; the hang-up
 * watched is the web server closing its end of stdout, or its SIGUSR2
 * (the handler is installed here). */
void http_io_cgi(struct http_io *io);

/* In-memory transport for tests.  No caller in the gateway: it is exported
 * as the seam through which tests and tests/fuzz/fuzz_request.c drive the
 * server in process (with http_server_serve). */
struct http_mem_io {
	const char *in;         /* request body bytes, borrowed */
	size_t in_len;
	size_t in_pos;          /* how much has been read */
	size_t read_chunk;      /* at most this many bytes per read; 0 = any */
	int read_error;         /* reads fail once in_pos reaches in_len */
	struct buf out;         /* everything written */
	long fail_after;        /* writes past this many bytes fail; -1 never */
	int fail_flush_at;      /* the Nth flush (1-based) and later fail; 0 never */
	int flushes;            /* flush calls, failed ones included */
	int writes;             /* write calls, failed ones included */
	int failed;             /* a write or flush has failed: all later ones fail */
	volatile int hung_up;   /* hangup() reports 1 once another thread sets it */
	int finished;           /* finish() was called */
	char **env;
};

/* in/env are borrowed; m->out must be released with http_mem_io_free(). */
void http_mem_io_init(struct http_mem_io *m, const char *in, size_t in_len,
    char **env);
void http_mem_io_free(struct http_mem_io *m);
void http_io_mem(struct http_io *io, struct http_mem_io *m);

#endif

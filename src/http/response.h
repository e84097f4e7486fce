/*
 * Writing the response: CGI header block, bodies, errors in the client's
 * dialect, and the SSE writer (flush after every event).
 *
 * Every write and flush is checked.  The first failure marks the
 * connection gone; from then on every call returns GW_ECLIENTGONE without
 * touching the transport.
 *
 * Extra headers are passed as a NULL-terminated list of name/value pairs:
 *   (const char *const[]){ "Retry-After", "5", NULL }
 * A pair whose name is not an HTTP token or whose value holds CR, LF or
 * another control character is dropped (and logged): no header injection.
 */
#ifndef GW_HTTP_RESPONSE_H
#define GW_HTTP_RESPONSE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/stream.h"
#include "http/io.h"
#include "http/request.h"

struct http_conn {
	struct http_io *io;
	struct http_request *req;        /* borrowed; may be NULL */
	int status;             /* 0 until the headers are written */
	int started;            /* headers written (or being written) */
	int sse;                /* started by http_sse_begin() */
	int gone;               /* a write or flush failed */
	int head;               /* HEAD request: bodies are not written */
	int ended;              /* http_end() was called */
	/* Access-Control-Allow-Origin: NULL "*", "" none, else this origin
	 * (with Vary: Origin); borrowed, set by the guard */
	const char *cors_origin;
	struct buf scratch;     /* header block / SSE event being assembled */
};

void http_conn_init(struct http_conn *c, struct http_io *io,
    struct http_request *req);
/* Frees the scratch buffer only: io and req belong to the caller. */
void http_conn_free(struct http_conn *c);
/* 1 once a status line has been sent: no other status can follow. */
int http_conn_started(const struct http_conn *c);
int http_conn_gone(const struct http_conn *c);
/*
 * Ends the answer: flushes it and hands it back to the web server
 * (FastCGI: FCGI_END_REQUEST; CGI: stdout closed), so the client has all
 * of it before slow work that follows, like the usage row.  After it,
 * writes fail with GW_ECLIENTGONE, flushes do nothing, and the request's
 * transport parameters (req->envp) are gone.  Idempotent.
 */
void http_end(struct http_conn *c);
/* Waits up to timeout_ms for the client to hang up, reading and writing
 * nothing (the transport's hangup; a plain sleep when it has none): 1, and
 * the connection marked gone, when it has. */
int http_conn_watch(struct http_conn *c, int timeout_ms);

/*
 * Writes "Status: NNN Reason", Content-Type (omitted when NULL),
 * Access-Control-Allow-Origin (as c->cors_origin says), x-trace-id, the extra headers and the
 * blank line.  Once per connection: a second call is GW_EINTERNAL.
 */
GW_MUST_CHECK enum gw_err http_begin(struct http_conn *c, int status,
    const char *content_type, const char *const *extra);
GW_MUST_CHECK enum gw_err http_flush(struct http_conn *c);

/* Whole responses, with Content-Length. */
GW_MUST_CHECK enum gw_err http_send(struct http_conn *c, int status, const char *ctype,
    const char *body, size_t len, const char *const *extra);
/* application/json, compact. */
GW_MUST_CHECK enum gw_err http_send_json(struct http_conn *c, int status, const cJSON *v);
/* text/plain; charset=utf-8 */
GW_MUST_CHECK enum gw_err http_send_text(struct http_conn *c, int status, const char *text);

/*
 * Sends an error response; type NULL means http_error_type_for_status().
 * After http_sse_begin() it writes the dialect's terminal stream error
 * instead (Anthropic "event: error" as tr_emit_error() writes it; OpenAI a
 * data error then "data: [DONE]").
 * After a non-SSE begin it can do nothing and returns GW_EINTERNAL.
 */
GW_MUST_CHECK enum gw_err http_send_error(struct http_conn *c, enum gw_dialect d,
    int status, const char *type, const char *message,
    const char *const *extra);

/*
 * A translator sink writing to c.  Its emit and comment begin the SSE
 * response on first use, so a handler can still send an ordinary error
 * status until the first byte of the stream goes out.
 */
void http_sse_sink(struct http_conn *c, struct tr_sink *out);

#endif

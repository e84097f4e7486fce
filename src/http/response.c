/*
 * The response writer: CGI header block, bodies, errors in the client's
 * dialect, and the SSE writer (http_sse_*, flushed after every event).
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/response.h"

static GW_MUST_CHECK enum gw_err http_sse_event(struct http_conn *c, const char *event,
    const char *data, size_t len);

struct reason {
	int status;
	const char *text;
};

static const struct reason reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" }, { 301, "Moved Permanently" }, { 302, "Found" },
	{ 304, "Not Modified" }, { 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 402, "Payment Required" },
	{ 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
	{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
	{ 411, "Length Required" }, { 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
	{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
	{ 529, "Overloaded" },
};

/* "OK", "Not Found", ...; "Unknown" for codes outside the table. */
static const char *
http_reason(int status)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Unknown";
}

void
http_conn_init(struct http_conn *c, struct http_io *io,
    struct http_request *req)
{
	memset(c, 0, sizeof(*c));
	c->io = io;
	c->req = req;
	c->head = req != NULL && req->method != NULL &&
	    strcmp(req->method, "HEAD") == 0;
	buf_init(&c->scratch);
}

void
http_conn_free(struct http_conn *c)
{
	if (c == NULL)
		return;
	buf_free(&c->scratch);
}

int
http_conn_started(const struct http_conn *c)
{
	return c->started;
}

int
http_conn_gone(const struct http_conn *c)
{
	return c->gone;
}

int
http_conn_watch(struct http_conn *c, int timeout_ms)
{
	if (c->gone)
		return 1;
	if (c->io->hangup == NULL) {
		util_sleep_ms(timeout_ms);
		return 0;
	}
	if (c->io->hangup(c->io->ctx, timeout_ms))
		c->gone = 1;
	return c->gone;
}

static GW_MUST_CHECK enum gw_err
conn_write(struct http_conn *c, const char *p, size_t n)
{
	if (c->gone || c->ended)
		return GW_ECLIENTGONE;
	if (n == 0)
		return GW_OK;
	if (c->io->write(c->io->ctx, p, n) != 0) {
		c->gone = 1;
		return GW_ECLIENTGONE;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
conn_flush(struct http_conn *c)
{
	if (c->gone)
		return GW_ECLIENTGONE;
	if (c->ended)
		return GW_OK;
	if (c->io->flush(c->io->ctx) != 0) {
		c->gone = 1;
		return GW_ECLIENTGONE;
	}
	return GW_OK;
}

void
http_end(struct http_conn *c)
{
	if (c->ended)
		return;
	/* A failed flush means the client is gone: the caller's log says
	 * so (http_conn_gone), and there is no one left to tell. */
	GW_IGNORE(conn_flush(c));
	c->ended = 1;
	if (c->io->finish != NULL)
		c->io->finish(c->io->ctx);
}

/* RFC 9110 token characters. */
static int
valid_header_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z') && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return 0;
	return 1;
}

static GW_MUST_CHECK enum gw_err
put_header(struct buf *b, const char *name, const char *value)
{
	if (!valid_header_name(name) || value == NULL ||
	    util_unsafe_header_value(value)) {
		log_warn("response header %.64s dropped: unsafe name or value",
		    name);
		return GW_OK;
	}
	return buf_printf(b, "%s: %s\r\n", name, value);
}

/* The whole header block is assembled first and written in one go. */
static GW_MUST_CHECK enum gw_err
begin(struct http_conn *c, int status, const char *ctype, long long clen,
    const char *const *fixed, const char *const *extra)
{
	struct buf *b = &c->scratch;
	const char *const *h;
	enum gw_err e;

	if (c->started)
		return GW_EINTERNAL;
	if (status < 100 || status > 999 ||
	    (ctype != NULL && util_unsafe_header_value(ctype)))
		return GW_EINVAL;
	c->started = 1;
	c->status = status;
	buf_reset(b);
	e = buf_printf(b, "Status: %d %s\r\n", status, http_reason(status));
	if (e == GW_OK && ctype != NULL)
		e = buf_printf(b, "Content-Type: %s\r\n", ctype);
	if (e == GW_OK && clen >= 0)
		e = buf_printf(b, "Content-Length: %lld\r\n", clen);
	if (e == GW_OK && c->cors_origin == NULL)
		e = buf_puts(b, "Access-Control-Allow-Origin: *\r\n");
	else if (e == GW_OK && c->cors_origin[0] != '\0' &&
	    (e = put_header(b, "Access-Control-Allow-Origin", c->cors_origin)) ==
	    GW_OK)
		e = buf_puts(b, "Vary: Origin\r\n");
	if (e == GW_OK && c->req != NULL && c->req->trace_id[0] != '\0')
		e = put_header(b, "x-trace-id", c->req->trace_id);
	for (h = fixed; e == GW_OK && h != NULL && h[0] != NULL; h += 2)
		e = put_header(b, h[0], h[1]);
	for (h = extra; e == GW_OK && h != NULL && h[0] != NULL; h += 2)
		e = put_header(b, h[0], h[1]);
	if (e == GW_OK)
		e = buf_puts(b, "\r\n");
	if (e != GW_OK) {
		/* nothing went out yet: let the caller try a plain 500 */
		c->started = 0;
		c->status = 0;
		return e;
	}
	return conn_write(c, b->data, b->len);
}

enum gw_err
http_begin(struct http_conn *c, int status, const char *content_type,
    const char *const *extra)
{
	return begin(c, status, content_type, -1, NULL, extra);
}

/* Body bytes after http_begin() (GW_EINTERNAL before it). */
static GW_MUST_CHECK enum gw_err
http_write(struct http_conn *c, const char *p, size_t n)
{
	if (!c->started)
		return GW_EINTERNAL;
	if (c->head && !c->gone)
		return GW_OK;
	return conn_write(c, p, n);
}

enum gw_err
http_flush(struct http_conn *c)
{
	return conn_flush(c);
}

enum gw_err
http_send(struct http_conn *c, int status, const char *ctype,
    const char *body, size_t len, const char *const *extra)
{
	enum gw_err e;

	if ((e = begin(c, status, ctype, (long long)len, NULL, extra)) != GW_OK)
		return e;
	return http_write(c, body, len);
}

enum gw_err
http_send_json(struct http_conn *c, int status, const cJSON *v)
{
	char *s;
	enum gw_err e;

	if ((s = json_print(v)) == NULL)
		return GW_ENOMEM;
	e = http_send(c, status, "application/json", s, strlen(s), NULL);
	free(s);
	return e;
}

enum gw_err
http_send_text(struct http_conn *c, int status, const char *text)
{
	return http_send(c, status, "text/plain; charset=utf-8", text,
	    strlen(text), NULL);
}

/*
 * The error type a status has in a dialect: invalid_request_error (400 and
 * other 4xx), authentication_error (401), permission_error (403),
 * not_found_error (404), request_too_large (413), rate_limit_error (429),
 * api_error (5xx); Anthropic also billing_error (402), timeout_error (504)
 * and overloaded_error (529).
 */
static const char *
http_error_type_for_status(int status, enum gw_dialect d)
{
	switch (status) {
	case 400:
		return "invalid_request_error";
	case 401:
		return "authentication_error";
	case 402:
		return d == GW_DIALECT_ANTHROPIC ? "billing_error" : "invalid_request_error";
	case 403:
		return "permission_error";
	case 404:
		return "not_found_error";
	case 413:
		return "request_too_large";
	case 429:
		return "rate_limit_error";
	case 504:
		return d == GW_DIALECT_ANTHROPIC ? "timeout_error" : "api_error";
	case 529:
		return d == GW_DIALECT_ANTHROPIC ? "overloaded_error" : "api_error";
	default:
		return status >= 400 && status < 500 ? "invalid_request_error" :
		    "api_error";
	}
}

/* The error envelope, appended to out: tr_error_body() (core/stream.h). */
static GW_MUST_CHECK enum gw_err
http_error_body(struct buf *out, enum gw_dialect d, const char *type,
    const char *message)
{
	return tr_error_body(out, d, type, message);
}

/* A stream that already started can only end with an error event: the
 * translators' Anthropic one, or OpenAI's data-only error and [DONE]. */
static GW_MUST_CHECK enum gw_err
stream_error(struct http_conn *c, enum gw_dialect d, const char *type,
    const char *message)
{
	struct buf body = BUF_INIT;
	struct tr_sink sink;
	enum gw_err e;

	if (d == GW_DIALECT_ANTHROPIC) {
		http_sse_sink(c, &sink);
		return tr_emit_error(d, type, message, &sink);
	}
	if ((e = tr_error_body(&body, d, type, message)) == GW_OK &&
	    (e = http_sse_event(c, NULL, body.data, body.len)) == GW_OK)
		e = http_sse_event(c, NULL, "[DONE]", 6);
	buf_free(&body);
	return e;
}

enum gw_err
http_send_error(struct http_conn *c, enum gw_dialect d, int status,
    const char *type, const char *message, const char *const *extra)
{
	struct buf body = BUF_INIT;
	enum gw_err e;

	if (type == NULL)
		type = http_error_type_for_status(status, d);
	if (message == NULL)
		message = http_reason(status);
	if (c->started)
		return c->sse ? stream_error(c, d, type, message) : GW_EINTERNAL;
	if ((e = http_error_body(&body, d, type, message)) == GW_OK)
		e = http_send(c, status, "application/json", body.data, body.len,
		    extra);
	buf_free(&body);
	return e;
}

/* 200 text/event-stream, Cache-Control: no-cache, X-Accel-Buffering: no,
 * no Content-Length; flushed at once. */
static GW_MUST_CHECK enum gw_err
http_sse_begin(struct http_conn *c)
{
	static const char *const hdrs[] = {
		"Cache-Control", "no-cache",
		"X-Accel-Buffering", "no",
		NULL,
	};
	enum gw_err e;

	if ((e = begin(c, 200, "text/event-stream", -1, hdrs, NULL)) != GW_OK)
		return e;
	c->sse = 1;
	return conn_flush(c);
}

static GW_MUST_CHECK enum gw_err
http_sse_put(struct http_conn *c)
{
	enum gw_err e;

	if (c->head)
		return c->gone ? GW_ECLIENTGONE : GW_OK;
	if ((e = conn_write(c, c->scratch.data, c->scratch.len)) != GW_OK)
		return e;
	return conn_flush(c);
}

/*
 * "event: NAME" (when event is not NULL), one "data: " line per line of
 * data (CR, LF and CRLF all split), a blank line, then a flush.
 * GW_EINVAL when event contains CR or LF.
 */
static GW_MUST_CHECK enum gw_err
http_sse_event(struct http_conn *c, const char *event, const char *data,
    size_t len)
{
	struct buf *b = &c->scratch;
	size_t i, start;
	enum gw_err e = GW_OK;

	if (c->gone)
		return GW_ECLIENTGONE;
	if (!c->sse)
		return GW_EINTERNAL;
	if (event != NULL && strpbrk(event, "\r\n") != NULL)
		return GW_EINVAL;
	buf_reset(b);
	if (event != NULL)
		e = buf_printf(b, "event: %s\n", event);
	for (start = 0, i = 0; e == GW_OK && i <= len; i++) {
		if (i < len && data[i] != '\r' && data[i] != '\n')
			continue;
		if ((e = buf_puts(b, "data: ")) == GW_OK &&
		    (e = buf_append(b, data + start, i - start)) == GW_OK)
			e = buf_putc(b, '\n');
		if (i + 1 < len && data[i] == '\r' && data[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	if (e == GW_OK)
		e = buf_putc(b, '\n');
	if (e != GW_OK)
		return e;
	return http_sse_put(c);
}

/* ": text" and a blank line, then a flush.  GW_EINVAL on CR/LF in text. */
static GW_MUST_CHECK enum gw_err
http_sse_comment(struct http_conn *c, const char *text)
{
	enum gw_err e;

	if (c->gone)
		return GW_ECLIENTGONE;
	if (!c->sse)
		return GW_EINTERNAL;
	if (strpbrk(text, "\r\n") != NULL)
		return GW_EINVAL;
	buf_reset(&c->scratch);
	if ((e = buf_printf(&c->scratch, ": %s\n\n", text)) != GW_OK)
		return e;
	return http_sse_put(c);
}

static GW_MUST_CHECK enum gw_err
sink_emit(void *ctx, const char *event, const char *data, size_t len)
{
	struct http_conn *c = ctx;
	enum gw_err e;

	if (!c->started && (e = http_sse_begin(c)) != GW_OK)
		return e;
	return http_sse_event(c, event, data, len);
}

static GW_MUST_CHECK enum gw_err
sink_comment(void *ctx, const char *text)
{
	struct http_conn *c = ctx;
	enum gw_err e;

	if (!c->started && (e = http_sse_begin(c)) != GW_OK)
		return e;
	return http_sse_comment(c, text);
}

void
http_sse_sink(struct http_conn *c, struct tr_sink *out)
{
	out->ctx = c;
	out->emit = sink_emit;
	out->comment = sink_comment;
}

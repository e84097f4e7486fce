/*
 * The relay: upstream bytes -> SSE parser -> stream translator -> client
 * sink, with pings, stall and disconnect handling (contract in relay.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/metrics.h"
#include "upstream/copilot.h"
#include "upstream/relay.h"
#include "upstream/sse.h"

/* Longest piece of an upstream error body quoted in a message. */
#define QUOTE_MAX 300

struct relay {
	struct tr_stream *tr;
	struct tr_sink *out;         /* the caller's sink */
	struct tr_sink wrap;         /* what the translator writes to */
	struct relay_result *res;
	struct sse_parser *sse;
	int64_t ping_ms;             /* 0: no pings */
	int early;
	int untyped_is_sse;          /* opts->untyped_is_sse */
	int64_t start_ms;            /* monotonic, when the call began */
	int64_t last_write_ms;       /* last successful write to the client */
	int64_t last_ping_ms;
	int headers_seen;
	int streaming;               /* 2xx event stream: body -> parser */
	int in_ping;
	int client_gone;
	int (*client_left)(void *ctx);  /* the watch, or NULL */
	void *client_ctx;
	int64_t next_watch_ms;
	enum gw_err tr_err;          /* the translator refused an event */
};

void
relay_result_free(struct relay_result *r)
{
	if (r == NULL)
		return;
	up_response_free(&r->resp);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

/* Every write to the client passes here: it tells when the client last
 * heard from us and whether it is still there. */
static void
note_write(struct relay *r, enum gw_err e, int is_event)
{
	if (e == GW_ECLIENTGONE)
		r->client_gone = 1;
	if (e != GW_OK)
		return;
	r->last_write_ms = util_mono_ms();
	if (r->in_ping)
		r->res->pings++;
	else if (is_event && r->res->events_out++ == 0 && r->streaming)
		metrics_observe(METRICS_STREAM_FIRST_BYTE,
		    r->last_write_ms - r->start_ms);
}

static GW_MUST_CHECK enum gw_err
wrap_emit(void *ctx, const char *event, const char *data, size_t len)
{
	struct relay *r = ctx;
	enum gw_err e;

	r->res->client_started = 1;
	e = r->out->emit(r->out->ctx, event, data, len);
	note_write(r, e, 1);
	return e;
}

static GW_MUST_CHECK enum gw_err
wrap_comment(void *ctx, const char *text)
{
	struct relay *r = ctx;
	enum gw_err e;

	r->res->client_started = 1;
	e = r->out->comment(r->out->ctx, text);
	note_write(r, e, 0);
	return e;
}

static GW_MUST_CHECK enum gw_err
on_event(void *ctx, const char *event, const char *data, size_t len,
    const char *id)
{
	struct relay *r = ctx;
	enum gw_err e;

	(void)id;
	r->res->events_in++;
	e = r->tr->ops->feed(r->tr, event, data, len, &r->wrap);
	/* A translator that swallowed the sink's error does not hide it. */
	if (r->client_gone)
		return GW_ECLIENTGONE;
	if (e != GW_OK)
		r->tr_err = e;
	return e;
}

static int
is_event_stream(const char *ct)
{
	size_t n = strlen("text/event-stream");

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return strncasecmp(ct, "text/event-stream", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

static GW_MUST_CHECK enum gw_err
on_headers(void *ctx, const struct up_response *resp, int *take_body)
{
	struct relay *r = ctx;
	enum gw_err e;

	r->headers_seen = 1;
	if (resp->status < 200 || resp->status > 299 ||
	    !(is_event_stream(resp->content_type) || (r->untyped_is_sse &&
	    (resp->content_type == NULL || *resp->content_type == '\0'))))
		return GW_OK;           /* collected for the route */
	if ((e = sse_parser_new(0, on_event, r, &r->sse)) != GW_OK)
		return e;
	r->streaming = 1;
	metrics_stream_begin();
	*take_body = 1;
	/* Without early pings the idle clock starts with the stream. */
	if (!r->res->client_started)
		r->last_write_ms = util_mono_ms();
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
on_body(void *ctx, const char *p, size_t n)
{
	struct relay *r = ctx;

	return sse_parser_feed(r->sse, p, n);
}

static int
pings_allowed(const struct relay *r)
{
	if (r->ping_ms == 0 || r->client_gone)
		return 0;
	if (r->streaming)
		return 1;
	/* Before the status is known only with early pings; after a
	 * non-stream answer only if the client stream already started. */
	return r->early && (!r->headers_seen || r->res->client_started);
}

static GW_MUST_CHECK enum gw_err
ping(struct relay *r)
{
	enum gw_err e;

	r->in_ping = 1;
	if (r->tr->ops->ping != NULL)
		e = r->tr->ops->ping(r->tr, &r->wrap);
	else
		e = r->wrap.comment(r->wrap.ctx, "keep-alive");
	r->in_ping = 0;
	if (r->client_gone)
		return GW_ECLIENTGONE;
	return e;
}

/* The client hung up (the watch): the transfer is not worth finishing. */
static GW_MUST_CHECK enum gw_err
watch(struct relay *r, int64_t now, int64_t *next)
{
	if (r->client_left == NULL) {
		*next = 0;
		return GW_OK;
	}
	if (now >= r->next_watch_ms) {
		if (r->client_left(r->client_ctx)) {
			r->client_gone = 1;
			return GW_ECLIENTGONE;
		}
		r->next_watch_ms = now + RELAY_WATCH_MS;
	}
	*next = r->next_watch_ms;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
on_tick(void *ctx, int64_t now, int64_t *next)
{
	struct relay *r = ctx;
	int64_t base, watch_at;
	enum gw_err e;

	if ((e = watch(r, now, &watch_at)) != GW_OK)
		return e;
	if (r->ping_ms == 0 || r->tr == NULL) {
		*next = watch_at;
		return GW_OK;
	}
	base = r->last_write_ms > r->last_ping_ms ? r->last_write_ms :
	    r->last_ping_ms;
	if (pings_allowed(r) && now - base >= r->ping_ms) {
		r->last_ping_ms = now;  /* even if the ping wrote nothing */
		if ((e = ping(r)) != GW_OK)
			return e;
		base = r->last_write_ms > now ? r->last_write_ms : now;
	} else if (!pings_allowed(r)) {
		base = now;             /* look again later */
	}
	*next = base + r->ping_ms;
	if (watch_at != 0 && watch_at < *next)
		*next = watch_at;
	return GW_OK;
}

/* The upstream's own words from an error body (OpenAI, Anthropic and
 * Copilot shapes), else the start of the body. */
static void
upstream_says(const struct up_response *resp, struct buf *out)
{
	const char *s = NULL;
	cJSON *v, *err;
	size_t n;

	v = json_parse(buf_cstr(&resp->body), resp->body.len, NULL, NULL);
	if (v != NULL) {
		err = cJSON_GetObjectItemCaseSensitive(v, "error");
		if (cJSON_IsString(err))
			s = err->valuestring;
		else if ((s = json_str(err, "message")) == NULL)
			s = json_str(v, "message");
	}
	if (s == NULL)
		s = buf_cstr(&resp->body);
	n = strlen(s);
	/* best effort: a quote that does not fit leaves the message short */
	GW_IGNORE(buf_append(out, s, n > QUOTE_MAX ? QUOTE_MAX : n));
	cJSON_Delete(v);
}

/* Early pings started the client stream, but no event stream came. */
static GW_MUST_CHECK enum gw_err
end_started_without_stream(struct relay *r, enum gw_err e)
{
	struct relay_result *res = r->res;
	char **msg = &res->message;
	struct buf said = BUF_INIT;

	if (e != GW_OK) {
		buf_replacef(msg, "%s", up_error_message(&res->resp));
	} else if (res->resp.status >= 200 && res->resp.status <= 299) {
		e = GW_EUPSTREAM;
		buf_replacef(msg, "upstream answered HTTP %ld with %s instead "
		    "of an event stream", res->resp.status,
		    res->resp.content_type != NULL ? res->resp.content_type :
		    "no content type");
	} else {
		e = GW_EUPSTREAM;
		upstream_says(&res->resp, &said);
		buf_replacef(msg, "upstream answered HTTP %ld%s%s",
		    res->resp.status, said.len > 0 ? ": " : "", buf_cstr(&said));
		buf_free(&said);
	}
	r->tr->ops->finish(r->tr, e, res->message, &r->wrap);
	return e;
}

/* What went wrong with a stream that had started, in a client's words. */
static GW_MUST_CHECK enum gw_err
stream_outcome(struct relay *r, enum gw_err e)
{
	struct relay_result *res = r->res;
	char **msg = &res->message;
	int truncated = 0;

	if (e == GW_OK && r->sse != NULL)
		e = sse_parser_finish(r->sse, &truncated);
	if (e == GW_OK) {
		/* a message that finished ends cleanly even without its
		 * [DONE], as the reference relays it */
		if (r->tr->done || (r->tr->finished && !truncated))
			return GW_OK;
		buf_replacef(msg, truncated ? "upstream stream ended in "
		    "the middle of an event" : "upstream stream ended without "
		    "a terminal event");
		return GW_EUPSTREAM;
	}
	if (r->tr_err != GW_OK) {
		buf_replacef(msg, "could not translate an upstream event: %s",
		    gw_strerror(r->tr_err));
		return e;
	}
	if (e == GW_ETOOBIG) {
		buf_replacef(msg, "upstream event larger than %zu bytes",
		    (size_t)SSE_MAX_EVENT_DEFAULT);
		return e;
	}
	if (r->tr->done && (e == GW_EUPSTREAM || e == GW_ETIMEOUT)) {
		/* The client has its terminal event: a late hiccup is only
		 * worth a log line. */
		log_warn("relay: after the terminal event: %s",
		    up_error_message(&res->resp));
		return GW_OK;
	}
	if (e == GW_EUPSTREAM)
		buf_replacef(msg, "upstream connection closed before the "
		    "stream completed");
	else
		buf_replacef(msg, "%s", res->resp.error != NULL ?
		    res->resp.error : gw_strerror(e));
	return e;
}

static GW_MUST_CHECK enum gw_err
end_stream(struct relay *r, enum gw_err e)
{
	enum gw_err fe;

	/* The client gets a plain message; the log keeps libcurl's detail. */
	if (e != GW_OK && r->tr_err == GW_OK && r->res->resp.error != NULL)
		log_warn("relay: %s", r->res->resp.error);
	e = stream_outcome(r, e);
	fe = r->tr->ops->finish(r->tr, e, r->res->message, &r->wrap);
	if (e == GW_OK && (fe != GW_OK || r->client_gone)) {
		e = r->client_gone ? GW_ECLIENTGONE : fe;
		buf_replacef(&r->res->message, "%s", gw_strerror(e));
	}
	return e;
}

/* Sets up r for a stream to tr and sink; GW_EINVAL without a sink. */
static GW_MUST_CHECK enum gw_err
relay_init(struct relay *r, const struct relay_opts *opts,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res)
{
	long ping_ms = opts != NULL ? opts->ping_interval_ms : 0;

	memset(res, 0, sizeof(*res));
	memset(r, 0, sizeof(*r));
	r->res = res;
	if (opts != NULL && opts->client_left != NULL) {
		r->client_left = opts->client_left;
		r->client_ctx = opts->client_ctx;
	}
	if (tr == NULL)
		return GW_OK;
	if (sink == NULL || sink->emit == NULL || sink->comment == NULL) {
		buf_replacef(&res->message, "relay: no sink");
		return GW_EINVAL;
	}
	r->tr = tr;
	r->out = sink;
	r->wrap.ctx = r;
	r->wrap.emit = wrap_emit;
	r->wrap.comment = wrap_comment;
	r->ping_ms = ping_ms < 0 ? 0 : ping_ms > 0 ? ping_ms :
	    RELAY_PING_INTERVAL_MS;
	r->early = opts != NULL && opts->early_pings;
	r->untyped_is_sse = opts != NULL && opts->untyped_is_sse;
	r->start_ms = util_mono_ms();
	r->last_write_ms = r->start_ms;
	return GW_OK;
}

enum gw_err
relay_run(struct up_client *c, const struct up_request *req,
    const struct relay_opts *opts, struct tr_stream *tr,
    struct tr_sink *sink, struct relay_result *res)
{
	struct relay r;
	struct up_hooks hooks = { 0 };
	enum gw_err e;

	if ((e = relay_init(&r, opts, tr, sink, res)) != GW_OK)
		goto done;
	if (r.client_left != NULL) {
		hooks.ctx = &r;
		hooks.on_tick = on_tick;
	}
	if (tr == NULL) {
		e = up_transfer(c, req, r.client_left != NULL ? &hooks : NULL,
		    &res->resp);
		goto done;
	}
	hooks.ctx = &r;
	hooks.stream = 1;
	hooks.on_headers = on_headers;
	hooks.on_body = on_body;
	hooks.on_tick = on_tick;
	e = up_transfer(c, req, &hooks, &res->resp);
	if (r.client_gone || e == GW_ECLIENTGONE) {
		e = GW_ECLIENTGONE;
		buf_replacef(&res->message, "%s", gw_strerror(e));
	} else if (r.streaming) {
		e = end_stream(&r, e);
	} else if (res->client_started) {
		e = end_started_without_stream(&r, e);
	}
	if (r.streaming)
		metrics_stream_end();
done:
	if (e != GW_OK && res->message == NULL)
		buf_replacef(&res->message, "%s", res->resp.error != NULL ?
		    res->resp.error : gw_strerror(e));
	sse_parser_free(r.sse);
	res->err = e;
	res->status = res->resp.status;
	res->ttfb_ms = res->resp.ttfb_ms;
	res->total_ms = res->resp.total_ms;
	if (tr == NULL || r.start_ms != 0)     /* a call was made */
		metrics_observe(METRICS_UPSTREAM_DURATION, res->total_ms);
	return e;
}

/* A WebSocket message is one event named by its "type"; an error
 * message also carries its error's code and message at the top (the
 * reference's shape).  *terminal: the response ends with it. */
static GW_MUST_CHECK enum gw_err
ws_message(struct relay *r, const char *data, size_t len, int *terminal)
{
	/* response.done: the Codex backend's name for response.completed */
	static const char *const ends[] = { "response.completed",
	    "response.failed", "response.incomplete", "response.done", "error" };
	cJSON *v = json_parse(data, len, NULL, NULL), *err;
	const char *type = json_str(v, "type");
	char *s = NULL, name[64];
	enum gw_err e;
	size_t i;

	*terminal = 0;
	if (type == NULL) {
		cJSON_Delete(v);
		return on_event(r, NULL, data, len, NULL);
	}
	snprintf(name, sizeof(name), "%s", type);
	for (i = 0; i < ARRAY_LEN(ends); i++)
		*terminal |= strcmp(type, ends[i]) == 0;
	if (strcmp(type, "response.completed") == 0)
		copilot_log_quota_snapshots(cJSON_GetObjectItemCaseSensitive(v,
		    "copilot_quota_snapshots"));
	err = cJSON_GetObjectItemCaseSensitive(v, "error");
	if (strcmp(type, "error") == 0)
		log_warn("relay: the upstream WebSocket sent an error: %.300s", data);
	if (strcmp(type, "error") == 0 && cJSON_IsObject(err)) {
		e = json_set(v, "code", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(err, "code"), 1));
		if (e == GW_OK)
			e = json_set(v, "message", cJSON_Duplicate(
			    cJSON_GetObjectItemCaseSensitive(err, "message"), 1));
		if (e == GW_OK && (s = json_print(v)) == NULL)
			e = GW_ENOMEM;
		cJSON_Delete(v);
		if (e != GW_OK)
			return e;
		e = on_event(r, name, s, strlen(s), NULL);
		cJSON_free(s);
		return e;
	}
	cJSON_Delete(v);
	return on_event(r, name, data, len, NULL);
}

/* The WebSocket read loop: messages, ticks, the stall guard. */
static GW_MUST_CHECK enum gw_err
ws_loop(struct relay *r, struct ws_conn *c, int64_t stall_ms, int *clean)
{
	struct buf err = BUF_INIT;
	int64_t now, last_rx = util_mono_ms(), next_tick = last_rx, wait;
	const char *data;
	size_t len;
	enum gw_err e = GW_OK;
	int got, terminal = 0;

	while (!terminal) {
		now = util_mono_ms();
		if (now >= next_tick && (e = on_tick(r, now, &next_tick)) != GW_OK)
			break;
		if (stall_ms > 0 && now - last_rx >= stall_ms) {
			e = GW_ETIMEOUT;
			buf_replacef(&r->res->resp.error, "upstream sent nothing for "
			    "%lld s", (long long)(stall_ms / 1000));
			break;
		}
		wait = next_tick > 0 ? next_tick - now : RELAY_WATCH_MS;
		if (stall_ms > 0 && last_rx + stall_ms - now < wait)
			wait = last_rx + stall_ms - now;
		if ((e = ws_next(c, (int)(wait < 1 ? 1 : wait), &data, &len, &got,
		    &err)) != GW_OK) {
			buf_replacef(&r->res->resp.error, "%s", buf_cstr(&err));
			break;
		}
		if (!got)
			continue;
		last_rx = util_mono_ms();
		if (r->res->resp.ttfb_ms <= 0)
			r->res->resp.ttfb_ms = last_rx - r->start_ms;
		if ((e = ws_message(r, data, len, &terminal)) != GW_OK)
			break;
	}
	*clean = terminal && e == GW_OK;
	buf_free(&err);
	return e;
}

enum gw_err
relay_run_ws(struct ws_conn *c, const char *frame, size_t n,
    long stall_timeout_s, const struct relay_opts *opts, struct tr_stream *tr,
    struct tr_sink *sink, struct relay_result *res, int *reusable)
{
	struct relay r;
	struct buf err = BUF_INIT;
	int64_t stall_ms = stall_timeout_s < 0 ? 0 : (stall_timeout_s > 0 ?
	    stall_timeout_s : UP_STALL_TIMEOUT_S) * 1000;
	int clean = 0;
	enum gw_err e;

	*reusable = 0;
	if ((e = relay_init(&r, opts, tr, sink, res)) != GW_OK || tr == NULL) {
		e = e != GW_OK ? e : GW_EINVAL;
		goto done;
	}
	if ((e = ws_send_text(c, frame, n, &err)) != GW_OK) {
		buf_replacef(&res->resp.error, "%s", buf_cstr(&err));
		e = GW_ECONNECT;
		goto done;
	}
	res->resp.status = 200;
	r.streaming = 1;
	metrics_stream_begin();
	e = ws_loop(&r, c, stall_ms, &clean);
	if (r.client_gone || e == GW_ECLIENTGONE) {
		e = GW_ECLIENTGONE;
		buf_replacef(&res->message, "%s", gw_strerror(e));
	} else {
		e = end_stream(&r, e);
		*reusable = clean && e == GW_OK && !r.client_gone;
	}
	metrics_stream_end();
done:
	if (e != GW_OK && res->message == NULL)
		buf_replacef(&res->message, "%s", res->resp.error != NULL ?
		    res->resp.error : gw_strerror(e));
	buf_free(&err);
	res->err = e;
	res->status = res->resp.status;
	res->ttfb_ms = res->resp.ttfb_ms > 0 ? res->resp.ttfb_ms : -1;
	if (r.start_ms != 0) {       /* the call was made */
		res->total_ms = util_mono_ms() - r.start_ms;
		metrics_observe(METRICS_UPSTREAM_DURATION, res->total_ms);
	}
	return e;
}

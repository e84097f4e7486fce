/*
 * The request-context helpers of routes/common.h: the body, the error
 * replies, the usage row, and an upstream answer relayed to the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/copilot_call.h"
#include "app/pool.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "routes/common.h"
#include "state/config.h"
#include "state/pricing.h"
#include "state/spool.h"
#include "state/usage.h"
#include "upstream/client.h"
#include "upstream/relay.h"

static cJSON *
body_json(struct rctx *r, int keep)
{
	const struct buf *b = &r->req->body;
	struct buf msg = BUF_INIT;
	int line = 0, col = 0;
	enum json_nul nul;
	cJSON *v;

	if (b->len == 0) {
		rc_reject(r, 400, "Request body is empty: a JSON object is required");
		return NULL;
	}
	/* cJSON would cut a string at U+0000 and send the rest on silently */
	nul = json_find_nul(b->data, b->len, &line, &col);
	if (nul != JSON_NUL_NONE) {
		/* best effort: without the message the 400 says its reason phrase */
		GW_IGNORE(buf_printf(&msg, nul == JSON_NUL_RAW ?
		    "Invalid JSON in request body at line %d, column %d: a raw "
		    "NUL byte" : "Unsupported \\u0000 (U+0000) in a string of the "
		    "request body at line %d, column %d: the gateway cannot carry "
		    "it whole; remove it", line, col));
		rc_reject(r, 400, msg.data);
		buf_free(&msg);
		return NULL;
	}
	v = json_parse(b->data, b->len, &line, &col);
	if (v == NULL) {
		/* best effort: without the message the 400 says its reason phrase */
		GW_IGNORE(buf_printf(&msg, "Invalid JSON in request body at line %d, "
		    "column %d", line, col));
		rc_reject(r, 400, msg.data);
		buf_free(&msg);
		return NULL;
	}
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		rc_reject(r, 400, "Request body must be a JSON object");
		return NULL;
	}
	/* one copy of a large body is enough: the tree */
	if (!keep)
		http_request_drop_body(r->req);
	return v;
}

cJSON *
rc_body_json(struct rctx *r)
{
	return body_json(r, 0);
}

cJSON *
rc_body_json_keep(struct rctx *r)
{
	return body_json(r, 1);
}

int
rc_map_model(struct rctx *r, cJSON *body)
{
	const char *from = json_str(body, "model");
	const char *to = from != NULL ? cfg_model_mapping(r->w->cfg, from) : NULL;
	enum gw_err e;

	if (to == NULL)
		return 1;
	log_debug("model mapping: %s -> %s", from, to);
	if ((e = json_set(body, "model", cJSON_CreateString(to))) != GW_OK) {
		rc_fail(r, e, NULL);
		return 0;
	}
	return 1;
}

const char *
rc_header(struct rctx *r, const char *name)
{
	const char *v = http_header(r->req, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

const char *
rc_header_trimmed(struct rctx *r, const char *name, size_t *n)
{
	const char *v = http_header(r->req, name);

	*n = 0;
	if (v == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	*n = strlen(v);
	while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\t' ||
	    v[*n - 1] == '\r' || v[*n - 1] == '\n'))
		(*n)--;
	return *n > 0 ? v : NULL;
}

const char *
rc_cache_key(struct rctx *r, const char *session)
{
	if (session != NULL)
		return session;
	if (rc_header(r, "x-session-affinity") != NULL)
		return rc_header(r, "x-session-affinity");
	return rc_header(r, "x-client-request-id");
}

void
rc_row_session(struct rctx *r, const char *fallback)
{
	size_t n;
	const char *v = rc_header_trimmed(r, "x-session-affinity", &n);

	/* an x-session-affinity that is there but blank still wins over
	 * x-client-request-id, and gives the fallback */
	if (v == NULL && http_header(r->req, "x-session-affinity") == NULL)
		v = rc_header_trimmed(r, "x-client-request-id", &n);
	if (v != NULL) {
		snprintf(r->session_id, sizeof(r->session_id), "%.*s",
		    (int)n, v);
		r->session_given = 1;
		return;
	}
	snprintf(r->session_id, sizeof(r->session_id), "%s",
	    fallback != NULL ? fallback : "");
}

int
rc_upstream_status(enum gw_err e)
{
	int status = gw_http_status(e);

	/* Whatever broke mid-transfer, the client sees a bad gateway. */
	return status == 499 || status == 504 ? status : 502;
}

void
rc_reject(struct rctx *r, int status, const char *message)
{
	rc_reject_with(r, status, NULL, message, NULL);
}

void
rc_reject_with(struct rctx *r, int status, const char *type,
    const char *message, const char *const *extra)
{
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send_error(r->c, r->dialect, status, type, message,
	    extra));
}

void
rc_fail_reply(struct rctx *r, int status, const char *type,
    const char *message, const char *const *extra, const char *row_error)
{
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send_error(r->c, r->dialect, status, type, message, extra));
	rc_record(r, status, NULL, row_error);
}

void
rc_fail(struct rctx *r, enum gw_err e, const char *message)
{
	if (message == NULL || *message == '\0')
		message = e == GW_EBUSY ? "database is locked; try again" :
		    e == GW_EDBDOWN ? "database unreachable; try again" :
		    gw_strerror(e);
	log_warn("%s %s: %s (%s)", r->req->method, r->req->path, message,
	    gw_strerror(e));
	rc_fail_reply(r, gw_http_status(e), NULL, message, NULL, message);
}

/*
 * The upstream's own message when its body is a JSON error envelope
 * ({"error":{"message":...}} or {"message":...}), else the raw body text.
 */
static char *
upstream_message(const struct up_response *resp, const char **type)
{
	const struct buf *b = &resp->body;
	const char *m = NULL;
	cJSON *v, *err;
	char *out;

	*type = NULL;
	v = b->len > 0 ? json_parse(b->data, b->len, NULL, NULL) : NULL;
	if (v != NULL) {
		err = json_obj(v, "error");
		m = json_str(err != NULL ? err : v, "message");
		if (err != NULL && json_str(err, "type") != NULL)
			*type = json_str(err, "type");
	}
	if (m != NULL && *m != '\0')
		out = strdup(m);
	else if (b->len > 0)
		out = strndup(b->data, b->len > 4000 ? 4000 : b->len);
	else {
		struct buf t = BUF_INIT;

		/* best effort: a NULL message becomes "upstream error" */
		GW_IGNORE(buf_printf(&t, "upstream answered HTTP %ld with an "
		    "empty body", resp->status));
		out = buf_detach(&t);
	}
	/* The type is only kept when it is a plain token. */
	if (*type != NULL && (strlen(*type) > 64 || strpbrk(*type, " \"\\") != NULL))
		*type = NULL;
	if (*type != NULL)
		*type = strdup(*type);
	cJSON_Delete(v);
	return out;
}

/* Relays an upstream non-2xx answer: its status, its message, and on 429
 * its Retry-After and x-* headers; records the row. */
static void
rc_upstream_error(struct rctx *r, const struct relay_result *res)
{
	const char **extra = NULL;
	const char *type = NULL;
	char *msg, *colon;
	size_t i, n = 0;
	int status = (int)res->status;

	if (status < 400 || status > 599)
		status = 502;
	msg = upstream_message(&res->resp, &type);
	if (status == 429 && res->resp.npass_headers > 0 &&
	    (extra = calloc(2 * res->resp.npass_headers + 1, sizeof(*extra))) != NULL) {
		for (i = 0; i < res->resp.npass_headers; i++) {
			char *h = strdup(res->resp.pass_headers[i]);

			if (h == NULL || (colon = strchr(h, ':')) == NULL) {
				free(h);
				continue;
			}
			*colon++ = '\0';
			while (*colon == ' ')
				colon++;
			extra[n++] = h;
			extra[n++] = colon;
		}
		extra[n] = NULL;
	}
	rc_fail_reply(r, status, type, msg ? msg : "upstream error", extra, msg);
	for (i = 0; i < n; i += 2)
		free((char *)extra[i]);
	free(extra);
	free((char *)type);
	free(msg);
}

/* The row's cost: Copilot's own charge, or a provider's prices. */
static void
row_cost(struct rctx *r, struct usage_event *ev, struct pricing_cost *c)
{
	const struct cfg_provider *p;
	struct pricing_usage pu;
	int priced;

	if (r->provider == NULL) {
		priced = ev->has_nano_aiu &&
		    pricing_copilot(ev->total_nano_aiu, c);
	} else {
		p = cfg_provider_find(r->w->cfg, r->provider);
		pu.input_tokens = ev->input_tokens;
		pu.output_tokens = ev->output_tokens;
		pu.cache_read_tokens = ev->cache_read_input_tokens;
		pu.cache_creation_tokens = ev->cache_creation_input_tokens;
		priced = pricing_provider(r->provider, ev->model,
		    p != NULL ? json_obj(json_obj(p->models, ev->model), "pricing") :
		    NULL, p != NULL ? p->pricing_currency : NULL, &pu, c);
	}
	if (priced) {
		ev->cost_currency = c->currency;
		ev->total_cost_nanos = c->total_cost_nanos;
		ev->cost_source = c->source;
	}
}

/* Stored like the reference: input excludes the cached and written parts
 * (Anthropic's usage already does). */
static long
net_input(const struct tr_usage *u)
{
	long in = u->input_tokens;

	if (in < 0 || u->input_net)
		return in;
	in -= (u->cache_read_tokens > 0 ? u->cache_read_tokens : 0) +
	    (u->cache_creation_tokens > 0 ? u->cache_creation_tokens : 0);
	return in > 0 ? in : 0;
}

void
rc_record(struct rctx *r, int status, const struct tr_usage *u,
    const char *error)
{
	struct usage_event ev;
	struct pricing_cost cost;

	/* The client has all of its answer before the row: a locked or slow
	 * database delays this thread, never the client. */
	http_end(r->c);
	memset(&ev, 0, sizeof(ev));
	ev.created_at_ms = util_now_ms();
	ev.trace_id = r->req->trace_id;
	ev.session_id = r->session_id;
	if (r->provider != NULL) {
		ev.user_id = ev.provider_name = r->provider;
		ev.source = "provider";
	} else {
		ev.user_id = pool_login(r->w);
		ev.account = r->w->acct[0] != '\0' ? r->w->acct : ACCOUNTS_DEFAULT;
		ev.source = "copilot";
	}
	ev.endpoint = r->endpoint != NULL ? r->endpoint : r->req->path;
	ev.model = r->model;
	ev.error = error;
	ev.status = status;
	ev.stream = r->stream;
	ev.latency_ms = util_mono_ms() - r->start_ms;
	ev.input_tokens = ev.output_tokens = -1;
	ev.cache_read_input_tokens = ev.cache_creation_input_tokens = -1;
	ev.total_tokens = -1;
	if (u != NULL) {
		ev.cache_read_input_tokens = u->cache_read_tokens;
		ev.cache_creation_input_tokens = u->cache_creation_tokens;
		ev.input_tokens = net_input(u);
		ev.output_tokens = u->output_tokens;
		ev.total_tokens = u->total_tokens;
		ev.has_nano_aiu = u->nano_aiu >= 0;
		ev.total_nano_aiu = u->nano_aiu;
		row_cost(r, &ev, &cost);
	}
	if (spool_record(r->w->db, r->w->app->spool_path, &ev) != GW_OK)
		log_warn("could not record usage for %s", r->req->trace_id);
}

void
rc_usage_from_body(const cJSON *body, struct tr_usage *u)
{
	tr_usage_init(u);
	if (json_obj(body, "usage") != NULL)
		tr_usage_from_json(u, json_obj(body, "usage"));
	tr_usage_copilot(u, body);
}

/* The non-stream answer: as is, or translated; a translation failure is
 * the upstream's fault (it sent something we cannot read): 502. */
static void
send_body(struct rctx *r, const struct relay_result *res, rc_xlate_fn xlate,
    void *arg)
{
	struct buf err = BUF_INIT;
	struct tr_usage u;
	cJSON *v, *out = NULL;
	const char *ctype;

	v = json_parse(res->resp.body.data, res->resp.body.len, NULL, NULL);
	if (xlate == NULL) {
		ctype = res->resp.content_type != NULL ? res->resp.content_type :
		    "application/json";
		/* The answer is decided: a failed write means the client left
		 * (here and below). */
		GW_IGNORE(http_send(r->c, (int)res->status, ctype,
		    buf_cstr(&res->resp.body), res->resp.body.len, NULL));
		rc_usage_from_body(v, &u);
		rc_record(r, (int)res->status, &u, NULL);
	} else if (v == NULL || xlate(v, arg, &out, &err) != GW_OK) {
		/* best effort: without the message the 502 says its reason phrase */
		if (err.len == 0)
			GW_IGNORE(buf_puts(&err, "upstream answered with a body that "
			    "is not JSON"));
		rc_fail_reply(r, 502, NULL, err.data, NULL, err.data);
	} else {
		GW_IGNORE(http_send_json(r->c, 200, out));
		rc_usage_from_body(v, &u);
		rc_record(r, 200, &u, NULL);
	}
	cJSON_Delete(out);
	cJSON_Delete(v);
	buf_free(&err);
}

void
rc_relay_to_client(struct rctx *r, enum gw_err e,
    const struct relay_result *res, struct tr_stream *tr, const char *errmsg,
    rc_xlate_fn xlate, void *xlate_arg)
{
	if (e != GW_OK && !res->client_started) {
		rc_fail(r, e, errmsg != NULL && *errmsg != '\0' ? errmsg :
		    res->message);
		return;
	}
	if (res->client_started) {
		/* The stream went out; the relay ended it (with an error event
		 * when the upstream failed). */
		rc_record(r, e == GW_OK ? 200 : rc_upstream_status(e),
		    tr != NULL ? &tr->usage : NULL,
		    e == GW_OK ? NULL : (res->message ? res->message : gw_strerror(e)));
		return;
	}
	if (res->status / 100 != 2)
		rc_upstream_error(r, res);
	else
		send_body(r, res, xlate, xlate_arg);
}

void
rc_post_json(struct rctx *r, const char *path, const cJSON *body,
    struct copilot_call call, struct tr_stream *tr, rc_xlate_fn xlate,
    void *xlate_arg)
{
	rc_post_json_ws(r, path, body, call, NULL, NULL, tr, xlate, xlate_arg);
}

void
rc_post_json_ws(struct rctx *r, const char *path, const cJSON *body,
    struct copilot_call call, const char *ws_frame, const char *ws_key,
    struct tr_stream *tr, rc_xlate_fn xlate, void *xlate_arg)
{
	struct copilot_req rq;
	char *s;

	if ((s = json_print(body)) == NULL) {
		rc_fail(r, GW_ENOMEM, NULL);
		return;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = path;
	rq.body = s;
	rq.body_len = strlen(s);
	rq.stream = r->stream;
	rq.call = call;
	rq.call.json_body = 1;
	rq.call.accept = r->stream ? "text/event-stream" : "application/json";
	rq.ws_frame = ws_frame;
	rq.ws_key = ws_key;
	rc_copilot_to_client(r, &rq, tr, xlate, xlate_arg);
	cJSON_free(s);
}

void
rc_copilot_to_client(struct rctx *r, const struct copilot_req *rq,
    struct tr_stream *tr, rc_xlate_fn xlate, void *xlate_arg)
{
	struct copilot_req q = *rq;
	struct relay_result res;
	struct tr_sink sink;
	struct buf err = BUF_INIT;
	enum gw_err e;

	/* a model call: the model and the client's session choose the
	 * account */
	if (q.model == NULL && r->model[0] != '\0') {
		q.model = r->model;
		q.session = r->session_given ? r->session_id : NULL;
	}
	memset(&res, 0, sizeof(res));
	http_sse_sink(r->c, &sink);
	e = pool_copilot_call(r->w, &q, tr, &sink, &res, &err);
	rc_relay_to_client(r, e, &res, tr, err.data, xlate, xlate_arg);
	relay_result_free(&res);
	buf_free(&err);
}

/*
 * One Copilot API call: the token, the identity headers, and the one
 * retry a stale token earns.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/copilot_call.h"
#include "core/log.h"
#include "core/strlist.h"
#include "core/util.h"
#include "state/config.h"
#include "state/db.h"
#include "upstream/auth.h"
#include "upstream/client.h"
#include "upstream/copilot.h"
#include "upstream/relay.h"
#include "upstream/ws.h"

char *
app_copilot_base(struct worker *w, const char *token_api_url)
{
	char *kv = NULL, *r;

	/* No stored URL (missing or unreadable): kv stays NULL and the
	 * configured one is used. */
	if (token_api_url == NULL)
		GW_IGNORE(db_kv_get(w->db, "copilot_api_url", &kv));
	r = util_strdup(cfg_copilot_url(w->cfg,
	    token_api_url != NULL ? token_api_url : kv));
	free(kv);
	return r;
}

int
app_token_based_billing(struct worker *w)
{
	char *kv = NULL;
	int64_t now = util_now_ms();

	/* read again as often as the token is */
	if (w->tbb_read_ms != 0 && now - w->tbb_read_ms < APP_TOKEN_RECHECK_MS)
		return w->tbb;
	/* unknown (never fetched, unreadable): billed per request */
	GW_IGNORE(db_kv_get(w->db, "token_based_billing", &kv));
	w->tbb = kv != NULL && strcmp(kv, "1") == 0;
	w->tbb_read_ms = now;
	free(kv);
	return w->tbb;
}

/* A connection for key: the pooled one, or a new one (NULL when the
 * upgrade failed: the caller goes over HTTP). */
static struct ws_conn *
ws_connect(struct worker *w, const char *url, const char *key,
    const struct strlist *h, int *pooled)
{
	struct ws_conn *c;
	struct buf err = BUF_INIT;
	long status = 0;

	if ((c = ws_pool_take(key)) != NULL) {
		log_debug("Responses WebSocket: the pooled connection for %s", url);
		*pooled = 1;
		return c;
	}
	log_debug("Responses WebSocket: connecting to %s", url);
	*pooled = 0;
	if (ws_open(url, strlist_view(h), w->cfg->connect_timeout_s, &c, &status,
	    &err) != GW_OK) {
		log_warn("Responses over WebSocket unavailable (%s): using HTTP",
		    buf_cstr(&err));
		c = NULL;
	}
	buf_free(&err);
	return c;
}

enum gw_err
app_ws_relay(struct worker *w, const char *url, const struct strlist *h,
    const char *key, const char *frame, struct tr_stream *tr,
    struct tr_sink *sink, struct relay_result *res)
{
	struct up_request ur;
	struct relay_opts ro;
	struct ws_conn *c;
	int pooled, reusable, tries;
	enum gw_err e = GW_ENOTFOUND;

	app_up_request(w, &ur, &ro);
	/* A pooled connection the server dropped meanwhile gets one fresh
	 * try: the frame never reached the upstream. */
	for (tries = 0; tries < 2 && e == GW_ENOTFOUND; tries++) {
		if ((c = ws_connect(w, url, key, h, &pooled)) == NULL)
			break;
		relay_result_free(res);
		e = relay_run_ws(c, frame, strlen(frame), ur.stall_timeout_s, &ro,
		    tr, sink, res, &reusable);
		if (reusable)
			ws_pool_put(key, c);
		else
			ws_close(c);
		if (e == GW_ECONNECT) {
			log_warn("Responses over WebSocket: %s", res->message);
			e = pooled ? GW_ENOTFOUND : GW_ECONNECT;
		}
	}
	if (e == GW_ECONNECT)
		e = GW_ENOTFOUND;
	if (e == GW_ENOTFOUND)
		relay_result_free(res);
	return e;
}

/* The Responses stream over Copilot's WebSocket, keyed by the token's
 * fingerprint and rq->ws_key. */
static GW_MUST_CHECK enum gw_err
copilot_ws(struct worker *w, const struct copilot_req *rq,
    const struct copilot_call *call, const char *url, struct tr_stream *tr,
    struct tr_sink *sink, struct relay_result *res)
{
	struct strlist h = STRLIST_INIT;
	struct buf key = BUF_INIT;
	char fp[65];
	enum gw_err e;

	util_sha256_hex(call->token, strlen(call->token), fp);
	fp[16] = '\0';
	if ((e = buf_printf(&key, "%s|%s", fp, rq->ws_key)) == GW_OK &&
	    (e = copilot_ws_headers(&w->app->ident, call, &h)) == GW_OK)
		e = app_ws_relay(w, url, &h, key.data, rq->ws_frame, tr, sink, res);
	buf_free(&key);
	strlist_free(&h);
	return e;
}

/* One attempt with a given token. */
static GW_MUST_CHECK enum gw_err
copilot_once(struct worker *w, const struct copilot_req *rq,
    const struct db_copilot_token *tok, struct tr_stream *tr, struct tr_sink *sink,
    struct relay_result *res)
{
	struct copilot_call call = rq->call;
	struct strlist h = STRLIST_INIT;
	struct up_request ur;
	struct relay_opts ro;
	struct buf url = BUF_INIT;
	char *base = NULL;
	enum gw_err e;

	call.token = tok->token;
	if ((base = app_copilot_base(w, tok->api_url)) == NULL ||
	    (e = buf_printf(&url, "%s%s", base, rq->path)) != GW_OK ||
	    (e = copilot_headers(&w->app->ident, &call, &h)) != GW_OK) {
		e = GW_ENOMEM;
		goto out;
	}
	if (rq->stream && rq->ws_frame != NULL && tr != NULL &&
	    (e = copilot_ws(w, rq, &call, url.data, tr, sink, res)) !=
	    GW_ENOTFOUND)
		goto out;
	app_up_request(w, &ur, &ro);
	ur.method = rq->method;
	ur.url = url.data;
	ur.headers = strlist_view(&h);
	ur.body = rq->body;
	ur.body_len = rq->body_len;
	e = relay_run(w->client, &ur, &ro, rq->stream ? tr : NULL,
	    rq->stream ? sink : NULL, res);
	if (rq->body != NULL)          /* a model call, whatever its status */
		copilot_log_rate_limits(res->resp.pass_headers,
		    res->resp.npass_headers);
out:
	free(base);
	buf_free(&url);
	strlist_free(&h);
	return e;
}

/*
 * auth_copilot_token failed with e: while the database server is
 * unreachable, the token this worker holds serves until it expires
 * (nobody can refresh it then, nor store another).
 */
static enum gw_err
held_token(struct worker *w, enum gw_err e, const char *stale,
    const struct db_copilot_token **out, struct buf *errmsg)
{
	if (e != GW_EDBDOWN || stale != NULL || w->tok == NULL ||
	    w->tok->token == NULL ||
	    w->tok->expires_at <= util_now_ms() / 1000 + 10)
		return e;
	log_debug("database unreachable: serving with the token this worker "
	    "holds");
	buf_reset(errmsg);
	*out = w->tok;
	return GW_OK;
}

/*
 * The worker's token: its own copy while that is not due and was read less
 * than APP_TOKEN_RECHECK_MS ago (no database access), else auth_copilot_token's
 * (stale: the token Copilot just refused).  *out is borrowed from w.
 */
static GW_MUST_CHECK enum gw_err
worker_token(struct worker *w, const char *stale,
    const struct db_copilot_token **out, struct buf *errmsg)
{
	struct auth_env env;
	struct db_copilot_token t;
	int64_t now = util_now_ms();
	enum gw_err e;

	if (stale == NULL && w->tok != NULL && w->tok->token != NULL &&
	    strcmp(w->tok_acct, w->acct) == 0 &&
	    now - w->tok_read_ms < APP_TOKEN_RECHECK_MS &&
	    !auth_token_due(w->tok, now / 1000)) {
		*out = w->tok;
		return GW_OK;
	}
	app_auth_env(w, &env);
	if ((e = auth_copilot_token(&env, stale, 0, &t, errmsg)) != GW_OK)
		return held_token(w, e, stale, out, errmsg);
	if (w->tok == NULL && (w->tok = calloc(1, sizeof(*w->tok))) == NULL) {
		db_copilot_token_free(&t);
		return GW_ENOMEM;
	}
	db_copilot_token_free(w->tok);
	*w->tok = t;
	w->tok_read_ms = now;
	memcpy(w->tok_acct, w->acct, sizeof(w->tok_acct));
	*out = w->tok;
	return GW_OK;
}

enum gw_err
app_copilot_call(struct worker *w, const struct copilot_req *rq,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res,
    struct buf *errmsg)
{
	const struct db_copilot_token *tok;
	char *stale = NULL;
	enum gw_err e;

	if ((e = worker_token(w, NULL, &tok, errmsg)) != GW_OK)
		return e;
	e = copilot_once(w, rq, tok, tr, sink, res);
	if (e == GW_OK && res->status == 401 && !res->client_started) {
		/* The token expired under us: refresh once, retry once. */
		log_info("Copilot answered 401: refreshing the token and retrying");
		if ((stale = util_strdup(tok->token)) == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		if ((e = worker_token(w, stale, &tok, errmsg)) != GW_OK)
			goto out;
		relay_result_free(res);
		e = copilot_once(w, rq, tok, tr, sink, res);
	}
out:
	free(stale);
	return e;
}

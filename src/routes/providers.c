/*
 * Third-party providers (spec surface.md §7, translation.md §11):
 * POST /:provider/v1/messages, POST /:provider/v1/messages/count_tokens,
 * GET /:provider/v1/models, POST /:provider/v1/responses, and the
 * provider/model aliases of /v1/messages, /v1/messages/count_tokens,
 * /v1/responses and /v1/chat/completions (an OpenAI body relayed to an
 * openai-compatible provider, 1.14.7).
 *
 * One Anthropic request, three upstream kinds: anthropic (relayed, usage
 * optionally adjusted), openai-compatible (Chat Completions) and
 * openai-responses (Responses), all through the one relay.  No rate
 * limit, warm-up or model mapping here; usage rows say source "provider".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/copilot_call.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strlist.h"
#include "core/util.h"
#include "routes/flows.h"
#include "routes/approval.h"
#include "routes/providers.h"
#include "state/config.h"
#include "state/paths.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/anthropic_websearch.h"
#include "translate/codex_stream.h"
#include "translate/preprocess.h"
#include "translate/provider.h"
#include "translate/responses.h"
#include "translate/responses_passthrough.h"
#include "translate/tool_search.h"
#include "upstream/client.h"
#include "upstream/codex.h"
#include "upstream/provider.h"
#include "upstream/relay.h"

/* The built-in codex provider: signed in with OAuth (upstream/codex.h). */
static int
is_codex(const struct cfg_provider *p)
{
	return p->auth_type == CFG_AUTH_OAUTH2 && strcmp(p->name, "codex") == 0;
}

/* codex is signed in: its credentials are in the database. */
static int
codex_signed_in(struct rctx *r)
{
	struct codex_creds c;

	if (codex_creds_load(r->w->db, &c) != GW_OK)
		return 0;
	codex_creds_free(&c);
	return 1;
}

/*
 * The enabled provider called name as it serves model (its per-model type,
 * cfg_provider_for_model: then a copy in *tmp), or NULL after answering:
 * 404, or with endpoint set (the alias of that endpoint, which only
 * providers of type can serve) 400 "does not support" as 1.14.7 answers an
 * unknown provider there too.  The built-in codex provider counts only
 * once `auth login --provider codex` stored its credentials, as the
 * reference's resolveProviderConfig.
 */
static const struct cfg_provider *
resolve(struct rctx *r, const char *name, enum cfg_provider_type type,
    const char *endpoint, const char *model, struct cfg_provider *tmp)
{
	const struct cfg_provider *p = cfg_provider_find(r->w->cfg, name);
	struct buf msg = BUF_INIT;
	int status = endpoint != NULL ? 400 : 404;
	int signed_out = p != NULL && is_codex(p) && !codex_signed_in(r);

	if (p != NULL && model != NULL)
		p = cfg_provider_for_model(p, model, tmp);
	if (p != NULL && !signed_out && (endpoint == NULL || p->type == type))
		return p;
	/* best effort: the status is the answer whatever the message says
	 * (without one, its reason phrase). */
	if (endpoint != NULL && !signed_out)
		GW_IGNORE(buf_printf(&msg, "Provider '%s' does not support the "
		    "%s endpoint", name, endpoint));
	else
		GW_IGNORE(buf_printf(&msg, "Provider '%s' not found or disabled",
		    name));
	if (signed_out)
		GW_IGNORE(buf_puts(&msg, " (not signed in: run `copilot-api auth "
		    "login --provider codex`)"));
	r->provider = name;
	rc_reject_with(r, status, "invalid_request_error", msg.data, NULL);
	buf_free(&msg);
	return NULL;
}

/* resolve() for any type, as the provider is configured. */
static const struct cfg_provider *
resolve_any(struct rctx *r, const char *name)
{
	return resolve(r, name, CFG_PROVIDER_ANTHROPIC, NULL, NULL, NULL);
}

/* Client headers a provider may see: never the client's key. */
static void
inbound(struct rctx *r, struct prov_inbound *in)
{
	in->accept = rc_header(r, "accept");
	in->user_agent = rc_header(r, "user-agent");
	in->anthropic_version = rc_header(r, "anthropic-version");
	in->anthropic_beta = rc_header(r, "anthropic-beta");
}

/* The usage row's session: the session-affinity headers, else the
 * session of metadata.user_id; none otherwise (surface.md §8.3).  Unlike the
 * prompt cache key, the headers come first here. */
static void
row_session(struct rctx *r, const cJSON *body)
{
	char *parsed = NULL;

	if (pp_parse_user_id(json_str(json_obj(body, "metadata"), "user_id"),
	    NULL, &parsed) != GW_OK)
		parsed = NULL;
	rc_row_session(r, parsed);
	free(parsed);
}

/* A 2xx JSON answer of an anthropic provider with adjustInputTokens: the
 * client and the usage row both see the adjusted count. */
static void
send_adjusted(struct rctx *r, const struct relay_result *res)
{
	cJSON *v = json_parse(res->resp.body.data, res->resp.body.len, NULL, NULL);
	struct tr_usage u;

	/* The answer is decided: a failed write means the client left. */
	if (v == NULL) {
		GW_IGNORE(http_send(r->c, (int)res->status,
		    res->resp.content_type != NULL ? res->resp.content_type :
		    "application/json", buf_cstr(&res->resp.body),
		    res->resp.body.len, NULL));
		rc_record(r, (int)res->status, NULL, NULL);
		return;
	}
	tr_adjust_input_tokens(json_obj(v, "usage"));
	GW_IGNORE(http_send_json(r->c, (int)res->status, v));
	GW_IGNORE(http_flush(r->c));
	rc_usage_from_body(v, &u);
	rc_record(r, (int)res->status, &u, NULL);
	cJSON_Delete(v);
}

/* ---- the codex backend ---------------------------------------------------- */

/* The reference's forwardCodexResponses body: store false, and none of
 * temperature, top_p, max_output_tokens, metadata; system messages moved
 * into instructions (1.14.7); and always a stream (the backend refuses
 * anything else: "Stream must be set to true"). */
static GW_MUST_CHECK enum gw_err
codex_body(const char *body, char **out)
{
	static const char *const drop[] = { "temperature", "top_p",
	    "max_output_tokens", "metadata" };
	cJSON *v = json_parse(body, strlen(body), NULL, NULL);
	enum gw_err e;
	size_t i;

	*out = NULL;
	if (v == NULL)
		return GW_EINTERNAL;
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(v, drop[i]);
	if ((e = tr_responses_system_to_instructions(v)) == GW_OK &&
	    (e = json_set(v, "store", cJSON_CreateFalse())) == GW_OK &&
	    (e = json_set(v, "stream", cJSON_CreateTrue())) == GW_OK &&
	    (*out = json_print(v)) == NULL)
		e = GW_ENOMEM;
	cJSON_Delete(v);
	return e;
}

/* The client's headers as name/value pairs (borrowed from the request). */
static GW_MUST_CHECK enum gw_err
client_pairs(struct rctx *r, const char ***out, size_t *n)
{
	size_t i;

	*n = r->req->nheaders;
	if ((*out = calloc(2 * *n + 1, sizeof(**out))) == NULL)
		return GW_ENOMEM;
	for (i = 0; i < *n; i++) {
		(*out)[2 * i] = r->req->headers[i].name;
		(*out)[2 * i + 1] = r->req->headers[i].value;
	}
	return GW_OK;
}

/* A pool key part: the first 16 hex of sha256(s). */
static void
fingerprint(const char *s, size_t n, char out[17])
{
	char hex[65];

	util_sha256_hex(s, n, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

/*
 * The Codex backend's Responses WebSocket (1.14.7 streams over it when
 * useResponsesApiWebSocket is on): the HTTP headers h without accept,
 * content-type and our HTTP OpenAI-Beta, with CODEX_WS_BETA unless the
 * client sent one; the body as a response.create frame; the reference's
 * pool key (URL, model, credentials, headers).  GW_ENOTFOUND: use HTTP.
 */
static GW_MUST_CHECK enum gw_err
codex_ws(struct rctx *r, const struct codex_creds *c, const char *url,
    const char *body, const struct strlist *http, struct tr_stream *tr,
    struct tr_sink *sink, struct relay_result *res)
{
	struct strlist h = STRLIST_INIT;
	struct buf key = BUF_INIT, all = BUF_INIT;
	const char *const *l;
	cJSON *payload = NULL;
	char *frame = NULL, afp[17], hfp[17];
	int beta = 0;
	enum gw_err e = GW_OK;

	if (!r->stream || !r->w->cfg->use_responses_ws)
		return GW_ENOTFOUND;
	for (l = strlist_view(http); e == GW_OK && l != NULL && *l != NULL; l++) {
		if (strncasecmp(*l, "accept:", 7) == 0 ||
		    strncasecmp(*l, "content-type:", 13) == 0 ||
		    strcmp(*l, CODEX_HTTP_BETA) == 0)
			continue;
		beta |= strncasecmp(*l, "openai-beta:", 12) == 0;
		if ((e = strlist_add(&h, *l)) == GW_OK && strstr(*l, "trace") == NULL)
			e = buf_printf(&all, "%s\n", *l);
	}
	if (e == GW_OK && !beta)
		e = strlist_add(&h, CODEX_WS_BETA);
	if (e == GW_OK && ((payload = json_parse(body, strlen(body), NULL,
	    NULL)) == NULL || !cJSON_IsObject(payload)))
		e = GW_EINTERNAL;       /* codex_body printed it */
	if (e == GW_OK)
		e = tr_responses_ws_frame(payload, NULL, &frame);
	if (e == GW_OK) {
		fingerprint(buf_cstr(&all), all.len, hfp);
		buf_reset(&all);
		e = buf_printf(&all, "%s:%s", c->access_token, c->account_id);
	}
	if (e == GW_OK) {
		fingerprint(buf_cstr(&all), all.len, afp);
		e = buf_printf(&key, "codex|%s|%s|%s|%s", url,
		    json_str(payload, "model") != NULL ? json_str(payload, "model") :
		    "", afp, hfp);
	}
	if (e == GW_OK)
		e = app_ws_relay(r->w, url, &h, key.data, frame, tr, sink, res);
	cJSON_Delete(payload);
	cJSON_free(frame);
	buf_free(&key);
	buf_free(&all);
	strlist_free(&h);
	return e;
}

/* What codex_attempt sends: a Responses call, or one of the backend
 * routes relayed as they came (codex_proxy). */
enum codex_kind {
	CODEX_RESPONSES,
	CODEX_IMAGES_JSON,              /* /codex/images/generations */
	CODEX_IMAGES_UPLOAD,            /* /codex/images/edits */
	CODEX_ALPHA_SEARCH,             /* /codex/alpha/search */
};

/*
 * One attempt with the credentials c: a Responses call relayed through tr,
 * or another kind (tr: a passthrough, so that an SSE answer goes to the
 * client event by event and anything else comes back collected in res).
 */
static GW_MUST_CHECK enum gw_err
codex_attempt(struct rctx *r, const struct codex_creds *c, const char *url,
    const char *body, size_t len, enum codex_kind kind, struct tr_stream *tr,
    struct relay_result *res, struct buf *err)
{
	int images = kind == CODEX_IMAGES_JSON || kind == CODEX_IMAGES_UPLOAD;
	struct strlist h = STRLIST_INIT;
	struct relay_opts ro;
	struct up_request ur;
	struct tr_sink sink;
	const char **pairs = NULL;
	const char *session = rc_header(r, "x-session-affinity");
	size_t n;
	enum gw_err e;

	if (session == NULL)
		session = rc_header(r, "x-session-id");
	if ((e = client_pairs(r, &pairs, &n)) != GW_OK ||
	    (e = kind != CODEX_RESPONSES ? codex_images_headers(c, pairs, n,
	    session, kind != CODEX_IMAGES_UPLOAD, &h, err) :
	    codex_headers(c, pairs, n, session, &h, err)) != GW_OK)
		goto out;
	http_sse_sink(r->c, &sink);
	if (kind == CODEX_RESPONSES &&
	    (e = codex_ws(r, c, url, body, &h, tr, &sink, res)) != GW_ENOTFOUND)
		goto out;
	app_up_request(r->w, &ur, &ro);
	ro.untyped_is_sse = kind == CODEX_RESPONSES;
	ur.method = "POST";
	ur.url = url;
	ur.headers = strlist_view(&h);
	ur.body = body;
	ur.body_len = len;
	/* an image takes minutes and the backend says nothing meanwhile: the
	 * reference waits 15 */
	if (images)
		ur.stall_timeout_s = 15 * 60;
	e = relay_run(r->w->client, &ur, &ro, tr, &sink, res);
out:
	free(pairs);
	strlist_free(&h);
	return e;
}

/* The credentials' environment for r; *lock (its lock file's path) is the
 * caller's to free. */
static GW_MUST_CHECK enum gw_err
codex_env_for(struct rctx *r, struct codex_env *env, char **lock)
{
	enum gw_err e;

	memset(env, 0, sizeof(*env));
	env->db = r->w->db;
	env->client = r->w->client;
	env->auth_base = r->w->cfg->upstream_codex_auth_url;
	env->show_token = r->w->app->show_token;
	*lock = NULL;
	e = paths_join(r->w->app->home, "codex-token.lock", lock);
	env->lock_path = *lock;
	return e;
}

/*
 * After an attempt: 1 when it goes again with fresh credentials (its
 * first 401, nothing sent to the client yet); c's token is then *stale,
 * and c and res are emptied.
 */
static int
codex_retry(enum gw_err e, struct relay_result *res, struct codex_creds *c,
    char **stale)
{
	if (*stale != NULL || e != GW_OK || res->status != 401 ||
	    res->client_started)
		return 0;
	log_info("Codex answered 401: refreshing the credentials and retrying");
	*stale = c->access_token;
	c->access_token = NULL;
	codex_creds_free(c);
	relay_result_free(res);
	return 1;
}

/*
 * A provider stream whose first event was an `error` (1.14.7, 141f86f):
 * no stream but an HTTP error in the client's dialect with the event's
 * status_code (else 502: the upstream's fault), its message and the
 * Retry-After of its headers; one that ended before any event (a352e47),
 * a 502 "Empty stream from <provider> responses".  1 when answered so.
 */
static int
held_error_answer(struct rctx *r, const struct flow *f,
    const struct relay_result *res)
{
	const cJSON *ev = tr_responses_first_error(f->held);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(ev, "status_code");
	const char *msg = json_str(ev, "message"), *after;
	const char *extra[3] = { NULL, NULL, NULL };
	char empty[160];
	int status = 502;

	if (res->client_started)
		return 0;
	/* a 2xx stream that ended before its first event (1.14.7, a352e47):
	 * cleanly, or with the connection's failure */
	if (ev == NULL && res->status / 100 == 2 &&
	    tr_responses_stream_empty(f->held)) {
		if (res->resp.error == NULL)     /* the upstream ended it */
			snprintf(empty, sizeof(empty), "Empty stream from %.100s "
			    "responses", r->provider != NULL ? r->provider : "the "
			    "provider's");
		else
			snprintf(empty, sizeof(empty), "%.100s responses: %.40s",
			    r->provider != NULL ? r->provider : "the provider's",
			    res->message);
		rc_fail_reply(r, 502, NULL, empty, NULL, empty);
		return 1;
	}
	if (ev == NULL)
		return 0;
	if (cJSON_IsNumber(sc) && sc->valuedouble >= 400 && sc->valuedouble < 600)
		status = (int)sc->valuedouble;
	if (msg == NULL)
		msg = json_str(json_obj(ev, "error"), "message");
	if (msg == NULL)
		msg = "the upstream stream began with an error";
	after = json_str(json_obj(ev, "headers"), "retry-after");
	if (after != NULL && !util_unsafe_header_value(after)) {
		extra[0] = "Retry-After";
		extra[1] = after;
	}
	rc_fail_reply(r, status, NULL, msg, extra, msg);
	return 1;
}

/*
 * A client that asked for JSON: the collected stream's response object
 * answered as the backend's JSON would have been (through the flow's
 * translation); an error event, or a stream without a response, fails.
 */
static void
codex_json_answer(struct rctx *r, struct flow *f, const struct tr_stream *col,
    struct relay_result *res)
{
	const char *resp = tr_codex_collected(col);
	const char *err = tr_codex_collect_error(col);

	if (err != NULL) {
		rc_fail_reply(r, 502, "api_error", err, NULL, err);
		return;
	}
	if (resp == NULL) {
		rc_fail(r, GW_EUPSTREAM, "the Codex stream ended without a "
		    "completed response");
		return;
	}
	buf_reset(&res->resp.body);
	free(res->resp.content_type);
	if (buf_puts(&res->resp.body, resp) != GW_OK ||
	    (res->resp.content_type = strdup("application/json")) == NULL) {
		rc_fail(r, GW_ENOMEM, NULL);
		return;
	}
	rc_relay_to_client(r, GW_OK, res, NULL, NULL, f->xlate, f->xlate_arg);
}

/*
 * The codex provider's call (the reference's forwardCodexResponses, HTTP
 * transport): fresh credentials, the backend URL and headers, the body
 * rewritten, the stream normalised (and collected for a JSON client); a
 * 401 refreshes the credentials once and retries once.
 */
static void
codex_call(struct rctx *r, const struct cfg_provider *p, struct flow *f)
{
	struct codex_env env;
	struct codex_creds c;
	struct relay_result res;
	struct buf url = BUF_INIT, err = BUF_INIT;
	struct tr_stream *col = NULL, *tr = NULL;
	char *lock = NULL, *body = NULL, *stale = NULL;
	enum gw_err e;

	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	if (r->stream || f->ws != NULL) {
		e = f->tr != NULL ? tr_codex_stream_new(f->tr, &f->tr) : GW_EINTERNAL;
		tr = f->tr;
	} else if ((e = tr_codex_collect_new(&col)) == GW_OK &&
	    (e = tr_codex_stream_new(col, &tr)) != GW_OK)
		col = NULL;                      /* freed by the failed wrap */
	/* from here tr owns col */
	if (e != GW_OK || (e = codex_env_for(r, &env, &lock)) != GW_OK ||
	    (e = codex_responses_url(p->base_url, &url)) != GW_OK ||
	    (e = codex_body(f->body, &body)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	for (;;) {
		if ((e = codex_token(&env, stale, &c, &err)) == GW_EAUTH) {
			rc_fail_reply(r, 401, "authentication_error", err.data, NULL,
			    err.data);
			goto out;
		} else if (e != GW_OK) {
			rc_fail(r, e, e == GW_ENOTFOUND ? "not signed in to Codex: "
			    "run `copilot-api auth login --provider codex`" :
			    err.data);
			goto out;
		}
		log_debug("provider codex: POST %s (%s)", url.data,
		    r->stream ? "stream" : "stream collected for JSON");
		e = codex_attempt(r, &c, url.data, body, strlen(body),
		    CODEX_RESPONSES, tr, &res, &err);
		if (!codex_retry(e, &res, &c, &stale))
			break;
	}
	if (e == GW_OK && res.status == 401 && !res.client_started) {
		buf_reset(&err);
		GW_IGNORE(buf_printf(&err, "the Codex backend refused the "
		    "credentials (HTTP 401: %.*s); sign in again: run "
		    "`copilot-api auth login --provider codex`",
		    (int)(res.resp.body.len < 300 ? res.resp.body.len : 300),
		    buf_cstr(&res.resp.body)));
		rc_fail_reply(r, 401, "authentication_error", err.data, NULL,
		    err.data);
		goto out;
	}
	if (f->ws != NULL)
		flow_websearch_answer(r, f, e, &res, err.len > 0 ? err.data :
		    NULL);
	else if (!r->stream && e == GW_OK && res.status / 100 == 2 &&
	    (tr_codex_collected(col) != NULL || tr_codex_collect_error(col) !=
	    NULL || res.resp.body.len == 0))
		codex_json_answer(r, f, col, &res);
	else if (!held_error_answer(r, f, &res))
		rc_relay_to_client(r, e, &res, r->stream ? tr : NULL,
		    err.len > 0 ? err.data : NULL, f->xlate, f->xlate_arg);
out:
	if (!r->stream && f->ws == NULL)
		tr_stream_free(tr != NULL ? tr : col);
	relay_result_free(&res);
	codex_creds_free(&c);
	cJSON_free(body);
	free(stale);
	free(lock);
	buf_free(&url);
	buf_free(&err);
}

/* One provider call through the relay (f: the body, the stream, the JSON
 * answer's translation), answered to the client; adjust: the anthropic
 * type's adjustInputTokens on a JSON answer. */
static void
provider_call(struct rctx *r, const struct cfg_provider *p,
    const char *method, const char *path, struct flow *f, int adjust)
{
	const char *body = f->body;
	struct strlist h = STRLIST_INIT;
	struct prov_inbound in;
	struct relay_result res;
	struct relay_opts ro;
	struct up_request ur;
	struct tr_sink sink;
	struct buf url = BUF_INIT, err = BUF_INIT;
	struct tr_stream *tr = r->stream || f->ws != NULL ? f->tr : NULL;
	enum gw_err e;

	memset(&res, 0, sizeof(res));
	if (is_codex(p)) {
		codex_call(r, p, f);
		return;
	}
	inbound(r, &in);
	if ((e = prov_headers(p, &in, &h, &err)) != GW_OK ||
	    (e = prov_url(p, path, &url)) != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	app_up_request(r->w, &ur, &ro);
	ur.method = method;
	ur.url = url.data;
	ur.headers = strlist_view(&h);
	ur.body = body;
	ur.body_len = body != NULL ? strlen(body) : 0;
	http_sse_sink(r->c, &sink);
	log_debug("provider %s: %s %s (%s)", p->name, method, url.data,
	    tr != NULL ? "stream" : "json");
	e = relay_run(r->w->client, &ur, &ro, tr, tr != NULL ? &sink : NULL, &res);
	if (f->ws != NULL)
		flow_websearch_answer(r, f, e, &res, NULL);
	else if (e == GW_OK && !res.client_started && res.status / 100 == 2 &&
	    adjust)
		send_adjusted(r, &res);
	else if (!held_error_answer(r, f, &res))
		rc_relay_to_client(r, e, &res, tr, NULL, f->xlate, f->xlate_arg);
out:
	relay_result_free(&res);
	strlist_free(&h);
	buf_free(&url);
	buf_free(&err);
}

/* ---- POST /:provider/v1/messages --------------------------------------- */

/* The anthropic type: the body relayed, its stream through the adjusting
 * relay. */
static GW_MUST_CHECK enum gw_err
anthropic_flow(const struct cfg_provider *p, cJSON *body, const cJSON *mopts,
    struct flow *f)
{
	enum gw_err e;

	if ((e = prov_anthropic_payload(body, mopts)) != GW_OK)
		return e;
	if ((f->body = json_print(body)) == NULL)
		return GW_ENOMEM;
	return tr_provider_anthropic_new(p->adjust_input_tokens, &f->tr);
}

static GW_MUST_CHECK enum gw_err
chat_flow(struct rctx *r, const struct cfg_provider *p, const cJSON *body,
    const cJSON *mopts, struct flow *f, struct buf *err)
{
	cJSON *chat = NULL;
	enum gw_err e;

	if ((e = prov_chat_payload(body, mopts, prov_is_dashscope(p->name,
	    p->base_url), &chat, err)) != GW_OK)
		return e;
	e = flow_chat(r, chat, f);
	cJSON_Delete(chat);
	return e;
}

static GW_MUST_CHECK enum gw_err
responses_flow(struct rctx *r, cJSON *body, struct flow *f, struct buf *err)
{
	cJSON *payload = NULL;
	char *session = NULL;
	enum gw_err e;

	if ((e = pp_parse_user_id(json_str(json_obj(body, "metadata"), "user_id"),
	    NULL, &session)) != GW_OK)
		return e;
	f->cache_key = rc_cache_key(r, session);
	e = flow_responses(r, body, f, &payload, err);
	f->cache_key = NULL;         /* it may point into session */
	cJSON_Delete(payload);
	free(session);
	return e;
}

static void
provider_messages(struct rctx *r, const char *name, cJSON *body)
{
	const struct cfg_provider *p;
	struct cfg_provider eff;
	struct buf err = BUF_INIT;
	struct flow f;
	const cJSON *mopts;
	cJSON *payload = NULL;
	char model[128];
	const char *path;
	enum tr_ws_kind ws;
	enum gw_err e;

	memset(&f, 0, sizeof(f));
	r->endpoint = "provider_messages";
	snprintf(model, sizeof(model), "%s", json_str(body, "model") != NULL ?
	    json_str(body, "model") : "");
	snprintf(r->model, sizeof(r->model), "%s", model);
	/* the model's own type picks the flow (1.14.7) */
	if ((p = resolve(r, name, CFG_PROVIDER_ANTHROPIC, NULL, model, &eff)) ==
	    NULL)
		goto out;
	r->provider = p->name;
	if ((e = pp_validate(body, &err)) != GW_OK ||
	    (e = pp_normalize_system(body)) != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	r->stream = json_bool(body, "stream", 0);
	row_session(r, body);
	if (!rc_approval(r, body))
		goto out;
	mopts = prov_model_options(p, model);
	if ((e = prov_apply_model_defaults(body, mopts)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	f.model_id = model;
	f.provider = p->name;
	/* Web search (1.14.7): emulated on a Responses provider when it is
	 * the only tool, dropped beside other tools and on Chat providers,
	 * relayed as is to an Anthropic one. */
	ws = tr_ws_classify(body);
	if (ws == TR_WS_MIXED || (ws != TR_WS_NONE &&
	    p->type == CFG_PROVIDER_OPENAI_COMPATIBLE))
		tr_ws_strip(body);
	switch (p->type) {
	case CFG_PROVIDER_ANTHROPIC:
		path = "/v1/messages";
		e = anthropic_flow(p, body, mopts, &f);
		break;
	case CFG_PROVIDER_OPENAI_COMPATIBLE:
		path = "/v1/chat/completions";
		e = chat_flow(r, p, body, mopts, &f, &err);
		break;
	default:
		path = "/v1/responses";
		if (ws == TR_WS_ONLY) {
			e = flow_websearch(r, body, model, NULL, &f, &payload,
			    &err);
			cJSON_Delete(payload);
		} else
			e = responses_flow(r, body, &f, &err);
		break;
	}
	if (e != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	provider_call(r, p, "POST", path, &f,
	    p->type == CFG_PROVIDER_ANTHROPIC && p->adjust_input_tokens);
out:
	flow_free(&f);
	buf_free(&err);
}

void
route_provider_messages(struct rctx *r)
{
	cJSON *body;

	r->endpoint = "provider_messages";
	if ((body = rc_body_json(r)) == NULL)
		return;
	provider_messages(r, r->param, body);
	cJSON_Delete(body);
}

void
route_provider_alias_messages(struct rctx *r, const char *provider,
    cJSON *body)
{
	provider_messages(r, provider, body);
}

/* ---- count_tokens ------------------------------------------------------- */

static void
provider_count(struct rctx *r, const char *name, cJSON *body)
{
	const struct cfg_provider *p;
	struct buf err = BUF_INIT;
	cJSON *doc = NULL;
	long n = 0;
	enum gw_err e;

	if ((p = resolve_any(r, name)) == NULL)
		goto out;
	if ((e = pp_validate(body, &err)) != GW_OK ||
	    (e = pp_normalize_system(body)) != GW_OK) {
		rc_reject(r, gw_http_status(e), err.len > 0 ? err.data :
		    gw_strerror(e));
		goto out;
	}
	if ((e = prov_count_tokens(body, p->type == CFG_PROVIDER_ANTHROPIC ?
	    NULL : prov_model_options(p, json_str(body, "model")), &n, &err))
	    != GW_OK) {
		/* No fake count: a counting failure is an error. */
		rc_reject(r, e == GW_EINVAL && err.len > 0 ? 400 : 500,
		    err.len > 0 ? err.data : e == GW_EIO ? "the tokenizer tables "
		    "could not be loaded (see the server log)" : "tokenizer failed");
		goto out;
	}
	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(doc, "input_tokens", (double)n) == NULL) {
		rc_reject(r, 500, gw_strerror(GW_ENOMEM));
		goto out;
	}
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send_json(r->c, 200, doc));
out:
	cJSON_Delete(doc);
	buf_free(&err);
}

void
route_provider_count_tokens(struct rctx *r)
{
	cJSON *body;

	if ((body = rc_body_json(r)) == NULL)
		return;
	provider_count(r, r->param, body);
	cJSON_Delete(body);
}

/* "prov/model": the body's model becomes "model", *provider is set
 * (malloc'd).  0 when the model is no alias. */
static int
take_alias(struct rctx *r, cJSON *body, char **provider)
{
	char *model = NULL;
	enum gw_err e;

	*provider = NULL;
	e = pp_provider_alias(json_str(body, "model"), provider, &model);
	if (e == GW_OK && *provider != NULL)
		e = json_set(body, "model", cJSON_CreateString(model));
	free(model);
	if (e != GW_OK) {
		free(*provider);
		*provider = NULL;
		rc_fail(r, e, NULL);
		return 1;
	}
	return *provider != NULL;
}

/* A handler of one provider's request: the body's model is the
 * provider's own name for it. */
typedef void (*provider_fn)(struct rctx *r, const char *provider,
    cJSON *body);

/* 0 when the body's model is no alias; else the request is answered,
 * by fn with the alias stripped. */
static int
by_alias(struct rctx *r, cJSON *body, provider_fn fn)
{
	char *provider;

	if (!take_alias(r, body, &provider))
		return 0;
	if (provider != NULL)
		fn(r, provider, body);
	free(provider);
	return 1;
}

static GW_MUST_CHECK enum gw_err codex_model_find(const char *id, cJSON **out);

int
route_provider_alias_count_tokens(struct rctx *r, cJSON *body)
{
	return by_alias(r, body, provider_count);
}

/* ---- /v1/responses with provider/model, POST /:provider/v1/responses --- */

/*
 * The start of a body relayed to a provider as it is: the row's endpoint
 * (row) and model, the provider of type resolved for the client's path
 * (as it serves the body's model: maybe *tmp), the stream flag, the row's session, manual approval.  NULL after
 * answering.
 */
static const struct cfg_provider *
relay_start(struct rctx *r, const char *provider, const cJSON *body,
    const char *row, enum cfg_provider_type type, const char *path,
    struct cfg_provider *tmp)
{
	const struct cfg_provider *p;
	const char *model = json_str(body, "model");

	r->endpoint = row;
	snprintf(r->model, sizeof(r->model), "%s", model != NULL ? model : "");
	if ((p = resolve(r, provider, type, path, model, tmp)) == NULL)
		return NULL;
	r->provider = p->name;
	r->stream = json_bool(body, "stream", 0);
	row_session(r, body);
	return rc_approval(r, body) ? p : NULL;
}

/* The Responses body relayed to an openai-responses provider (codex
 * included); 400 for a provider of another type. */
static void
provider_responses(struct rctx *r, const char *provider, cJSON *body)
{
	const struct cfg *cfg = r->w->cfg;
	const struct cfg_provider *p;
	struct cfg_provider eff;
	struct tr_resp_compact c;
	struct flow f;
	cJSON *entry = NULL;
	const char *model = json_str(body, "model");
	enum gw_err e;

	memset(&f, 0, sizeof(f));
	if ((p = relay_start(r, provider, body, "responses",
	    CFG_PROVIDER_OPENAI_RESPONSES, "/v1/responses", &eff)) == NULL)
		goto out;
	c.enabled = cfg_context_mgmt(cfg, 1, model);
	c.threshold = cfg_compact_threshold(cfg, model);
	c.ratio = TR_RESP_COMPACT_RATIO_RESPONSES;
	/* the codex catalogue's max_prompt_tokens, as 1.14.7 */
	if ((is_codex(p) && (e = codex_model_find(model, &entry)) != GW_OK) ||
	    (e = tr_responses_context_management(body, entry, &c)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if ((f.body = json_print(body)) == NULL || (r->stream &&
	    (tr_responses_passthrough_new(&f.tr) != GW_OK ||
	    tr_responses_first_error_new(f.tr, &f.tr) != GW_OK))) {
		f.tr = NULL;                     /* freed by the failed wrap */
		rc_fail(r, GW_ENOMEM, NULL);
		goto out;
	}
	f.held = f.tr;
	provider_call(r, p, "POST", "/v1/responses", &f, 0);
out:
	cJSON_Delete(entry);
	flow_free(&f);
}

int
route_provider_alias_responses(struct rctx *r, cJSON *body)
{
	return by_alias(r, body, provider_responses);
}

void
route_provider_responses(struct rctx *r)
{
	cJSON *body;
	const char *model;

	r->endpoint = "responses";
	if ((body = rc_body_json(r)) == NULL)
		return;
	if ((model = json_str(body, "model")) == NULL || *model == '\0')
		rc_reject(r, 400, "\"model\" is required and must be a string");
	else
		provider_responses(r, r->param, body);
	cJSON_Delete(body);
}

/* ---- /v1/chat/completions with provider/model ---------------------------- */

/* An OpenAI Chat Completions body relayed to an openai-compatible
 * provider; 400 for a provider of another type. */
static void
provider_chat(struct rctx *r, const char *provider, cJSON *body)
{
	const struct cfg_provider *p;
	struct cfg_provider eff;
	struct flow f;
	const char *model = json_str(body, "model");
	enum gw_err e;

	memset(&f, 0, sizeof(f));
	if ((p = relay_start(r, provider, body, "chat_completions",
	    CFG_PROVIDER_OPENAI_COMPATIBLE, "/v1/chat/completions", &eff)) ==
	    NULL)
		goto out;
	if ((e = prov_chat_passthrough(body, prov_model_options(p, model),
	    prov_is_dashscope(p->name, p->base_url))) == GW_OK && (f.body = json_print(body)) == NULL)
		e = GW_ENOMEM;
	if (e == GW_OK && r->stream)
		e = tr_passthrough_new(GW_DIALECT_OPENAI, &f.tr);
	if (e != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	provider_call(r, p, "POST", "/v1/chat/completions", &f, 0);
out:
	flow_free(&f);
}

int
route_provider_alias_chat(struct rctx *r, cJSON *body)
{
	return by_alias(r, body, provider_chat);
}

/* ---- GET /:provider/v1/models, the provider part of GET /v1/models ----- */

/* The reference's fixed Codex model list (src/services/codex/get-models.ts
 * of 1.14.7). */
static const struct codex_model {
	const char *id, *name;
	long context, output;
	int vision;
} codex_models[] = {
	{ "gpt-5.3-codex-spark", "GPT-5.3 Codex Spark", 100000, 32000, 0 },
	{ "gpt-5.4", "GPT-5.4", 400000, 128000, 1 },
	{ "gpt-5.4-mini", "GPT-5.4 mini", 400000, 128000, 1 },
	{ "gpt-5.5", "GPT-5.5", 272000, 128000, 1 },
	{ "gpt-5.6-sol", "GPT-5.6 Sol", 372000, 128000, 1 },
	{ "gpt-5.6-terra", "GPT-5.6 Terra", 372000, 128000, 1 },
	{ "gpt-5.6-luna", "GPT-5.6 Luna", 372000, 128000, 1 },
};

static GW_MUST_CHECK enum gw_err
codex_model_json(const struct codex_model *m, cJSON **out)
{
	struct buf b = BUF_INIT;
	enum gw_err e;

	*out = NULL;
	e = buf_printf(&b, "{\"capabilities\":{\"family\":\"gpt\",\"limits\":"
	    "{\"max_context_window_tokens\":%ld,\"max_output_tokens\":%ld,"
	    "\"max_prompt_tokens\":%ld},\"object\":\"model_capabilities\","
	    "\"supports\":{\"adaptive_thinking\":true,\"parallel_tool_calls\":"
	    "true,\"reasoning_effort\":[\"minimal\",\"low\",\"medium\",\"high\","
	    "\"xhigh\"],\"streaming\":true,\"tool_calls\":true,\"vision\":%s},"
	    "\"tokenizer\":\"o200k_base\",\"type\":\"chat\"},\"id\":\"%s\","
	    "\"model_picker_enabled\":true,\"name\":\"%s\",\"object\":\"model\","
	    "\"preview\":false,\"supported_endpoints\":[\"/v1/messages\","
	    "\"/v1/responses\"],\"vendor\":\"openai\",\"version\":"
	    "\"chatgpt-codex\"}", m->context, m->output, m->context,
	    m->vision ? "true" : "false", m->id, m->name);
	if (e == GW_OK && (*out = json_parse(b.data, b.len, NULL, NULL)) == NULL)
		e = GW_ENOMEM;
	buf_free(&b);
	return e;
}

/* The catalogue entry of model id, or *out NULL when it lists none. */
static enum gw_err
codex_model_find(const char *id, cJSON **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; id != NULL && i < sizeof(codex_models) /
	    sizeof(codex_models[0]); i++)
		if (strcmp(codex_models[i].id, id) == 0)
			return codex_model_json(&codex_models[i], out);
	return GW_OK;
}

/* The Codex list's entries as an array. */
static GW_MUST_CHECK enum gw_err
codex_models_data(cJSON **out)
{
	cJSON *data = cJSON_CreateArray(), *m;
	enum gw_err e = data != NULL ? GW_OK : GW_ENOMEM;
	size_t i;

	for (i = 0; e == GW_OK && i < sizeof(codex_models) /
	    sizeof(codex_models[0]); i++)
		if ((e = codex_model_json(&codex_models[i], &m)) == GW_OK)
			e = json_push(data, m);
	if (e != GW_OK) {
		cJSON_Delete(data);
		data = NULL;
	}
	*out = data;
	return e;
}

/* {"object":"list","data":[…],"has_more":false}, as the reference. */
static void
codex_models_reply(struct rctx *r)
{
	cJSON *doc = cJSON_CreateObject(), *data = NULL;
	enum gw_err e = doc != NULL ? GW_OK : GW_ENOMEM;

	if (e == GW_OK)
		e = json_add_str(doc, "object", "list");
	if (e == GW_OK && (e = codex_models_data(&data)) == GW_OK)
		e = json_add(doc, "data", data);   /* takes data either way */
	if (e == GW_OK)
		e = json_add(doc, "has_more", cJSON_CreateFalse());
	if (e != GW_OK)
		rc_reject(r, 500, gw_strerror(e));
	else
		/* The answer is decided: a failed write means the client left. */
		GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
}

/* GET url with the headers h: the upstream's answer in *resp; a transport
 * failure is logged, its reason in *resp. */
static GW_MUST_CHECK enum gw_err
get_upstream(struct rctx *r, const char *url, struct strlist *h,
    struct up_response *resp)
{
	struct up_request ur;
	enum gw_err e;

	app_up_request(r->w, &ur, NULL);
	ur.method = "GET";
	ur.url = url;
	ur.headers = strlist_view(h);
	log_debug("GET %s", url);
	if ((e = up_perform(r->w->client, &ur, resp)) != GW_OK)
		log_warn("GET %s: %s", url, up_error_message(resp));
	return e;
}

/* The upstream's status, content type and body to the client; its other
 * headers (the hop-by-hop ones among them) stay behind. */
static void
send_upstream(struct rctx *r, const struct up_response *resp)
{
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send(r->c, (int)resp->status, resp->content_type != NULL ?
	    resp->content_type : "application/json", buf_cstr(&resp->body),
	    resp->body.len, NULL));
}

/* GET {baseUrl}/v1/models with the provider's key: the upstream's answer
 * in *resp.  A request that cannot be made is an error with the reason in
 * err; a transport failure one with err empty and the reason in *resp. */
static GW_MUST_CHECK enum gw_err
fetch_models(struct rctx *r, const struct cfg_provider *p,
    struct up_response *resp, struct buf *err)
{
	struct strlist h = STRLIST_INIT;
	struct prov_inbound in;
	struct buf url = BUF_INIT;
	enum gw_err e;

	inbound(r, &in);
	if ((e = prov_headers(p, &in, &h, err)) == GW_OK &&
	    (e = prov_url(p, "/v1/models", &url)) == GW_OK)
		e = get_upstream(r, url.data, &h, resp);
	else if (err->len == 0)
		GW_IGNORE(buf_puts(err, gw_strerror(e)));  /* best effort */
	strlist_free(&h);
	buf_free(&url);
	return e;
}

/* The provider's answer relayed (send_upstream). */
void
route_provider_models(struct rctx *r)
{
	const struct cfg_provider *p;
	struct up_response resp;
	struct buf err = BUF_INIT;
	enum gw_err e;

	memset(&resp, 0, sizeof(resp));
	if ((p = resolve_any(r, r->param)) == NULL)
		goto out;
	if (is_codex(p)) {
		codex_models_reply(r);
		goto out;
	}
	if ((e = fetch_models(r, p, &resp, &err)) != GW_OK) {
		if (err.len > 0)
			rc_reject(r, gw_http_status(e), err.data);
		else
			rc_reject(r, rc_upstream_status(e),
			    up_error_message(&resp));
		goto out;
	}
	send_upstream(r, &resp);
out:
	up_response_free(&resp);
	buf_free(&err);
}

/*
 * GET /v1/models from a Codex client (a user-agent starting "codex", as
 * 1.14.7): the Codex backend's own list ({base}/codex/models with the
 * client's query), relayed as it answers.  0 for another client.
 */
int
route_provider_codex_models(struct rctx *r)
{
	const char *ua = rc_header(r, "user-agent");
	const char *session = rc_header(r, "x-session-affinity");
	const struct cfg_provider *p = cfg_provider_find(r->w->cfg, "codex");
	struct strlist h = STRLIST_INIT;
	struct codex_env env;
	struct codex_creds c;
	struct up_response resp;
	struct buf url = BUF_INIT, err = BUF_INIT;
	const char **pairs = NULL;
	char *lock = NULL;
	size_t n;
	enum gw_err e;

	while (ua != NULL && (*ua == ' ' || *ua == '\t'))
		ua++;
	if (ua == NULL || strncasecmp(ua, "codex", 5) != 0 ||
	    (p != NULL && !is_codex(p)))
		return 0;
	memset(&c, 0, sizeof(c));
	memset(&resp, 0, sizeof(resp));
	if ((p = resolve_any(r, "codex")) == NULL)
		goto out;
	if ((e = codex_env_for(r, &env, &lock)) != GW_OK ||
	    (e = codex_token(&env, NULL, &c, &err)) != GW_OK) {
		rc_reject_with(r, e == GW_EAUTH ? 401 : gw_http_status(e),
		    e == GW_EAUTH ? "authentication_error" : NULL, err.len > 0 ?
		    err.data : gw_strerror(e), NULL);
		goto out;
	}
	if ((e = codex_models_url(p->base_url, &url)) != GW_OK ||
	    (r->req->query[0] != '\0' &&
	    (e = buf_printf(&url, "?%s", r->req->query)) != GW_OK) ||
	    (e = client_pairs(r, &pairs, &n)) != GW_OK ||
	    (e = codex_models_headers(&c, pairs, n, session != NULL ? session :
	    rc_header(r, "x-session-id"), &h, &err)) != GW_OK) {
		rc_reject(r, gw_http_status(e), err.len > 0 ? err.data :
		    gw_strerror(e));
		goto out;
	}
	if ((e = get_upstream(r, url.data, &h, &resp)) != GW_OK)
		rc_reject(r, rc_upstream_status(e), up_error_message(&resp));
	else
		send_upstream(r, &resp);
out:
	up_response_free(&resp);
	codex_creds_free(&c);
	strlist_free(&h);
	free(pairs);
	free(lock);
	buf_free(&url);
	buf_free(&err);
	return 1;
}

/* A string field whose value is not blank, else NULL. */
static const char *
nonblank(const cJSON *m, const char *key)
{
	const char *v = json_str(m, key), *c;

	for (c = v; c != NULL && *c != '\0'; c++)
		if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
			return v;
	return NULL;
}

static const char *
either(const char *a, const char *b)
{
	return a != NULL ? a : b;
}

/*
 * One entry of a provider's list as 1.14.7 shows it (normalizeProviderModel):
 * every field kept, id "provider/id", and object, type, created,
 * created_at, owned_by, display_name filled in where missing.  *out is
 * NULL for an entry without an id.
 */
static GW_MUST_CHECK enum gw_err
provider_model_entry(const char *provider, const cJSON *m, cJSON **out)
{
	const char *raw = nonblank(m, "id");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(m, "created");
	struct buf id = BUF_INIT;
	cJSON *item = NULL;
	enum gw_err e;

	*out = NULL;
	if (!cJSON_IsObject(m) || raw == NULL)
		return GW_OK;
	if ((e = buf_printf(&id, "%s/%s", provider, raw)) != GW_OK)
		return e;
	if ((item = cJSON_Duplicate(m, 1)) == NULL)
		e = GW_ENOMEM;
	if (e == GW_OK)
		e = json_set(item, "id", cJSON_CreateString(id.data));
	if (e == GW_OK)
		e = json_set(item, "object", cJSON_CreateString(either(
		    nonblank(m, "object"), "model")));
	if (e == GW_OK)
		e = json_set(item, "type", cJSON_CreateString(either(
		    nonblank(m, "type"), "model")));
	if (e == GW_OK)
		e = json_set(item, "created", cJSON_CreateNumber(
		    cJSON_IsNumber(created) ? created->valuedouble : 0));
	if (e == GW_OK)
		e = json_set(item, "created_at", cJSON_CreateString(either(
		    nonblank(m, "created_at"), "1970-01-01T00:00:00.000Z")));
	if (e == GW_OK)
		e = json_set(item, "owned_by", cJSON_CreateString(either(
		    nonblank(m, "owned_by"), either(nonblank(m, "vendor"),
		    provider))));
	if (e == GW_OK)
		e = json_set(item, "display_name", cJSON_CreateString(either(
		    nonblank(m, "display_name"), either(nonblank(m, "name"),
		    raw))));
	buf_free(&id);
	if (e != GW_OK) {
		cJSON_Delete(item);
		return e;
	}
	*out = item;
	return GW_OK;
}

/* The models of one provider (its /v1/models data, or the Codex list),
 * NULL when it has none to show: a failure is logged and skipped, as the
 * reference does. */
static cJSON *
provider_models_of(struct rctx *r, const struct cfg_provider *p)
{
	struct up_response resp;
	struct buf err = BUF_INIT;
	cJSON *doc = NULL, *data = NULL;

	memset(&resp, 0, sizeof(resp));
	if (is_codex(p)) {
		if (codex_signed_in(r) && codex_models_data(&data) != GW_OK)
			data = NULL;
		return data;
	}
	if (fetch_models(r, p, &resp, &err) != GW_OK)
		log_warn("GET /v1/models: provider %s skipped: %s", p->name,
		    err.len > 0 ? err.data : up_error_message(&resp));
	else if (resp.status / 100 != 2)
		log_warn("GET /v1/models: provider %s skipped: HTTP %ld",
		    p->name, resp.status);
	else if ((doc = json_parse(resp.body.data, resp.body.len, NULL,
	    NULL)) == NULL || !cJSON_IsArray(json_arr(doc, "data")))
		log_warn("GET /v1/models: provider %s skipped: its answer has "
		    "no \"data\" list", p->name);
	else
		data = cJSON_DetachItemFromObjectCaseSensitive(doc, "data");
	cJSON_Delete(doc);
	up_response_free(&resp);
	buf_free(&err);
	return data;
}

enum gw_err
route_provider_models_append(struct rctx *r, cJSON *data)
{
	const struct cfg *cfg = r->w->cfg;
	const struct cfg_provider *p;
	cJSON *list, *m, *item;
	enum gw_err e = GW_OK;
	size_t i;

	for (i = 0; e == GW_OK && i < cfg->n_providers; i++) {
		p = &cfg->providers[i];
		if (!p->enabled || (list = provider_models_of(r, p)) == NULL)
			continue;
		cJSON_ArrayForEach(m, list) {
			if ((e = provider_model_entry(p->name, m, &item)) != GW_OK)
				break;
			if (item != NULL && (e = json_push(data, item)) != GW_OK)
				break;
		}
		cJSON_Delete(list);
	}
	return e;
}

/* ---- the Codex backend's other routes (1.14.7) ---------------------------- */

/*
 * POST /v1/images/generations and /v1/images/edits (1.14.7, c2a6d22) and
 * POST /v1/alpha/search (a23edf6): the body (JSON, or the multipart upload
 * of an edit) and the query go as they came to the Codex backend's
 * /codex/images/<op> or /codex/alpha/search, with the codex sign-in
 * (refreshed when due, and once more after a 401, as codex_call); the
 * answer comes back as it is (status, content type, body), an SSE answer
 * (a generation or edit with "stream": true) event by event as the
 * backend sends it, as the reference's proxy does.  No usage row: the
 * reference records none for these, and they carry no Copilot tokens.
 */
static void
codex_proxy(struct rctx *r, enum codex_kind kind, const char *op)
{
	const struct cfg_provider *p = resolve_any(r, "codex");
	struct codex_env env;
	struct codex_creds c;
	struct relay_result res;
	struct tr_stream *tr = NULL;
	struct buf url = BUF_INIT, err = BUF_INIT;
	char *lock = NULL, *stale = NULL;
	enum gw_err e;

	memset(&c, 0, sizeof(c));
	memset(&res, 0, sizeof(res));
	if (p == NULL)
		return;                          /* answered: 404 */
	if (!is_codex(p)) {
		rc_reject_with(r, 404, "invalid_request_error", "Provider 'codex' "
		    "is not the built-in Codex provider (authType oauth2)", NULL);
		return;
	}
	r->provider = "codex";
	if (!rc_approval(r, NULL))
		return;
	if ((e = codex_env_for(r, &env, &lock)) != GW_OK ||
	    (e = kind == CODEX_ALPHA_SEARCH ? codex_alpha_search_url(p->base_url,
	    r->req->query, &url) : codex_images_url(p->base_url, op,
	    r->req->query, &url)) != GW_OK ||
	    (e = tr_passthrough_new(GW_DIALECT_OPENAI, &tr)) != GW_OK) {
		rc_reject_with(r, gw_http_status(e), NULL, gw_strerror(e), NULL);
		goto out;
	}
	for (;;) {
		if ((e = codex_token(&env, stale, &c, &err)) != GW_OK) {
			rc_reject_with(r, e == GW_EAUTH ? 401 : gw_http_status(e),
			    e == GW_EAUTH ? "authentication_error" : NULL,
			    err.len > 0 ? err.data : gw_strerror(e), NULL);
			goto out;
		}
		log_debug("provider codex: POST %s", url.data);
		e = codex_attempt(r, &c, url.data, r->req->body.data != NULL ?
		    r->req->body.data : "", r->req->body.len, kind, tr, &res, &err);
		if (!codex_retry(e, &res, &c, &stale))
			break;
	}
	if (res.client_started)
		;                            /* streamed, ended by the relay */
	else if (e == GW_EINVAL)             /* a header with a line break */
		rc_reject_with(r, 400, "invalid_request_error", err.data, NULL);
	else if (e != GW_OK)
		rc_reject_with(r, rc_upstream_status(e), NULL, res.message != NULL ?
		    res.message : gw_strerror(e), NULL);
	else
		/* the answer is decided: a failed write means the client left */
		GW_IGNORE(http_send(r->c, (int)res.status,
		    res.resp.content_type != NULL ? res.resp.content_type :
		    "application/json", buf_cstr(&res.resp.body),
		    res.resp.body.len, NULL));
out:
	tr_stream_free(tr);
	relay_result_free(&res);
	codex_creds_free(&c);
	free(stale);
	free(lock);
	buf_free(&url);
	buf_free(&err);
}

void
route_images_generations(struct rctx *r)
{
	codex_proxy(r, CODEX_IMAGES_JSON, "generations");
}

void
route_images_edits(struct rctx *r)
{
	codex_proxy(r, CODEX_IMAGES_UPLOAD, "edits");
}

void
route_alpha_search(struct rctx *r)
{
	codex_proxy(r, CODEX_ALPHA_SEARCH, NULL);
}

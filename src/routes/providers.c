/*
 * Third-party providers (spec surface.md §7, translation.md §11):
 * POST /:provider/v1/messages, POST /:provider/v1/messages/count_tokens,
 * GET /:provider/v1/models, and the provider/model aliases of
 * /v1/messages, /v1/messages/count_tokens and /v1/responses.
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
 * The enabled provider called name, or NULL after answering: 404 (status
 * 400 and the /v1/responses wording when responses_only).  The built-in
 * codex provider counts only once `auth login --provider codex` stored
 * its credentials, as the reference's resolveProviderConfig.
 */
static const struct cfg_provider *
resolve(struct rctx *r, const char *name, int responses_only)
{
	const struct cfg_provider *p = cfg_provider_find(r->w->cfg, name);
	struct buf msg = BUF_INIT;
	int status = responses_only ? 400 : 404;
	int signed_out = p != NULL && is_codex(p) && !codex_signed_in(r);

	if (p != NULL && !signed_out &&
	    (!responses_only || p->type == CFG_PROVIDER_OPENAI_RESPONSES))
		return p;
	/* best effort: the status is the answer whatever the message says
	 * (without one, its reason phrase). */
	if (responses_only && !signed_out)
		GW_IGNORE(buf_printf(&msg, "Provider '%s' does not support the "
		    "/v1/responses endpoint", name));
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
 * temperature, top_p, max_output_tokens, metadata; and always a stream
 * (the backend refuses anything else: "Stream must be set to true"). */
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
	if ((e = json_set(v, "store", cJSON_CreateFalse())) == GW_OK &&
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

/* One attempt with the credentials c. */
static GW_MUST_CHECK enum gw_err
codex_attempt(struct rctx *r, const struct codex_creds *c, const char *url,
    const char *body, struct tr_stream *tr, struct relay_result *res,
    struct buf *err)
{
	struct strlist h = STRLIST_INIT;
	struct relay_opts ro;
	struct up_request ur;
	struct tr_sink sink;
	const char **pairs = NULL;
	const char *session = rc_header(r, "x-session-affinity");
	size_t n;
	enum gw_err e;

	if ((e = client_pairs(r, &pairs, &n)) != GW_OK ||
	    (e = codex_headers(c, pairs, n, session != NULL ? session :
	    rc_header(r, "x-session-id"), &h, err)) != GW_OK)
		goto out;
	http_sse_sink(r->c, &sink);
	if ((e = codex_ws(r, c, url, body, &h, tr, &sink, res)) != GW_ENOTFOUND)
		goto out;
	app_up_request(r->w, &ur, &ro);
	ro.untyped_is_sse = 1;
	ur.method = "POST";
	ur.url = url;
	ur.headers = strlist_view(&h);
	ur.body = body;
	ur.body_len = strlen(body);
	e = relay_run(r->w->client, &ur, &ro, tr, &sink, res);
out:
	free(pairs);
	strlist_free(&h);
	return e;
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
	memset(&env, 0, sizeof(env));
	env.db = r->w->db;
	env.client = r->w->client;
	env.auth_base = r->w->cfg->upstream_codex_auth_url;
	if (r->stream) {
		e = f->tr != NULL ? tr_codex_stream_new(f->tr, &f->tr) : GW_EINTERNAL;
		tr = f->tr;
	} else if ((e = tr_codex_collect_new(&col)) == GW_OK &&
	    (e = tr_codex_stream_new(col, &tr)) != GW_OK)
		col = NULL;                      /* freed by the failed wrap */
	/* from here tr owns col */
	if (e != GW_OK ||
	    (e = paths_join(r->w->app->home, "codex-token.lock", &lock)) != GW_OK ||
	    (e = codex_responses_url(p->base_url, &url)) != GW_OK ||
	    (e = codex_body(f->body, &body)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	env.lock_path = lock;
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
		e = codex_attempt(r, &c, url.data, body, tr, &res, &err);
		if (stale != NULL || e != GW_OK || res.status != 401 ||
		    res.client_started)
			break;
		log_info("Codex answered 401: refreshing the credentials and "
		    "retrying");
		stale = c.access_token;
		c.access_token = NULL;
		codex_creds_free(&c);
		relay_result_free(&res);
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
	if (!r->stream && e == GW_OK && res.status / 100 == 2 &&
	    (tr_codex_collected(col) != NULL || tr_codex_collect_error(col) !=
	    NULL || res.resp.body.len == 0))
		codex_json_answer(r, f, col, &res);
	else
		rc_relay_to_client(r, e, &res, r->stream ? tr : NULL,
		    err.len > 0 ? err.data : NULL, f->xlate, f->xlate_arg);
out:
	if (!r->stream)
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
	struct tr_stream *tr = r->stream ? f->tr : NULL;
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
	if (e == GW_OK && !res.client_started && res.status / 100 == 2 &&
	    adjust)
		send_adjusted(r, &res);
	else
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
chat_flow(struct rctx *r, const cJSON *body, const cJSON *mopts,
    struct flow *f, struct buf *err)
{
	cJSON *chat = NULL;
	enum gw_err e;

	if ((e = prov_chat_payload(body, mopts, &chat, err)) != GW_OK)
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
	struct buf err = BUF_INIT;
	struct flow f;
	const cJSON *mopts;
	char model[128];
	const char *path;
	enum gw_err e;

	memset(&f, 0, sizeof(f));
	r->endpoint = "provider_messages";
	snprintf(model, sizeof(model), "%s", json_str(body, "model") != NULL ?
	    json_str(body, "model") : "");
	snprintf(r->model, sizeof(r->model), "%s", model);
	if ((p = resolve(r, name, 0)) == NULL)
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
	switch (p->type) {
	case CFG_PROVIDER_ANTHROPIC:
		path = "/v1/messages";
		e = anthropic_flow(p, body, mopts, &f);
		break;
	case CFG_PROVIDER_OPENAI_COMPATIBLE:
		path = "/v1/chat/completions";
		e = chat_flow(r, body, mopts, &f, &err);
		break;
	default:
		path = "/v1/responses";
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

	if ((p = resolve(r, name, 0)) == NULL)
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

int
route_provider_alias_count_tokens(struct rctx *r, cJSON *body)
{
	char *provider;

	if (!take_alias(r, body, &provider))
		return 0;
	if (provider != NULL)
		provider_count(r, provider, body);
	free(provider);
	return 1;
}

/* ---- /v1/responses with provider/model ----------------------------------- */

int
route_provider_alias_responses(struct rctx *r, cJSON *body)
{
	const struct cfg *cfg = r->w->cfg;
	const struct cfg_provider *p;
	struct flow f;
	char *provider;
	const char *model;
	enum gw_err e;

	if (!take_alias(r, body, &provider))
		return 0;
	memset(&f, 0, sizeof(f));
	model = json_str(body, "model");
	r->endpoint = "responses";
	snprintf(r->model, sizeof(r->model), "%s", model != NULL ? model : "");
	if (provider == NULL || (p = resolve(r, provider, 1)) == NULL)
		goto out;
	r->provider = p->name;
	r->stream = json_bool(body, "stream", 0);
	row_session(r, body);
	if (!rc_approval(r, body))
		goto out;
	if (cfg_is_context_mgmt_model(cfg, model) &&
	    cJSON_GetObjectItemCaseSensitive(body, "context_management") == NULL &&
	    (e = tr_responses_context_management(body, NULL)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if ((f.body = json_print(body)) == NULL ||
	    (r->stream && tr_responses_passthrough_new(&f.tr) != GW_OK)) {
		rc_fail(r, GW_ENOMEM, NULL);
		goto out;
	}
	provider_call(r, p, "POST", "/v1/responses", &f, 0);
out:
	flow_free(&f);
	free(provider);
	return 1;
}

/* ---- GET /:provider/v1/models -------------------------------------------- */

/* The reference's fixed Codex model list (src/services/codex/get-models.ts). */
static const struct codex_model {
	const char *id, *name;
	long context, output;
	int vision;
} codex_models[] = {
	{ "gpt-5.3-codex-spark", "GPT-5.3 Codex Spark", 272000, 128000, 0 },
	{ "gpt-5.4", "GPT-5.4", 1000000, 128000, 1 },
	{ "gpt-5.4-mini", "GPT-5.4 mini", 1000000, 128000, 1 },
	{ "gpt-5.5", "GPT-5.5", 272000, 128000, 1 },
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

/* {"object":"list","data":[…],"has_more":false}, as the reference. */
static void
codex_models_reply(struct rctx *r)
{
	cJSON *doc = cJSON_CreateObject(), *data = cJSON_CreateArray(), *m;
	enum gw_err e = doc != NULL && data != NULL ? GW_OK : GW_ENOMEM;
	size_t i;

	if (e == GW_OK)
		e = json_add_str(doc, "object", "list");
	for (i = 0; e == GW_OK && i < sizeof(codex_models) /
	    sizeof(codex_models[0]); i++)
		if ((e = codex_model_json(&codex_models[i], &m)) == GW_OK)
			e = json_push(data, m);
	if (e == GW_OK) {
		e = json_add(doc, "data", data);   /* takes data either way */
		data = NULL;
	}
	if (e == GW_OK)
		e = json_add(doc, "has_more", cJSON_CreateFalse());
	if (e != GW_OK)
		rc_reject(r, 500, gw_strerror(e));
	else
		/* The answer is decided: a failed write means the client left. */
		GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(data);
	cJSON_Delete(doc);
}

/* The upstream's status, content type and body; its other headers (the
 * hop-by-hop ones among them) stay behind. */
void
route_provider_models(struct rctx *r)
{
	const struct cfg_provider *p;
	struct strlist h = STRLIST_INIT;
	struct prov_inbound in;
	struct up_request ur;
	struct up_response resp;
	struct buf url = BUF_INIT, err = BUF_INIT;
	enum gw_err e;

	memset(&resp, 0, sizeof(resp));
	if ((p = resolve(r, r->param, 0)) == NULL)
		goto out;
	if (is_codex(p)) {
		codex_models_reply(r);
		goto out;
	}
	inbound(r, &in);
	if ((e = prov_headers(p, &in, &h, &err)) != GW_OK ||
	    (e = prov_url(p, "/v1/models", &url)) != GW_OK) {
		rc_reject(r, gw_http_status(e), err.len > 0 ? err.data :
		    gw_strerror(e));
		goto out;
	}
	app_up_request(r->w, &ur, NULL);
	ur.method = "GET";
	ur.url = url.data;
	ur.headers = strlist_view(&h);
	if ((e = up_perform(r->w->client, &ur, &resp)) != GW_OK) {
		log_warn("provider %s: GET /v1/models: %s", p->name,
		    up_error_message(&resp));
		rc_reject(r, rc_upstream_status(e), up_error_message(&resp));
		goto out;
	}
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send(r->c, (int)resp.status, resp.content_type != NULL ?
	    resp.content_type : "application/json", buf_cstr(&resp.body),
	    resp.body.len, NULL));
out:
	up_response_free(&resp);
	strlist_free(&h);
	buf_free(&url);
	buf_free(&err);
}

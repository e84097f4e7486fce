/*
 * POST /v1/messages: Anthropic clients (Claude Code, the Anthropic SDK) on
 * Copilot.  The pipeline of spec/translation.md §1: preprocessing, model
 * resolution, then one of three flows -- native Messages, Responses, or
 * Chat Completions -- all through the one relay; a web-search-only
 * request runs as the emulated search instead (reference 1.13.2+).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/copilot_call.h"
#include "app/models.h"
#include "app/pool.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strlist.h"
#include "core/util.h"
#include "routes/flows.h"
#include "routes/approval.h"
#include "routes/messages.h"
#include "routes/providers.h"
#include "routes/ratelimit.h"
#include "state/config.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/anthropic_websearch.h"
#include "translate/model_id.h"
#include "translate/native_messages.h"
#include "translate/preprocess.h"
#include "translate/responses.h"
#include "translate/tool_search.h"
#include "tokenize/count.h"
#include "upstream/client.h"
#include "upstream/relay.h"

enum msg_flow { FLOW_NATIVE, FLOW_RESPONSES, FLOW_CHAT };

struct msg {
	struct rctx *r;
	cJSON *body;               /* the Anthropic payload, preprocessed */
	const cJSON *models;       /* the worker's Copilot list (borrowed) */
	const cJSON *model;        /* its entry for this request, or NULL */
	struct pp_result pp;
	struct copilot_req rq;
	struct flow f;             /* the upstream body, stream and xlate */
	struct flow_ws ws;         /* the Responses WebSocket, when it applies */
	char model_id[128];
	char random_id[37];
	char session[37];          /* pp.session_id, else getUUID(request id) */
	char *ws_client_model;     /* set: a web search run on Copilot */
};

static enum msg_flow
pick_flow(const struct msg *m)
{
	const struct cfg *cfg = m->r->w->cfg;

	if (m->model == NULL)
		return FLOW_CHAT;  /* unknown models go to chat, name unchanged */
	if (cfg->use_messages_api && models_supports(m->model, "/v1/messages"))
		return FLOW_NATIVE;
	/* ws:/responses alone is a Responses model too (its transport:
	 * flow_ws_prepare) */
	if (models_supports(m->model, "/responses") ||
	    (models_supports(m->model, "ws:/responses") &&
	    cfg->use_responses_ws && m->pp.compact != PP_COMPACT_REQUEST))
		return FLOW_RESPONSES;
	return FLOW_CHAT;
}

/* Headers shared by the three flows (spec/translation.md §8). */
static void
common_call(struct msg *m, const char *base_initiator)
{
	struct copilot_call *c = &m->rq.call;

	c->request_id = m->pp.request_id;
	c->interaction_id = m->session[0] != '\0' ? m->session : NULL;
	c->initiator = pp_final_initiator(base_initiator, &m->pp);
	c->json_body = 1;
	c->accept = m->r->stream ? "text/event-stream" : "application/json";
	if (m->pp.subagent.agent_id != NULL)
		c->interaction_type = "conversation-subagent";
	if (m->pp.compact == PP_COMPACT_REQUEST) {
		c->interaction_type = "conversation-compaction";
		c->intent = "conversation-agent";
	}
}

static GW_MUST_CHECK enum gw_err
native_flow(struct msg *m, struct buf *err)
{
	struct nm_opts o = { m->model, cfg_reasoning_effort(m->r->w->cfg,
	    m->model_id), m->r->w->app->ident.opencode };
	struct nm_result nr;
	enum gw_err e;

	memset(&nr, 0, sizeof(nr));
	if ((e = nm_prepare(m->body, rc_header(m->r, "anthropic-beta"), &o,
	    &nr, err)) != GW_OK)
		return e;
	common_call(m, m->pp.initiator);
	m->rq.call.vision = m->pp.has_images;
	m->rq.call.anthropic_beta = nr.anthropic_beta;   /* now ours to free */
	nr.anthropic_beta = NULL;
	if (nr.messages_proxy) {
		/* Claude Code's own identity: Copilot bills it as such. */
		if ((e = util_uuid4(m->random_id)) != GW_OK)
			goto out;
		m->rq.call.request_id = m->random_id;
		m->rq.call.interaction_type = "messages-proxy";
		m->rq.call.intent = "messages-proxy";
		m->rq.call.user_agent = NM_PROXY_USER_AGENT;
		m->rq.call.no_integration_id = 1;
	}
	m->rq.path = "/v1/messages";
	if ((m->f.body = json_print(m->body)) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	if (m->r->stream)
		e = tr_passthrough_new(GW_DIALECT_ANTHROPIC, &m->f.tr);
out:
	nm_result_free(&nr);
	return e;
}

static GW_MUST_CHECK enum gw_err
responses_flow(struct msg *m, struct buf *err)
{
	cJSON *payload = NULL;
	enum gw_err e;

	m->f.cache_key = rc_cache_key(m->r, m->pp.raw_session_id);
	m->f.subagent_id = m->pp.subagent.agent_id;
	if ((e = flow_responses(m->r, m->body, &m->f, &payload, err)) == GW_OK) {
		common_call(m, tr_responses_agent_initiated(payload) ? "agent" :
		    "user");
		m->rq.call.vision = tr_responses_has_image(payload);
		m->rq.path = "/responses";
		e = flow_ws_prepare(m->r, m->model,
		    m->pp.compact == PP_COMPACT_REQUEST, payload, &m->rq.call,
		    m->pp.subagent.session_id, m->pp.subagent.agent_id,
		    m->pp.subagent.agent_type, &m->ws);
		m->rq.ws_frame = m->ws.frame;
		m->rq.ws_key = m->ws.key;
	}
	cJSON_Delete(payload);
	return e;
}

static GW_MUST_CHECK enum gw_err
chat_flow(struct msg *m, struct buf *err)
{
	struct tr_chat_opts o = { m->model, 1, TR_TOOL_ARRAY | TR_TOOL_IMAGE, 0 };
	cJSON *payload = NULL;
	enum gw_err e;

	if ((e = tr_anthropic_to_chat(m->body, &o, &payload, err)) != GW_OK)
		return e;
	if (m->r->stream) {
		/* The usage-only last chunk is what fills message_delta.usage. */
		cJSON *so = cJSON_CreateObject();

		cJSON_AddTrueToObject(so, "include_usage");
		if ((e = json_set(payload, "stream_options", so)) != GW_OK) {
			cJSON_Delete(payload);
			return e;
		}
	}
	common_call(m, copilot_chat_initiator(payload));
	m->rq.call.vision = copilot_chat_has_images(payload);
	m->rq.path = "/chat/completions";
	e = flow_chat(m->r, payload, &m->f);
	cJSON_Delete(payload);
	return e;
}

/*
 * "<id>[1m]" for a listed model whose window is under 1M tokens: a 400
 * that says why, and its usage row (the refusal depends on the model
 * list).  The reference sends such an id upstream unchanged.  Returns 1
 * when it answered.
 */
static int
refuse_1m(struct rctx *r, const cJSON *models, const char *id)
{
	const cJSON *base = tr_model_1m_base(models, id);
	const char *name = json_str(base, "id");
	long window = tr_model_context_window(base);
	struct buf msg = BUF_INIT;

	if (base == NULL || name == NULL)
		return 0;
	snprintf(r->model, sizeof(r->model), "%s", id);
	/* best effort: without the text the 400 says its reason phrase */
	if (window > 0)
		GW_IGNORE(buf_printf(&msg, "The model \"%s\" asks for a 1M-token "
		    "context window, but %s has a context window of %ld tokens "
		    "on Copilot; use \"%s\"", id, name, window, name));
	else
		GW_IGNORE(buf_printf(&msg, "The model \"%s\" asks for a 1M-token "
		    "context window, but Copilot lists none for %s; use \"%s\"",
		    id, name, name));
	rc_fail_reply(r, 400, "invalid_request_error", buf_cstr(&msg), NULL,
	    "no 1M-token context window for this model");
	buf_free(&msg);
	return 1;
}

/*
 * 1.14.7's tryHandleWebSearch, before the model mapping and the provider
 * alias: a request whose only tools are web_search server tools is the
 * search model's (messageApiWebSearchModel): "provider/model" goes to that
 * provider (the alias is left for pp_messages), a Copilot model runs the
 * search below when useResponsesApiWebSearch is on (m->ws_client_model
 * := the model the client named, mapped).  Otherwise the server tools
 * are dropped and the request goes on.  *mapping is cleared when the
 * model was replaced.
 */
static GW_MUST_CHECK enum gw_err
web_search_route(struct msg *m, const char **mapping)
{
	const struct cfg *cfg = m->r->w->cfg;
	const char *search = cfg->web_search_model;
	const char *model = json_str(m->body, "model");
	char *prov = NULL, *pmodel = NULL;
	enum tr_ws_kind kind = tr_ws_classify(m->body);
	enum gw_err e;
	int alias;

	if (kind == TR_WS_NONE)
		return GW_OK;
	if (kind == TR_WS_MIXED || search == NULL || model == NULL) {
		tr_ws_strip(m->body);
		return GW_OK;
	}
	if ((e = pp_provider_alias(search, &prov, &pmodel)) != GW_OK)
		return e;
	alias = prov != NULL;
	free(prov);
	free(pmodel);
	if (!alias && !cfg->use_responses_web_search) {
		tr_ws_strip(m->body);
		return GW_OK;
	}
	if (!alias && (m->ws_client_model = strdup(*mapping != NULL &&
	    **mapping != '\0' ? *mapping : model)) == NULL)
		return GW_ENOMEM;
	*mapping = NULL;
	log_debug("web search request switched to %s", search);
	return json_set(m->body, "model", cJSON_CreateString(search));
}

/*
 * The web search on Copilot: the Responses request with the hosted
 * web_search tool, always streamed upstream and collected, rebuilt as
 * Anthropic's server_tool_use / web_search_tool_result blocks.  The row
 * is the search model's on "responses", as the reference records it.
 */
static void
websearch_flow(struct msg *m)
{
	struct rctx *r = m->r;
	struct relay_result res;
	struct tr_sink sink;
	struct buf err = BUF_INIT;
	cJSON *payload = NULL;
	enum gw_err e;

	memset(&res, 0, sizeof(res));
	r->stream = json_bool(m->body, "stream", 0);
	if (!rc_rate_limit(r) || !rc_approval(r, m->body))
		goto out;
	if (models_get(r->w, 0, &m->models, NULL, &err) != GW_OK) {
		log_warn("model list unavailable: %s", buf_cstr(&err));
		buf_reset(&err);
	}
	snprintf(m->model_id, sizeof(m->model_id), "%s",
	    json_str(m->body, "model"));
	snprintf(r->model, sizeof(r->model), "%s", m->model_id);
	r->endpoint = "responses";
	m->f.model = tr_model_resolve(m->models, m->model_id);
	m->f.model_id = m->model_id;
	if ((e = flow_websearch(r, m->body, m->ws_client_model,
	    m->pp.request_id, &m->f, &payload, &err)) != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	m->rq.method = "POST";
	m->rq.path = "/responses";
	m->rq.body = m->f.body;
	m->rq.body_len = strlen(m->f.body);
	m->rq.stream = 1;
	m->rq.call.request_id = m->pp.request_id;
	m->rq.call.interaction_id = m->pp.session_id;
	m->rq.call.initiator = tr_responses_agent_initiated(payload) ? "agent" :
	    "user";
	m->rq.call.vision = tr_responses_has_image(payload);
	m->rq.call.json_body = 1;
	m->rq.call.accept = "text/event-stream";
	m->rq.model = r->model;
	m->rq.session = r->session_id;
	log_debug("messages %s: web search via %s (%s)", m->ws_client_model,
	    m->model_id, r->stream ? "stream" : "json");
	http_sse_sink(r->c, &sink);
	e = pool_copilot_call(r->w, &m->rq, m->f.tr, &sink, &res, &err);
	flow_websearch_answer(r, &m->f, e, &res, err.data);
out:
	relay_result_free(&res);
	cJSON_Delete(payload);
	buf_free(&err);
}

void
route_messages(struct rctx *r)
{
	const struct cfg *cfg = r->w->cfg;
	struct pp_opts po;
	struct buf err = BUF_INIT;
	struct msg m;
	const char *model;
	enum gw_err e;

	memset(&m, 0, sizeof(m));
	m.r = r;
	r->endpoint = "messages";
	if ((m.body = rc_body_json(r)) == NULL)
		goto out;
	model = json_str(m.body, "model");
	memset(&po, 0, sizeof(po));
	po.model_mapping = model != NULL ? cfg_model_mapping(cfg, model) : NULL;
	if ((e = web_search_route(&m, &po.model_mapping)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	po.small_model = cfg->small_model;
	po.anthropic_beta_present = rc_header(r, "anthropic-beta") != NULL;
	po.x_session_id = rc_header(r, "x-session-id");
	po.machine_id = r->w->app->ident.machine_id;
	po.token_based_billing = app_token_based_billing(r->w);
	if ((e = pp_messages(m.body, &po, &m.pp, &err)) != GW_OK) {
		if (e == GW_EINVAL)     /* the request itself: a reject */
			rc_reject(r, 400, err.data);
		else
			rc_fail(r, e, err.data);
		goto out;
	}
	/* no session of the client's: getUUID(request id) (1.14.7, 01625fc) */
	if (m.pp.session_id != NULL)
		snprintf(m.session, sizeof(m.session), "%s", m.pp.session_id);
	else if (m.pp.request_id != NULL)
		util_uuid_from_string(m.pp.request_id, strlen(m.pp.request_id),
		    m.session);
	rc_row_session(r, m.pp.raw_session_id ? m.pp.raw_session_id :
	    m.session);
	if (m.ws_client_model != NULL) {
		websearch_flow(&m);
		goto out;
	}
	if (m.pp.provider != NULL) {
		route_provider_alias_messages(r, m.pp.provider, m.body);
		goto out;
	}
	r->stream = json_bool(m.body, "stream", 0);
	if (!rc_rate_limit(r) || !rc_approval(r, m.body))
		goto out;
	if (models_get(r->w, 0, &m.models, NULL, &err) != GW_OK) {
		log_warn("model list unavailable: %s", buf_cstr(&err));
		buf_reset(&err);
	}
	model = json_str(m.body, "model");
	if ((m.model = tr_model_resolve(m.models, model)) != NULL)
		model = json_str(m.model, "id");
	else if (refuse_1m(r, m.models, model))
		goto out;
	snprintf(m.model_id, sizeof(m.model_id), "%s", model ? model : "");
	if ((e = json_set(m.body, "model",
	    cJSON_CreateString(m.model_id))) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	snprintf(r->model, sizeof(r->model), "%s", m.model_id);
	m.rq.method = "POST";
	m.rq.stream = r->stream;
	m.f.model = m.model;
	m.f.model_id = m.model_id;
	/* the row names the Copilot endpoint that served it, as the
	 * reference does */
	switch (pick_flow(&m)) {
	case FLOW_NATIVE:
		e = native_flow(&m, &err);
		break;
	case FLOW_RESPONSES:
		r->endpoint = "responses";
		e = responses_flow(&m, &err);
		break;
	default:
		r->endpoint = "chat_completions";
		e = chat_flow(&m, &err);
		break;
	}
	if (e != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	m.rq.body = m.f.body;
	m.rq.body_len = strlen(m.f.body);
	log_debug("messages %s -> %s (%s)", m.model_id, m.rq.path,
	    r->stream ? "stream" : "json");
	/* the account sticks to a session of the client's, not to the one
	 * made up for this request alone */
	m.rq.model = r->model;
	m.rq.session = m.pp.session_id != NULL || r->session_given ?
	    r->session_id : NULL;
	rc_copilot_to_client(r, &m.rq, m.f.tr, m.f.xlate, m.f.xlate_arg);
out:
	flow_free(&m.f);
	free(m.ws_client_model);
	flow_ws_free(&m.ws);
	free((char *)m.rq.call.anthropic_beta);
	pp_result_free(&m.pp);
	cJSON_Delete(m.body);
	buf_free(&err);
}

/*
 * Anthropic's own count (exact for Claude models), when a key is set:
 * the model with dots as dashes.  Returns 1 and answers when it worked.
 */
static int
count_upstream(struct rctx *r, cJSON *body, const char *model)
{
	const struct cfg *cfg = r->w->cfg;
	const char *key = cfg_anthropic_api_key(cfg);
	struct strlist h = STRLIST_INIT;
	struct up_request rq;
	struct up_response resp;
	struct buf url = BUF_INIT;
	char *dashed = NULL, *s = NULL, *p;
	cJSON *copy = NULL;
	int done = 0;

	if (key == NULL || strncmp(model, "claude", 6) != 0)
		return 0;
	app_up_request(r->w, &rq, NULL);
	rq.stall_timeout_s = 30;    /* a count, not a generation */
	memset(&resp, 0, sizeof(resp));
	if ((dashed = strdup(model)) == NULL ||
	    (copy = cJSON_Duplicate(body, 1)) == NULL)
		goto out;
	for (p = dashed; *p != '\0'; p++)
		if (*p == '.')
			*p = '-';
	if (json_set(copy, "model", cJSON_CreateString(dashed)) != GW_OK ||
	    (s = json_print(copy)) == NULL ||
	    buf_printf(&url, "%s/v1/messages/count_tokens", cfg->anthropic_api_url) != GW_OK ||
	    strlist_addf(&h, "x-api-key: %s", key) != GW_OK ||
	    strlist_add(&h, "anthropic-version: 2023-06-01") != GW_OK ||
	    strlist_add(&h, "anthropic-beta: token-counting-2024-11-01") != GW_OK ||
	    strlist_add(&h, "content-type: application/json") != GW_OK)
		goto out;
	rq.method = "POST";
	rq.url = url.data;
	rq.headers = strlist_view(&h);
	rq.body = s;
	rq.body_len = strlen(s);
	if (up_perform(r->w->client, &rq, &resp) == GW_OK && resp.status / 100 == 2) {
		/* Answered: a failed write means the client left, and no
		 * second answer would reach it. */
		GW_IGNORE(http_send(r->c, 200, "application/json",
		    buf_cstr(&resp.body), resp.body.len, NULL));
		done = 1;
	} else
		log_warn("Anthropic count_tokens failed (%s); using the local estimate",
		    resp.status ? "HTTP error" : up_error_message(&resp));
out:
	cJSON_Delete(copy);
	up_response_free(&resp);
	strlist_free(&h);
	buf_free(&url);
	cJSON_free(s);
	free(dashed);
	return done;
}

void
route_count_tokens(struct rctx *r)
{
	const struct cfg *cfg = r->w->cfg;
	struct tr_chat_opts o = { NULL, 0, TR_TOOL_ARRAY | TR_TOOL_IMAGE, 0 };
	const char *model, *tokname, **names = NULL;
	struct buf err = BUF_INIT;
	cJSON *body, *chat = NULL, *t, *doc;
	const cJSON *models = NULL;
	const cJSON *entry;
	size_t ntools = 0;
	long n = 0;
	enum gw_err e;

	if ((body = rc_body_json(r)) == NULL)
		return;
	if ((e = pp_validate(body, &err)) != GW_OK) {
		rc_reject(r, 400, err.data);
		goto out;
	}
	if (!rc_map_model(r, body))
		goto out;
	model = json_str(body, "model");
	if ((e = pp_normalize_system(body)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if (route_provider_alias_count_tokens(r, body) ||
	    count_upstream(r, body, model))
		goto out;
	/* No model list: the model counts as unknown (o200k_base below). */
	GW_IGNORE(models_get(r->w, 0, &models, NULL, &err));
	buf_reset(&err);
	entry = tr_model_resolve(models, model);
	if (entry != NULL)
		model = json_str(entry, "id");
	else
		log_warn("count_tokens: unknown model %s: counting with o200k_base", model);
	tokname = json_str(json_obj(entry, "capabilities"), "tokenizer");
	o.model = entry;
	if ((e = tr_anthropic_to_chat(body, &o, &chat, &err)) != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	ntools = (size_t)cJSON_GetArraySize(json_arr(body, "tools"));
	if (ntools > 0 && (names = calloc(ntools, sizeof(*names))) != NULL) {
		size_t i = 0;

		cJSON_ArrayForEach(t, json_arr(body, "tools"))
			names[i++] = json_str(t, "name") ? json_str(t, "name") : "";
	}
	if ((e = tok_estimate(chat, model, tokname,
	    rc_header(r, "anthropic-beta") != NULL, names, names ? ntools : 0,
	    cfg->claude_token_multiplier, &n)) != GW_OK) {
		/* No fake count: a counting failure is an error (spec §10.4). */
		rc_reject(r, 500, e == GW_EIO ? "the tokenizer tables could not be "
		    "loaded (see the server log)" : "the request could not be counted");
		goto out;
	}
	doc = cJSON_CreateObject();
	cJSON_AddNumberToObject(doc, "input_tokens", (double)n);
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
out:
	free(names);
	cJSON_Delete(chat);
	cJSON_Delete(body);
	buf_free(&err);
}

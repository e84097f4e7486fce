/* The Responses and Chat Completions flows of an Anthropic request, and
 * the emulated web search's (routes/flows.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/models.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "routes/flows.h"
#include "state/config.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/anthropic_websearch.h"
#include "translate/provider.h"
#include "translate/responses.h"
#include "translate/tool_search.h"
#include "upstream/relay.h"

static GW_MUST_CHECK enum gw_err
xlate_responses(const cJSON *in, void *arg, cJSON **out, struct buf *err)
{
	return tr_responses_to_anthropic(in, arg, out, err);
}

static GW_MUST_CHECK enum gw_err
xlate_chat(const cJSON *in, void *arg, cJSON **out, struct buf *err)
{
	return tr_chat_to_anthropic(in, arg, out, err);
}

/* The Responses stream translator, named after the provider if any. */
static GW_MUST_CHECK enum gw_err
responses_stream(struct flow *f)
{
	struct tr_stream *inner = NULL;
	enum gw_err e;

	if ((e = tr_responses_stream_new(f->model_id, f->ro.tool_search_name,
	    &inner)) != GW_OK)
		return e;
	if (f->provider == NULL) {
		f->tr = inner;
		return GW_OK;
	}
	return tr_provider_named_new(inner, f->provider, &f->tr);
}

enum gw_err
flow_responses(struct rctx *r, const cJSON *body, struct flow *f,
    cJSON **payload, struct buf *err)
{
	const struct cfg *cfg = r->w->cfg;
	struct tr_resp_opts o;
	struct tr_resp_compact c;
	enum gw_err e;

	*payload = NULL;
	memset(&o, 0, sizeof(o));
	o.model = f->model;
	o.reasoning_effort = cfg_reasoning_effort(cfg, f->model_id);
	o.extra_prompt = cfg_extra_prompt(cfg, f->model_id);
	c.enabled = cfg_context_mgmt(cfg, 0, f->model_id);
	c.threshold = cfg_compact_threshold(cfg, f->model_id);
	c.ratio = TR_RESP_COMPACT_RATIO_MESSAGES;
	o.compact = &c;
	o.prompt_cache_key = f->cache_key;
	o.subagent_agent_id = f->subagent_id;
	if ((e = tr_anthropic_to_responses(body, &o, payload, err)) != GW_OK)
		return e;
	if (r->stream &&
	    (e = json_set(*payload, "stream", cJSON_CreateTrue())) != GW_OK)
		return e;
	f->ro.model = f->model_id;
	f->ro.tool_search_name = tr_ts_bridge_name(json_arr(body, "tools"));
	f->xlate = xlate_responses;
	f->xlate_arg = &f->ro;
	if ((f->body = json_print(*payload)) == NULL)
		return GW_ENOMEM;
	return r->stream ? responses_stream(f) : GW_OK;
}

enum gw_err
flow_chat(struct rctx *r, const cJSON *payload, struct flow *f)
{
	f->xlate = xlate_chat;
	f->xlate_arg = (void *)f->model_id;
	if ((f->body = json_print(payload)) == NULL)
		return GW_ENOMEM;
	return r->stream ? tr_chat_stream_new(f->model_id, &f->tr) : GW_OK;
}

enum gw_err
flow_websearch(struct rctx *r, const cJSON *body, const char *client_model,
    const char *request_id, struct flow *f, cJSON **payload, struct buf *err)
{
	const struct cfg *cfg = r->w->cfg;
	struct tr_resp_opts o;
	struct tr_ws_opts wo;
	char uuid[37], tool_id[48];
	enum gw_err e;

	*payload = NULL;
	memset(&o, 0, sizeof(o));
	o.model = f->model;
	o.reasoning_effort = cfg_reasoning_effort(cfg, f->model_id);
	o.extra_prompt = cfg_extra_prompt(cfg, f->model_id);
	if ((e = tr_ws_to_responses(body, &o, payload, err)) != GW_OK)
		return e;
	/* getUUID(requestId), as the reference names the tool use */
	if (request_id != NULL)
		util_uuid_from_string(request_id, strlen(request_id), uuid);
	else if ((e = util_uuid4(uuid)) != GW_OK)
		return e;
	snprintf(tool_id, sizeof(tool_id), "srvtoolu_%s", uuid);
	wo.model = client_model;
	wo.tool_use_id = tool_id;
	wo.fallback_id = uuid;
	if ((e = tr_ws_stream_new(&wo, r->stream, &f->tr)) != GW_OK)
		return e;
	f->ws = f->tr;
	return (f->body = json_print(*payload)) != NULL ? GW_OK : GW_ENOMEM;
}

/*
 * An upstream that answered the search with a JSON result although asked
 * to stream: the result read as the stream's end, and a streaming client
 * given its events here.  Returns 1 when it answered.
 */
static int
json_answer(struct rctx *r, const struct flow *f,
    const struct relay_result *res)
{
	cJSON *v = json_parse(res->resp.body.data, res->resp.body.len, NULL,
	    NULL);
	struct tr_sink sink;
	enum gw_err e;
	int done = 0;

	if (!cJSON_IsArray(json_arr(v, "output")))
		goto out;
	if ((e = tr_ws_take_result(f->ws, v)) != GW_OK) {
		rc_fail(r, e, NULL);
		done = 1;
	} else if (tr_ws_message(f->ws) != NULL && r->stream) {
		http_sse_sink(r->c, &sink);
		e = f->ws->ops->finish(f->ws, GW_OK, NULL, &sink);
		rc_record(r, e == GW_OK ? 200 : rc_upstream_status(e),
		    &f->ws->usage, e == GW_OK ? NULL : gw_strerror(e));
		done = 1;
	}
out:
	cJSON_Delete(v);
	return done;
}

void
flow_websearch_answer(struct rctx *r, const struct flow *f, enum gw_err e,
    const struct relay_result *res, const char *errmsg)
{
	const cJSON *msg;
	const char *why;
	struct buf b = BUF_INIT;

	if (e != GW_OK || res->client_started || res->status / 100 != 2) {
		rc_relay_to_client(r, e, res, f->tr, errmsg, NULL, NULL);
		return;
	}
	if (tr_ws_message(f->ws) == NULL && tr_ws_error(f->ws) == NULL &&
	    json_answer(r, f, res))
		return;
	msg = tr_ws_message(f->ws);
	why = tr_ws_error(f->ws);
	if (why == NULL && msg == NULL)
		why = "Web search responses stream ended without a terminal event";
	if (why != NULL) {
		/* best effort: without the prefix the message still says why */
		GW_IGNORE(buf_printf(&b, "web search via %s failed: %s",
		    r->model, why));
		log_warn("%s", buf_cstr(&b));
		rc_fail_reply(r, 502, "api_error", buf_cstr(&b), NULL,
		    buf_cstr(&b));
	} else {
		/* The answer is decided: a failed write means the client left. */
		GW_IGNORE(http_send_json(r->c, 200, msg));
		rc_record(r, 200, &f->ws->usage, NULL);
	}
	buf_free(&b);
}

void
flow_free(struct flow *f)
{
	if (f == NULL)
		return;
	tr_stream_free(f->tr);
	cJSON_free(f->body);
	f->tr = f->ws = NULL;
	f->body = NULL;
}

/* A pool key part: '|' and '%' escaped, so parts cannot run together. */
static GW_MUST_CHECK enum gw_err
key_part(struct buf *b, const char *s)
{
	enum gw_err e = GW_OK;

	if (b->len > 0)
		e = buf_putc(b, '|');
	for (; e == GW_OK && *s != '\0'; s++)
		e = *s == '|' || *s == '%' ? buf_printf(b, "%%%02X",
		    (unsigned char)*s) : buf_putc(b, *s);
	return e;
}

enum gw_err
flow_ws_prepare(struct rctx *r, const cJSON *model, int compact,
    const cJSON *payload, const struct copilot_call *call,
    const char *sub_session, const char *sub_agent, const char *sub_type,
    struct flow_ws *ws)
{
	struct buf key = BUF_INIT, sub = BUF_INIT;
	const char *id = json_str(payload, "model");
	enum gw_err e;

	memset(ws, 0, sizeof(*ws));
	if (!r->stream || compact || !r->w->cfg->use_responses_ws ||
	    model == NULL || !models_supports(model, "ws:/responses"))
		return GW_OK;
	if (sub_agent != NULL)
		e = buf_printf(&sub, "%s:%s:%s", sub_session != NULL ?
		    sub_session : "", sub_agent, sub_type != NULL ? sub_type : "");
	else
		e = buf_puts(&sub, "main");
	if (e == GW_OK)
		e = key_part(&key, id != NULL ? id : "");
	if (e == GW_OK)
		e = key_part(&key, call->request_id != NULL ?
		    call->request_id : "");
	if (e == GW_OK)
		e = key_part(&key, buf_cstr(&sub));
	if (e == GW_OK)
		e = tr_responses_ws_frame(payload, call->initiator != NULL &&
		    strcmp(call->initiator, "agent") == 0 ? "agent" : "user",
		    &ws->frame);
	if (e == GW_OK)
		ws->key = buf_detach(&key);
	buf_free(&key);
	buf_free(&sub);
	if (e != GW_OK)
		flow_ws_free(ws);
	return e;
}

void
flow_ws_free(struct flow_ws *ws)
{
	cJSON_free(ws->frame);
	free(ws->key);
	ws->frame = NULL;
	ws->key = NULL;
}

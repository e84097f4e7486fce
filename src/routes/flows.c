/* The Responses and Chat Completions flows of an Anthropic request
 * (routes/flows.h). */
#include <stdlib.h>
#include <string.h>

#include "app/models.h"
#include "core/json.h"
#include "routes/flows.h"
#include "state/config.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/provider.h"
#include "translate/responses.h"
#include "translate/tool_search.h"

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
	enum gw_err e;

	*payload = NULL;
	memset(&o, 0, sizeof(o));
	o.model = f->model;
	o.reasoning_effort = cfg_reasoning_effort(cfg, f->model_id);
	o.extra_prompt = cfg_extra_prompt(cfg, f->model_id);
	o.context_management = cfg_is_context_mgmt_model(cfg, f->model_id);
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

void
flow_free(struct flow *f)
{
	if (f == NULL)
		return;
	tr_stream_free(f->tr);
	cJSON_free(f->body);
	f->tr = NULL;
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

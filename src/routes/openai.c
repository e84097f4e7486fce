/* OpenAI-client routes relayed to Copilot: models, chat, embeddings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/models.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "routes/approval.h"
#include "routes/openai.h"
#include "routes/providers.h"
#include "routes/ratelimit.h"
#include "state/config.h"
#include "translate/model_id.h"

static void
set_model(struct rctx *r, const char *model)
{
	snprintf(r->model, sizeof(r->model), "%s", model != NULL ? model : "");
}

/*
 * One Copilot entry as 1.14.7 shows it (normalizeCopilotModel): every
 * field kept, the id a client recognises (tr_model_client_id), and
 * claude_model_id, the same id with "[1m]" for a window of 1M tokens or
 * more, which Claude Code reads to turn on its 1M-context path.
 */
static GW_MUST_CHECK enum gw_err
copilot_entry(const cJSON *m, cJSON **out)
{
	const char *raw = json_str(m, "id"), *vendor = json_str(m, "vendor");
	const char *name = json_str(m, "name");
	struct buf cmid = BUF_INIT;
	char id[512];
	cJSON *item;
	enum gw_err e;

	*out = NULL;
	if (raw == NULL)
		raw = "";
	if (strlen(raw) < sizeof(id))
		tr_model_client_id(raw, id, sizeof(id));
	else
		id[0] = '\0';
	if ((item = cJSON_Duplicate(m, 1)) == NULL)
		return GW_ENOMEM;
	e = buf_printf(&cmid, "%s%s", id[0] != '\0' ? id : raw,
	    tr_model_context_window(m) >= TR_MODEL_1M_TOKENS ? "[1m]" : "");
	if (e == GW_OK)
		e = json_set(item, "claude_model_id",
		    cJSON_CreateString(cmid.data));
	if (e == GW_OK)
		e = json_set(item, "id", cJSON_CreateString(id[0] != '\0' ? id :
		    raw));
	if (e == GW_OK)
		e = json_set(item, "object", cJSON_CreateString("model"));
	if (e == GW_OK)
		e = json_set(item, "type", cJSON_CreateString("model"));
	if (e == GW_OK)
		e = json_set(item, "created", cJSON_CreateNumber(0));
	if (e == GW_OK)
		e = json_set(item, "created_at",
		    cJSON_CreateString("1970-01-01T00:00:00.000Z"));
	if (e == GW_OK)
		e = json_set(item, "owned_by", cJSON_CreateString(vendor ?
		    vendor : ""));
	if (e == GW_OK)
		e = json_set(item, "display_name", cJSON_CreateString(name ?
		    name : raw));
	buf_free(&cmid);
	if (e != GW_OK) {
		cJSON_Delete(item);
		return e;
	}
	*out = item;
	return GW_OK;
}

/* Drops every entry whose id an earlier entry has (the first wins). */
static void
dedupe_ids(cJSON *data)
{
	cJSON *m = data != NULL ? data->child : NULL, *next, *k;
	const char *id;

	for (; m != NULL; m = next) {
		next = m->next;
		if ((id = json_str(m, "id")) == NULL)
			continue;
		for (k = data->child; k != m; k = k->next)
			if (json_str(k, "id") != NULL &&
			    strcmp(json_str(k, "id"), id) == 0)
				break;
		if (k != m)
			cJSON_Delete(cJSON_DetachItemViaPointer(data, m));
	}
}

/*
 * The one model catalogue of 1.14.7 in the OpenAI/Anthropic list envelope
 * (surface.md §2.5): Copilot's models, then every enabled provider's as
 * "provider/model"; an id listed twice is shown once.  A Codex client gets
 * the Codex backend's own list instead.
 */
void
route_models(struct rctx *r)
{
	struct buf err = BUF_INIT;
	cJSON *doc = NULL, *data, *m, *item;
	const cJSON *list = NULL;
	enum gw_err e;

	if (route_provider_codex_models(r))
		return;
	if ((e = models_get(r->w, 0, &list, NULL, &err)) != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(doc, "object", "list") == NULL ||
	    (data = cJSON_AddArrayToObject(doc, "data")) == NULL)
		goto oom;
	cJSON_ArrayForEach(m, list) {
		if (copilot_entry(m, &item) != GW_OK ||
		    json_push(data, item) != GW_OK)
			goto oom;
	}
	if (route_provider_models_append(r, data) != GW_OK)
		goto oom;
	dedupe_ids(data);
	cJSON_AddBoolToObject(doc, "has_more", 0);
	/* The answer is decided: a failed write means the client left. */
	GW_IGNORE(http_send_json(r->c, 200, doc));
	goto out;
oom:
	rc_fail(r, GW_ENOMEM, NULL);
out:
	cJSON_Delete(doc);
	buf_free(&err);
}

/* 1 when the model is known and says it cannot do chat completions. */
static int
chat_unsupported(const cJSON *model)
{
	return model != NULL && json_arr(model, "supported_endpoints") != NULL &&
	    cJSON_GetArraySize(json_arr(model, "supported_endpoints")) > 0 &&
	    !models_supports(model, "/chat/completions");
}

static int
nullish(const cJSON *v)
{
	return v == NULL || cJSON_IsNull(v);
}

/*
 * The output limit as 1.14.7 sends it: with neither max_tokens nor
 * max_completion_tokens, max_tokens becomes the model's max_output_tokens;
 * then for a model whose id contains "gpt", max_tokens moves to
 * max_completion_tokens (which the client's own value, when set, wins
 * over) and max_tokens goes.
 */
static GW_MUST_CHECK enum gw_err
chat_max_tokens(cJSON *body, const char *id, const cJSON *model)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(body, "max_tokens");
	const cJSON *mct = cJSON_GetObjectItemCaseSensitive(body,
	    "max_completion_tokens");
	double limit = json_num(json_obj(json_obj(model, "capabilities"),
	    "limits"), "max_output_tokens", 0);
	enum gw_err e;

	if (nullish(mt) && nullish(mct)) {
		cJSON_DeleteItemFromObjectCaseSensitive(body, "max_tokens");
		if (limit > 0 && (e = json_set(body, "max_tokens",
		    cJSON_CreateNumber(limit))) != GW_OK)
			return e;
		mt = cJSON_GetObjectItemCaseSensitive(body, "max_tokens");
	}
	if (strstr(id, "gpt") == NULL)
		return GW_OK;
	if (nullish(mct)) {
		cJSON_DeleteItemFromObjectCaseSensitive(body,
		    "max_completion_tokens");
		if (mt != NULL && (e = json_set(body, "max_completion_tokens",
		    cJSON_Duplicate(mt, 1))) != GW_OK)
			return e;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(body, "max_tokens");
	return GW_OK;
}

void
route_chat(struct rctx *r)
{
	struct copilot_call call;
	struct tr_stream *tr = NULL;
	struct buf err = BUF_INIT;
	cJSON *body = NULL;
	const cJSON *list = NULL, *model;
	const char *id;
	char req_id[37], sess[37];
	enum gw_err e;

	r->endpoint = "chat_completions";
	if ((body = rc_body_json(r)) == NULL)
		goto out;
	if ((id = json_str(body, "model")) == NULL || *id == '\0') {
		rc_reject(r, 400, "\"model\" is required and must be a string");
		goto out;
	}
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(body, "messages"))) {
		set_model(r, id);
		rc_reject(r, 400, "\"messages\" is required and must be an array");
		goto out;
	}
	if (!rc_map_model(r, body) || route_provider_alias_chat(r, body))
		goto out;
	id = json_str(body, "model");
	set_model(r, id);
	r->stream = json_bool(body, "stream", 0);
	if (!rc_rate_limit(r) || !rc_approval(r, body))
		goto out;
	if ((e = models_get(r->w, 0, &list, NULL, &err)) != GW_OK) {
		/* Without the list the request still goes through: Copilot
		 * knows its models better than our cache. */
		log_warn("model list unavailable: %s", buf_cstr(&err));
	}
	model = models_find(list, id);
	if (chat_unsupported(model)) {
		rc_fail_reply(r, 400, NULL, "Please use `/v1/responses` or "
		    "`/v1/messages` API: this model does not support chat "
		    "completions", NULL, "model does not support chat completions");
		goto out;
	}
	if ((e = chat_max_tokens(body, id, model)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if ((e = copilot_request_id(json_arr(body, "messages"), NULL,
	    r->w->app->ident.machine_id, req_id)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	util_uuid_from_string(req_id, strlen(req_id), sess);
	rc_row_session(r, sess);
	memset(&call, 0, sizeof(call));
	call.request_id = req_id;
	call.interaction_id = sess;
	call.initiator = copilot_chat_initiator(body);
	call.vision = copilot_chat_has_images(body);
	if (r->stream && (e = tr_passthrough_new(GW_DIALECT_OPENAI, &tr)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	rc_post_json(r, "/chat/completions", body, call, tr, NULL, NULL);
out:
	tr_stream_free(tr);
	cJSON_Delete(body);
	buf_free(&err);
}

void
route_embeddings(struct rctx *r)
{
	struct copilot_req rq;
	cJSON *body;
	char req_id[37];

	r->endpoint = "embeddings";
	if ((body = rc_body_json_keep(r)) == NULL)
		return;
	set_model(r, json_str(body, "model"));
	if (r->model[0] == '\0') {
		rc_reject(r, 400, "\"model\" is required and must be a string");
		cJSON_Delete(body);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(body, "input") == NULL) {
		rc_reject(r, 400, "\"input\" is required");
		cJSON_Delete(body);
		return;
	}
	cJSON_Delete(body);
	if (util_uuid4(req_id) != GW_OK) {
		rc_fail(r, GW_EIO, NULL);
		return;
	}
	/* Forwarded byte for byte: the body was only checked. */
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = "/embeddings";
	rq.body = r->req->body.data;
	rq.body_len = r->req->body.len;
	rq.call.request_id = req_id;
	rq.call.json_body = 1;
	rq.call.accept = "application/json";
	rc_copilot_to_client(r, &rq, NULL, NULL, NULL);
}

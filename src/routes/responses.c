/*
 * POST /v1/responses: OpenAI Responses clients (Codex CLI, opencode, the
 * openai SDK) relayed to Copilot's /responses, with the reference's
 * rewrites (spec/translation.md §10.2, surface.md §2.8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/models.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "routes/flows.h"
#include "routes/providers.h"
#include "routes/approval.h"
#include "routes/ratelimit.h"
#include "routes/responses.h"
#include "state/config.h"
#include "translate/anthropic_responses.h"
#include "translate/responses.h"
#include "translate/responses_passthrough.h"
#include "translate/responses_prepare.h"
#include "translate/responses_tool_search.h"

/* The client's session (1.14.7, 324c43a): the session-id header, else
 * x-session-id, trimmed; NULL when neither has a value. */
static const char *
incoming_session(struct rctx *r, size_t *n)
{
	const char *v = rc_header_trimmed(r, "session-id", n);

	return v != NULL ? v : rc_header_trimmed(r, "x-session-id", n);
}

/* Codex CLI marks its own sub-agents with headers (v1.10.21+). */
static int
codex_subagent(struct rctx *r)
{
	static const char *const kinds[] = { "collab_spawn", "compact",
	    "memory_consolidation", "review" };
	size_t n, i;
	const char *kind = rc_header_trimmed(r, "x-openai-subagent", &n);

	if (kind == NULL)
		return 0;
	for (i = 0; i < ARRAY_LEN(kinds); i++)
		if (strlen(kinds[i]) == n && memcmp(kind, kinds[i], n) == 0)
			return incoming_session(r, &n) != NULL ||
			    rc_header_trimmed(r, "thread-id", &n) != NULL ||
			    rc_header_trimmed(r, "x-codex-parent-thread-id",
			    &n) != NULL;
	return 0;
}

/* getUUID(session + machine + the last user content), as on the other
 * routes; session is the session's UUID or NULL. */
static GW_MUST_CHECK enum gw_err
request_id(const cJSON *body, const char *session, const char *machine_id,
    char out[37])
{
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(body, "input");
	struct buf key = BUF_INIT;
	enum gw_err e;

	if (!cJSON_IsString(input))
		return copilot_request_id(input, session, machine_id, out);
	if ((e = buf_printf(&key, "%s%s%s", session != NULL ? session : "",
	    machine_id, input->valuestring)) == GW_OK)
		util_uuid_from_string(key.data, key.len, out);
	buf_free(&key);
	return e;
}

/* The WebSocket transport, with Codex CLI's subagent as the pool key's
 * marker (its thread, else its parent's, else the session). */
static GW_MUST_CHECK enum gw_err
ws_prepare(struct rctx *r, const cJSON *model, const cJSON *body,
    const struct copilot_call *call, int subagent, const char *session,
    struct flow_ws *ws)
{
	const char *kind = http_header(r->req, "x-openai-subagent");
	const char *thread = http_header(r->req, "thread-id");
	const char *parent = http_header(r->req, "x-codex-parent-thread-id");
	const char *agent;

	if (!subagent)
		return flow_ws_prepare(r, model, 0, body, call, NULL, NULL, NULL,
		    ws);
	agent = thread != NULL ? thread : parent != NULL ? parent :
	    session != NULL ? session : kind;
	return flow_ws_prepare(r, model, 0, body, call, thread != NULL ? thread :
	    session != NULL ? session : agent, agent, kind, ws);
}

void
route_responses(struct rctx *r)
{
	const struct cfg *cfg = r->w->cfg;
	struct tr_responses_prepare_opts po;
	struct copilot_call call;
	struct flow_ws ws = { NULL, NULL };
	struct tr_stream *tr = NULL;
	struct buf err = BUF_INIT;
	cJSON *body = NULL;
	const cJSON *models = NULL;
	const cJSON *model;
	const char *id, *session = NULL;
	char *bridge = NULL;     /* set when the tool_search bridge applies */
	char req_id[37], sess[37];
	size_t session_len;
	int subagent;
	enum gw_err e;

	r->endpoint = "responses";
	if ((body = rc_body_json(r)) == NULL)
		goto out;
	if ((id = json_str(body, "model")) == NULL || *id == '\0') {
		rc_reject(r, 400, "\"model\" is required and must be a string");
		goto out;
	}
	if (!rc_map_model(r, body))
		goto out;
	id = json_str(body, "model");
	snprintf(r->model, sizeof(r->model), "%s", id);
	if (route_provider_alias_responses(r, body))
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(body, "input") == NULL) {
		rc_reject(r, 400, "\"input\" is required");
		goto out;
	}
	r->stream = json_bool(body, "stream", 0);
	if (!rc_rate_limit(r) || !rc_approval(r, body))
		goto out;
	if (models_get(r->w, 0, &models, NULL, &err) != GW_OK)
		log_warn("model list unavailable: %s", buf_cstr(&err));
	model = models_find(models, id);
	if (model == NULL || (!models_supports(model, "/responses") &&
	    !(models_supports(model, "ws:/responses") &&
	    cfg->use_responses_ws))) {
		rc_fail_reply(r, 400, NULL, "This model does not support the "
		    "responses endpoint. Please choose a different model.", NULL,
		    "model does not support /responses");
		goto out;
	}
	po.model = model;
	po.keep_web_search = cfg->use_responses_web_search;
	po.compact.enabled = cfg_context_mgmt(cfg, 1, id);
	po.compact.threshold = cfg_compact_threshold(cfg, id);
	po.compact.ratio = TR_RESP_COMPACT_RATIO_RESPONSES;
	if ((e = tr_responses_prepare(body, &po)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if (tr_rts_enabled(body)) {
		if ((bridge = strdup(tr_rts_bridge_name(body))) == NULL)
			e = GW_ENOMEM;
		else
			e = tr_rts_request(body);
		if (e != GW_OK) {
			rc_fail(r, e, NULL);
			goto out;
		}
	}
	/* every request's session, not only a sub-agent's (1.14.7) */
	if ((session = incoming_session(r, &session_len)) != NULL)
		util_uuid_from_string(session, session_len, sess);
	if ((e = request_id(body, session != NULL ? sess : NULL,
	    r->w->app->ident.machine_id, req_id)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if (session == NULL)
		util_uuid_from_string(req_id, strlen(req_id), sess);
	subagent = codex_subagent(r);
	rc_row_session(r, sess);
	r->session_given |= session != NULL;      /* session-id, x-session-id */
	memset(&call, 0, sizeof(call));
	call.request_id = req_id;
	call.interaction_id = sess;
	if (subagent)
		call.interaction_type = "conversation-subagent";
	call.initiator = subagent || tr_responses_agent_initiated(body) ?
	    "agent" : "user";
	call.vision = tr_responses_has_image(body);
	if (r->stream && (e = bridge != NULL ? tr_rts_stream_new(bridge, &tr) :
	    tr_responses_passthrough_new(&tr)) != GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	if ((e = ws_prepare(r, model, body, &call, subagent, session, &ws)) !=
	    GW_OK) {
		rc_fail(r, e, NULL);
		goto out;
	}
	rc_post_json_ws(r, "/responses", body, call, ws.frame, ws.key, tr,
	    bridge != NULL ? tr_rts_response : NULL, bridge);
out:
	flow_ws_free(&ws);
	free(bridge);
	tr_stream_free(tr);
	cJSON_Delete(body);
	buf_free(&err);
}

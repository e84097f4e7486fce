/*
 * Responses-API pieces both client sides use: the Anthropic -> Responses
 * translator (anthropic_responses.c) and the /v1/responses route with its
 * tool search bridge (responses_prepare.c, responses_tool_search.c,
 * tool_search.c).  All pure, on parsed JSON; no global state.
 */
#ifndef GW_TR_RESPONSES_H
#define GW_TR_RESPONSES_H

#include <cjson/cJSON.h>

#include "core/err.h"

/* The compaction threshold, as a share of the model's max_prompt_tokens
 * (of 200000 when that is unknown), when the config names none for the
 * model (1.14.7): /v1/messages, /v1/responses. */
#define TR_RESP_COMPACT_RATIO_MESSAGES 0.85
#define TR_RESP_COMPACT_RATIO_RESPONSES 0.8
#define TR_RESP_COMPACT_BASE_TOKENS 200000.0

/* How Copilot's server-side compaction applies to one request. */
struct tr_resp_compact {
	int enabled;        /* cfg_context_mgmt() for the request's route */
	double threshold;   /* cfg_compact_threshold(); <= 0: from the ratio */
	double ratio;       /* TR_RESP_COMPACT_RATIO_* */
};

/* A new object {"type":type}, owned by the caller; NULL when out of
 * memory. */
cJSON *tr_resp_typed(const char *type);

/* An Anthropic tool as a Responses function tool (*out owned by the
 * caller); defer_loading adds "defer_loading":true (namespaced deferred
 * tools).  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err tr_resp_function_tool(const cJSON *anthropic_tool,
    int defer_loading, cJSON **out);

/*
 * translation.md §6.1.2 steps 1-2 as 1.14.7 does them, on a Responses
 * payload whose "model" is the upstream id; model (the Copilot entry, for
 * max_prompt_tokens) and c may be NULL (nothing applies).  Nothing for
 * gpt-5.6 and later (compaction there costs cache hits).  Otherwise, when
 * the input ends with a compaction_trigger item, only the trimming, if
 * enabled; when the payload has a context_management member (the
 * client's, kept as is), the trimming; when enabled, context_management
 * [{type: compaction, compact_threshold}] is added (c->threshold, else
 * floor(max_prompt_tokens x c->ratio), else 200000 x c->ratio) and the
 * input trimmed.  Trimming drops the input items before the last
 * compaction item.  GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err tr_responses_context_management(cJSON *payload,
    const cJSON *model, const struct tr_resp_compact *c);
/* An input_image anywhere in input (copilot-vision-request). */
int tr_responses_has_image(const cJSON *payload);
/* x-initiator: 1 (agent) when the last input item has no role or is the
 * assistant's, 0 (user) otherwise or when input is a string. */
int tr_responses_agent_initiated(const cJSON *payload);
/* For the codex backend, which refuses system messages (1.14.7, 4114f18):
 * when instructions is absent or blank, the role "system" items among the
 * first three message items whose content is text only leave input, and
 * their non-blank texts, joined by a blank line, become instructions (an
 * input left empty goes too).  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err tr_responses_system_to_instructions(cJSON *payload);
/* The frame that asks for a response over Copilot's Responses WebSocket
 * (spec/translation.md §6.1.2): payload plus "type":"response.create" and
 * "initiator", without "stream", "background" and "service_tier"; with
 * initiator NULL, the Codex backend's frame: "type" first, only "stream"
 * dropped.  *out is the printed JSON (cJSON_free).  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err tr_responses_ws_frame(const cJSON *payload,
    const char *initiator, char **out);

#endif

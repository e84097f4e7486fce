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

/* Compaction threshold when the model's max_prompt_tokens is unknown
 * (0.9 x 272000). */
#define TR_RESP_DEFAULT_COMPACT_THRESHOLD 244800L

/* A new object {"type":type}, owned by the caller; NULL when out of
 * memory. */
cJSON *tr_resp_typed(const char *type);

/* An Anthropic tool as a Responses function tool (*out owned by the
 * caller); defer_loading adds "defer_loading":true (namespaced deferred
 * tools).  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err tr_resp_function_tool(const cJSON *anthropic_tool,
    int defer_loading, cJSON **out);

/* translation.md §6.1.2 step 1: adds context_management (compaction at
 * 0.9 x the model's max_prompt_tokens) unless the payload already has one.
 * model may be NULL.  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err tr_responses_context_management(cJSON *payload,
    const cJSON *model);
/* translation.md §6.1.2 step 2: drops the input items before the last
 * compaction item. */
void tr_responses_trim_compaction(cJSON *payload);
/* An input_image anywhere in input (copilot-vision-request). */
int tr_responses_has_image(const cJSON *payload);
/* x-initiator: 1 (agent) when the last input item has no role or is the
 * assistant's, 0 (user) otherwise or when input is a string. */
int tr_responses_agent_initiated(const cJSON *payload);
/* The frame that asks for a response over Copilot's Responses WebSocket
 * (spec/translation.md §6.1.2): payload plus "type":"response.create" and
 * "initiator", without "stream", "background" and "service_tier"; with
 * initiator NULL, the Codex backend's frame: "type" first, only "stream"
 * dropped.  *out is the printed JSON (cJSON_free).  GW_ENOMEM. */
GW_MUST_CHECK enum gw_err tr_responses_ws_frame(const cJSON *payload,
    const char *initiator, char **out);

#endif

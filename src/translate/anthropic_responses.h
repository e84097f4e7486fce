/*
 * Anthropic Messages <-> OpenAI Responses (translation spec §6), and the
 * /v1/responses passthrough with its stream item-id repair (§10.2).
 *
 * Request and result translators are pure JSON -> JSON; the stream
 * translators follow translate/stream.h.
 */
#ifndef GW_TR_ANTHROPIC_RESPONSES_H
#define GW_TR_ANTHROPIC_RESPONSES_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "translate/stream.h"

/* Default reasoning effort for models absent from modelReasoningEfforts. */
#define TR_RESP_DEFAULT_EFFORT "high"
/* Compaction threshold when the model's max_prompt_tokens is unknown
 * (0.9 x 272000). */
#define TR_RESP_DEFAULT_COMPACT_THRESHOLD 244800L
/* Floor of max_output_tokens on the Responses path. */
#define TR_RESP_MIN_OUTPUT_TOKENS 12800L

struct tr_resp_opts {
	/* Copilot model entry ({id, capabilities:{limits, supports}, ...}) or
	 * NULL; only capabilities.limits.max_prompt_tokens is read. */
	const cJSON *model;
	const char *reasoning_effort;   /* cfg_reasoning_effort(); NULL: "high" */
	const char *extra_prompt;       /* cfg_extra_prompt(); NULL or "": none */
	int context_management;         /* cfg_is_context_mgmt_model() */
	/* Base of prompt_cache_key: the session id parsed from
	 * metadata.user_id (raw, not hashed), else the x-session-affinity /
	 * x-client-request-id header; NULL when none. */
	const char *prompt_cache_key;
	const char *subagent_agent_id;  /* from the subagent marker, or NULL */
};

/*
 * Anthropic Messages request -> Responses request (§6.1, §6.1.1, and the
 * §6.1.2 steps 1-2: context_management and compaction trimming).  The
 * request's `model` must already be the upstream model id.  opts may be
 * NULL.  GW_EINVAL (errmsg set) for a request we cannot translate, e.g. a
 * tool_reference to an unknown deferred tool.
 */
enum gw_err tr_anthropic_to_responses(const cJSON *anthropic,
    const struct tr_resp_opts *opts, cJSON **out, struct buf *errmsg);

struct tr_resp_result_opts {
	const char *model;              /* used when the result names none */
	/* The bridge tool's name in the request (tr_ts_bridge_name()); NULL:
	 * the default name. */
	const char *tool_search_name;
	int has_tool_call;              /* streaming saw a tool call */
};

/*
 * Responses result (the non-stream body, or the `response` of a
 * completion event) -> Anthropic message (§6.2).  opts may be NULL.
 * GW_EUPSTREAM (errmsg set) when result is not an object or has status
 * "failed".
 */
enum gw_err tr_responses_to_anthropic(const cJSON *result,
    const struct tr_resp_result_opts *opts, cJSON **out, struct buf *errmsg);

/*
 * Responses SSE -> Anthropic SSE (§6.3).  model: the request's model, used
 * when the upstream names none.  tool_search_name as above (copied).
 * done is set on response.completed / incomplete / failed and `error`, and
 * also when the translator gives up on the upstream itself (a tool call
 * streaming endless newlines): the relay should stop reading then.
 * finish() on an unfinished stream writes an Anthropic `error` event.
 */
enum gw_err tr_responses_stream_new(const char *model,
    const char *tool_search_name, struct tr_stream **out);

/*
 * /v1/responses passthrough for OpenAI clients: every event re-emitted
 * with its event name, output item ids made consistent (§10.2 step 6),
 * usage taken from response.completed / incomplete / failed, done set on
 * those and on `error`.  A failed stream ends with an `error` event that
 * both the openai SDK and @ai-sdk/openai surface as an error.
 */
enum gw_err tr_responses_passthrough_new(struct tr_stream **out);

/* --- helpers for the /v1/responses route and the Responses flow --- */

/* §6.1.2 step 1: adds context_management (compaction at 0.9 x the model's
 * max_prompt_tokens) unless the payload already has one. */
enum gw_err tr_responses_context_management(cJSON *payload,
    const cJSON *model);
/* §6.1.2 step 2: drops the input items before the last compaction item. */
void tr_responses_trim_compaction(cJSON *payload);
/* An input_image anywhere in input (copilot-vision-request). */
int tr_responses_has_image(const cJSON *payload);
/* x-initiator: 1 (agent) when the last input item has no role or is the
 * assistant's, 0 (user) otherwise or when input is a string. */
int tr_responses_agent_initiated(const cJSON *payload);

/* An Anthropic tool as a Responses function tool; defer_loading adds
 * "defer_loading":true (namespaced deferred tools). */
enum gw_err tr_resp_function_tool(const cJSON *anthropic_tool,
    int defer_loading, cJSON **out);

#endif

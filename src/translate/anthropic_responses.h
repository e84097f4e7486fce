/*
 * Anthropic Messages <-> OpenAI Responses (translation spec §6): the
 * request and the non-stream result, both pure JSON -> JSON.  The stream
 * translator is in anthropic_responses_stream.h; the pieces the
 * /v1/responses route shares are in responses.h.
 */
#ifndef GW_TR_ANTHROPIC_RESPONSES_H
#define GW_TR_ANTHROPIC_RESPONSES_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "translate/responses.h"

/* Default reasoning effort for models absent from modelReasoningEfforts. */
#define TR_RESP_DEFAULT_EFFORT "high"
/* Floor of max_output_tokens on the Responses path. */
#define TR_RESP_MIN_OUTPUT_TOKENS 12800L

struct tr_resp_opts {
	/* Copilot model entry ({id, capabilities:{limits, supports}, ...}) or
	 * NULL; only capabilities.limits.max_prompt_tokens is read. */
	const cJSON *model;
	/* cfg_reasoning_effort(); NULL: "high".  The request's
	 * output_config.effort, when given, wins over it. */
	const char *reasoning_effort;
	const char *extra_prompt;       /* cfg_extra_prompt(); NULL or "": none */
	/* Server-side compaction (ratio TR_RESP_COMPACT_RATIO_MESSAGES); NULL:
	 * none, and no trimming. */
	const struct tr_resp_compact *compact;
	/* Base of prompt_cache_key: the session id parsed from
	 * metadata.user_id (raw, not hashed), else the x-session-affinity /
	 * x-client-request-id header; NULL when none. */
	const char *prompt_cache_key;
	const char *subagent_agent_id;  /* from the subagent marker, or NULL */
};

/*
 * Anthropic Messages request -> Responses request (§6.1, §6.1.1, and the
 * §6.1.2 steps 1-2: tr_responses_context_management() with opts->compact).
 * reasoning is {effort, summary: "auto", context}: context "all_turns" for
 * gpt-5.4, gpt-5.4-mini, gpt-5.5 and from gpt-5.6 on, "auto" otherwise
 * (1.14.7).  The
 * request's `model` must already be the upstream model id.  opts may be
 * NULL.  GW_EINVAL (errmsg set) for a request we cannot translate, e.g. a
 * tool_reference to an unknown deferred tool.
 */
GW_MUST_CHECK enum gw_err tr_anthropic_to_responses(const cJSON *anthropic,
    const struct tr_resp_opts *opts, cJSON **out, struct buf *errmsg);

struct tr_resp_result_opts {
	const char *model;              /* used when the result names none */
	/* The bridge tool's name in the request (tr_ts_bridge_name()); NULL:
	 * the default name. */
	const char *tool_search_name;
	int has_tool_call;              /* streaming saw a tool call */
	int refused;                    /* streaming saw refusal text */
};

/*
 * Responses result (the non-stream body, or the `response` of a
 * completion event) -> Anthropic message (§6.2).  opts may be NULL.
 * GW_EUPSTREAM (errmsg set) when result is not an object or has status
 * "failed".
 */
GW_MUST_CHECK enum gw_err tr_responses_to_anthropic(const cJSON *result,
    const struct tr_resp_result_opts *opts, cJSON **out, struct buf *errmsg);

#endif

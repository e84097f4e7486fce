/*
 * Anthropic Messages <-> OpenAI Chat Completions (spec translation.md
 * §3-§4): the request, the non-stream response, and the usage and stop
 * reason mapping the stream translator shares.
 *
 * Both are pure: JSON in, new JSON out (the input is never touched).  The
 * stream translator is in anthropic_chat_stream.h.
 */
#ifndef GW_TR_ANTHROPIC_CHAT_H
#define GW_TR_ANTHROPIC_CHAT_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/stream.h"

/* Which rich tool_result parts the upstream accepts inside a tool message
 * (§3.4.1).  Copilot: TR_TOOL_ARRAY | TR_TOOL_IMAGE; providers default 0. */
enum { TR_TOOL_ARRAY = 1, TR_TOOL_IMAGE = 2, TR_TOOL_PDF = 4 };

struct tr_chat_opts {
	/* The Copilot model entry ({capabilities:{limits, supports}}) or
	 * NULL.  When given, thinking becomes a clamped thinking_budget (§3.6). */
	const cJSON *model;
	/* Copilot path: add copilot_cache_control markers (§3.7), and send
	 * output_config.effort as reasoning_effort only where model's
	 * supports.reasoning_effort lists it (else its last, or none).  Off:
	 * the client's effort goes as is. */
	int copilot;
	unsigned tool_content;     /* TR_TOOL_* */
	int support_pdf;           /* documents become "file" parts */
};

/*
 * Anthropic Messages request -> Chat Completions request (§3.2-§3.7).
 * opts NULL means all zero.  A request the reference would reject (not an
 * object, no model, no or empty messages, a bad role or block, ...) gives
 * GW_EINVAL with a one-line reason in errmsg (for a 400); GW_ENOMEM else.
 */
GW_MUST_CHECK enum gw_err tr_anthropic_to_chat(const cJSON *anthropic,
    const struct tr_chat_opts *opts, cJSON **out, struct buf *errmsg);

/*
 * Chat Completions response -> Anthropic message (§4).  request_model is
 * reported when the upstream gives no model.  A body that is not a JSON
 * object gives GW_EUPSTREAM with errmsg set.
 */
GW_MUST_CHECK enum gw_err tr_chat_to_anthropic(const cJSON *chat_response,
    const char *request_model, cJSON **out, struct buf *errmsg);

/* Anthropic usage from a Chat usage object (§4, §5.4); -1: leave the
 * field out.  A NULL usage gives {0, 0, -1, -1}. */
struct tr_anthropic_usage {
	long input_tokens;          /* prompt - cached - cache writes, >= 0 */
	long output_tokens;
	long cache_creation_input_tokens;
	long cache_read_input_tokens;
};
void tr_chat_usage_to_anthropic(const cJSON *chat_usage,
    struct tr_anthropic_usage *au);

/* finish_reason -> stop_reason: stop/content_filter -> end_turn, length ->
 * max_tokens, tool_calls/function_call -> tool_use, any other string ->
 * end_turn, NULL -> NULL.  An answer that carried refusal text (refused:
 * message.refusal, delta.refusal, a refusal part) gets "refusal" where it
 * would be end_turn (ours: the reference drops the refusal, end_turn). */
const char *tr_chat_stop_reason(const char *finish_reason, int refused);

/* Ids the upstream did not send are a prefix ("msg_", "toolu_") and this
 * many random hex digits (util_random_id). */
#define TR_CHAT_ID_HEX 24

#endif

/*
 * Rewrites for the native Copilot /v1/messages flow (translation spec §7):
 * the preprocessed Anthropic payload becomes the upstream body, plus the
 * two header decisions that depend on it.  Pure: no I/O, no config reads.
 */
#ifndef GW_TR_NATIVE_MESSAGES_H
#define GW_TR_NATIVE_MESSAGES_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"

/* The Claude Code identity that replaces Copilot's on the messages-proxy
 * path (§7, surface §4.2). */
#define NM_PROXY_USER_AGENT \
	"vscode_claude_code/2.1.112 (external, sdk-ts, agent-sdk/0.2.112)"
#define NM_PROXY_INTENT "messages-proxy"

struct nm_opts {
	/* The Copilot model entry the request resolved to (tr_model_resolve),
	 * borrowed; NULL leaves model and thinking alone. */
	const cJSON *model;
	/* cfg_reasoning_effort(<resolved id>), or NULL for "high"; the
	 * request's output_config.effort wins over it. */
	const char *reasoning_effort;
	int opencode;               /* the opencode OAuth app is active */
};

struct nm_result {
	char *anthropic_beta;       /* header value to send, or NULL: none */
	/* The messages-proxy identity applies: fresh random x-request-id and
	 * x-agent-task-id, x-interaction-type and openai-intent
	 * NM_PROXY_INTENT, user-agent NM_PROXY_USER_AGENT, and no
	 * copilot-integration-id. */
	int messages_proxy;
};

/*
 * In place, in the reference's order: model := the Copilot id; drop
 * "scope" from system blocks' cache_control; drop assistant thinking
 * blocks that are empty, "Thinking...", unsigned or GPT carriers ('@' in
 * the signature); adaptive thinking and output_config.effort (the
 * client's, else reasoning_effort; onto the model's reasoning_effort list)
 * where the model supports it and tool use is not forced; no
 * output_config.effort for a model with neither adaptive thinking nor a
 * reasoning_effort list.  Then the anthropic-beta
 * value (client's header filtered to the allow-list, or the interleaved
 * thinking beta for budgeted non-adaptive thinking) and the messages-proxy
 * decision.  res is zeroed first; free with nm_result_free() always.
 */
GW_MUST_CHECK enum gw_err nm_prepare(cJSON *payload, const char *client_anthropic_beta,
    const struct nm_opts *o, struct nm_result *res, struct buf *errmsg);
void nm_result_free(struct nm_result *r);

#endif

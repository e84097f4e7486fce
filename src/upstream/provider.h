/*
 * Third-party providers (spec surface.md §7, translation.md §11): the
 * headers and URLs of a provider call, and the payload each provider type
 * is sent.  No I/O: the routes send what these build through the relay.
 *
 * Per-model options come from providers.<name>.models.<model id>:
 * temperature, topP, topK, extraBody, contextCache, supportPdf,
 * toolContentSupportType.
 */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strlist.h"
#include "state/config.h"

/* Client headers a provider call may carry (NULL: absent).  Nothing else
 * of the client's request is forwarded: never its API key. */
struct prov_inbound {
	const char *accept;
	const char *user_agent;
	const char *anthropic_version;  /* anthropic type only */
	const char *anthropic_beta;     /* anthropic type only */
};

/*
 * content-type and accept application/json, the provider's key
 * (x-api-key: K, or authorization: Bearer K), then the client's accept
 * (replacing ours) and user-agent, and for the anthropic type its
 * anthropic-version and anthropic-beta.  A value holding CR, LF or NUL is
 * refused: GW_ECONFIG for the configured key, GW_EINVAL for a client
 * header, with the reason in errmsg.  The key must be set (not codex's
 * oauth2): GW_ECONFIG otherwise.
 */
enum gw_err prov_headers(const struct cfg_provider *p,
    const struct prov_inbound *in, struct strlist *out, struct buf *errmsg);

/* {baseUrl}{path}, path like "/v1/messages". */
enum gw_err prov_url(const struct cfg_provider *p, const char *path,
    struct buf *out);

/* providers.<name>.models[model] when it is an object, else NULL. */
const cJSON *prov_model_options(const struct cfg_provider *p,
    const char *model);

/* Chat translator flags from toolContentSupportType ("array", "image",
 * "pdf"); none by default. */
unsigned prov_tool_content(const cJSON *mopts);
/* supportPdf (default false). */
int prov_support_pdf(const cJSON *mopts);

/* temperature, top_p, top_k from the model's temperature/topP/topK when
 * the request has none (all types, before translation). */
enum gw_err prov_apply_model_defaults(cJSON *anthropic, const cJSON *mopts);

/* anthropic type: every extraBody key the request lacks is added. */
enum gw_err prov_anthropic_payload(cJSON *anthropic, const cJSON *mopts);

/*
 * openai-compatible type (translation.md §11.3 steps 1-10): the Chat
 * Completions body for an Anthropic request (defaults already applied).
 * stream_options.include_usage when the request streams.  GW_EINVAL with
 * errmsg for a request the translator refuses.
 */
enum gw_err prov_chat_payload(const cJSON *anthropic, const cJSON *mopts,
    cJSON **out, struct buf *errmsg);

/* §11.3 step 10: cache_control {"type":"ephemeral"} on the first two
 * system and the last two other messages with content. */
enum gw_err prov_context_cache(cJSON *chat);

/*
 * POST /:provider/v1/messages/count_tokens (§11.5): the Chat form (with
 * the model's tool options unless the type is anthropic), counted with
 * o200k_base, input + output, no overhead, no multiplier.  The request's
 * system-role messages must already be folded.
 */
enum gw_err prov_count_tokens(const struct cfg_provider *p,
    const cJSON *anthropic, long *out, struct buf *errmsg);

#endif

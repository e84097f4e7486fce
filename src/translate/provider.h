/*
 * Third-party providers' payloads and streams (spec surface.md §7.2,
 * translation.md §11): the body each provider type is sent (model
 * defaults, extraBody, the openai-compatible Chat form with its context
 * cache markers), the local token count, the Anthropic relay of
 * `anthropic` providers with their optional adjustInputTokens rewrite,
 * and a wrapper that names the provider when its stream ends without
 * completing.  mopts is a model's options object
 * (prov_model_options() in upstream/provider.h), or NULL.
 *
 * Pure like every translator: no I/O, no global state (see stream.h).
 */
#ifndef GW_TR_PROVIDER_H
#define GW_TR_PROVIDER_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "translate/stream.h"

/* temperature, top_p, top_k from the model's temperature/topP/topK when
 * the request has none (all types, before translation). */
GW_MUST_CHECK enum gw_err prov_apply_model_defaults(cJSON *anthropic, const cJSON *mopts);

/* anthropic type: every extraBody key the request lacks is added. */
GW_MUST_CHECK enum gw_err prov_anthropic_payload(cJSON *anthropic, const cJSON *mopts);

/* A DashScope (Alibaba Cloud) provider: named "dashscope", or a base URL
 * on aliyuncs.com (1.14.7). */
int prov_is_dashscope(const char *name, const char *base_url);

/*
 * openai-compatible type (translation.md §11.3 steps 1-10): the Chat
 * Completions body for an Anthropic request (defaults already applied).
 * stream_options.include_usage when the request streams.  DashScope's own
 * fields only for dashscope (1.14.7: 33e11fd, 46c3efb, 966003a): the
 * request's thinking.budget_tokens as thinking_budget (extraBody's is
 * sent to any provider), preserve_thinking true unless set, and context
 * cache markers unless the model says contextCache false (another
 * provider gets them only with contextCache true).  GW_EINVAL with errmsg
 * for a request the translator refuses.
 */
GW_MUST_CHECK enum gw_err prov_chat_payload(const cJSON *anthropic, const cJSON *mopts,
    int dashscope, cJSON **out, struct buf *errmsg);

/*
 * openai-compatible type, an OpenAI client's /v1/chat/completions body
 * relayed (1.14.7's provider chat route), in place: the model defaults,
 * every extraBody key the request lacks, stream_options.include_usage
 * when it streams; with dashscope (a DashScope provider) preserve_thinking
 * true unless given.  Context-cache markers (the first two system
 * messages, the last other one) when the model's contextCache is true, or
 * absent on DashScope.
 */
GW_MUST_CHECK enum gw_err prov_chat_passthrough(cJSON *chat, const cJSON *mopts,
    int dashscope);
/*
 * POST /:provider/v1/messages/count_tokens (§11.5): the Chat form with
 * the tool options of mopts (the model's options; NULL for the anthropic
 * type, which has none), counted with o200k_base for the request's model,
 * input + output, no overhead, no multiplier.  The request's system-role
 * messages must already be folded.  GW_EINVAL (errmsg set) for a request
 * the translator refuses; GW_EIO when the tokenizer tables are missing.
 */
GW_MUST_CHECK enum gw_err prov_count_tokens(const cJSON *anthropic, const cJSON *mopts,
    long *out, struct buf *errmsg);

/*
 * adjustInputTokens on one Anthropic usage object, in place:
 * input_tokens := max(0, input - cache_read - cache_creation).  A usage
 * without a numeric input_tokens (a message_delta that only reports
 * output_tokens) is left alone, so the client keeps message_start's count.
 */
void tr_adjust_input_tokens(cJSON *usage);

/*
 * An `anthropic` provider's stream to an Anthropic client: events are
 * relayed with their names; empty data is skipped; "[DONE]" ends the
 * stream without being forwarded; an upstream ping becomes
 * {"type":"ping"}; with adjust, message_start's message.usage and
 * message_delta's usage go through tr_adjust_input_tokens (data that does
 * not parse is forwarded raw).  Usage is merged from message_start and
 * message_delta.  message_stop and error are terminal.  A failed stream
 * ends with the passthrough's Anthropic error event.
 */
GW_MUST_CHECK enum gw_err tr_provider_anthropic_new(int adjust, struct tr_stream **out);

/*
 * Wraps inner (ownership passes, also on failure): every call goes to
 * inner, but a stream that fails before inner saw its terminal event with
 * GW_EUPSTREAM (closed early, cut, dropped) is reported as
 * "<provider> stream ended without a completion event".  Other failures
 * (a stall, a translator error) keep their message.
 */
GW_MUST_CHECK enum gw_err tr_provider_named_new(struct tr_stream *inner,
    const char *provider, struct tr_stream **out);

#endif

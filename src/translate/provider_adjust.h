/*
 * Stream translators of the provider routes (spec surface.md §7.2,
 * translation.md §11.2, §11.4): the Anthropic relay of `anthropic`
 * providers with their optional adjustInputTokens rewrite, and a wrapper
 * that names the provider when its stream ends without completing.
 *
 * Pure like every translator: no I/O (see stream.h).
 */
#ifndef GW_TR_PROVIDER_ADJUST_H
#define GW_TR_PROVIDER_ADJUST_H

#include <cjson/cJSON.h>

#include "core/err.h"
#include "translate/stream.h"

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
enum gw_err tr_provider_anthropic_new(int adjust, struct tr_stream **out);

/*
 * Wraps inner (ownership passes, also on failure): every call goes to
 * inner, but a stream that fails before inner saw its terminal event with
 * GW_EUPSTREAM (closed early, cut, dropped) is reported as
 * "<provider> stream ended without a completion event".  Other failures
 * (a stall, a translator error) keep their message.
 */
enum gw_err tr_provider_named_new(struct tr_stream *inner,
    const char *provider, struct tr_stream **out);

#endif

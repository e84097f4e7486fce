/*
 * Token counting of a Chat Completions payload, following the reference's
 * getTokenCount (spec translation.md §10.3), and the local estimate of
 * POST /v1/messages/count_tokens (§10.4).
 *
 * The counts reproduce the reference, which runs in JavaScript: objects are
 * walked in JS property order (last value of a duplicate key wins), values
 * are turned into text the way String() and JSON.stringify() do, and text
 * that is not valid UTF-8 is counted after U+FFFD replacement, as the
 * reference's JSON body parser would have decoded it.  Where the reference
 * would throw (a tool call without a string id, a null message, ...) these
 * return GW_EINVAL; the route answers 500 like the reference.  One
 * deliberate difference: special-token text such as "<|endoftext|>" is
 * counted as ordinary text, where the reference's encoder throws.
 */
#ifndef GW_TOK_COUNT_H
#define GW_TOK_COUNT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "tokenize/tokenizer.h"

/* The same with the model id given explicitly: the reference uses the
 * resolved model's id, which may differ from the payload's. */
GW_MUST_CHECK enum gw_err tok_count_chat_model(const cJSON *chat_payload, const char *model,
    enum tok_encoding enc, long *input_tokens, long *output_tokens);

/*
 * The count_tokens estimate: tok_count_chat_model with the encoding named
 * by tokenizer_name (NULL or unknown: o200k_base); then, when
 * anthropic_beta_present and the Anthropic request had tools (tool_names,
 * ntools) and none is named mcp__* and it is not a lone "Skill" tool,
 * +346 for claude* models or +120 for grok* models; then input + output,
 * times claude_multiplier and rounded (half up) for claude* models.
 */
GW_MUST_CHECK enum gw_err tok_estimate(const cJSON *chat_payload, const char *model,
    const char *tokenizer_name, int anthropic_beta_present,
    const char *const *tool_names, size_t ntools, double claude_multiplier,
    long *out);

#endif

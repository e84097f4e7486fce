/*
 * The /v1/responses passthrough for OpenAI Responses clients
 * (translation.md §10.2 step 6): Copilot's Responses stream relayed with its output item ids
 * made consistent.
 *
 * The translator follows translate/stream.h: no I/O, one per request.
 */
#ifndef GW_TR_RESPONSES_PASSTHROUGH_H
#define GW_TR_RESPONSES_PASSTHROUGH_H

#include "core/err.h"
#include "translate/stream.h"

/*
 * Every event re-emitted with its event name, output item ids made
 * consistent, usage taken from response.completed / incomplete / failed,
 * done set on those and on `error`.  A failed stream ends with an `error`
 * event that both the openai SDK and @ai-sdk/openai surface as an error.
 * GW_ENOMEM, else GW_OK with *out owned by the caller (tr_stream_free()).
 */
GW_MUST_CHECK enum gw_err tr_responses_passthrough_new(struct tr_stream **out);

#endif

/*
 * Responses SSE -> Anthropic Messages SSE (translation spec §6.3), for
 * Anthropic clients whose request went to the Responses API.
 *
 * The translator follows translate/stream.h: no I/O, one per request.
 */
#ifndef GW_TR_ANTHROPIC_RESPONSES_STREAM_H
#define GW_TR_ANTHROPIC_RESPONSES_STREAM_H

#include "core/err.h"
#include "translate/stream.h"

/*
 * model: the request's model, used when the upstream names none.
 * tool_search_name: the bridge tool's name in the request
 * (tr_ts_bridge_name(); NULL: the default; copied).  done is set on
 * response.completed / incomplete / failed and `error`, and also when the
 * translator gives up on the upstream itself (a tool call streaming
 * endless newlines): the relay should stop reading then.  finish() on an
 * unfinished stream writes an Anthropic `error` event.  GW_ENOMEM, else
 * GW_OK with *out owned by the caller (tr_stream_free()).
 */
GW_MUST_CHECK enum gw_err tr_responses_stream_new(const char *model,
    const char *tool_search_name, struct tr_stream **out);

#endif

/*
 * The deferred-tool search bridge on POST /v1/responses (surface §10,
 * translation §6.1.1), for OpenAI Responses clients.
 *
 * The client declares the bridge (our `mcp` command's tool) as a plain
 * function tool and knows nothing of tool_search or namespaces.  Toward
 * Copilot we rewrite the request as the Messages path does; back toward
 * the client we turn tool_search_call items into function calls of the
 * bridge and namespaced calls into plain ones.  "rts" stands for Responses
 * tool search.
 */
#ifndef GW_TR_RESPONSES_TOOL_SEARCH_H
#define GW_TR_RESPONSES_TOOL_SEARCH_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "translate/stream.h"

/*
 * Whether the bridge applies to a Responses request body: a GPT >= 5.4
 * model, a function tool named as the bridge, and at least one deferred
 * function tool.
 */
int tr_rts_enabled(const cJSON *body);

/* The bridge function tool's name as the client spelled it, else the
 * default.  Borrowed from body (or static). */
const char *tr_rts_bridge_name(const cJSON *body);

/*
 * Rewrites body in place when tr_rts_enabled() (else leaves it untouched):
 * tools (bridge -> tool_search, deferred functions -> namespaces),
 * tool_choice forcing the bridge -> "auto", and the input history (bridge
 * calls and their outputs -> tool_search_call / tool_search_output,
 * calls to deferred tools namespaced).
 */
GW_MUST_CHECK enum gw_err tr_rts_request(cJSON *body);

/* A non-streamed Responses answer with every output item mapped; the
 * signature of the route's rc_xlate_fn (arg: the bridge name). */
GW_MUST_CHECK enum gw_err tr_rts_response(const cJSON *upstream, void *bridge, cJSON **out,
    struct buf *errmsg);

/*
 * The stream translator: maps the items of output_item.added/done events
 * and the output of the final response events, then hands every event to
 * the /v1/responses passthrough (id repair, usage, terminal events).
 */
GW_MUST_CHECK enum gw_err tr_rts_stream_new(const char *bridge, struct tr_stream **out);

#endif

/*
 * Claude Code's web search, emulated as the reference does it from 1.13.2
 * (1.14.7's routes/messages/web-search/): Copilot refuses Anthropic's
 * server-side web_search tool, so a /v1/messages request whose only tools
 * are web_search server tools is run as one Responses request with the
 * hosted `web_search` tool, and the answer is rebuilt as Anthropic's
 * server_tool_use + web_search_tool_result blocks and the answer's text.
 *
 * Pure JSON work and one collecting stream translator; no I/O
 * (translate/stream.h).  The route that picks the search model and calls
 * the upstream is routes/messages.c (Copilot) and routes/providers.c.
 */
#ifndef GW_TR_ANTHROPIC_WEBSEARCH_H
#define GW_TR_ANTHROPIC_WEBSEARCH_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "translate/anthropic_responses.h"
#include "translate/stream.h"

/* What the request's tools ask: a server tool is one whose type starts
 * with "web_search" and that has no input_schema. */
enum tr_ws_kind {
	TR_WS_NONE,      /* no web_search server tool */
	TR_WS_ONLY,      /* every tool is one: the request is emulated */
	TR_WS_MIXED      /* with other tools: unsupported, the tool is dropped */
};

enum tr_ws_kind tr_ws_classify(const cJSON *anthropic);

/* Removes the web_search server tools from anthropic's tools (in place;
 * an emptied list stays an empty array). */
void tr_ws_strip(cJSON *anthropic);

/*
 * Web-search-only Anthropic request -> the Responses request: the usual
 * translation (o; the request's model must already be the search model)
 * of the request without its tools, then tools := [the hosted web_search
 * tool with the first server tool's allowed/blocked domains as filters and
 * its user_location], no tool_choice, reasoning {effort: medium, summary:
 * auto}, stream true.  GW_EINVAL (errmsg) as tr_anthropic_to_responses.
 */
GW_MUST_CHECK enum gw_err tr_ws_to_responses(const cJSON *anthropic,
    const struct tr_resp_opts *o, cJSON **out, struct buf *errmsg);

struct tr_ws_opts {
	const char *model;        /* the model the client asked for (mapped) */
	const char *tool_use_id;  /* the server_tool_use id: "srvtoolu_<uuid>" */
	const char *fallback_id;  /* the message id when the result has none */
};

/*
 * The translator the search's Responses stream is fed to.  It sends the
 * client nothing while the upstream streams (no pings either): the
 * reference collects the whole result first.  On response.completed or
 * .incomplete the result (with the items of the output_item.done events,
 * in output order, when there were any) becomes the Anthropic message:
 * when a search ran or found pages, server_tool_use {query: the first
 * query} and web_search_tool_result (one web_search_result per distinct
 * url_citation, page_age null, encrypted_content ""), then the answer's
 * text (the message texts joined by a blank line, trimmed; output_text
 * when there are none); stop_reason end_turn; usage {input_tokens,
 * output_tokens, server_tool_use {web_search_requests: queries, at least
 * 1}}; the usage is the result's.  An `error` event or response.failed
 * keeps the upstream's message, and so does a result with neither a
 * search nor any text, as TR_WS_EMPTY (the reference answers an empty
 * text block there).  finish with GW_OK, a message and client_stream
 * emits it as an Anthropic stream (buildSyntheticStreamEvents:
 * message_start with content [] and output_tokens 0; per block a start,
 * its delta -- text_delta, input_json_delta of the query, none for the
 * search result, which its start carries whole -- and a stop; then
 * message_delta and message_stop, compact as JSON.stringify); any other
 * end emits nothing, and the caller answers from tr_ws_message() /
 * tr_ws_error() with an ordinary error reply.  GW_ENOMEM, else GW_OK with
 * *out owned by the caller (tr_stream_free()).
 */
#define TR_WS_EMPTY "the model ran no search and gave no answer"

GW_MUST_CHECK enum gw_err tr_ws_stream_new(const struct tr_ws_opts *o,
    int client_stream, struct tr_stream **out);

/*
 * A whole Responses result, for an upstream that answered JSON although
 * asked to stream (the reference reads both): taken as the completion
 * event's response; a no-op once the translator has its end.  GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err tr_ws_take_result(struct tr_stream *t,
    const cJSON *result);

/* What the translator kept (borrowed from it): the message, or NULL; the
 * upstream's error message, or NULL. */
const cJSON *tr_ws_message(const struct tr_stream *t);
const char *tr_ws_error(const struct tr_stream *t);

#endif

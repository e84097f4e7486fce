/*
 * The two translated flows an Anthropic request can take upstream, one
 * copy shared by /v1/messages on Copilot (routes/messages.c) and by the
 * providers (routes/providers.c): Responses and Chat Completions, and the
 * Responses call of the emulated web search.
 *
 * A flow turns the request into the upstream body, the stream translator
 * (only when the client streams) and the translation of a JSON answer.
 * The differences between the two callers are the inputs of struct flow.
 */
#ifndef GW_ROUTES_FLOWS_H
#define GW_ROUTES_FLOWS_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "routes/common.h"
#include "translate/anthropic_responses.h"

struct flow {
	/* Set by the caller; borrowed, and read only during the flow call
	 * except model_id, which the answer's translation keeps using. */
	const cJSON *model;          /* the Copilot model entry, or NULL */
	const char *model_id;        /* the model the answer names */
	const char *cache_key;       /* Responses prompt_cache_key, or NULL */
	const char *subagent_id;     /* Responses subagent agent id, or NULL */
	const char *provider;        /* set: a stream ending early names it */
	/* Filled by the flow; flow_free releases body and tr. */
	char *body;                  /* the upstream JSON body (cJSON_free) */
	struct tr_stream *tr;        /* NULL unless the client streams */
	rc_xlate_fn xlate;           /* the JSON answer to the client's shape */
	void *xlate_arg;
	struct tr_resp_result_opts ro;  /* xlate_arg of the Responses flow */
	/* Set by flow_websearch: its collecting translator (f->tr, or
	 * inside the translator that wraps it), which runs for every
	 * client, streamed or not; the call ends in flow_websearch_answer. */
	struct tr_stream *ws;
	/* Set by the provider Responses route: its first-error wrapper
	 * (tr_responses_first_error_new), inside tr. */
	struct tr_stream *held;
};

/*
 * Anthropic request body -> Responses.  *payload is the Responses payload
 * (NULL when the conversion failed), the caller's whatever the outcome:
 * Copilot reads its headers from it.  err explains a GW_EINVAL.
 */
GW_MUST_CHECK enum gw_err flow_responses(struct rctx *r, const cJSON *body,
    struct flow *f, cJSON **payload, struct buf *err);

/* A Chat Completions payload (borrowed) -> the body, the stream and the
 * answer's translation. */
GW_MUST_CHECK enum gw_err flow_chat(struct rctx *r, const cJSON *payload, struct flow *f);

/*
 * A web-search-only Anthropic body -> the Responses request of the
 * emulated search (translate/anthropic_websearch.h), its body and its
 * collecting translator (f->tr = f->ws).  f->model_id is the search
 * model; client_model the model the answer names; request_id (may be
 * NULL: a random one) seeds the server_tool_use id.  *payload as
 * flow_responses.  The upstream call must stream (stream: true).
 */
GW_MUST_CHECK enum gw_err flow_websearch(struct rctx *r, const cJSON *body,
    const char *client_model, const char *request_id, struct flow *f,
    cJSON **payload, struct buf *err);

/*
 * Answers the client after the search's upstream call (e, res, errmsg as
 * rc_relay_to_client gets them): a streaming client already has its
 * events; otherwise the rebuilt message as JSON, or a 502 saying why the
 * search gave none (the upstream's error event, response.failed, no
 * terminal event, nothing at all).  Records the row.
 */
void flow_websearch_answer(struct rctx *r, const struct flow *f, enum gw_err e,
    const struct relay_result *res, const char *errmsg);
/* How a Responses request to Copilot travels (spec/translation.md §6.1.2):
 * over the WebSocket when the client streams, useResponsesApiWebSocket is
 * on, model lists ws:/responses and this is no compaction request. */
struct flow_ws {
	char *frame;                 /* the response.create frame; NULL: HTTP */
	char *key;                   /* "model|request id|subagent" */
};

/*
 * Fills ws (zeroed first) for payload (the Responses body) with the
 * request id and initiator the headers carry; sub_session, sub_agent,
 * sub_type name a subagent (all NULL for the main agent).  GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err flow_ws_prepare(struct rctx *r, const cJSON *model,
    int compact, const cJSON *payload, const struct copilot_call *call,
    const char *sub_session, const char *sub_agent, const char *sub_type,
    struct flow_ws *ws);
void flow_ws_free(struct flow_ws *ws);

/* Frees what a flow filled in; f itself is the caller's.  NULL is fine. */
void flow_free(struct flow *f);

#endif

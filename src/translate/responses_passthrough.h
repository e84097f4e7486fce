/*
 * The /v1/responses passthrough for OpenAI Responses clients
 * (translation.md §10.2 step 6): Copilot's Responses stream relayed with its output item ids
 * made consistent.
 *
 * The translator follows translate/stream.h: no I/O, one per request.
 */
#ifndef GW_TR_RESPONSES_PASSTHROUGH_H
#define GW_TR_RESPONSES_PASSTHROUGH_H

#include <cjson/cJSON.h>

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

/*
 * A provider's Responses stream as 1.14.7 relays it (141f86f): when its
 * first event (before any ping) is an `error`, the client gets no stream
 * but an HTTP error.  This wrapper around inner (taken, freed with it;
 * freed on failure too) emits nothing for such an event, keeps it
 * (tr_responses_first_error) and fails the feed with GW_EUPSTREAM; its
 * finish then emits nothing either.  A stream that ends before any event,
 * cleanly or not (a352e47), emits nothing too (tr_responses_stream_empty).  Every
 * other event goes to inner.
 * GW_ENOMEM, else GW_OK with *out the caller's.
 */
GW_MUST_CHECK enum gw_err tr_responses_first_error_new(struct tr_stream *inner,
    struct tr_stream **out);
/* The held first event (a JSON object: type, message or error.message,
 * status_code, headers, ...), NULL when none was held or t is not such a
 * wrapper. */
const cJSON *tr_responses_first_error(const struct tr_stream *t);
/* 1 when t is such a wrapper and its stream ended with no event. */
int tr_responses_stream_empty(const struct tr_stream *t);

#endif

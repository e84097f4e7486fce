/*
 * The Codex backend's stream as the Responses translators expect it
 * (the reference's normalizeCodexResponsesEvent and
 * logCodexRateLimitsEvent): a filter in front of another translator.
 *
 * response.done becomes response.completed (event name and type); a
 * codex.rate_limits event is logged, one line per window ("Codex primary
 * rate limit (plus): allowed=true, limit_reached=false, used=42%,
 * window=300m, reset_at=…"), and passed on like every other event.  The
 * translator follows translate/stream.h: no I/O beyond the log, one per
 * request.
 */
#ifndef GW_TR_CODEX_STREAM_H
#define GW_TR_CODEX_STREAM_H

#include "core/err.h"
#include "translate/stream.h"

/*
 * Wraps inner (taken over: freed with the filter, also on failure).  Usage,
 * done and finished mirror inner's.  GW_ENOMEM, else GW_OK with *out owned
 * by the caller (tr_stream_free()).
 */
GW_MUST_CHECK enum gw_err tr_codex_stream_new(struct tr_stream *inner,
    struct tr_stream **out);

/*
 * The Codex backend answers only streams ("Stream must be set to true"):
 * for a client that asked for JSON the stream is collected here.  Emits
 * nothing; keeps the response object of response.completed (or
 * response.done, .incomplete, .failed) and its usage, or the message of an
 * `error` event.  GW_ENOMEM, else GW_OK with *out owned by the caller.
 */
GW_MUST_CHECK enum gw_err tr_codex_collect_new(struct tr_stream **out);

/* What a collector kept (borrowed from it): the response object as JSON
 * text, or NULL; the backend's error message, or NULL. */
const char *tr_codex_collected(const struct tr_stream *t);
const char *tr_codex_collect_error(const struct tr_stream *t);

#endif

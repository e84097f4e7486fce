/*
 * Incremental Server-Sent Events parser (WHATWG "event stream" rules).
 *
 * Fed arbitrary byte chunks, split anywhere; calls back once per dispatched
 * event.  Bytes are passed through as they are (no UTF-8 decoding), so a
 * multi-byte sequence split across chunks comes out whole.
 */
#ifndef GW_SSE_H
#define GW_SSE_H

#include <stddef.h>

#include "core/err.h"

/* Largest event (data + event name) or line accepted: GW_ETOOBIG beyond. */
#define SSE_MAX_EVENT_DEFAULT ((size_t)16 << 20)

/*
 * One event.  event: the "event:" field, NULL when absent or empty.  data:
 * the data lines joined with "\n", NUL-terminated, len without the NUL.
 * id: the last event ID seen so far in the stream (it persists across
 * events, as the spec says), NULL when none.  A non-OK return stops the
 * parser and is returned by sse_parser_feed().
 */
typedef enum gw_err sse_event_fn(void *ctx, const char *event,
    const char *data, size_t len, const char *id);

struct sse_parser;

/* max_event 0 means SSE_MAX_EVENT_DEFAULT. */
GW_MUST_CHECK enum gw_err sse_parser_new(size_t max_event, sse_event_fn *cb, void *ctx,
    struct sse_parser **out);
void sse_parser_free(struct sse_parser *p);

/*
 * Parses n more bytes.  Returns GW_OK, the callback's error, GW_ETOOBIG or
 * GW_ENOMEM; after an error the parser is stuck and returns it again.
 */
GW_MUST_CHECK enum gw_err sse_parser_feed(struct sse_parser *p, const void *bytes, size_t n);

/*
 * End of stream.  A trailing event without its blank line is not
 * dispatched (per spec); *truncated (when given) says whether such
 * unterminated bytes were left: a partial line, or fields with no blank
 * line after them.  Returns the sticky error, if any.
 */
GW_MUST_CHECK enum gw_err sse_parser_finish(struct sse_parser *p, int *truncated);

#endif

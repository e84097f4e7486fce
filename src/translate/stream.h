/*
 * What the translate module's files share: the passthrough translator and
 * the pieces every stream translator uses (the interface itself is
 * core/stream.h), the Anthropic content blocks the one-piece translators
 * build, and the request-validation error.
 *
 * File names in translate/ say whom a file serves:
 *   anthropic_*  Anthropic clients (/v1/messages): their requests, answers
 *                and streams translated to and from an upstream's API;
 *   responses_*  OpenAI Responses clients (/v1/responses);
 *   no prefix    shared by both sides (this file, responses.c,
 *                provider.c, preprocess.c, tool_search.c, ...).
 * Every header x.h is implemented by x.c.
 *
 * Translators do no I/O and hold no global state: one per request, used
 * by one thread.
 */
#ifndef GW_TR_STREAM_H
#define GW_TR_STREAM_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/stream.h"

/* The text of a thinking block that carries only a signature (the
 * upstream said nothing readable); never sent back as real thinking. */
#define THINKING_PLACEHOLDER "Thinking..."

/* What the parts of a Responses reasoning summary are joined with in one
 * thinking block (reference 1.14.7: U+2063 INVISIBLE SEPARATOR, then a
 * blank line), and split at again when the block comes back. */
#define REASONING_SUMMARY_SEPARATOR "\xE2\x81\xA3\n\n"

/*
 * The Anthropic content blocks that the translators answering in one piece
 * (Chat and Responses results) both build, appended to the content array.
 * GW_ENOMEM.
 *
 * {type: text, text}; {type: thinking, thinking, signature}
 */
GW_MUST_CHECK enum gw_err tr_text_block(cJSON *content, const char *text);
GW_MUST_CHECK enum gw_err tr_thinking_block(cJSON *content,
    const char *thinking, const char *sig);
/* {type: tool_use, id, name, input}; takes input (deleted when that
 * fails; NULL is GW_ENOMEM). */
GW_MUST_CHECK enum gw_err tr_tool_use_block(cJSON *content, const char *id,
    const char *name, cJSON *input);

/* A request refused by validation: errmsg (when not NULL) := the printf
 * message, best effort.  Always GW_EINVAL. */
GW_MUST_CHECK enum gw_err tr_invalid(struct buf *errmsg, const char *fmt,
    ...) __attribute__((format(printf, 2, 3)));

/*
 * The identity translator: re-emits every event unchanged.  It watches the
 * data for usage (OpenAI chunks, Responses completion events), pings in
 * the dialect (tr_anthropic_ping() or an SSE comment) and ends a failed
 * stream with tr_passthrough_end().  GW_ENOMEM, else GW_OK with *out owned
 * by the caller (tr_stream_free()).
 */
GW_MUST_CHECK enum gw_err tr_passthrough_new(enum gw_dialect d, struct tr_stream **out);

/*
 * How a relayed stream in dialect d ends: nothing when status is GW_OK;
 * else tr_emit_error() with timeout_error (GW_ETIMEOUT) or api_error and
 * message (NULL: gw_strerror(status)), then for OpenAI a [DONE] unless the
 * upstream's already went out (done).
 */
GW_MUST_CHECK enum gw_err tr_passthrough_end(enum gw_dialect d, int done,
    enum gw_err status, const char *message, struct tr_sink *out);

/* Anthropic's keep-alive: event "ping", data {"type":"ping"}. */
GW_MUST_CHECK enum gw_err tr_anthropic_ping(struct tr_sink *out);

/*
 * The base of a translator that wraps another: it owns inner and mirrors
 * inner's done, finished and usage, which is what the relay reads.  A wrapper puts
 * it first in its struct and writes its own feed (which may call
 * tr_wrap_feed() with rewritten data); the rest can be these.
 */
struct tr_wrap {
	struct tr_stream base;
	struct tr_stream *inner;
};

/* Sets ops, takes inner (may be NULL until set) and mirrors its state. */
void tr_wrap_init(struct tr_wrap *w, const struct tr_stream_ops *ops,
    struct tr_stream *inner);
/* inner's feed, then base.done, .finished and .usage := inner's. */
GW_MUST_CHECK enum gw_err tr_wrap_feed(struct tr_stream *t, const char *event,
    const char *data, size_t len, struct tr_sink *out);
/* inner's ping, or an SSE comment when inner has none. */
GW_MUST_CHECK enum gw_err tr_wrap_ping(struct tr_stream *t, struct tr_sink *out);
/* inner's finish, then base.done, .finished and .usage := inner's. */
GW_MUST_CHECK enum gw_err tr_wrap_finish(struct tr_stream *t, enum gw_err status,
    const char *message, struct tr_sink *out);
/* Frees inner and then t itself (free()); a wrapper with fields of its
 * own frees them first. */
void tr_wrap_free(struct tr_stream *t);

#endif

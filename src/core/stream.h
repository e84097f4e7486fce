/*
 * The stream translator interface shared by the relay, the HTTP writer and
 * the translators: the sink translated events go to, the usage a stream
 * reports, the translator vtable, the client's dialect, and the error
 * envelope every dialect ends a failed request or stream with.
 *
 * A translator is fed upstream SSE events (event name, data) one at a time
 * and emits client SSE events to a sink.  It does no I/O of its own, so it
 * is tested from fixture files and benchmarked alone.  The relay owns the
 * loop.  Names keep the tr_ prefix: "translator interface".
 *
 * Nothing here holds global state: every function is safe from any thread
 * on objects that thread owns.
 */
#ifndef GW_CORE_STREAM_H
#define GW_CORE_STREAM_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* The API family the client speaks: its error envelope, its keep-alive,
 * how its stream ends. */
enum gw_dialect { GW_DIALECT_OPENAI, GW_DIALECT_ANTHROPIC };

/* Where translated events go: the client's SSE writer, or a buffer in tests. */
struct tr_sink {
	void *ctx;
	/* One event; event may be NULL (a bare "data:" event).  Returns
	 * GW_ECLIENTGONE when the client is gone. */
	enum gw_err (*emit)(void *ctx, const char *event, const char *data,
	    size_t len);
	/* An SSE comment line (": text"), used for keep-alives. */
	enum gw_err (*comment)(void *ctx, const char *text);
};

/* Token counts as the upstream reported them (-1 = not reported). */
struct tr_usage {
	long input_tokens;          /* prompt tokens, cached ones included */
	long output_tokens;
	long cache_read_tokens;
	long cache_creation_tokens;
	long total_tokens;
	long nano_aiu;              /* Copilot's copilot_usage.total_nano_aiu */
	int input_net;              /* input_tokens excludes both cache counts
	                             * (Anthropic's usage); else it includes them */
	char model[96];             /* model the upstream says it used, if any */
};

/* Every count -1, no model. */
void tr_usage_init(struct tr_usage *u);
/* Every count next reports (>= 0) and its model, if any, replace u's; what
 * next does not report stays (a stream's message_start and message_delta
 * merged, as the reference merges them). */
void tr_usage_merge(struct tr_usage *u, const struct tr_usage *next);
struct cJSON;
/* Reads an OpenAI ({prompt_tokens,...}, prompt_tokens_details or
 * DeepSeek's prompt_cache_hit/miss_tokens), Responses ({input_tokens,
 * input_tokens_details: cached_tokens, cache_write_tokens}) or Anthropic
 * usage object (borrowed, not kept). */
void tr_usage_from_json(struct tr_usage *u, const struct cJSON *usage);
/* Copilot's charge for the call, holder.copilot_usage.total_nano_aiu (a
 * chunk, an event, a message or a whole body), when holder reports it. */
void tr_usage_copilot(struct tr_usage *u, const struct cJSON *holder);

struct tr_stream;

struct tr_stream_ops {
	const char *name;
	/* One upstream event.  event may be NULL; data is NUL-terminated. */
	enum gw_err (*feed)(struct tr_stream *t, const char *event,
	    const char *data, size_t len, struct tr_sink *out);
	/* Keep-alive while the upstream is silent (NULL: an SSE comment). */
	enum gw_err (*ping)(struct tr_stream *t, struct tr_sink *out);
	/*
	 * End of the upstream stream.  status GW_OK: the upstream closed
	 * normally.  Otherwise the upstream failed mid-stream (message says
	 * why) and the translator must emit its dialect's terminal error
	 * event: never a silent close.
	 */
	enum gw_err (*finish)(struct tr_stream *t, enum gw_err status,
	    const char *message, struct tr_sink *out);
	void (*free)(struct tr_stream *t);
};

/* The common head of every translator (first member of its struct); one
 * translator belongs to one request on one thread. */
struct tr_stream {
	const struct tr_stream_ops *ops;
	struct tr_usage usage;      /* filled while feeding */
	int done;                   /* the upstream sent its terminal event */
	int finished;               /* the answer is complete (a chat
	                             * finish_reason) though the terminal event
	                             * may still come: a clean end here is no
	                             * failure, a broken one still is */
};

/* Frees a translator through its ops; NULL is fine. */
void tr_stream_free(struct tr_stream *t);

/*
 * The error envelope of a response body, appended to out (GW_ENOMEM):
 *   OpenAI    {"error":{"message":M,"type":T}}
 *   Anthropic {"type":"error","error":{"type":T,"message":M}}
 * message is JSON-escaped.
 */
GW_MUST_CHECK enum gw_err tr_error_body(struct buf *out, enum gw_dialect d,
    const char *type, const char *message);

/*
 * The terminal error event of a translated stream: an "error" event whose
 * data is the dialect's envelope with the type first (OpenAI
 * {"error":{"type":T,"message":M}}, Anthropic as above).  An OpenAI
 * stream still needs its "data: [DONE]" after it: that is the caller's,
 * which knows whether the upstream already sent one.  Returns the sink's
 * error, or GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err tr_emit_error(enum gw_dialect d, const char *type,
    const char *message, struct tr_sink *out);

#endif

/*
 * Stream translators and the sink they write to.
 *
 * A translator is fed upstream SSE events (event name, data) one at a time
 * and emits client SSE events to a sink.  It does no I/O of its own, so it
 * is tested from fixture files and benchmarked alone.  The relay owns the
 * loop; the passthrough translator is the identity.
 */
#ifndef GW_TR_STREAM_H
#define GW_TR_STREAM_H

#include <stddef.h>

#include "core/err.h"

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
	char model[96];             /* model the upstream says it used, if any */
};

void tr_usage_init(struct tr_usage *u);
struct cJSON;
/* Reads an OpenAI ({prompt_tokens,...}), Responses ({input_tokens,
 * input_tokens_details}) or Anthropic usage object. */
void tr_usage_from_json(struct tr_usage *u, const struct cJSON *usage);

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

struct tr_stream {
	const struct tr_stream_ops *ops;
	struct tr_usage usage;      /* filled while feeding */
	int done;                   /* the upstream sent its terminal event */
};

enum tr_dialect { TR_OPENAI, TR_ANTHROPIC };

/*
 * The identity translator: re-emits every event unchanged.  It watches the
 * data for usage (OpenAI chunks, Responses completion events) and ends a
 * failed stream with an error event in the given dialect.
 */
enum gw_err tr_passthrough_new(enum tr_dialect d, struct tr_stream **out);
void tr_stream_free(struct tr_stream *t);

#endif

/*
 * libFuzzer harness: raw upstream bytes -> SSE parser -> Chat->Anthropic
 * stream translator, fed in pieces whose sizes come from a hash of the
 * input (so the fixture .in.sse files are seeds as they are), with pings
 * between some pieces, then finished as the relay does.  Every output must
 * keep the guarantees checked by fuzz_anthropic_chat.h (no interleaved
 * blocks, one terminal event, ...).
 * Build and run: see tests/fixtures/anthropic_chat/README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"
#include "upstream/sse.h"
#include "fuzz_anthropic_chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames events as the SSE writer does (one data line: our JSON has no
 * newline). */
static enum gw_err
emit(void *ctx, const char *event, const char *d, size_t len)
{
	struct buf *b = ctx;
	enum gw_err e;

	if ((event != NULL &&
	    (e = buf_printf(b, "event: %s\n", event)) != GW_OK) ||
	    (e = buf_puts(b, "data: ")) != GW_OK ||
	    (e = buf_append(b, d, len)) != GW_OK)
		return e;
	return buf_puts(b, "\n\n");
}

static enum gw_err
comment(void *ctx, const char *text)
{
	return buf_printf((struct buf *)ctx, ": %s\n\n", text);
}

struct run {
	struct tr_stream *tr;
	struct tr_sink sink;
};

static enum gw_err
on_event(void *ctx, const char *event, const char *d, size_t len,
    const char *id)
{
	struct run *r = ctx;

	(void)id;
	return r->tr->ops->feed(r->tr, event, d, len, &r->sink);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	struct run r = { NULL, { &out, emit, comment } };
	struct sse_parser *p = NULL;
	uint32_t h = 2166136261u;
	enum gw_err e = GW_OK;
	size_t i, step;
	int truncated = 0;
	char msg[512];

	for (i = 0; i < size; i++)          /* FNV-1a: the split pattern */
		h = (h ^ data[i]) * 16777619u;
	if (tr_chat_stream_new(h & 1 ? "claude-sonnet-4" : NULL, &r.tr) != GW_OK ||
	    sse_parser_new(1 << 20, on_event, &r, &p) != GW_OK)
		abort();
	for (i = 0; i < size && e == GW_OK; i += step) {
		h = h * 1103515245u + 12345u;
		step = 1 + (h >> 16) % 64;
		if (step > size - i)
			step = size - i;
		e = sse_parser_feed(p, data + i, step);
		if (e == GW_OK && (h >> 8) % 16 == 0)
			e = r.tr->ops->ping(r.tr, &r.sink);
	}
	if (e == GW_OK)
		e = sse_parser_finish(p, &truncated);
	if (e == GW_OK && !truncated && r.tr->done)
		e = r.tr->ops->finish(r.tr, GW_OK, NULL, &r.sink);
	else
		e = r.tr->ops->finish(r.tr, e != GW_OK ? e : GW_EUPSTREAM,
		    "upstream stream ended without a terminal event", &r.sink);
	if (e != GW_OK || ac_check_stream(buf_cstr(&out), out.len, msg,
	    sizeof(msg)) != 0) {
		fprintf(stderr, "%s\n--- output:\n%s\n", msg, buf_cstr(&out));
		abort();
	}
	sse_parser_free(p);
	tr_stream_free(r.tr);
	buf_free(&out);
	return 0;
}

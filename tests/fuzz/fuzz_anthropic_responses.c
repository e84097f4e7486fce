/*
 * libFuzzer harness for the Anthropic <-> Responses translators, the
 * emulated web search's and the /v1/responses passthrough.  Every input
 * goes through all of them:
 *
 *   - as JSON: the request translators (Anthropic -> Responses, and the
 *     web search's), the result translator (Responses -> Anthropic) and
 *     the web search's whole-result reading;
 *   - as raw upstream SSE bytes, split at an input-dependent point: the
 *     Responses -> Anthropic stream translator, the web search's collector
 *     (for a streaming and a JSON client) and the passthrough, then their
 *     finish step.
 *
 * The fixture files are valid seeds as they are (tests/fuzz/seeds.py puts
 * them in the corpus).  Build and run: `make fuzz` (doc/fuzzing.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/anthropic_websearch.h"
#include "translate/responses.h"
#include "translate/responses_passthrough.h"
#include "translate/stream.h"
#include "upstream/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum gw_err
sink_emit(void *ctx, const char *event, const char *d, size_t len)
{
	struct buf *b = ctx;
	enum gw_err e;

	/* what an SSE writer would do with it, bounded */
	if (b->len > (1u << 20))
		buf_reset(b);
	if (event != NULL && (e = buf_puts(b, event)) != GW_OK)
		return e;
	return buf_append(b, d, len);
}

static enum gw_err
sink_comment(void *ctx, const char *text)
{
	return buf_puts(ctx, text);
}

struct run {
	struct tr_stream *tr;
	struct tr_sink *sink;
};

static enum gw_err
on_event(void *ctx, const char *event, const char *d, size_t len,
    const char *id)
{
	struct run *r = ctx;

	(void)id;
	return r->tr->ops->feed(r->tr, event, d, len, r->sink);
}

static void
stream(struct tr_stream *tr, const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, sink_emit, sink_comment };
	struct run r = { tr, &sink };
	struct sse_parser *p = NULL;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	int truncated = 0;

	if (sse_parser_new(1u << 20, on_event, &r, &p) != GW_OK)
		goto out;
	/* errors are fine (a bad stream is refused); crashes are not */
	if (sse_parser_feed(p, data, cut) == GW_OK &&
	    sse_parser_feed(p, data + cut, size - cut) == GW_OK)
		GW_IGNORE(sse_parser_finish(p, &truncated));
	tr->ops->ping(tr, &sink);
	tr->ops->finish(tr, tr->done && !truncated ? GW_OK : GW_EUPSTREAM,
	    "fuzz: upstream ended", &sink);
out:
	sse_parser_free(p);
	buf_free(&out);
}

static const struct tr_ws_opts WS_OPTS = { "claude-sonnet-4.6",
	"srvtoolu_fuzz", "fuzz-id" };

static void
websearch_result(const cJSON *in)
{
	struct tr_stream *t = NULL;

	if (tr_ws_stream_new(&WS_OPTS, 0, &t) != GW_OK)
		return;
	/* errors are fine; crashes are not */
	GW_IGNORE(tr_ws_take_result(t, in));
	tr_ws_message(t);
	tr_ws_error(t);
	tr_stream_free(t);
}

static void
json_translators(const uint8_t *data, size_t size)
{
	cJSON *in = json_parse((const char *)data, size, NULL, NULL);
	cJSON *model = cJSON_Parse("{\"capabilities\":{\"limits\":"
	    "{\"max_prompt_tokens\":1000}}}");
	struct tr_resp_compact c = { 1, 0, TR_RESP_COMPACT_RATIO_MESSAGES };
	struct tr_resp_opts o = { model, "xhigh", "EXTRA", &c, "session",
	    " agent " };
	struct tr_resp_result_opts ro = { "gpt-5.4", "tool_search_search", 1 };
	struct buf msg = BUF_INIT;
	cJSON *out = NULL;

	if (in == NULL)
		goto out;
	if (tr_anthropic_to_responses(in, &o, &out, &msg) == GW_OK) {
		tr_responses_has_image(out);
		tr_responses_agent_initiated(out);
		cJSON_Delete(out);
		out = NULL;
	}
	buf_reset(&msg);
	if (tr_responses_to_anthropic(in, &ro, &out, &msg) == GW_OK)
		cJSON_Delete(out);
	out = NULL;
	buf_reset(&msg);
	if (tr_ws_to_responses(in, &o, &out, &msg) == GW_OK)
		cJSON_Delete(out);
	websearch_result(in);
	if (cJSON_IsObject(in)) {
		/* errors are fine; crashes are not */
		GW_IGNORE(tr_responses_context_management(in, model, &c));
	}
out:
	buf_free(&msg);
	cJSON_Delete(model);
	cJSON_Delete(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tr_stream *t = NULL;

	json_translators(data, size);
	if (tr_responses_stream_new("gpt-5.4", NULL, &t) == GW_OK) {
		stream(t, data, size);
		tr_stream_free(t);
	}
	if (tr_responses_passthrough_new(&t) == GW_OK) {
		stream(t, data, size);
		tr_stream_free(t);
	}
	if (tr_ws_stream_new(&WS_OPTS, size % 2, &t) == GW_OK) {
		stream(t, data, size);
		tr_stream_free(t);
	}
	return 0;
}

/*
 * make bench: the translators alone.
 *  - Anthropic -> Chat and Anthropic -> Responses of a Claude-Code-sized
 *    request (~80 KB: 24 tools with schemas, 3 system blocks, a history),
 *    built here with deterministic text, plus the /v1/messages
 *    preprocessing pipeline;
 *  - upstream SSE -> client events per second for each stream translator,
 *    through the real SSE parser, fed in 1400-byte pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/json.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/preprocess.h"
#include "translate/responses_passthrough.h"
#include "translate/stream.h"
#include "upstream/sse.h"

/* The input cannot be built (out of memory): no number would mean anything. */
static void
must(enum gw_err e)
{
	if (e != GW_OK)
		abort();
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
words(struct buf *b, unsigned *seed, int n)
{
	static const char *w[] = { "the", "file", "tool", "agent", "must", "never",
	    "call", "edit", "search", "results", "user", "context", "données",
	    "函数", "path", "command", "output", "before", "after", "🙂" };

	while (n-- > 0) {
		*seed = *seed * 1103515245u + 12345u;
		must(buf_printf(b, "%s ", w[(*seed >> 16) % 20]));
	}
}

static cJSON *
claude_code_request(void)
{
	struct buf b = BUF_INIT;
	unsigned seed = 7;
	int i, j;

	must(buf_puts(&b,
	    "{\"model\":\"claude-opus-4-7-20260101\",\"max_tokens\":64000,"
	    "\"stream\":true,\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"d\\\","
	    "\\\"account_uuid\\\":\\\"\\\",\\\"session_id\\\":\\\"s-1\\\"}\"},"
	    "\"thinking\":{\"type\":\"adaptive\"},\"system\":[{\"type\":\"text\","
	    "\"text\":\"x-anthropic-billing-header: cc_version=1;\"},"));
	for (i = 0; i < 2; i++) {
		must(buf_puts(&b, "{\"type\":\"text\",\"text\":\""));
		words(&b, &seed, i ? 2600 : 20);
		must(buf_puts(&b,
		    "\",\"cache_control\":{\"type\":\"ephemeral\"}}"));
		must(buf_puts(&b, i ? "]," : ","));
	}
	must(buf_puts(&b, "\"tools\":["));
	for (i = 0; i < 24; i++) {
		must(buf_printf(&b, "%s{\"name\":\"Tool%d\",\"description\":\"",
		    i ? "," : "", i));
		words(&b, &seed, 180);
		must(buf_puts(&b,
		    "\",\"input_schema\":{\"type\":\"object\",\"properties\":{"));
		for (j = 0; j < 6; j++) {
			must(buf_printf(&b,
			    "%s\"p%d\":{\"type\":\"string\",\"description\":\"",
			    j ? "," : "", j));
			words(&b, &seed, 12);
			must(buf_puts(&b, "\"}"));
		}
		must(buf_puts(&b, "},\"required\":[\"p0\"]}}"));
	}
	must(buf_puts(&b, "],\"messages\":["));
	for (i = 0; i < 6; i++) {
		must(buf_printf(&b,
		    "%s{\"role\":\"user\",\"content\":[{\"type\":\"text\","
		    "\"text\":\"", i ? "," : ""));
		words(&b, &seed, 120);
		must(buf_printf(&b,
		    "\"}]},{\"role\":\"assistant\",\"content\":[{\"type\":"
		    "\"text\",\"text\":\"ok\"},{\"type\":\"tool_use\",\"id\":\"t%d\","
		    "\"name\":\"Tool%d\",\"input\":{\"p0\":\"x\"}}]},{\"role\":\"user\","
		    "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t%d\","
		    "\"content\":\"", i, i, i));
		words(&b, &seed, 200);
		must(buf_puts(&b, "\"}]}"));
	}
	must(buf_puts(&b, "]}"));
	cJSON *v = json_parse(b.data, b.len, NULL, NULL);
	fprintf(stdout, "request: %zu bytes, 24 tools, 18 messages\n", b.len);
	buf_free(&b);
	return v;
}

/*
 * Issue 11's floor for a translating gateway on cJSON: one cJSON parse plus
 * one unformatted cJSON print of the body, beside what the gateway does
 * instead (the U+0000 scan, our parse, the JS-exact print).
 */
static void
bench_floor(const cJSON *req)
{
	char *text = cJSON_PrintUnformatted(req), *o;
	size_t len;
	cJSON *v;
	double t0, dt;
	int i, n = 500;

	if (text == NULL)
		abort();
	len = strlen(text);
	t0 = now();
	for (i = 0; i < n; i++) {
		if ((v = cJSON_ParseWithLength(text, len)) == NULL ||
		    (o = cJSON_PrintUnformatted(v)) == NULL)
			abort();
		cJSON_free(o);
		cJSON_Delete(v);
	}
	dt = now() - t0;
	printf("%-34s %8.3f ms/request  (%zu bytes)\n",
	    "floor: cJSON parse + print", dt * 1000 / n, len);
	t0 = now();
	for (i = 0; i < n; i++)
		if (json_find_nul(text, len, NULL, NULL) != JSON_NUL_NONE)
			abort();
	dt = now() - t0;
	printf("%-34s %8.3f ms/request\n", "json_find_nul", dt * 1000 / n);
	t0 = now();
	for (i = 0; i < n; i++) {
		if ((v = json_parse(text, len, NULL, NULL)) == NULL ||
		    (o = json_print(v)) == NULL)
			abort();
		cJSON_free(o);
		cJSON_Delete(v);
	}
	dt = now() - t0;
	printf("%-34s %8.3f ms/request\n", "json_parse + json_print", dt * 1000 / n);
	cJSON_free(text);
}

static void
bench_requests(void)
{
	cJSON *req = claude_code_request(), *out;
	struct tr_chat_opts co = { NULL, 1, TR_TOOL_ARRAY | TR_TOOL_IMAGE, 0 };
	struct tr_resp_opts ro;
	struct pp_opts po;
	struct pp_result pr;
	struct buf err = BUF_INIT;
	double t0, dt;
	int i, n = 300;

	memset(&ro, 0, sizeof(ro));
	memset(&po, 0, sizeof(po));
	po.machine_id = "m";
	bench_floor(req);
	t0 = now();
	for (i = 0; i < n; i++) {
		cJSON *copy = cJSON_Duplicate(req, 1);

		memset(&pr, 0, sizeof(pr));
		if (pp_messages(copy, &po, &pr, &err) != GW_OK)
			abort();
		pp_result_free(&pr);
		cJSON_Delete(copy);
	}
	dt = now() - t0;
	printf("%-34s %8.3f ms/request  (%d runs)\n", "preprocess (/v1/messages)",
	    dt * 1000 / n, n);
	t0 = now();
	for (i = 0; i < n; i++) {
		if (tr_anthropic_to_chat(req, &co, &out, &err) != GW_OK)
			abort();
		cJSON_Delete(out);
	}
	dt = now() - t0;
	printf("%-34s %8.3f ms/request\n", "Anthropic -> Chat", dt * 1000 / n);
	t0 = now();
	for (i = 0; i < n; i++) {
		if (tr_anthropic_to_responses(req, &ro, &out, &err) != GW_OK)
			abort();
		cJSON_Delete(out);
	}
	dt = now() - t0;
	printf("%-34s %8.3f ms/request\n", "Anthropic -> Responses", dt * 1000 / n);
	cJSON_Delete(req);
	buf_free(&err);
}

struct count { long events; size_t bytes; };

static enum gw_err
c_emit(void *ctx, const char *event, const char *data, size_t len)
{
	struct count *c = ctx;

	(void)event;
	(void)data;
	c->events++;
	c->bytes += len;
	return GW_OK;
}

static enum gw_err
c_comment(void *ctx, const char *text)
{
	(void)ctx;
	(void)text;
	return GW_OK;
}

struct run { struct tr_stream *tr; struct tr_sink sink; long in; };

static enum gw_err
on_event(void *ctx, const char *event, const char *data, size_t len, const char *id)
{
	struct run *r = ctx;

	(void)id;
	r->in++;
	return r->tr->ops->feed(r->tr, event, data, len, &r->sink);
}

static void
chat_stream_bytes(struct buf *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		must(buf_printf(b,
		    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion."
		    "chunk\",\"created\":1,\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,"
		    "\"delta\":{\"content\":\"word%d héllo \"},\"finish_reason\":null}]}\n\n",
		    i));
	must(buf_puts(b,
	    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},"
	    "\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"chatcmpl-1\",\"choices\":[],"
	    "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}"
	    "\n\ndata: [DONE]\n\n"));
}

static void
responses_stream_bytes(struct buf *b, int n)
{
	int i, seq = 0;

	must(buf_printf(b,
	    "event: response.created\ndata: {\"type\":\"response.created\","
	    "\"sequence_number\":%d,\"response\":{\"id\":\"resp_1\",\"status\":"
	    "\"in_progress\",\"model\":\"gpt-5.4\",\"output\":[]}}\n\n",
	    seq++));
	must(buf_printf(b, "event: response.output_item.added\ndata: {\"type\":"
	    "\"response.output_item.added\",\"sequence_number\":%d,\"output_index\":0,"
	    "\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"content\":[]}}\n\n", seq++));
	for (i = 0; i < n; i++)
		must(buf_printf(b,
		    "event: response.output_text.delta\ndata: {\"type\":"
		    "\"response.output_text.delta\",\"sequence_number\":%d,\"item_id\":"
		    "\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"word%d "
		    "héllo \"}\n\n", seq++, i));
	must(buf_printf(b,
	    "event: response.completed\ndata: {\"type\":\"response.completed\","
	    "\"sequence_number\":%d,\"response\":{\"id\":\"resp_1\",\"status\":"
	    "\"completed\",\"model\":\"gpt-5.4\",\"output\":[],\"usage\":{\"input_tokens\""
	    ":10,\"output_tokens\":5,\"total_tokens\":15}}}\n\n", seq++));
}

static void
bench_stream(const char *name, struct tr_stream *tr, const struct buf *in)
{
	struct count c = { 0, 0 };
	struct run r = { tr, { &c, c_emit, c_comment }, 0 };
	struct sse_parser *p;
	double t0, dt;
	size_t off;

	must(sse_parser_new(0, on_event, &r, &p));
	t0 = now();
	for (off = 0; off < in->len; off += 1400)
		if (sse_parser_feed(p, in->data + off,
		    in->len - off < 1400 ? in->len - off : 1400) != GW_OK)
			abort();
	must(sse_parser_finish(p, NULL));
	tr->ops->finish(tr, GW_OK, NULL, &r.sink);
	dt = now() - t0;
	printf("%-34s %10.0f upstream events/s  (%ld in, %ld out, %.1f MB/s)\n",
	    name, r.in / dt, r.in, c.events, in->len / dt / 1e6);
	sse_parser_free(p);
	tr_stream_free(tr);
}

int
main(void)
{
	struct buf chat = BUF_INIT, resp = BUF_INIT;
	struct tr_stream *tr;
	int n = 200000;

	bench_requests();
	chat_stream_bytes(&chat, n);
	responses_stream_bytes(&resp, n);
	must(tr_passthrough_new(GW_DIALECT_OPENAI, &tr));
	bench_stream("passthrough (chat, OpenAI client)", tr, &chat);
	must(tr_chat_stream_new("gpt-4.1", &tr));
	bench_stream("Chat -> Anthropic stream", tr, &chat);
	must(tr_responses_stream_new("gpt-5.4", NULL, &tr));
	bench_stream("Responses -> Anthropic stream", tr, &resp);
	must(tr_responses_passthrough_new(&tr));
	bench_stream("Responses passthrough (id repair)", tr, &resp);
	buf_free(&chat);
	buf_free(&resp);
	return 0;
}

#include <string.h>

#include "testutil.h"
#include "mockserver.h"
#include "core/util.h"
#include "translate/stream.h"
#include "upstream/relay.h"

static struct up_client *cl;

static void
setup(void)
{
	ck_assert_int_eq(up_global_init(), GW_OK);
	ck_assert_int_eq(up_client_new(&cl), GW_OK);
}

static void
teardown(void)
{
	up_client_free(cl);
	cl = NULL;
	up_global_cleanup();
}

/* A sink that writes SSE text into a buffer, and can play a client that
 * leaves after a number of writes. */
struct cap {
	struct buf out;
	int writes;
	int fail_after;      /* > 0: writes after this many fail */
	int failed;
};

static enum gw_err
cap_emit(void *ctx, const char *event, const char *data, size_t len)
{
	struct cap *c = ctx;
	enum gw_err e;

	if (c->fail_after > 0 && c->writes >= c->fail_after) {
		c->failed++;
		return GW_ECLIENTGONE;
	}
	c->writes++;
	if (event != NULL &&
	    (e = buf_printf(&c->out, "event: %s\n", event)) != GW_OK)
		return e;
	if ((e = buf_puts(&c->out, "data: ")) != GW_OK ||
	    (e = buf_append(&c->out, data, len)) != GW_OK)
		return e;
	return buf_puts(&c->out, "\n\n");
}

static enum gw_err
cap_comment(void *ctx, const char *text)
{
	struct cap *c = ctx;

	if (c->fail_after > 0 && c->writes >= c->fail_after) {
		c->failed++;
		return GW_ECLIENTGONE;
	}
	c->writes++;
	return buf_printf(&c->out, ": %s\n\n", text);
}

struct run {
	struct cap cap;
	struct tr_sink sink;
	struct tr_stream *tr;
	struct relay_result res;
	struct mock_server *m;
	enum gw_err e;
	int64_t elapsed_ms;
};

static void
run_relay(struct run *r, const struct mock_response *script, size_t n,
    enum gw_dialect d, const struct relay_opts *opts, long stall_s)
{
	struct up_request q = { 0 };
	static const char *const hdrs[] = { "Content-Type: application/json",
	    NULL };
	char url[128];
	int64_t t0;

	r->sink.ctx = &r->cap;
	r->sink.emit = cap_emit;
	r->sink.comment = cap_comment;
	ck_assert_int_eq(tr_passthrough_new(d, &r->tr), GW_OK);
	ck_assert_ptr_nonnull(r->m = mock_start(script, n));
	mock_url(r->m, "/v1/chat/completions", url, sizeof(url));
	q.url = url;
	q.headers = hdrs;
	q.body = "{\"stream\":true}";
	q.body_len = strlen(q.body);
	q.stall_timeout_s = stall_s;
	t0 = util_mono_ms();
	r->e = relay_run(cl, &q, opts, r->tr, &r->sink, &r->res);
	r->elapsed_ms = util_mono_ms() - t0;
	ck_assert_int_eq(r->e, r->res.err);
}

static void
run_free(struct run *r)
{
	mock_stop(r->m);
	tr_stream_free(r->tr);
	relay_result_free(&r->res);
	buf_free(&r->cap.out);
}

#define SSE_HDR "Content-Type: text/event-stream\r\n"

START_TEST(events_relayed_in_order)
{
	/* Pieces cut mid-line, CRLF and CR endings, a comment, a multi-line
	 * event, UTF-8 split between two pieces. */
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = {
			{ 0, "data: {\"a\":\"h\xc3" },
			{ 10, "\xa9\"}\r\n\r\n: upstream comment\n\nda" },
			{ 10, "ta: line1\ndata: line2\n\nevent: custom\r" },
			{ 0, "data: {\"b\":2}\r\r" },
			{ 10, "data: [DONE]\n\n" },
		},
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_ptr_null(r.res.message);
	ck_assert_str_eq(buf_cstr(&r.cap.out),
	    "data: {\"a\":\"h\xc3\xa9\"}\n\n"
	    "data: line1\nline2\n\n"
	    "event: custom\ndata: {\"b\":2}\n\n"
	    "data: [DONE]\n\n");
	ck_assert_int_eq(r.res.status, 200);
	ck_assert_int_eq(r.res.events_in, 4);
	ck_assert_int_eq(r.res.events_out, 4);
	ck_assert_int_eq(r.res.client_started, 1);
	ck_assert(r.tr->done);
	/* The streamed body is not also collected. */
	ck_assert_uint_eq(r.res.resp.body.len, 0);
	/* Streams ask for an uncompressed body. */
	{
		char *seen = mock_last_request(r.m);

		ck_assert_ptr_nonnull(strcasestr(seen,
		    "\r\nAccept-Encoding: identity\r\n"));
		free(seen);
	}
	run_free(&r);
}
END_TEST

START_TEST(pings_during_silence)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = {
			{ 0, "data: {\"n\":1}\n\n" },
			{ 500, "data: {\"n\":2}\n\n" },
			{ 0, "data: [DONE]\n\n" },
		},
	} };
	struct relay_opts o = { .ping_interval_ms = 100, .early_pings = 0 };
	struct run r = { 0 };
	const char *out, *first, *second, *ping;

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	ck_assert_int_eq(r.e, GW_OK);
	out = buf_cstr(&r.cap.out);
	first = strstr(out, "data: {\"n\":1}");
	second = strstr(out, "data: {\"n\":2}");
	ping = strstr(out, ": keep-alive\n\n");
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	/* At least one ping, and only while the upstream was silent. */
	ck_assert_ptr_nonnull(ping);
	ck_assert(first < ping && ping < second);
	ck_assert_int_ge(r.res.pings, 1);
	ck_assert_int_eq(r.res.events_out, 3);
	run_free(&r);
}
END_TEST

/* An SSE body without a Content-Type: handed back as a body, unless the
 * caller says an untyped 2xx is a stream (the Codex backend). */
START_TEST(untyped_stream_only_when_asked)
{
	static const struct mock_response script[] = { {
		.headers = "", .chunked = 1,
		.pieces = {
			{ 0, "data: {\"n\":1}\n\n" },
			{ 0, "data: [DONE]\n\n" },
		},
	} };
	struct relay_opts o = { .ping_interval_ms = -1, .untyped_is_sse = 1 };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_int_eq(r.res.events_out, 2);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out), "data: {\"n\":1}"));
	run_free(&r);
	memset(&r, 0, sizeof(r));
	o.untyped_is_sse = 0;
	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_int_eq(r.res.events_out, 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.res.resp.body), "data: {\"n\":1}"));
	run_free(&r);
}
END_TEST

START_TEST(anthropic_ping_event)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = {
			{ 300, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n" },
		},
	} };
	struct relay_opts o = { .ping_interval_ms = 100, .early_pings = 0 };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_ANTHROPIC, &o, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert(util_has_prefix(buf_cstr(&r.cap.out),
	    "event: ping\ndata: {\"type\":\"ping\"}\n\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out),
	    "event: message_stop\n"));
	ck_assert_int_eq(r.res.events_out, 1);
	ck_assert_int_ge(r.res.pings, 1);
	run_free(&r);
}
END_TEST

/* Early pings start the client stream before the status is known; a late
 * 500 must then end it with an error event carrying the upstream's words. */
START_TEST(early_pings_then_error_status)
{
	static const struct mock_response script[] = { {
		.status = 500, .header_delay_ms = 500,
		.headers = "Content-Type: application/json\r\n",
		.pieces = { { 0, "{\"error\":{\"message\":\"model overloaded\"}}" } },
	} };
	struct relay_opts o = { .ping_interval_ms = 100, .early_pings = 1 };
	struct run r = { 0 };
	const char *out;

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	out = buf_cstr(&r.cap.out);
	ck_assert_int_eq(r.e, GW_EUPSTREAM);
	ck_assert_int_eq(r.res.status, 500);
	ck_assert_int_eq(r.res.client_started, 1);
	ck_assert(util_has_prefix(out, ": keep-alive\n\n"));
	ck_assert_ptr_nonnull(strstr(out, "event: error\ndata: {\"error\":"
	    "{\"type\":\"api_error\",\"message\":\"upstream answered HTTP 500: "
	    "model overloaded\"}}\n\ndata: [DONE]\n\n"));
	ck_assert_str_eq(r.res.message,
	    "upstream answered HTTP 500: model overloaded");
	run_free(&r);
}
END_TEST

/* Early pings allowed, but the error came before any ping was due: the
 * client stream never started, so the route can answer with a status. */
START_TEST(early_pings_fast_error_is_status)
{
	static const struct mock_response script[] = { {
		.status = 400,
		.pieces = { { 0, "{\"error\":{\"message\":\"bad\"}}" } },
	} };
	struct relay_opts o = { .ping_interval_ms = 1000, .early_pings = 1 };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_int_eq(r.res.status, 400);
	ck_assert_int_eq(r.res.client_started, 0);
	ck_assert_uint_eq(r.cap.out.len, 0);
	run_free(&r);
}
END_TEST

START_TEST(drop_mid_stream_ends_with_error)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\n" }, { 20, "data: {\"n\"" } },
		.end = MOCK_END_CLOSE,
	} };
	struct run r = { 0 };
	const char *out;

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	out = buf_cstr(&r.cap.out);
	ck_assert_int_eq(r.e, GW_EUPSTREAM);
	ck_assert(util_has_prefix(out, "data: {\"n\":1}\n\nevent: error\n"));
	ck_assert_ptr_nonnull(strstr(out, "upstream connection closed before "
	    "the stream completed"));
	ck_assert(strlen(out) > 14 &&
	    strcmp(out + strlen(out) - 14, "data: [DONE]\n\n") == 0);
	ck_assert_str_eq(r.res.message,
	    "upstream connection closed before the stream completed");
	run_free(&r);
}
END_TEST

START_TEST(clean_close_without_done_is_error)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\n" } },
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_EUPSTREAM);
	ck_assert_str_eq(r.res.message,
	    "upstream stream ended without a terminal event");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out), "event: error\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out),
	    "ended without a terminal event"));
	run_free(&r);
}
END_TEST

/* A chat stream that finished its message (a finish_reason) and then
 * closed cleanly without [DONE] ends cleanly, as the reference relays it:
 * no error event, no [DONE] of ours. */
START_TEST(clean_close_after_finish_reason_is_ok)
{
	static const char first[] = "data: {\"choices\":[{\"delta\":"
	    "{\"content\":\"hi\"},\"finish_reason\":null,\"index\":0}]}\n\n";
	static const char finish[] = "data: {\"choices\":[{\"delta\":{},"
	    "\"finish_reason\": \"stop\",\"index\":0}]}\n\n";
	static const char usage[] = "data: {\"choices\":[],\"usage\":"
	    "{\"prompt_tokens\":3,\"completion_tokens\":2,"
	    "\"total_tokens\":5}}\n\n";
	struct buf want = BUF_INIT;
	int with_usage;

	for (with_usage = 1; with_usage >= 0; with_usage--) {
		struct mock_response script[1] = { {
			.headers = SSE_HDR, .chunked = 1,
			.pieces = { { 0, first }, { 0, finish },
			    { 0, with_usage ? usage : NULL } },
		} };
		struct run r = { 0 };

		buf_reset(&want);
		ck_assert_int_eq(buf_puts(&want, first), GW_OK);
		ck_assert_int_eq(buf_puts(&want, finish), GW_OK);
		if (with_usage)
			ck_assert_int_eq(buf_puts(&want, usage), GW_OK);
		run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
		ck_assert_int_eq(r.e, GW_OK);
		ck_assert_str_eq(buf_cstr(&r.cap.out), buf_cstr(&want));
		ck_assert_int_eq(r.tr->usage.output_tokens, (with_usage ? 2 : -1));
		run_free(&r);
	}
	buf_free(&want);
}
END_TEST

/* A finish_reason is not a terminal event: a drop after it still ends
 * with the error event (the usage chunk may be lost). */
START_TEST(drop_after_finish_reason_is_error)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"choices\":[{\"delta\":{},"
		    "\"finish_reason\":\"stop\",\"index\":0}]}\n\n" },
		    { 20, "data: {\"n\"" } },
		.end = MOCK_END_CLOSE,
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_EUPSTREAM);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out), "event: error\n"));
	run_free(&r);
}
END_TEST

/* The body ends at close (no length): clean at the HTTP level, but the
 * last event was cut in half. */
START_TEST(close_mid_event_is_error)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .close_delimited = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\ndata: {\"n\":" } },
		.end = MOCK_END_CLOSE,
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_ANTHROPIC, NULL, 0);
	ck_assert_int_eq(r.e, GW_EUPSTREAM);
	ck_assert_str_eq(r.res.message,
	    "upstream stream ended in the middle of an event");
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out),
	    "event: error\ndata: {\"type\":\"error\",\"error\":"));
	run_free(&r);
}
END_TEST

START_TEST(stall_ends_with_timeout_error)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\n" } },
		.end = MOCK_END_HOLD,
	} };
	struct relay_opts o = { .ping_interval_ms = -1, .early_pings = 0 };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 1);
	ck_assert_int_eq(r.e, GW_ETIMEOUT);
	ck_assert_int_ge(r.elapsed_ms, 1000);
	ck_assert_int_lt(r.elapsed_ms, 2500);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.cap.out),
	    "event: error\ndata: {\"error\":{\"type\":\"timeout_error\","));
	ck_assert_str_eq(r.res.message, "upstream sent nothing for 1 s");
	ck_assert_int_eq(mock_wait(r.m, &r.m->peer_closed_early, 1, 2000), 1);
	run_free(&r);
}
END_TEST

/* Pings do not count as upstream activity: an upstream silent past the
 * stall guard still times out while the client is kept alive. */
START_TEST(stall_with_pings)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\n" } },
		.end = MOCK_END_HOLD,
	} };
	struct relay_opts o = { .ping_interval_ms = 200, .early_pings = 0 };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 1);
	ck_assert_int_eq(r.e, GW_ETIMEOUT);
	ck_assert_int_ge(r.res.pings, 2);
	run_free(&r);
}
END_TEST

START_TEST(client_gone_aborts_upstream)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = {
			{ 0, "data: {\"n\":1}\n\n" }, { 30, "data: {\"n\":2}\n\n" },
			{ 30, "data: {\"n\":3}\n\n" }, { 30, "data: {\"n\":4}\n\n" },
			{ 30, "data: {\"n\":5}\n\n" }, { 30, "data: {\"n\":6}\n\n" },
			{ 30, "data: {\"n\":7}\n\n" }, { 30, "data: {\"n\":8}\n\n" },
			{ 30, "data: {\"n\":9}\n\n" }, { 30, "data: {\"n\":10}\n\n" },
			{ 30, "data: {\"n\":11}\n\n" }, { 30, "data: {\"n\":12}\n\n" },
			{ 30, "data: {\"n\":13}\n\n" }, { 30, "data: {\"n\":14}\n\n" },
			{ 30, "data: {\"n\":15}\n\n" }, { 30, "data: {\"n\":16}\n\n" },
			{ 30, "data: {\"n\":17}\n\n" }, { 30, "data: {\"n\":18}\n\n" },
			{ 30, "data: {\"n\":19}\n\n" }, { 30, "data: [DONE]\n\n" },
		},
	} };
	struct run r = { 0 };

	r.cap.fail_after = 3;
	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_ECLIENTGONE);
	ck_assert_int_eq(r.res.events_out, 3);
	ck_assert_int_eq(r.res.events_in, 4);
	/* No error event is attempted at a client that is gone. */
	ck_assert_int_eq(r.cap.failed, 1);
	ck_assert_int_lt(r.elapsed_ms, 400);
	/* The upstream saw its connection closed while it was still sending. */
	ck_assert_int_eq(mock_wait(r.m, &r.m->peer_closed_early, 1, 2000), 1);
	ck_assert_int_lt(mock_get(r.m, &r.m->pieces_sent), 20);
	run_free(&r);
}
END_TEST

/* A failing ping is how a silent stream learns the client left. */
START_TEST(client_gone_on_ping)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\n" }, { 3000, "data: [DONE]\n\n" } },
	} };
	struct relay_opts o = { .ping_interval_ms = 100, .early_pings = 0 };
	struct run r = { 0 };

	r.cap.fail_after = 2;
	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	ck_assert_int_eq(r.e, GW_ECLIENTGONE);
	ck_assert_int_eq(r.res.pings, 1);
	ck_assert_int_lt(r.elapsed_ms, 1000);
	ck_assert_int_eq(mock_wait(r.m, &r.m->peer_closed_early, 1, 2000), 1);
	run_free(&r);
}
END_TEST

START_TEST(error_status_returned_untouched)
{
	static const struct mock_response script[] = { {
		.status = 429,
		.headers = "Content-Type: application/json\r\nRetry-After: 3\r\n"
		    "x-github-request-id: q1\r\n",
		.pieces = { { 0, "{\"error\":{\"message\":\"rate limited\"}}" } },
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_int_eq(r.res.status, 429);
	ck_assert_uint_eq(r.cap.out.len, 0);
	ck_assert_int_eq(r.res.client_started, 0);
	ck_assert_int_eq(r.res.events_in, 0);
	ck_assert_str_eq(buf_cstr(&r.res.resp.body),
	    "{\"error\":{\"message\":\"rate limited\"}}");
	ck_assert_str_eq(r.res.resp.retry_after, "3");
	ck_assert_uint_eq(r.res.resp.npass_headers, 2);
	ck_assert_str_eq(r.res.resp.pass_headers[1], "x-github-request-id: q1");
	ck_assert_ptr_null(r.res.message);
	run_free(&r);
}
END_TEST

START_TEST(json_instead_of_stream_handed_back)
{
	static const struct mock_response script[] = { {
		.headers = "Content-Type: application/json\r\n",
		.pieces = { { 0, "{\"choices\":[]}" } },
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_int_eq(r.res.status, 200);
	ck_assert_int_eq(r.res.client_started, 0);
	ck_assert_str_eq(buf_cstr(&r.res.resp.body), "{\"choices\":[]}");
	ck_assert_str_eq(r.res.resp.content_type, "application/json");
	run_free(&r);
}
END_TEST

START_TEST(usage_from_final_chunk)
{
	static const struct mock_response script[] = { {
		.headers = "Content-Type: text/event-stream; charset=utf-8\r\n",
		.chunked = 1,
		.pieces = {
			{ 0, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],"
			  "\"model\":\"gpt-4.1\"}\n\n" },
			{ 0, "data: {\"choices\":[],\"model\":\"gpt-4.1-2025\","
			  "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,"
			  "\"total_tokens\":18,\"prompt_tokens_details\":"
			  "{\"cached_tokens\":4}}}\n\n" },
			{ 0, "data: [DONE]\n\n" },
		},
	} };
	struct run r = { 0 };

	run_relay(&r, script, 1, GW_DIALECT_OPENAI, NULL, 0);
	ck_assert_int_eq(r.e, GW_OK);
	ck_assert_int_eq(r.tr->usage.input_tokens, 11);
	ck_assert_int_eq(r.tr->usage.output_tokens, 7);
	ck_assert_int_eq(r.tr->usage.total_tokens, 18);
	ck_assert_int_eq(r.tr->usage.cache_read_tokens, 4);
	ck_assert_str_eq(r.tr->usage.model, "gpt-4.1-2025");
	run_free(&r);
}
END_TEST

START_TEST(connect_failure_before_stream)
{
	struct up_request q = { 0 };
	struct tr_stream *tr;
	struct cap cap = { BUF_INIT, 0, 0, 0 };
	struct tr_sink sink = { &cap, cap_emit, cap_comment };
	struct relay_result res;
	struct relay_opts o = { .ping_interval_ms = 100, .early_pings = 1 };
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", mock_closed_port());
	q.url = url;
	q.connect_retries = -1;
	ck_assert_int_eq(tr_passthrough_new(GW_DIALECT_OPENAI, &tr), GW_OK);
	ck_assert_int_eq(relay_run(cl, &q, &o, tr, &sink, &res), GW_ECONNECT);
	ck_assert_int_eq(res.client_started, 0);
	ck_assert_uint_eq(cap.out.len, 0);
	ck_assert(util_has_prefix(res.message, "could not connect to 127.0.0.1:"));
	relay_result_free(&res);
	tr_stream_free(tr);
	buf_free(&cap.out);
}
END_TEST

/* Retries (connect phase) keep the early pings going. */
START_TEST(early_pings_across_retries)
{
	struct up_request q = { 0 };
	struct tr_stream *tr;
	struct cap cap = { BUF_INIT, 0, 0, 0 };
	struct tr_sink sink = { &cap, cap_emit, cap_comment };
	struct relay_result res;
	struct relay_opts o = { .ping_interval_ms = 100, .early_pings = 1 };
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", mock_closed_port());
	q.url = url;
	ck_assert_int_eq(tr_passthrough_new(GW_DIALECT_ANTHROPIC, &tr), GW_OK);
	ck_assert_int_eq(relay_run(cl, &q, &o, tr, &sink, &res), GW_ECONNECT);
	ck_assert_int_eq(res.resp.attempts, 3);
	ck_assert_int_eq(res.client_started, 1);
	ck_assert_int_ge(res.pings, 5);
	/* The started stream ends with an error event, not a silent close. */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&cap.out),
	    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	    "\"api_error\",\"message\":\"could not connect to 127.0.0.1:"));
	relay_result_free(&res);
	tr_stream_free(tr);
	buf_free(&cap.out);
}
END_TEST

START_TEST(non_stream_mode)
{
	static const struct mock_response script[] = { {
		.headers = "Content-Type: application/json\r\n",
		.pieces = { { 0, "{\"id\":\"x\"}" } },
	} };
	struct mock_server *m = mock_start(script, 1);
	struct up_request q = { 0 };
	struct relay_result res;
	char url[128];

	mock_url(m, "/v1/messages", url, sizeof(url));
	q.url = url;
	q.body = "{}";
	q.body_len = 2;
	ck_assert_int_eq(relay_run(cl, &q, NULL, NULL, NULL, &res), GW_OK);
	ck_assert_int_eq(res.status, 200);
	ck_assert_str_eq(buf_cstr(&res.resp.body), "{\"id\":\"x\"}");
	ck_assert_int_ge(res.total_ms, 0);
	relay_result_free(&res);
	mock_stop(m);
}
END_TEST

/* The watch: the client "hangs up" once it has been asked `after` times. */
struct left {
	int asked;
	int after;
};

static int
left_after(void *ctx)
{
	struct left *l = ctx;

	return ++l->asked > l->after;
}

/* A silent upstream (headers after 5 s), not streamed: the watch aborts
 * the transfer within RELAY_WATCH_MS of the hang-up, and the upstream
 * sees its connection closed. */
START_TEST(watch_aborts_a_non_stream_call)
{
	static const struct mock_response script[] = { {
		.headers = "Content-Type: application/json\r\n",
		.header_delay_ms = 5000,
		.pieces = { { 0, "{\"id\":\"x\"}" } },
	} };
	struct mock_server *m = mock_start(script, 1);
	struct left l = { 0, 2 };
	struct relay_opts o = { 0 };
	struct up_request q = { 0 };
	struct relay_result res;
	char url[128];

	o.client_left = left_after;
	o.client_ctx = &l;
	mock_url(m, "/v1/messages", url, sizeof(url));
	q.url = url;
	q.body = "{}";
	q.body_len = 2;
	ck_assert_int_eq(relay_run(cl, &q, &o, NULL, NULL, &res), GW_ECLIENTGONE);
	ck_assert_int_eq(l.asked, 3);
	ck_assert_int_lt(res.total_ms, 3 * RELAY_WATCH_MS);
	ck_assert_str_eq(res.message, "client left");
	ck_assert_int_eq(mock_wait(m, &m->closed, 1, 2000), 1);
	relay_result_free(&res);
	mock_stop(m);
}
END_TEST

/* A stream whose upstream is silent, with pings off: the watch alone
 * notices the hang-up, without a write to the client. */
START_TEST(watch_aborts_a_silent_stream)
{
	static const struct mock_response script[] = { {
		.headers = SSE_HDR, .chunked = 1,
		.pieces = { { 0, "data: {\"n\":1}\n\n" }, { 5000, "data: [DONE]\n\n" } },
	} };
	struct left l = { 0, 1 };
	struct relay_opts o = { .ping_interval_ms = -1, .early_pings = 0 };
	struct run r = { 0 };

	o.client_left = left_after;
	o.client_ctx = &l;
	run_relay(&r, script, 1, GW_DIALECT_OPENAI, &o, 0);
	ck_assert_int_eq(r.e, GW_ECLIENTGONE);
	ck_assert_int_eq(r.res.pings, 0);
	ck_assert_int_eq(r.res.events_out, 1);
	ck_assert_int_lt(r.elapsed_ms, 3 * RELAY_WATCH_MS);
	ck_assert_int_eq(mock_wait(r.m, &r.m->peer_closed_early, 1, 2000), 1);
	run_free(&r);
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("relay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, events_relayed_in_order);
	tcase_add_test(tc, pings_during_silence);
	tcase_add_test(tc, anthropic_ping_event);
	tcase_add_test(tc, untyped_stream_only_when_asked);
	tcase_add_test(tc, early_pings_then_error_status);
	tcase_add_test(tc, early_pings_fast_error_is_status);
	tcase_add_test(tc, drop_mid_stream_ends_with_error);
	tcase_add_test(tc, clean_close_without_done_is_error);
	tcase_add_test(tc, clean_close_after_finish_reason_is_ok);
	tcase_add_test(tc, drop_after_finish_reason_is_error);
	tcase_add_test(tc, close_mid_event_is_error);
	tcase_add_test(tc, stall_ends_with_timeout_error);
	tcase_add_test(tc, stall_with_pings);
	tcase_add_test(tc, client_gone_aborts_upstream);
	tcase_add_test(tc, client_gone_on_ping);
	tcase_add_test(tc, error_status_returned_untouched);
	tcase_add_test(tc, json_instead_of_stream_handed_back);
	tcase_add_test(tc, usage_from_final_chunk);
	tcase_add_test(tc, connect_failure_before_stream);
	tcase_add_test(tc, early_pings_across_retries);
	tcase_add_test(tc, non_stream_mode);
	tcase_add_test(tc, watch_aborts_a_non_stream_call);
	tcase_add_test(tc, watch_aborts_a_silent_stream);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(relay_suite());
}

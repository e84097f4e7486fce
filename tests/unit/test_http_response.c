#include <string.h>

#include "testutil.h"
#include "http/io.h"
#include "http/request.h"
#include "http/response.c"

/* A connection over memory with a fixed trace id. */
struct fixture {
	struct http_mem_io m;
	struct http_io io;
	struct http_request req;
	struct http_conn c;
};

static void
fx_init(struct fixture *f, const char *method)
{
	memset(&f->req, 0, sizeof(f->req));
	f->req.method = (char *)method;
	snprintf(f->req.trace_id, sizeof(f->req.trace_id), "t-1");
	http_mem_io_init(&f->m, NULL, 0, NULL);
	http_io_mem(&f->io, &f->m);
	http_conn_init(&f->c, &f->io, &f->req);
}

static void
fx_free(struct fixture *f)
{
	http_conn_free(&f->c);
	http_mem_io_free(&f->m);
}

static const char *
out(struct fixture *f)
{
	return buf_cstr(&f->m.out);
}

#define HDR_TAIL "Access-Control-Allow-Origin: *\r\nx-trace-id: t-1\r\n"

START_TEST(begin_format)
{
	struct fixture f;

	fx_init(&f, "GET");
	ck_assert(!http_conn_started(&f.c));
	ck_assert_int_eq(http_begin(&f.c, 201, "text/plain",
	    (const char *const[]){ "X-A", "b", "Retry-After", "5", NULL }), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 201 Created\r\n"
	    "Content-Type: text/plain\r\n" HDR_TAIL
	    "X-A: b\r\nRetry-After: 5\r\n\r\n");
	ck_assert(http_conn_started(&f.c));
	ck_assert_int_eq(f.c.status, 201);
	ck_assert_int_eq(http_write(&f.c, "xy", 2), GW_OK);
	ck_assert_int_eq(http_flush(&f.c), GW_OK);
	ck_assert_int_eq(f.m.flushes, 1);
	ck_assert_str_eq(strstr(out(&f), "\r\n\r\n"), "\r\n\r\nxy");
	fx_free(&f);
}
END_TEST

START_TEST(begin_once_only)
{
	struct fixture f;
	size_t len;

	fx_init(&f, "GET");
	ck_assert_int_eq(http_write(&f.c, "x", 1), GW_EINTERNAL);
	ck_assert_int_eq(f.m.out.len, 0);
	ck_assert_int_eq(http_begin(&f.c, 200, NULL, NULL), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 200 OK\r\n" HDR_TAIL "\r\n");
	len = f.m.out.len;
	ck_assert_int_eq(http_begin(&f.c, 500, "text/plain", NULL), GW_EINTERNAL);
	ck_assert_int_eq(http_send_text(&f.c, 500, "x"), GW_EINTERNAL);
	ck_assert_int_eq(http_sse_begin(&f.c), GW_EINTERNAL);
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_OPENAI, 500, NULL, "x", NULL),
	    GW_EINTERNAL);
	ck_assert_uint_eq(f.m.out.len, len);
	ck_assert_int_eq(f.c.status, 200);
	fx_free(&f);
}
END_TEST

START_TEST(header_injection_dropped)
{
	struct fixture f;

	fx_init(&f, "GET");
	ck_assert_int_eq(http_begin(&f.c, 200, "text/plain",
	    (const char *const[]){
		"X-Evil", "a\r\nSet-Cookie: s=1",
		"X-Lf", "a\nb",
		"Bad Name", "v",
		"X-Bad:Colon", "v",
		"", "v",
		"X-Ok", "fine\tvalue",
		NULL }), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 200 OK\r\nContent-Type: text/plain\r\n"
	    HDR_TAIL "X-Ok: fine\tvalue\r\n\r\n");
	fx_free(&f);

	/* a content type with CR/LF is refused outright */
	fx_init(&f, "GET");
	ck_assert_int_eq(http_begin(&f.c, 200, "text/plain\r\nX: y", NULL),
	    GW_EINVAL);
	ck_assert_uint_eq(f.m.out.len, 0);
	ck_assert(!http_conn_started(&f.c));
	ck_assert_int_eq(http_begin(&f.c, 99, "text/plain", NULL), GW_EINVAL);
	fx_free(&f);
}
END_TEST

START_TEST(send_json_with_length)
{
	struct fixture f;
	cJSON *v = cJSON_Parse("{\"a\": [1, 2], \"s\": \"é\\\"\"}");

	fx_init(&f, "POST");
	ck_assert_int_eq(http_send_json(&f.c, 200, v), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: 22\r\n" HDR_TAIL
	    "\r\n{\"a\":[1,2],\"s\":\"é\\\"\"}");
	cJSON_Delete(v);
	fx_free(&f);

	fx_init(&f, "GET");
	ck_assert_int_eq(http_send_text(&f.c, 404, "404 Not Found"), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 404 Not Found\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n"
	    HDR_TAIL "\r\n404 Not Found");
	fx_free(&f);
}
END_TEST

START_TEST(head_has_no_body)
{
	struct fixture f;

	fx_init(&f, "HEAD");
	ck_assert_int_eq(http_send_text(&f.c, 200, "hello"), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 200 OK\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n"
	    HDR_TAIL "\r\n");
	fx_free(&f);
}
END_TEST

START_TEST(error_envelopes)
{
	struct fixture f;

	fx_init(&f, "POST");
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_OPENAI, 400, NULL,
	    "bad \"model\"", NULL), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 400 Bad Request\r\n"
	    "Content-Type: application/json\r\nContent-Length: 68\r\n" HDR_TAIL
	    "\r\n{\"error\":{\"message\":\"bad \\\"model\\\"\",\"type\":\"invalid_request_error\"}}");
	fx_free(&f);

	fx_init(&f, "POST");
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_ANTHROPIC, 529, NULL,
	    "Overloaded", (const char *const[]){ "retry-after", "3", NULL }), GW_OK);
	ck_assert_str_eq(out(&f), "Status: 529 Overloaded\r\n"
	    "Content-Type: application/json\r\nContent-Length: 75\r\n" HDR_TAIL
	    "retry-after: 3\r\n\r\n"
	    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
	fx_free(&f);

	fx_init(&f, "POST");
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_OPENAI, 502, "error",
	    "{\"message\":\"x\"}", NULL), GW_OK);
	ck_assert_str_eq(strstr(out(&f), "\r\n\r\n") + 4,
	    "{\"error\":{\"message\":\"{\\\"message\\\":\\\"x\\\"}\",\"type\":\"error\"}}");
	fx_free(&f);
}
END_TEST

START_TEST(error_types)
{
	static const struct {
		int status;
		const char *openai, *anthropic;
	} t[] = {
		{ 400, "invalid_request_error", "invalid_request_error" },
		{ 401, "authentication_error", "authentication_error" },
		{ 402, "invalid_request_error", "billing_error" },
		{ 403, "permission_error", "permission_error" },
		{ 404, "not_found_error", "not_found_error" },
		{ 405, "invalid_request_error", "invalid_request_error" },
		{ 413, "request_too_large", "request_too_large" },
		{ 422, "invalid_request_error", "invalid_request_error" },
		{ 429, "rate_limit_error", "rate_limit_error" },
		{ 500, "api_error", "api_error" },
		{ 502, "api_error", "api_error" },
		{ 503, "api_error", "api_error" },
		{ 504, "api_error", "timeout_error" },
		{ 529, "api_error", "overloaded_error" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_str_eq(http_error_type_for_status(t[i].status, GW_DIALECT_OPENAI),
		    t[i].openai);
		ck_assert_str_eq(http_error_type_for_status(t[i].status,
		    GW_DIALECT_ANTHROPIC), t[i].anthropic);
	}
	ck_assert_str_eq(http_reason(413), "Content Too Large");
	ck_assert_str_eq(http_reason(799), "Unknown");
}
END_TEST

#define SSE_HEAD "Status: 200 OK\r\nContent-Type: text/event-stream\r\n" \
	HDR_TAIL "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n\r\n"

START_TEST(sse_framing)
{
	struct fixture f;
	const char *ml = "a\nb\r\nc\rd";

	fx_init(&f, "POST");
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "x", 1), GW_EINTERNAL);
	ck_assert_int_eq(http_sse_begin(&f.c), GW_OK);
	ck_assert_str_eq(out(&f), SSE_HEAD);
	ck_assert_int_eq(f.m.flushes, 1);
	ck_assert_int_eq(http_sse_event(&f.c, "message_start", "{\"x\":1}", 7), GW_OK);
	ck_assert_int_eq(f.m.flushes, 2);
	ck_assert_int_eq(http_sse_event(&f.c, NULL, ml, strlen(ml)), GW_OK);
	ck_assert_int_eq(f.m.flushes, 3);
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "end\n", 4), GW_OK);
	ck_assert_int_eq(http_sse_event(&f.c, "ping", "", 0), GW_OK);
	ck_assert_int_eq(http_sse_comment(&f.c, "keep-alive"), GW_OK);
	ck_assert_int_eq(f.m.flushes, 6);
	ck_assert_int_eq(http_sse_event(&f.c, "bad\nname", "x", 1), GW_EINVAL);
	ck_assert_int_eq(http_sse_comment(&f.c, "two\nlines"), GW_EINVAL);
	ck_assert_int_eq(f.m.flushes, 6);
	ck_assert_str_eq(out(&f), SSE_HEAD
	    "event: message_start\ndata: {\"x\":1}\n\n"
	    "data: a\ndata: b\ndata: c\ndata: d\n\n"
	    "data: end\ndata: \n\n"
	    "event: ping\ndata: \n\n"
	    ": keep-alive\n\n");
	ck_assert(!http_conn_gone(&f.c));
	fx_free(&f);
}
END_TEST

START_TEST(write_failure_is_sticky)
{
	struct fixture f;
	int writes;

	fx_init(&f, "POST");
	f.m.fail_after = (long)strlen(SSE_HEAD) + 20;
	ck_assert_int_eq(http_sse_begin(&f.c), GW_OK);
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "1", 1), GW_OK);
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "22222222", 8), GW_ECLIENTGONE);
	ck_assert(http_conn_gone(&f.c));
	writes = f.m.writes;
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "3", 1), GW_ECLIENTGONE);
	ck_assert_int_eq(http_sse_comment(&f.c, "x"), GW_ECLIENTGONE);
	ck_assert_int_eq(http_write(&f.c, "x", 1), GW_ECLIENTGONE);
	ck_assert_int_eq(http_flush(&f.c), GW_ECLIENTGONE);
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_ANTHROPIC, 500, NULL, "x",
	    NULL), GW_ECLIENTGONE);
	/* nothing touched the transport after the failure */
	ck_assert_int_eq(f.m.writes, writes);
	ck_assert_str_eq(out(&f), SSE_HEAD "data: 1\n\n");
	fx_free(&f);
}
END_TEST

START_TEST(flush_failure_is_client_gone)
{
	struct fixture f;
	int flushes;

	fx_init(&f, "POST");
	f.m.fail_flush_at = 3;
	ck_assert_int_eq(http_sse_begin(&f.c), GW_OK);
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "1", 1), GW_OK);
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "2", 1), GW_ECLIENTGONE);
	flushes = f.m.flushes;
	ck_assert_int_eq(http_sse_event(&f.c, NULL, "3", 1), GW_ECLIENTGONE);
	ck_assert_int_eq(f.m.flushes, flushes);
	fx_free(&f);

	/* the header block itself failing */
	fx_init(&f, "GET");
	f.m.fail_after = 5;
	ck_assert_int_eq(http_send_text(&f.c, 200, "x"), GW_ECLIENTGONE);
	ck_assert(http_conn_started(&f.c));
	ck_assert(http_conn_gone(&f.c));
	fx_free(&f);
}
END_TEST

START_TEST(stream_errors_after_start)
{
	struct fixture f;

	fx_init(&f, "POST");
	ck_assert_int_eq(http_sse_begin(&f.c), GW_OK);
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_ANTHROPIC, 502, NULL,
	    "upstream died", NULL), GW_OK);
	ck_assert_str_eq(out(&f), SSE_HEAD "event: error\ndata: "
	    "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"upstream died\"}}\n\n");
	fx_free(&f);

	fx_init(&f, "POST");
	ck_assert_int_eq(http_sse_begin(&f.c), GW_OK);
	ck_assert_int_eq(http_send_error(&f.c, GW_DIALECT_OPENAI, 504, NULL,
	    "stalled", NULL), GW_OK);
	ck_assert_str_eq(out(&f), SSE_HEAD "data: "
	    "{\"error\":{\"message\":\"stalled\",\"type\":\"api_error\"}}\n\n"
	    "data: [DONE]\n\n");
	fx_free(&f);
}
END_TEST

START_TEST(sink_begins_lazily)
{
	struct fixture f;
	struct tr_sink s;

	fx_init(&f, "POST");
	http_sse_sink(&f.c, &s);
	ck_assert(!http_conn_started(&f.c));
	ck_assert_int_eq(s.emit(s.ctx, "content_block_delta", "{}", 2), GW_OK);
	ck_assert(http_conn_started(&f.c));
	ck_assert_int_eq(s.emit(s.ctx, NULL, "[DONE]", 6), GW_OK);
	ck_assert_str_eq(out(&f), SSE_HEAD
	    "event: content_block_delta\ndata: {}\n\ndata: [DONE]\n\n");
	ck_assert_int_eq(f.m.flushes, 3);
	fx_free(&f);

	fx_init(&f, "POST");
	http_sse_sink(&f.c, &s);
	ck_assert_int_eq(s.comment(s.ctx, "ping"), GW_OK);
	ck_assert_str_eq(out(&f), SSE_HEAD ": ping\n\n");
	fx_free(&f);

	/* a handler that already answered cannot stream */
	fx_init(&f, "POST");
	http_sse_sink(&f.c, &s);
	ck_assert_int_eq(http_send_text(&f.c, 200, "done"), GW_OK);
	ck_assert_int_eq(s.emit(s.ctx, NULL, "x", 1), GW_EINTERNAL);
	fx_free(&f);

	/* client gone during the stream: the sink reports it */
	fx_init(&f, "POST");
	f.m.fail_flush_at = 2;
	http_sse_sink(&f.c, &s);
	ck_assert_int_eq(s.emit(s.ctx, NULL, "x", 1), GW_ECLIENTGONE);
	ck_assert_int_eq(s.comment(s.ctx, "x"), GW_ECLIENTGONE);
	fx_free(&f);
}
END_TEST

START_TEST(no_request_no_trace_header)
{
	struct http_mem_io m;
	struct http_io io;
	struct http_conn c;

	http_mem_io_init(&m, NULL, 0, NULL);
	http_io_mem(&io, &m);
	http_conn_init(&c, &io, NULL);
	ck_assert_int_eq(http_begin(&c, 204, NULL, NULL), GW_OK);
	ck_assert_str_eq(buf_cstr(&m.out), "Status: 204 No Content\r\n"
	    "Access-Control-Allow-Origin: *\r\n\r\n");
	http_conn_free(&c);
	http_mem_io_free(&m);
}
END_TEST

static Suite *
http_response_suite(void)
{
	Suite *s = suite_create("http_response");
	TCase *tc = tcase_create("http_response");

	tcase_add_test(tc, begin_format);
	tcase_add_test(tc, begin_once_only);
	tcase_add_test(tc, header_injection_dropped);
	tcase_add_test(tc, send_json_with_length);
	tcase_add_test(tc, head_has_no_body);
	tcase_add_test(tc, error_envelopes);
	tcase_add_test(tc, error_types);
	tcase_add_test(tc, sse_framing);
	tcase_add_test(tc, write_failure_is_sticky);
	tcase_add_test(tc, flush_failure_is_client_gone);
	tcase_add_test(tc, stream_errors_after_start);
	tcase_add_test(tc, sink_begins_lazily);
	tcase_add_test(tc, no_request_no_trace_header);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(http_response_suite());
}

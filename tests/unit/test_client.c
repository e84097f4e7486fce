#include <string.h>

#include "testutil.h"
#include "mockserver.h"
#include "core/util.h"
#include "upstream/client.h"

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

static const char *
find_pass(const struct up_response *r, const char *h)
{
	size_t i;

	for (i = 0; i < r->npass_headers; i++)
		if (strcmp(r->pass_headers[i], h) == 0)
			return r->pass_headers[i];
	return NULL;
}

START_TEST(ok_json_and_request_shape)
{
	static const struct mock_response script[] = { {
		.headers = "Content-Type: application/json\r\n",
		.pieces = { { 0, "{\"ok\":" }, { 20, "true}" } },
	} };
	static const char *const hdrs[] = { "Authorization: Bearer t",
	    "Content-Type: application/json", NULL };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128], *seen;
	const char *body = "{\"model\":\"gpt\",\"pad\":\"";
	struct buf big = BUF_INIT;
	enum gw_err e;
	int i;

	/* Over 1 MiB: libcurl would add "Expect: 100-continue" by default
	 * (big contexts, base64 images) and wait for it. */
	e = buf_puts(&big, body);
	for (i = 0; i < 1200000 && e == GW_OK; i++)
		e = buf_putc(&big, 'x');
	if (e == GW_OK)
		e = buf_puts(&big, "\"}");
	ck_assert_int_eq(e, GW_OK);
	mock_url(m, "/v1/chat/completions", url, sizeof(url));
	q.url = url;
	q.headers = hdrs;
	q.body = big.data;
	q.body_len = big.len;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_cstr(&r.body), "{\"ok\":true}");
	ck_assert_str_eq(r.content_type, "application/json");
	ck_assert_ptr_null(r.error);
	ck_assert_str_eq(up_error_message(&r), "");
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_ge(r.ttfb_ms, 0);
	ck_assert_int_ge(r.total_ms, r.ttfb_ms);
	seen = mock_last_request(m);
	ck_assert(util_has_prefix(seen, "POST /v1/chat/completions HTTP/1.1\r\n"));
	ck_assert_ptr_nonnull(strstr(seen, "\r\nAuthorization: Bearer t\r\n"));
	ck_assert_ptr_null(strcasestr(seen, "\r\nExpect:"));
	/* Ordinary requests let libcurl decode compressed bodies. */
	ck_assert_ptr_nonnull(strcasestr(seen, "\r\nAccept-Encoding: "));
	ck_assert_ptr_nonnull(strstr(seen, "gzip"));
	ck_assert(strstr(seen, "\r\n\r\n") != NULL &&
	    strcmp(strstr(seen, "\r\n\r\n") + 4, big.data) == 0);
	free(seen);
	buf_free(&big);
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(error_bodies_kept)
{
	static const struct mock_response script[] = {
		{ .status = 404, .pieces = { { 0, "{\"error\":\"no such model\"}" } } },
		{ .status = 503, .chunked = 1,
		  .pieces = { { 0, "busy" }, { 10, ", try later" } } },
	};
	struct mock_server *m = mock_start(script, 2);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/models", url, sizeof(url));
	q.url = url;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(buf_cstr(&r.body), "{\"error\":\"no such model\"}");
	ck_assert_str_eq(up_error_message(&r), "upstream answered HTTP 404");
	up_response_free(&r);
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(buf_cstr(&r.body), "busy, try later");
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(rate_limit_headers_captured)
{
	static const struct mock_response script[] = { {
		.status = 429,
		.headers = "Content-Type: application/json\r\n"
		    "Retry-After: 7\r\n"
		    "x-ratelimit-remaining: 0\r\n"
		    "Server: mock\r\n"
		    "X-Request-Id:   abc  \r\n",
		.pieces = { { 0, "{\"error\":{\"message\":\"slow down\"}}" } },
	} };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/chat", url, sizeof(url));
	q.url = url;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.retry_after, "7");
	ck_assert_uint_eq(r.npass_headers, 3);
	ck_assert_str_eq(r.pass_headers[0], "Retry-After: 7");
	ck_assert_ptr_nonnull(find_pass(&r, "x-ratelimit-remaining: 0"));
	ck_assert_ptr_nonnull(find_pass(&r, "X-Request-Id: abc"));
	ck_assert_ptr_null(find_pass(&r, "Server: mock"));
	ck_assert_str_eq(buf_cstr(&r.body),
	    "{\"error\":{\"message\":\"slow down\"}}");
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(refused_is_retried_then_econnect)
{
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128], want[128];
	int port = mock_closed_port();
	int64_t t0;

	ck_assert_int_gt(port, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
	q.url = url;
	t0 = util_mono_ms();
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_ECONNECT);
	/* Default: 2 retries, 250 ms then 1 s apart. */
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_ge(util_mono_ms() - t0, 1250);
	ck_assert_int_eq(r.status, 0);
	snprintf(want, sizeof(want),
	    "could not connect to 127.0.0.1:%d: Connection refused", port);
	ck_assert_msg(util_has_prefix(up_error_message(&r), want),
	    "message: %s", up_error_message(&r));
	up_response_free(&r);

	q.connect_retries = -1;
	t0 = util_mono_ms();
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_ECONNECT);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_lt(util_mono_ms() - t0, 250);
	up_response_free(&r);
}
END_TEST

/* The request reached the server, which hung up: never retried (it may
 * have been billed). */
START_TEST(no_retry_after_request_sent)
{
	static const struct mock_response script[] = { { .hang_up = 1 } };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/chat", url, sizeof(url));
	q.url = url;
	q.body = "{}";
	q.body_len = 2;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_EUPSTREAM);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_eq(mock_get(m, &m->accepted), 1);
	ck_assert_int_eq(mock_get(m, &m->requests), 1);
	ck_assert_ptr_nonnull(strstr(up_error_message(&r),
	    "closed the connection without answering"));
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(connection_reused)
{
	static const struct mock_response script[] = { {
		.pieces = { { 0, "one" } },
	}, {
		.chunked = 1, .pieces = { { 0, "two" } },
	}, {
		.pieces = { { 0, "three" } },
	} };
	struct mock_server *m = mock_start(script, 3);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/a", url, sizeof(url));
	q.url = url;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_str_eq(buf_cstr(&r.body), "one");
	ck_assert_int_eq(r.num_connects, 1);
	up_response_free(&r);
	q.body = "x";
	q.body_len = 1;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_str_eq(buf_cstr(&r.body), "two");
	ck_assert_int_eq(r.num_connects, 0);
	up_response_free(&r);
	q.body = NULL;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_str_eq(buf_cstr(&r.body), "three");
	ck_assert_int_eq(r.num_connects, 0);
	up_response_free(&r);
	ck_assert_int_eq(mock_get(m, &m->accepted), 1);
	ck_assert_int_eq(mock_get(m, &m->requests), 3);
	mock_stop(m);
}
END_TEST

START_TEST(stall_times_out)
{
	static const struct mock_response script[] = { {
		.chunked = 1,
		.pieces = { { 0, "{\"partial\":" } },
		.end = MOCK_END_HOLD,
	} };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];
	int64_t t0, dt;

	mock_url(m, "/slow", url, sizeof(url));
	q.url = url;
	q.stall_timeout_s = 1;
	t0 = util_mono_ms();
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_ETIMEOUT);
	dt = util_mono_ms() - t0;
	ck_assert_int_ge(dt, 1000);
	ck_assert_int_lt(dt, 2500);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_str_eq(up_error_message(&r), "upstream sent nothing for 1 s");
	/* The abandoned transfer's connection is closed, not pooled. */
	ck_assert_int_eq(mock_wait(m, &m->peer_closed_early, 1, 2000), 1);
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

/* No headers at all within the stall time: the guard covers the wait for
 * the response too. */
START_TEST(stall_before_headers)
{
	static const struct mock_response script[] = { {
		.header_delay_ms = 5000, .pieces = { { 0, "late" } },
	} };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/slow", url, sizeof(url));
	q.url = url;
	q.stall_timeout_s = 1;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_ETIMEOUT);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.attempts, 1);
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(header_injection_rejected)
{
	static const struct mock_response script[] = { { .pieces = { { 0, "x" } } } };
	static const char *const bad1[] = { "X-A: b\r\nInjected: 1", NULL };
	static const char *const bad2[] = { "X-A: b\nInjected: 1", NULL };
	static const char *const bad3[] = { "No colon here", NULL };
	static const char *const bad4[] = { "Bad Name: v", NULL };
	const char *const *bad[] = { bad1, bad2, bad3, bad4 };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];
	size_t i;

	mock_url(m, "/", url, sizeof(url));
	q.url = url;
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		q.headers = bad[i];
		ck_assert_int_eq(up_perform(cl, &q, &r), GW_EINVAL);
		ck_assert_ptr_nonnull(r.error);
		up_response_free(&r);
	}
	q.headers = NULL;
	q.method = "GET\r\nX";
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_EINVAL);
	up_response_free(&r);
	ck_assert_int_eq(mock_get(m, &m->accepted), 0);
	mock_stop(m);
}
END_TEST

START_TEST(short_body_is_upstream_error)
{
	static const struct mock_response script[] = { {
		.content_length = 100,
		.pieces = { { 0, "only a part" } },
		.end = MOCK_END_CLOSE,
	} };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/", url, sizeof(url));
	q.url = url;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_EUPSTREAM);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_ptr_nonnull(strstr(up_error_message(&r),
	    "closed before the response completed"));
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(redirect_not_followed)
{
	static const struct mock_response script[] = { {
		.status = 302, .headers = "Location: /elsewhere\r\n",
	}, { .pieces = { { 0, "followed" } } } };
	struct mock_server *m = mock_start(script, 2);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/", url, sizeof(url));
	q.url = url;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_int_eq(r.status, 302);
	ck_assert_int_eq(mock_get(m, &m->requests), 1);
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(gzip_decoded)
{
	/* "hello gzip", gzip -9, mtime 0 */
	static const char gz[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
	    "\xcb\x48\xcd\xc9\xc9\x57\x48\xaf\xca\x2c\x00\x00\x19\x6a\xd2\xdf"
	    "\x0a\x00\x00\x00";
	static const struct mock_response script[] = { {
		.headers = "Content-Encoding: gzip\r\n",
		.raw = gz, .raw_len = sizeof(gz) - 1,
	} };
	struct mock_server *m = mock_start(script, 1);
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	char url[128];

	mock_url(m, "/models", url, sizeof(url));
	q.url = url;
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(buf_cstr(&r.body), "hello gzip");
	up_response_free(&r);
	mock_stop(m);
}
END_TEST

START_TEST(bad_url_and_scheme)
{
	struct up_response r = { 0 };
	struct up_request q = { 0 };

	q.url = "ftp://127.0.0.1/x";
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_EINVAL);
	ck_assert_int_eq(r.attempts, 1);
	up_response_free(&r);
	q.url = "";
	ck_assert_int_eq(up_perform(cl, &q, &r), GW_EINVAL);
	up_response_free(&r);
}
END_TEST

struct worker {
	const char *url;
	int ok;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct up_client *c;
	struct up_response r = { 0 };
	struct up_request q = { 0 };
	int i;

	if (up_client_new(&c) != GW_OK)
		return NULL;
	q.url = w->url;
	for (i = 0; i < 5; i++) {
		if (up_perform(c, &q, &r) == GW_OK && r.status == 200 &&
		    strcmp(buf_cstr(&r.body), "pong") == 0)
			w->ok++;
		up_response_free(&r);
	}
	up_client_free(c);
	return NULL;
}

/* Worker threads, each with its own client, share the DNS cache through
 * the locked share handle; each keeps its own connection. */
START_TEST(threads_share_handle)
{
	static const struct mock_response script[] = { {
		.pieces = { { 5, "pong" } },
	} };
	struct mock_server *m = mock_start(script, 1);
	struct worker w[4];
	pthread_t t[4];
	char url[128];
	int i;

	snprintf(url, sizeof(url), "http://localhost:%d/ping", m->port);
	for (i = 0; i < 4; i++) {
		w[i].url = url;
		w[i].ok = 0;
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].ok, 5);
	}
	ck_assert_int_eq(mock_get(m, &m->requests), 20);
	ck_assert_int_eq(mock_get(m, &m->accepted), 4);
	mock_stop(m);
}
END_TEST

static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, ok_json_and_request_shape);
	tcase_add_test(tc, error_bodies_kept);
	tcase_add_test(tc, rate_limit_headers_captured);
	tcase_add_test(tc, refused_is_retried_then_econnect);
	tcase_add_test(tc, no_retry_after_request_sent);
	tcase_add_test(tc, connection_reused);
	tcase_add_test(tc, stall_times_out);
	tcase_add_test(tc, stall_before_headers);
	tcase_add_test(tc, header_injection_rejected);
	tcase_add_test(tc, short_body_is_upstream_error);
	tcase_add_test(tc, redirect_not_followed);
	tcase_add_test(tc, gzip_decoded);
	tcase_add_test(tc, bad_url_and_scheme);
	tcase_add_test(tc, threads_share_handle);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(client_suite());
}

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "testutil.h"
#include "core/util.h"
#include "http/io.h"
#include "http/request.c"

/* Parses a request from env and body; the caller frees r and m. */
static enum gw_err
parse(char **env, const char *body, size_t blen, size_t limit,
    const char *base, struct http_mem_io *m, struct http_request *r)
{
	struct http_limits lim = { limit, base, 0 };
	struct http_io io;

	http_mem_io_init(m, body, blen, env);
	http_io_mem(&io, m);
	return http_request_parse(&io, &lim, r);
}

static char *
path_of(char **env, const char *base)
{
	struct http_mem_io m;
	struct http_request r;
	char *p = NULL;

	if (parse(env, NULL, 0, 0, base, &m, &r) == GW_OK)
		p = strdup(r.path);
	http_request_free(&r);
	http_mem_io_free(&m);
	return p;
}

#define ck_path(env, base, want) do {                   \
	char *got_ = path_of(env, base);                 \
	ck_assert_ptr_nonnull(got_);                     \
	ck_assert_str_eq(got_, want);                    \
	free(got_);                                      \
} while (0)

START_TEST(uri_with_query)
{
	char *env[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/v1/messages?beta=true&q=a%20b+c&empty&bad=%zz&x=%41%4",
		"REMOTE_ADDR=127.0.0.1", NULL };
	struct http_mem_io m;
	struct http_request r;
	char *v;

	ck_assert_int_eq(parse(env, NULL, 0, 0, NULL, &m, &r), GW_OK);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_str_eq(r.path, "/v1/messages");
	ck_assert_str_eq(r.query, "beta=true&q=a%20b+c&empty&bad=%zz&x=%41%4");
	ck_assert_str_eq(r.remote_addr, "127.0.0.1");
	ck_assert_int_eq(http_query_param(&r, "beta", &v), GW_OK);
	ck_assert_str_eq(v, "true");
	free(v);
	ck_assert_int_eq(http_query_param(&r, "q", &v), GW_OK);
	ck_assert_str_eq(v, "a b c");
	free(v);
	ck_assert_int_eq(http_query_param(&r, "empty", &v), GW_OK);
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_int_eq(http_query_param(&r, "bad", &v), GW_OK);
	ck_assert_str_eq(v, "%zz");
	free(v);
	ck_assert_int_eq(http_query_param(&r, "x", &v), GW_OK);
	ck_assert_str_eq(v, "A%4");
	free(v);
	ck_assert_int_eq(http_query_param(&r, "missing", &v), GW_ENOTFOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(http_query_param(&r, "be", &v), GW_ENOTFOUND);
	ck_assert_str_eq(http_request_env(&r, "REMOTE_ADDR"), "127.0.0.1");
	ck_assert_ptr_null(http_request_env(&r, "REMOTE"));
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

START_TEST(query_nul_rejected)
{
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x?a=1%002&b%20c=2",
		NULL };
	struct http_mem_io m;
	struct http_request r;
	char *v;

	ck_assert_int_eq(parse(env, NULL, 0, 0, NULL, &m, &r), GW_OK);
	ck_assert_int_eq(http_query_param(&r, "a", &v), GW_EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(http_query_param(&r, "b c", &v), GW_OK);
	ck_assert_str_eq(v, "2");
	free(v);
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

START_TEST(base_path_stripping)
{
	char *e1[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/gw/v1/models?x", NULL };
	char *e2[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/gwx/v1/models", NULL };
	char *e3[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/gw", NULL };
	char *e4[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/gw/", NULL };
	char *e5[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/api/gw/v1/models",
		"COPILOT_API_BASE_PATH=/api/gw", NULL };

	ck_path(e1, "/api/gw", "/v1/models");
	ck_path(e1, "/api/gw/", "/v1/models");
	ck_path(e1, NULL, "/api/gw/v1/models");
	ck_path(e1, "/", "/api/gw/v1/models");
	ck_path(e1, "", "/api/gw/v1/models");
	/* only at a segment boundary */
	ck_path(e2, "/api/gw", "/api/gwx/v1/models");
	ck_path(e3, "/api/gw", "/");
	ck_path(e4, "/api/gw", "/");
	/* from the request's parameters (Apache SetEnv, Caddy env) */
	ck_path(e5, NULL, "/v1/models");
	/* an explicit limit wins over the parameter */
	ck_path(e5, "/api", "/gw/v1/models");
	/* from the process environment */
	setenv("COPILOT_API_BASE_PATH", "/api/gw", 1);
	ck_path(e1, NULL, "/v1/models");
	unsetenv("COPILOT_API_BASE_PATH");
}
END_TEST

/* "SCRIPT_FILENAME=<this test program>", for the mod_cgi cases. */
static char self_sf[4200];

static void
set_self_sf(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	snprintf(self_sf, sizeof(self_sf), "SCRIPT_FILENAME=%s", exe);
}

/*
 * The SCRIPT_NAME/PATH_INFO table from notes/environment.md §2, plus
 * lighttpd mounted at "/" with a multi-segment path (observed: it splits
 * off the first segment as SCRIPT_NAME).
 */
START_TEST(server_variants)
{
	char *lighttpd[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/hello?beta=true", "SCRIPT_NAME=/hello",
		"SCRIPT_FILENAME=/srv/empty/hello", NULL };
	char *lighttpd_root[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/v1/messages?beta=true", "SCRIPT_NAME=/v1",
		"PATH_INFO=/messages", "SCRIPT_FILENAME=/srv/empty/v1", NULL };
	char *lighttpd_root_provider[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/acme/v1/messages", "SCRIPT_NAME=/acme",
		"PATH_INFO=/v1/messages", "SCRIPT_FILENAME=/srv/empty/acme", NULL };
	char *apache_proxy[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/v1/messages?beta=true", "SCRIPT_NAME=/v1/messages",
		"QUERY_STRING=beta=true",
		"SCRIPT_FILENAME=proxy:fcgi://127.0.0.1:9001/v1/messages", NULL };
	char *caddy[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/v1/messages?beta=true", "SCRIPT_NAME=",
		"PATH_INFO=/v1/messages", "CONTENT_LENGTH=-1", NULL };
	char *mod_cgi[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/cgi-bin/copilot-api.cgi/v1/messages?beta=true",
		"SCRIPT_NAME=/cgi-bin/copilot-api.cgi", "PATH_INFO=/v1/messages",
		self_sf, NULL };
	char *mod_cgi_wrapped[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/cgi-bin/copilot-api.cgi/v1/messages?beta=true",
		"SCRIPT_NAME=/cgi-bin/copilot-api.cgi", "PATH_INFO=/v1/messages",
		"SCRIPT_FILENAME=/", NULL };
	char *fcgid_rewrite[] = { "REQUEST_METHOD=POST",
		"REQUEST_URI=/api/gw/v1/messages?beta=true",
		"SCRIPT_NAME=/api/gw/copilot-api.fcgi", "PATH_INFO=/v1/messages",
		self_sf, NULL };
	char *no_uri[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/cgi-bin/gw.cgi",
		"PATH_INFO=/v1/models", "QUERY_STRING=a=1", self_sf, NULL };
	char *no_uri_other[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/cgi-bin/gw.cgi",
		"PATH_INFO=/v1/models", NULL };
	char *self_no_info[] = { "REQUEST_METHOD=GET",
		"REQUEST_URI=/cgi-bin/copilot-api.cgi", self_sf,
		"SCRIPT_NAME=/cgi-bin/copilot-api.cgi", NULL };
	char *nothing[] = { "REQUEST_METHOD=GET", NULL };
	struct http_mem_io m;
	struct http_request r;

	set_self_sf();
	ck_path(lighttpd, NULL, "/hello");
	ck_path(lighttpd_root, NULL, "/v1/messages");
	ck_path(lighttpd_root_provider, NULL, "/acme/v1/messages");
	ck_path(apache_proxy, NULL, "/v1/messages");
	ck_path(caddy, NULL, "/v1/messages");
	ck_path(mod_cgi, NULL, "/v1/messages");
	/* SCRIPT_FILENAME is not this program (a wrapper): the base path decides */
	ck_path(mod_cgi_wrapped, NULL, "/cgi-bin/copilot-api.cgi/v1/messages");
	ck_path(mod_cgi_wrapped, "/cgi-bin/copilot-api.cgi", "/v1/messages");
	/* the script path is not in the URI (rewrite): PATH_INFO still is */
	ck_path(fcgid_rewrite, NULL, "/v1/messages");
	ck_path(fcgid_rewrite, "/api/gw", "/v1/messages");
	ck_path(self_no_info, NULL, "/");
	ck_path(no_uri, NULL, "/v1/models");
	ck_path(no_uri_other, NULL, "/cgi-bin/gw.cgi/v1/models");
	ck_path(no_uri_other, "/cgi-bin/gw.cgi", "/v1/models");
	ck_path(nothing, NULL, "/");

	ck_assert_int_eq(parse(no_uri, NULL, 0, 0, NULL, &m, &r), GW_OK);
	ck_assert_str_eq(r.query, "a=1");
	http_request_free(&r);
	http_mem_io_free(&m);
	ck_assert_int_eq(parse(caddy, NULL, 0, 0, NULL, &m, &r), GW_OK);
	ck_assert_str_eq(r.query, "beta=true");
	ck_assert_int_eq(r.content_length, -1);
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

START_TEST(headers_from_env)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/v1/messages",
		"CONTENT_TYPE=application/json", "CONTENT_LENGTH=2",
		"HTTP_CONTENT_TYPE=text/evil", "HTTP_X_API_KEY=sk-1",
		"HTTP_AUTHORIZATION=Bearer t", "HTTP_ANTHROPIC_VERSION=2023-06-01",
		"HTTP_USER_AGENT=claude-cli/2.1", "HTTP_=ignored", "SERVER_NAME=x",
		NULL };
	struct http_mem_io m;
	struct http_request r;

	ck_assert_int_eq(parse(env, "{}", 2, 0, NULL, &m, &r), GW_OK);
	ck_assert_str_eq(http_header(&r, "content-type"), "application/json");
	ck_assert_str_eq(http_header(&r, "content-length"), "2");
	ck_assert_str_eq(http_header(&r, "x-api-key"), "sk-1");
	ck_assert_str_eq(http_header(&r, "authorization"), "Bearer t");
	ck_assert_str_eq(http_header(&r, "anthropic-version"), "2023-06-01");
	ck_assert_str_eq(http_header(&r, "user-agent"), "claude-cli/2.1");
	ck_assert_ptr_null(http_header(&r, "server-name"));
	ck_assert_ptr_null(http_header(&r, "X-API-KEY"));
	ck_assert_uint_eq(r.nheaders, 6);   /* HTTP_CONTENT_TYPE lost to CONTENT_TYPE */
	ck_assert_uint_eq(r.body.len, 2);
	ck_assert_str_eq(r.body.data, "{}");
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

START_TEST(body_to_eof_without_length)
{
	char *minus1[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=-1", NULL };
	char *absent[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", NULL };
	char *garbage[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=12abc", NULL };
	char **envs[] = { minus1, absent, garbage };
	const char *body = "hello, chunked world";
	struct http_mem_io m;
	struct http_request r;
	size_t i;

	for (i = 0; i < ARRAY_LEN(envs); i++) {
		struct http_limits lim = { 0, NULL, 0 };
		struct http_io io;

		http_mem_io_init(&m, body, strlen(body), envs[i]);
		m.read_chunk = 3;
		http_io_mem(&io, &m);
		ck_assert_int_eq(http_request_parse(&io, &lim, &r), GW_OK);
		ck_assert_int_eq(r.content_length, -1);
		ck_assert_uint_eq(r.body.len, strlen(body));
		ck_assert_str_eq(r.body.data, body);
		ck_assert_uint_eq(m.in_pos, m.in_len);
		ck_assert_uint_eq(r.max_body, HTTP_DEFAULT_MAX_BODY);
		http_request_free(&r);
		http_mem_io_free(&m);
	}
}
END_TEST

START_TEST(body_stops_at_declared_length)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=5", NULL };
	char *zero[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=0", NULL };
	struct http_mem_io m;
	struct http_request r;

	/* CGI: never read past CONTENT_LENGTH (RFC 3875 4.2) */
	ck_assert_int_eq(parse(env, "hello world", 11, 0, NULL, &m, &r), GW_OK);
	ck_assert_str_eq(r.body.data, "hello");
	ck_assert_uint_eq(m.in_pos, 5);
	http_request_free(&r);
	http_mem_io_free(&m);

	ck_assert_int_eq(parse(zero, "junk", 4, 0, NULL, &m, &r), GW_OK);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_uint_eq(m.in_pos, 0);
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

START_TEST(body_limit_exact_and_over)
{
	char *nolen[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", NULL };
	char *len10[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=10", NULL };
	char *len11[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=11", NULL };
	struct http_mem_io m;
	struct http_request r;

	ck_assert_int_eq(parse(nolen, "0123456789", 10, 10, NULL, &m, &r), GW_OK);
	ck_assert_uint_eq(r.body.len, 10);
	http_request_free(&r);
	http_mem_io_free(&m);

	ck_assert_int_eq(parse(len10, "0123456789", 10, 10, NULL, &m, &r), GW_OK);
	ck_assert_str_eq(r.body.data, "0123456789");
	http_request_free(&r);
	http_mem_io_free(&m);

	/* counted while reading: limit + 1 fails and the rest is drained */
	ck_assert_int_eq(parse(nolen, "0123456789A and more", 20, 10, NULL, &m, &r),
	    GW_ETOOBIG);
	ck_assert_uint_eq(m.in_pos, m.in_len);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_uint_ne(r.trace_id[0], '\0');
	http_request_free(&r);
	http_mem_io_free(&m);

	/* declared over the limit: rejected before reading, still drained */
	ck_assert_int_eq(parse(len11, "0123456789A", 11, 10, NULL, &m, &r),
	    GW_ETOOBIG);
	ck_assert_uint_eq(m.in_pos, m.in_len);
	ck_assert_uint_eq(r.body.len, 0);
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

/* Bodies held at once count against the process's budget: one that does
 * not fit is refused (GW_EBUSY, drained), and fits again once the first is
 * freed. */
START_TEST(inflight_budget)
{
	char *len8[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=8", NULL };
	char *nolen[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", NULL };
	struct http_limits lim = { 10, NULL, 12 };
	struct http_mem_io m1, m2;
	struct http_request r1, r2;
	struct http_io io;

	http_mem_io_init(&m1, "01234567", 8, len8);
	http_io_mem(&io, &m1);
	ck_assert_int_eq(http_request_parse(&io, &lim, &r1), GW_OK);
	ck_assert_uint_eq(http_request_inflight(), 8);
	/* declared: refused before reading, and drained */
	http_mem_io_init(&m2, "abcdefgh", 8, len8);
	http_io_mem(&io, &m2);
	ck_assert_int_eq(http_request_parse(&io, &lim, &r2), GW_EBUSY);
	ck_assert_uint_eq(m2.in_pos, m2.in_len);
	ck_assert_uint_eq(http_request_inflight(), 8);
	http_request_free(&r2);
	http_mem_io_free(&m2);
	/* counted while reading (no length) */
	http_mem_io_init(&m2, "abcdefgh", 8, nolen);
	http_io_mem(&io, &m2);
	ck_assert_int_eq(http_request_parse(&io, &lim, &r2), GW_EBUSY);
	ck_assert_uint_eq(m2.in_pos, m2.in_len);
	http_request_free(&r2);
	http_mem_io_free(&m2);
	/* the body dropped early stays counted until the request ends */
	http_request_drop_body(&r1);
	ck_assert_uint_eq(http_request_inflight(), 8);
	http_request_free(&r1);
	http_mem_io_free(&m1);
	ck_assert_uint_eq(http_request_inflight(), 0);
	http_mem_io_init(&m2, "abcdefgh", 8, len8);
	http_io_mem(&io, &m2);
	ck_assert_int_eq(http_request_parse(&io, &lim, &r2), GW_OK);
	http_request_free(&r2);
	http_mem_io_free(&m2);
	ck_assert_uint_eq(http_request_inflight(), 0);
	/* a budget below the size cap is raised to it: a lone body fits */
	lim.max_inflight = 4;
	http_mem_io_init(&m2, "abcdefgh", 8, len8);
	http_io_mem(&io, &m2);
	ck_assert_int_eq(http_request_parse(&io, &lim, &r2), GW_OK);
	http_request_free(&r2);
	http_mem_io_free(&m2);
}
END_TEST

START_TEST(drain_has_a_ceiling)
{
	char *nolen[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", NULL };
	size_t big = 3 * 1024 * 1024;
	char *body = malloc(big);
	struct http_mem_io m;
	struct http_request r;
	struct http_io io;

	ck_assert_ptr_nonnull(body);
	memset(body, 'x', big);
	ck_assert_int_eq(parse(nolen, body, big, 10, NULL, &m, &r), GW_ETOOBIG);
	/* limit 10 -> ceiling max(4 * 10, 1 MiB) */
	ck_assert_uint_eq(m.in_pos, 1024 * 1024);
	/* draining again is a no-op */
	http_io_mem(&io, &m);
	ck_assert_int_eq(http_request_drain(&r, &io), GW_OK);
	ck_assert_uint_eq(m.in_pos, 1024 * 1024);
	http_request_free(&r);
	http_mem_io_free(&m);
	free(body);
}
END_TEST

START_TEST(read_error_is_eio)
{
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", NULL };
	char *len9[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
		"CONTENT_LENGTH=9", NULL };
	struct http_limits lim = { 0, NULL, 0 };
	struct http_mem_io m;
	struct http_request r;
	struct http_io io;

	http_mem_io_init(&m, "abc", 3, env);
	m.read_error = 1;
	http_io_mem(&io, &m);
	ck_assert_int_eq(http_request_parse(&io, &lim, &r), GW_EIO);
	ck_assert_uint_eq(r.body.len, 0);
	http_request_free(&r);
	http_mem_io_free(&m);

	/* an upload cut short of its declared length */
	ck_assert_int_eq(parse(len9, "abc", 3, 0, NULL, &m, &r), GW_EIO);
	ck_assert_uint_eq(m.in_pos, 3);
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

START_TEST(control_chars_in_path_rejected)
{
	char *crlf[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/v1/\r\nX-Evil: 1",
		"CONTENT_LENGTH=4", NULL };
	char *lf[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/a\nb", NULL };
	char *tab[] = { "REQUEST_METHOD=GET", "PATH_INFO=/a\tb", NULL };
	char *crlf_query[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/ok?a=\r\n", NULL };
	char *nomethod[] = { "REQUEST_URI=/x", "CONTENT_LENGTH=4", NULL };
	struct http_mem_io m;
	struct http_request r;

	ck_assert_int_eq(parse(crlf, "body", 4, 0, NULL, &m, &r), GW_EINVAL);
	ck_assert_uint_eq(m.in_pos, 4);      /* drained */
	ck_assert_uint_eq(strlen(r.trace_id) > 0, 1);
	http_request_free(&r);
	http_mem_io_free(&m);
	ck_assert_ptr_null(path_of(lf, NULL));
	ck_assert_ptr_null(path_of(tab, NULL));
	/* the query is not part of the path; it stays raw */
	ck_path(crlf_query, NULL, "/ok");
	ck_assert_int_eq(parse(nomethod, "body", 4, 0, NULL, &m, &r), GW_EINVAL);
	ck_assert_uint_eq(m.in_pos, 4);
	http_request_free(&r);
	http_mem_io_free(&m);
}
END_TEST

static void
trace_of(const char *inbound, char out[HTTP_TRACE_ID_MAX + 1])
{
	char hdr[200];
	char *env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/", hdr, NULL };
	struct http_mem_io m;
	struct http_request r;

	snprintf(hdr, sizeof(hdr), "HTTP_X_TRACE_ID=%s", inbound);
	ck_assert_int_eq(parse(env, NULL, 0, 0, NULL, &m, &r), GW_OK);
	memcpy(out, r.trace_id, sizeof(r.trace_id));
	http_request_free(&r);
	http_mem_io_free(&m);
}

static int
generated_shape(const char *t)
{
	const char *dash = strchr(t, '-');
	long long ms = 0;
	const char *p;

	if (dash == NULL || strlen(dash + 1) != 6 || dash == t)
		return 0;
	for (p = t; p < dash; p++) {
		if (!isdigit((unsigned char)*p) && !islower((unsigned char)*p))
			return 0;
		ms = ms * 36 + (isdigit((unsigned char)*p) ? *p - '0' : *p - 'a' + 10);
	}
	for (p = dash + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && !islower((unsigned char)*p))
			return 0;
	/* the time part is now, give or take a minute */
	return llabs(ms - (long long)util_now_ms()) < 60000;
}

START_TEST(trace_id_inbound_and_generated)
{
	char t[HTTP_TRACE_ID_MAX + 1], t2[HTTP_TRACE_ID_MAX + 1];
	char long64[65], long65[66];

	trace_of("  abc-1.2_X  ", t);
	ck_assert_str_eq(t, "abc-1.2_X");
	trace_of("_x", t);
	ck_assert_str_eq(t, "_x");
	memset(long64, 'a', 64);
	long64[64] = '\0';
	trace_of(long64, t);
	ck_assert_str_eq(t, long64);
	memset(long65, 'a', 65);
	long65[65] = '\0';
	trace_of(long65, t);
	ck_assert(generated_shape(t));
	trace_of("-abc", t);
	ck_assert(generated_shape(t));
	trace_of(".abc", t);
	ck_assert(generated_shape(t));
	trace_of("a b", t);
	ck_assert(generated_shape(t));
	trace_of("a/b", t);
	ck_assert(generated_shape(t));
	trace_of("   ", t);
	ck_assert(generated_shape(t));
	trace_of("", t2);
	ck_assert(generated_shape(t2));
	ck_assert_str_ne(t, t2);
	ck_assert(http_trace_id_valid("A"));
	ck_assert(!http_trace_id_valid(""));
}
END_TEST


/* ---- zstd bodies (http_request_decode_body) ---- */

/* data compressed into a new buffer of *n bytes (one frame) */
static char *
zstd_of(const void *data, size_t len, size_t *n)
{
	size_t cap = ZSTD_compressBound(len);
	char *out = malloc(cap);
	size_t got;

	ck_assert_ptr_nonnull(out);
	got = ZSTD_compress(out, cap, data, len, 3);
	ck_assert(!ZSTD_isError(got));
	*n = got;
	return out;
}

/* Parses body (blen bytes) with Content-Encoding: coding under limit and
 * budget, then decodes it; r and m are the caller's to free. */
static enum gw_err
parse_decode(const char *coding, const char *body, size_t blen, size_t limit,
    size_t budget, struct http_mem_io *m, struct http_request *r)
{
	char hdr[64];
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/v1/responses",
		hdr, "HTTP_CONTENT_TYPE=application/json", NULL };
	struct http_limits lim = { limit, NULL, budget };
	struct http_io io;

	snprintf(hdr, sizeof(hdr), "HTTP_CONTENT_ENCODING=%s", coding);
	http_mem_io_init(m, body, blen, env);
	http_io_mem(&io, m);
	ck_assert_int_eq(http_request_parse(&io, &lim, r), GW_OK);
	return http_request_decode_body(r);
}

/* Decoded in place: the JSON, its length, no Content-Encoding left; the
 * coding name is matched trimmed and in any case, as the reference. */
START_TEST(zstd_body_decoded)
{
	static const char *const codings[] = { "zstd", " ZStd ", "\tzstd" };
	const char *json = "{\"model\":\"gpt-5.4\",\"input\":\"hi\"}";
	struct http_mem_io m;
	struct http_request r;
	size_t n, i;
	char *z = zstd_of(json, strlen(json), &n);

	for (i = 0; i < ARRAY_LEN(codings); i++) {
		ck_assert_int_eq(parse_decode(codings[i], z, n, 0, 0, &m, &r),
		    GW_OK);
		ck_assert_uint_eq(r.body.len, strlen(json));
		ck_assert_str_eq(r.body.data, json);
		ck_assert_int_eq(r.content_length, (long)strlen(json));
		ck_assert_ptr_null(http_header(&r, "content-encoding"));
		ck_assert_str_eq(http_header(&r, "content-type"), "application/json");
		http_request_free(&r);
		http_mem_io_free(&m);
	}
	free(z);
	ck_assert_uint_eq(http_request_inflight(), 0);
}
END_TEST

/* Two frames one after the other are one body (zstd's own rule). */
START_TEST(zstd_two_frames)
{
	struct http_mem_io m;
	struct http_request r;
	size_t n1, n2;
	char *a = zstd_of("{\"a\":", 5, &n1), *b = zstd_of("1}", 2, &n2);
	char *both = malloc(n1 + n2);

	memcpy(both, a, n1);
	memcpy(both + n1, b, n2);
	ck_assert_int_eq(parse_decode("zstd", both, n1 + n2, 0, 0, &m, &r), GW_OK);
	ck_assert_str_eq(r.body.data, "{\"a\":1}");
	http_request_free(&r);
	http_mem_io_free(&m);
	free(a);
	free(b);
	free(both);
}
END_TEST

/* Not zstd, cut short, empty: GW_EINVAL, and the body is as it came. */
START_TEST(zstd_bad_bodies)
{
	const char *json = "{\"model\":\"gpt-5.4\",\"input\":\"a longer input\"}";
	struct http_mem_io m;
	struct http_request r;
	size_t n;
	char *z = zstd_of(json, strlen(json), &n);

	ck_assert_int_eq(parse_decode("zstd", json, strlen(json), 0, 0, &m, &r),
	    GW_EINVAL);
	ck_assert_str_eq(r.body.data, json);
	ck_assert_str_eq(http_header(&r, "content-encoding"), "zstd");
	http_request_free(&r);
	http_mem_io_free(&m);
	ck_assert_int_eq(parse_decode("zstd", z, n - 3, 0, 0, &m, &r), GW_EINVAL);
	http_request_free(&r);
	http_mem_io_free(&m);
	/* a whole frame then garbage */
	z = realloc(z, n + 4);
	memcpy(z + n, "junk", 4);
	ck_assert_int_eq(parse_decode("zstd", z, n + 4, 0, 0, &m, &r), GW_EINVAL);
	http_request_free(&r);
	http_mem_io_free(&m);
	ck_assert_int_eq(parse_decode("zstd", "", 0, 0, 0, &m, &r), GW_EINVAL);
	http_request_free(&r);
	http_mem_io_free(&m);
	free(z);
	ck_assert_uint_eq(http_request_inflight(), 0);
}
END_TEST

/* Another coding, or a list of them, is left alone (the reference decodes
 * zstd alone). */
START_TEST(zstd_other_codings_untouched)
{
	static const char *const codings[] = { "gzip", "zstd, gzip", "identity" };
	struct http_mem_io m;
	struct http_request r;
	size_t i;

	for (i = 0; i < ARRAY_LEN(codings); i++) {
		ck_assert_int_eq(parse_decode(codings[i], "{}", 2, 0, 0, &m, &r),
		    GW_OK);
		ck_assert_str_eq(r.body.data, "{}");
		ck_assert_str_eq(http_header(&r, "content-encoding"), codings[i]);
		http_request_free(&r);
		http_mem_io_free(&m);
	}
}
END_TEST

/* A bomb: 64 MiB of zeros in a few KiB stops one byte past the size cap,
 * having claimed no more than the cap and one chunk; exactly the cap
 * passes.  Over the in-flight budget is GW_EBUSY. */
START_TEST(zstd_bomb_stops_at_the_limit)
{
	size_t big = (size_t)64 * 1024 * 1024, limit = (size_t)1024 * 1024, n;
	char *zeros = calloc(1, big), *z;
	struct http_mem_io m;
	struct http_request r;

	ck_assert_ptr_nonnull(zeros);
	z = zstd_of(zeros, big, &n);
	ck_assert_uint_lt(n, 64 * 1024);
	ck_assert_int_eq(parse_decode("zstd", z, n, limit, 0, &m, &r), GW_ETOOBIG);
	ck_assert_uint_le(r.body.len, n);           /* the compressed body kept */
	ck_assert_uint_le(http_request_inflight(), n + limit + READ_CHUNK);
	http_request_free(&r);
	http_mem_io_free(&m);
	free(z);
	z = zstd_of(zeros, limit, &n);
	ck_assert_int_eq(parse_decode("zstd", z, n, limit, 0, &m, &r), GW_OK);
	ck_assert_uint_eq(r.body.len, limit);
	http_request_free(&r);
	http_mem_io_free(&m);
	ck_assert_int_eq(parse_decode("zstd", z, n, limit + 1, limit + 1, &m, &r),
	    GW_EBUSY);
	http_request_free(&r);
	http_mem_io_free(&m);
	ck_assert_uint_eq(http_request_inflight(), 0);
	free(z);
	free(zeros);
}
END_TEST

static Suite *
http_request_suite(void)
{
	Suite *s = suite_create("http_request");
	TCase *tc = tcase_create("http_request");

	tcase_add_test(tc, uri_with_query);
	tcase_add_test(tc, query_nul_rejected);
	tcase_add_test(tc, base_path_stripping);
	tcase_add_test(tc, server_variants);
	tcase_add_test(tc, headers_from_env);
	tcase_add_test(tc, body_to_eof_without_length);
	tcase_add_test(tc, body_stops_at_declared_length);
	tcase_add_test(tc, body_limit_exact_and_over);
	tcase_add_test(tc, drain_has_a_ceiling);
	tcase_add_test(tc, read_error_is_eio);
	tcase_add_test(tc, control_chars_in_path_rejected);
	tcase_add_test(tc, trace_id_inbound_and_generated);
	tcase_add_test(tc, inflight_budget);
	tcase_add_test(tc, zstd_body_decoded);
	tcase_add_test(tc, zstd_two_frames);
	tcase_add_test(tc, zstd_bad_bodies);
	tcase_add_test(tc, zstd_other_codings_untouched);
	tcase_add_test(tc, zstd_bomb_stops_at_the_limit);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(http_request_suite());
}

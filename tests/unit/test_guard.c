#include <string.h>

#include "testutil.h"
#include "http/guard.c"
#include "http/router.c"

static void
h(void *tctx, struct http_conn *conn, const struct route_params *p)
{
	(void)tctx;
	(void)conn;
	(void)p;
}

static const struct route open_route = { "GET", "/", h, ROUTE_AUTH_NONE };
static const struct route reg_route = { "POST", "/v1/chat/completions", h,
	ROUTE_AUTH_REGULAR };
static const struct route anth_route = { "POST", "/v1/messages", h,
	ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC };
static const struct route admin_route = { "GET", "/admin/config/model-mappings",
	h, ROUTE_AUTH_ADMIN };

static const char *const keys[] = { "key-one", "key-two" };

/* A request with the given method and up to two headers (NULL = absent). */
static void
mkreq(struct http_request *r, const char *method, const char *xkey,
    const char *auth)
{
	static struct http_header_field f[3];
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->method = (char *)method;
	r->path = "/";
	snprintf(r->trace_id, sizeof(r->trace_id), "t");
	if (xkey != NULL) {
		f[n].name = "x-api-key";
		f[n++].value = (char *)xkey;
	}
	if (auth != NULL) {
		f[n].name = "authorization";
		f[n++].value = (char *)auth;
	}
	r->headers = f;
	r->nheaders = n;
}

static enum guard_result
check(const struct route *rt, const char *xkey, const char *auth,
    const char *const *k, size_t nk, const char *admin)
{
	struct http_request r;

	mkreq(&r, "POST", xkey, auth);
	return guard_check(&r, rt, k, nk, admin);
}

START_TEST(key_extraction)
{
	struct http_request r;
	char *k;

	mkreq(&r, "GET", "  sk-a  ", "Bearer sk-b");
	ck_assert_int_eq(guard_request_key(&r, &k), GW_OK);
	ck_assert_str_eq(k, "sk-a");
	free(k);
	mkreq(&r, "GET", "   ", "bEaReR   sk-b  ");
	ck_assert_int_eq(guard_request_key(&r, &k), GW_OK);
	ck_assert_str_eq(k, "sk-b");
	free(k);
	mkreq(&r, "GET", NULL, "  Bearer a   b ");
	ck_assert_int_eq(guard_request_key(&r, &k), GW_OK);
	ck_assert_str_eq(k, "a b");
	free(k);
	mkreq(&r, "GET", NULL, "Basic abc");
	ck_assert_int_eq(guard_request_key(&r, &k), GW_ENOTFOUND);
	ck_assert_ptr_null(k);
	mkreq(&r, "GET", NULL, "Bearer");
	ck_assert_int_eq(guard_request_key(&r, &k), GW_ENOTFOUND);
	mkreq(&r, "GET", NULL, "Bearerabc");
	ck_assert_int_eq(guard_request_key(&r, &k), GW_ENOTFOUND);
	mkreq(&r, "GET", NULL, NULL);
	ck_assert_int_eq(guard_request_key(&r, &k), GW_ENOTFOUND);
}
END_TEST

START_TEST(regular_routes)
{
	/* x-api-key wins over Authorization, right or wrong */
	ck_assert_int_eq(check(&reg_route, "key-one", "Bearer nope", keys, 2, NULL),
	    GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, "nope", "Bearer key-one", keys, 2, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&reg_route, NULL, "bearer key-two", keys, 2, NULL),
	    GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, NULL, "BEARER key-two", keys, 2, NULL),
	    GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, NULL, "Basic key-two", keys, 2, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&reg_route, NULL, NULL, keys, 2, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&reg_route, "key-on", NULL, keys, 2, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&reg_route, "key-one ", NULL, keys, 2, NULL),
	    GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, "KEY-ONE", NULL, keys, 2, NULL),
	    GUARD_UNAUTHORIZED);
	/* the admin key is trusted on regular routes too */
	ck_assert_int_eq(check(&reg_route, "adm", NULL, keys, 2, "adm"), GUARD_PASS);
	/* routes without auth never look at keys */
	ck_assert_int_eq(check(&open_route, NULL, NULL, keys, 2, "adm"), GUARD_PASS);
	ck_assert_int_eq(check(NULL, NULL, NULL, keys, 2, "adm"), GUARD_PASS);
}
END_TEST

START_TEST(open_without_keys)
{
	static const char *const blank[] = { "", NULL };

	ck_assert_int_eq(check(&reg_route, NULL, NULL, NULL, 0, NULL), GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, "anything", NULL, NULL, 0, NULL),
	    GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, NULL, NULL, blank, 2, NULL), GUARD_PASS);
	/* an admin key alone does not close the regular routes */
	ck_assert_int_eq(check(&reg_route, NULL, NULL, NULL, 0, "adm"), GUARD_PASS);
}
END_TEST

START_TEST(admin_routes)
{
	ck_assert_int_eq(check(&admin_route, "adm", NULL, keys, 2, "adm"), GUARD_PASS);
	ck_assert_int_eq(check(&admin_route, NULL, "Bearer adm", keys, 2, "adm"),
	    GUARD_PASS);
	/* regular keys never grant admin */
	ck_assert_int_eq(check(&admin_route, "key-one", NULL, keys, 2, "adm"),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&admin_route, NULL, NULL, keys, 2, "adm"),
	    GUARD_UNAUTHORIZED);
	/* never open, even when no key at all is configured */
	ck_assert_int_eq(check(&admin_route, NULL, NULL, NULL, 0, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&admin_route, "x", NULL, NULL, 0, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&admin_route, "x", NULL, NULL, 0, ""),
	    GUARD_UNAUTHORIZED);
}
END_TEST

START_TEST(options_is_preflight)
{
	struct http_request r;

	mkreq(&r, "OPTIONS", NULL, NULL);
	ck_assert_int_eq(guard_check(&r, &admin_route, keys, 2, "adm"),
	    GUARD_PREFLIGHT);
	ck_assert_int_eq(guard_check(&r, NULL, keys, 2, NULL), GUARD_PREFLIGHT);
}
END_TEST

static char *
respond(struct http_request *r, enum guard_result g, const struct route *rt)
{
	struct http_mem_io m;
	struct http_io io;
	struct http_conn c;
	char *s;

	http_mem_io_init(&m, NULL, 0, NULL);
	http_io_mem(&io, &m);
	http_conn_init(&c, &io, r);
	ck_assert_int_eq(guard_respond(&c, g, rt), g == GUARD_PASS ? GW_EINVAL : GW_OK);
	s = strdup(buf_cstr(&m.out));
	http_conn_free(&c);
	http_mem_io_free(&m);
	return s;
}

START_TEST(preflight_response)
{
	struct http_request r;
	struct http_header_field f[1] = {
		{ "access-control-request-headers", " x-api-key , Content-Type,,anthropic-version " },
	};
	char *s;

	mkreq(&r, "OPTIONS", NULL, NULL);
	r.headers = f;
	r.nheaders = 1;
	s = respond(&r, GUARD_PREFLIGHT, NULL);
	ck_assert_str_eq(s, "Status: 204 No Content\r\n"
	    "Access-Control-Allow-Origin: *\r\nx-trace-id: t\r\n"
	    "Access-Control-Allow-Methods: GET,HEAD,PUT,POST,DELETE,PATCH\r\n"
	    "Access-Control-Allow-Headers: x-api-key,Content-Type,anthropic-version\r\n"
	    "Vary: Access-Control-Request-Headers\r\n\r\n");
	free(s);

	mkreq(&r, "OPTIONS", NULL, NULL);
	s = respond(&r, GUARD_PREFLIGHT, NULL);
	ck_assert_str_eq(s, "Status: 204 No Content\r\n"
	    "Access-Control-Allow-Origin: *\r\nx-trace-id: t\r\n"
	    "Access-Control-Allow-Methods: GET,HEAD,PUT,POST,DELETE,PATCH\r\n\r\n");
	free(s);

	/* an echoed value with CR/LF is dropped, not injected */
	f[0].value = "a\r\nSet-Cookie: x";
	mkreq(&r, "OPTIONS", NULL, NULL);
	r.headers = f;
	r.nheaders = 1;
	s = respond(&r, GUARD_PREFLIGHT, NULL);
	ck_assert_ptr_null(strstr(s, "Set-Cookie"));
	ck_assert_ptr_null(strstr(s, "Access-Control-Allow-Headers"));
	free(s);
}
END_TEST

START_TEST(unauthorized_response)
{
	struct http_request r;
	char *s;

	mkreq(&r, "POST", NULL, NULL);
	s = respond(&r, GUARD_UNAUTHORIZED, &reg_route);
	ck_assert_str_eq(s, "Status: 401 Unauthorized\r\n"
	    "Content-Type: application/json\r\nContent-Length: 66\r\n"
	    "Access-Control-Allow-Origin: *\r\nx-trace-id: t\r\n"
	    "WWW-Authenticate: Bearer realm=\"copilot-api\"\r\n\r\n"
	    "{\"error\":{\"message\":\"Unauthorized\",\"type\":\"authentication_error\"}}");
	free(s);

	s = respond(&r, GUARD_UNAUTHORIZED, &anth_route);
	ck_assert_str_eq(s, "Status: 401 Unauthorized\r\n"
	    "Content-Type: application/json\r\nContent-Length: 81\r\n"
	    "Access-Control-Allow-Origin: *\r\nx-trace-id: t\r\n"
	    "WWW-Authenticate: Bearer realm=\"copilot-api\"\r\n\r\n"
	    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"Unauthorized\"}}");
	free(s);

	s = respond(&r, GUARD_PASS, &reg_route);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

static void
h_named(void *tctx, struct http_conn *conn, const struct route_params *p)
{
	const char *prov = route_param(p, "provider");
	char body[96];

	snprintf(body, sizeof(body), "%s provider=%s", (const char *)tctx,
	    prov != NULL ? prov : "-");
	ck_assert_int_eq(http_send_text(conn, 200, body), GW_OK);
}

static const struct route dispatch_table[] = {
	{ "GET", "/", h_named, ROUTE_AUTH_NONE },
	{ "GET", "/v1/models", h_named, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/messages", h_named, ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "GET", "/admin/config/model-mappings", h_named, ROUTE_AUTH_ADMIN },
	{ "POST", "/:provider/v1/messages", h_named,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
};

/* Status line and body of dispatching method+path with an x-api-key. */
static char *
dispatch(const char *method, const char *path, const char *xkey,
    const char *const *k, size_t nk, const char *admin)
{
	struct http_request r;
	struct http_mem_io m;
	struct http_io io;
	struct http_conn c;
	struct buf res = BUF_INIT;
	const char *body, *allow;

	mkreq(&r, method, xkey, NULL);
	r.path = (char *)path;
	http_mem_io_init(&m, NULL, 0, NULL);
	http_io_mem(&io, &m);
	http_conn_init(&c, &io, &r);
	guard_dispatch("app", &c, dispatch_table,
	    sizeof(dispatch_table) / sizeof(dispatch_table[0]), k, nk, admin);
	ck_assert(http_conn_started(&c));
	body = strstr(buf_cstr(&m.out), "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(buf_printf(&res, "%d|%s", c.status, body + 4), GW_OK);
	if ((allow = strstr(m.out.data, "\r\nAllow: ")) != NULL)
		ck_assert_int_eq(buf_printf(&res, "|allow=%.*s",
		    (int)strcspn(allow + 9, "\r"), allow + 9), GW_OK);
	http_conn_free(&c);
	http_mem_io_free(&m);
	return buf_detach(&res);
}

#define ck_dispatch(want, ...) do {                      \
	char *got_ = dispatch(__VA_ARGS__);               \
	ck_assert_str_eq(got_, want);                     \
	free(got_);                                       \
} while (0)

#define UNAUTH "{\"error\":{\"message\":\"Unauthorized\",\"type\":\"authentication_error\"}}"

START_TEST(dispatch_order)
{
	/* the preflight never reaches auth or routing */
	ck_dispatch("204|", "OPTIONS", "/v1/messages", NULL, keys, 2, "adm");
	ck_dispatch("204|", "OPTIONS", "/nope", NULL, keys, 2, "adm");
	/* auth before routing: strangers get 401, not 404 */
	ck_dispatch("401|" UNAUTH, "GET", "/v1/models", NULL, keys, 2, "adm");
	ck_dispatch("401|" UNAUTH, "GET", "/nope", NULL, keys, 2, "adm");
	ck_dispatch("404|404 Not Found", "GET", "/nope", "key-one", keys, 2, "adm");
	ck_dispatch("404|404 Not Found", "GET", "/nope", NULL, NULL, 0, NULL);
	/* unknown /admin/ paths are behind the admin key */
	ck_dispatch("401|" UNAUTH, "GET", "/admin/nope", "key-one", keys, 2, "adm");
	ck_dispatch("401|" UNAUTH, "GET", "/admin/nope", NULL, NULL, 0, NULL);
	ck_dispatch("404|404 Not Found", "GET", "/admin/nope", "adm", keys, 2, "adm");
	ck_dispatch("405|405 Method Not Allowed|allow=POST", "GET", "/v1/messages",
	    "key-two", keys, 2, NULL);
	ck_dispatch("200|app provider=acme", "POST", "/acme/v1/messages",
	    "key-two", keys, 2, NULL);
	ck_dispatch("200|app provider=-", "POST", "/v1/messages", "adm", keys, 2,
	    "adm");
	ck_dispatch("200|app provider=-", "GET", "/", NULL, keys, 2, "adm");
	ck_dispatch("200|app provider=-", "GET", "/admin/config/model-mappings",
	    "adm", keys, 2, "adm");
	ck_dispatch("401|{\"type\":\"error\",\"error\":{\"type\":"
	    "\"authentication_error\",\"message\":\"Unauthorized\"}}",
	    "POST", "/acme/v1/messages", "nope", keys, 2, "adm");
}
END_TEST

static Suite *
guard_suite(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("guard");

	tcase_add_test(tc, key_extraction);
	tcase_add_test(tc, regular_routes);
	tcase_add_test(tc, open_without_keys);
	tcase_add_test(tc, admin_routes);
	tcase_add_test(tc, options_is_preflight);
	tcase_add_test(tc, preflight_response);
	tcase_add_test(tc, unauthorized_response);
	tcase_add_test(tc, dispatch_order);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(guard_suite());
}

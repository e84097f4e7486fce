#include <string.h>

#include "testutil.h"
#include "http/router.c"

static void
h_dummy(void *tctx, struct http_conn *conn, const struct route_params *p)
{
	(void)tctx;
	(void)conn;
	(void)p;
}

/* The reference's table (surface.md 2.3), fixed routes first. */
static const struct route table[] = {
	{ "GET", "/", h_dummy, ROUTE_AUTH_NONE },                              /* 0 */
	{ "GET", "/v1/models", h_dummy, ROUTE_AUTH_REGULAR },                  /* 1 */
	{ "POST", "/v1/chat/completions", h_dummy, ROUTE_AUTH_REGULAR },       /* 2 */
	{ "POST", "/v1/messages", h_dummy, ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC }, /* 3 */
	{ "POST", "/v1/messages/count_tokens", h_dummy,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },                             /* 4 */
	{ "GET", "/admin/config/model-mappings", h_dummy, ROUTE_AUTH_ADMIN },  /* 5 */
	{ "POST", "/admin/config/model-mappings", h_dummy, ROUTE_AUTH_ADMIN }, /* 6 */
	{ "POST", "/:provider/v1/messages", h_dummy,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },                             /* 7 */
	{ "POST", "/:provider/v1/messages/count_tokens", h_dummy,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },                             /* 8 */
	{ "GET", "/:provider/v1/models", h_dummy, ROUTE_AUTH_REGULAR },        /* 9 */
};

#define N (sizeof(table) / sizeof(table[0]))

static int
idx(const char *method, const char *path, struct route_match *m)
{
	enum router_result r = router_match(table, N, method, path, m);

	if (r == ROUTER_NOT_FOUND)
		return -404;
	if (r == ROUTER_METHOD_NOT_ALLOWED)
		return -405;
	return (int)(m->route - table);
}

START_TEST(fixed_before_pattern)
{
	struct route_match m;

	ck_assert_int_eq(idx("GET", "/", &m), 0);
	ck_assert_int_eq(idx("GET", "/v1/models", &m), 1);
	ck_assert_uint_eq(m.params.n, 0);
	ck_assert_int_eq(idx("GET", "/acme/v1/models", &m), 9);
	ck_assert_str_eq(route_param(&m.params, "provider"), "acme");
	ck_assert_int_eq(idx("POST", "/v1/messages", &m), 3);
	ck_assert_int_eq(idx("POST", "/v1/messages/count_tokens", &m), 4);
	ck_assert_int_eq(idx("POST", "/acme/v1/messages", &m), 7);
	ck_assert_str_eq(route_param(&m.params, "provider"), "acme");
	ck_assert_ptr_null(route_param(&m.params, "prov"));
	ck_assert_ptr_null(route_param(&m.params, "providerx"));
	ck_assert_int_eq(idx("POST", "/my.prov-1/v1/messages/count_tokens", &m), 8);
	ck_assert_str_eq(route_param(&m.params, "provider"), "my.prov-1");
	/* "v1" as a provider name: the fixed route is not shadowed */
	ck_assert_int_eq(idx("POST", "/v1/v1/messages", &m), 7);
	ck_assert_str_eq(route_param(&m.params, "provider"), "v1");
}
END_TEST

START_TEST(table_order_is_precedence)
{
	static const struct route rev[] = {
		{ "GET", "/:provider/models", h_dummy, 0 },
		{ "GET", "/v1/models", h_dummy, 0 },
	};
	struct route_match m;

	ck_assert_int_eq(router_match(rev, 2, "GET", "/v1/models", &m), ROUTER_FOUND);
	ck_assert_ptr_eq(m.route, &rev[0]);
	ck_assert_str_eq(route_param(&m.params, "provider"), "v1");
}
END_TEST

START_TEST(method_not_allowed)
{
	struct route_match m;

	ck_assert_int_eq(idx("GET", "/v1/messages", &m), -405);
	ck_assert_str_eq(m.allow, "POST");
	ck_assert_ptr_null(m.route);
	ck_assert_int_eq(idx("DELETE", "/admin/config/model-mappings", &m), -405);
	ck_assert_str_eq(m.allow, "GET, HEAD, POST");
	ck_assert_int_eq(idx("POST", "/v1/models", &m), -405);
	ck_assert_str_eq(m.allow, "GET, HEAD");
	ck_assert_int_eq(idx("POST", "/acme/v1/models", &m), -405);
	ck_assert_str_eq(m.allow, "GET, HEAD");
	/* methods are case-sensitive */
	ck_assert_int_eq(idx("get", "/v1/models", &m), -405);
}
END_TEST

START_TEST(head_on_get)
{
	struct route_match m;

	ck_assert_int_eq(idx("HEAD", "/", &m), 0);
	ck_assert_int_eq(idx("HEAD", "/acme/v1/models", &m), 9);
	ck_assert_int_eq(idx("HEAD", "/v1/messages", &m), -405);
	ck_assert_str_eq(m.allow, "POST");
}
END_TEST

START_TEST(not_found)
{
	struct route_match m;
	char longseg[300];

	ck_assert_int_eq(idx("GET", "/nope", &m), -404);
	ck_assert_int_eq(idx("GET", "/v1/models/", &m), -404);
	ck_assert_int_eq(idx("GET", "//v1/models", &m), -404);
	ck_assert_int_eq(idx("GET", "/a/b/v1/models", &m), -404);
	ck_assert_int_eq(idx("GET", "v1/models", &m), -404);
	ck_assert_int_eq(idx("GET", "", &m), -404);
	ck_assert_int_eq(idx("POST", "/messages", &m), -404);
	ck_assert_int_eq(idx("POST", "/acme/v1/responses", &m), -404);
	memset(longseg, 'p', sizeof(longseg));
	longseg[0] = '/';
	snprintf(longseg + 200, sizeof(longseg) - 200, "/v1/models");
	ck_assert_int_eq(idx("GET", longseg, &m), -404);
	/* 127 characters still fit */
	memset(longseg, 'p', sizeof(longseg));
	longseg[0] = '/';
	snprintf(longseg + 128, sizeof(longseg) - 128, "/v1/models");
	ck_assert_int_eq(idx("GET", longseg, &m), 9);
	ck_assert_uint_eq(strlen(route_param(&m.params, "provider")), 127);
}
END_TEST

START_TEST(flags)
{
	ck_assert_uint_eq(route_auth(&table[0]), ROUTE_AUTH_NONE);
	ck_assert_uint_eq(route_auth(&table[3]), ROUTE_AUTH_REGULAR);
	ck_assert_uint_eq(route_auth(&table[5]), ROUTE_AUTH_ADMIN);
	ck_assert_int_eq(route_dialect(&table[3]), GW_DIALECT_ANTHROPIC);
	ck_assert_int_eq(route_dialect(&table[1]), GW_DIALECT_OPENAI);
	ck_assert_int_eq(route_dialect(NULL), GW_DIALECT_OPENAI);
	ck_assert_uint_eq(route_auth(NULL), ROUTE_AUTH_NONE);
}
END_TEST

START_TEST(two_params)
{
	static const struct route t[] = {
		{ "GET", "/:a/x/:b", h_dummy, 0 },
	};
	struct route_match m;

	ck_assert_int_eq(router_match(t, 1, "GET", "/one/x/two", &m), ROUTER_FOUND);
	ck_assert_str_eq(route_param(&m.params, "a"), "one");
	ck_assert_str_eq(route_param(&m.params, "b"), "two");
	ck_assert_int_eq(router_match(t, 1, "GET", "/one/x/", &m), ROUTER_NOT_FOUND);
	ck_assert_int_eq(router_match(t, 1, "GET", "/one/y/two", &m), ROUTER_NOT_FOUND);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("router");

	tcase_add_test(tc, fixed_before_pattern);
	tcase_add_test(tc, table_order_is_precedence);
	tcase_add_test(tc, method_not_allowed);
	tcase_add_test(tc, head_on_get);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, flags);
	tcase_add_test(tc, two_params);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(router_suite());
}

#include <ctype.h>
#include <stdio.h>
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
	struct guard_policy p = { k, nk, admin, NULL, NULL };

	mkreq(&r, "POST", xkey, auth);
	return guard_check(&r, rt, &p);
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
	struct guard_policy p = { keys, 2, "adm", NULL, NULL };

	mkreq(&r, "OPTIONS", NULL, NULL);
	ck_assert_int_eq(guard_check(&r, &admin_route, &p), GUARD_PREFLIGHT);
	p.admin_key = NULL;
	ck_assert_int_eq(guard_check(&r, NULL, &p), GUARD_PREFLIGHT);
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

static char *dispatch_h(const char *method, const char *path,
    const char *const *hdrs, const struct guard_policy *p,
    const char *const *report);

/* Status line and body of dispatching method+path with an x-api-key,
 * and the Allow header when sent. */
static char *
dispatch(const char *method, const char *path, const char *xkey,
    const char *const *k, size_t nk, const char *admin)
{
	struct guard_policy p = { k, nk, admin, NULL, NULL };
	const char *const hdrs[] = { "x-api-key", xkey, NULL };

	return dispatch_h(method, path, xkey != NULL ? hdrs : NULL, &p,
	    (const char *const[]){ "Allow", "allow", NULL });
}

#define ck_dispatch(want, ...) do {                      \
	char *got_ = dispatch(__VA_ARGS__);               \
	ck_assert_str_eq(got_, want);                     \
	free(got_);                                       \
} while (0)

#define NOTFOUND(path) "{\"error\":{\"message\":\"Unknown path: GET " path \
	"\",\"type\":\"not_found_error\"}}"
#define UNAUTH "{\"error\":{\"message\":\"Unauthorized\",\"type\":\"authentication_error\"}}"

START_TEST(dispatch_order)
{
	/* the preflight never reaches auth or routing */
	ck_dispatch("204|", "OPTIONS", "/v1/messages", NULL, keys, 2, "adm");
	ck_dispatch("204|", "OPTIONS", "/nope", NULL, keys, 2, "adm");
	/* auth before routing: strangers get 401, not 404 */
	ck_dispatch("401|" UNAUTH, "GET", "/v1/models", NULL, keys, 2, "adm");
	ck_dispatch("401|" UNAUTH, "GET", "/nope", NULL, keys, 2, "adm");
	ck_dispatch("404|" NOTFOUND("/nope"), "GET", "/nope", "key-one", keys, 2,
	    "adm");
	ck_dispatch("404|" NOTFOUND("/nope"), "GET", "/nope", NULL, NULL, 0, NULL);
	/* unknown /admin/ paths are behind the admin key */
	ck_dispatch("401|" UNAUTH, "GET", "/admin/nope", "key-one", keys, 2, "adm");
	ck_dispatch("401|" UNAUTH, "GET", "/admin/nope", NULL, NULL, 0, NULL);
	ck_dispatch("404|" NOTFOUND("/admin/nope"), "GET", "/admin/nope", "adm",
	    keys, 2, "adm");
	ck_dispatch("405|{\"type\":\"error\",\"error\":{\"type\":"
	    "\"invalid_request_error\",\"message\":\"Method GET is not allowed "
	    "on /v1/messages; allowed: POST\"}}|allow=POST", "GET", "/v1/messages",
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

/* ---- issue 12: dialects of 404/405, open mode, hashed keys ---- */

/*
 * "status|body|label=value…" of dispatching method+path with the header
 * pairs hdrs (name, value, …, NULL) under policy p; report holds (header,
 * label) pairs, each listed when sent.
 */
static char *
dispatch_h(const char *method, const char *path, const char *const *hdrs,
    const struct guard_policy *p, const char *const *report)
{
	static struct http_header_field f[8];
	struct http_request r;
	struct http_mem_io m;
	struct http_io io;
	struct http_conn c;
	struct buf res = BUF_INIT;
	const char *body, *h;
	char want[64];
	size_t n = 0;

	mkreq(&r, method, NULL, NULL);
	r.path = (char *)path;
	for (; hdrs != NULL && hdrs[0] != NULL; hdrs += 2, n++) {
		f[n].name = (char *)hdrs[0];
		f[n].value = (char *)hdrs[1];
	}
	r.headers = f;
	r.nheaders = n;
	http_mem_io_init(&m, NULL, 0, NULL);
	http_io_mem(&io, &m);
	http_conn_init(&c, &io, &r);
	guard_dispatch("app", &c, dispatch_table,
	    sizeof(dispatch_table) / sizeof(dispatch_table[0]), p);
	ck_assert(http_conn_started(&c));
	body = strstr(buf_cstr(&m.out), "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	ck_assert_int_eq(buf_printf(&res, "%d|%s", c.status, body + 4), GW_OK);
	for (; report != NULL && report[0] != NULL; report += 2) {
		snprintf(want, sizeof(want), "\r\n%s: ", report[0]);
		if ((h = strstr(m.out.data, want)) != NULL && h < body)
			ck_assert_int_eq(buf_printf(&res, "|%s=%.*s", report[1],
			    (int)strcspn(h + strlen(want), "\r"),
			    h + strlen(want)), GW_OK);
	}
	http_conn_free(&c);
	http_mem_io_free(&m);
	return buf_detach(&res);
}

#define CORS_HDRS ((const char *const[]){ "Access-Control-Allow-Origin", \
	"acao", "Vary", "vary", NULL })
#define ck_dispatch_h(want, ...) do {                    \
	char *got_ = dispatch_h(__VA_ARGS__, CORS_HDRS);  \
	ck_assert_str_eq(got_, want);                     \
	free(got_);                                       \
} while (0)

#define HDRS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define OK_APP "200|app provider=-"

#define ANTH(type, msg) "{\"type\":\"error\",\"error\":{\"type\":\"" type \
	"\",\"message\":\"" msg "\"}}"
#define OAI(type, msg) "{\"error\":{\"message\":\"" msg "\",\"type\":\"" \
	type "\"}}"

static const struct guard_policy open_policy = { NULL, 0, NULL, NULL, NULL };

START_TEST(no_route_answers_in_the_paths_dialect)
{
	const struct guard_policy *o = &open_policy;

	ck_dispatch_h("404|" ANTH("not_found_error",
	    "Unknown path: GET /v1/messages/nope"), "GET", "/v1/messages/nope",
	    NULL, o);
	ck_dispatch_h("404|" ANTH("not_found_error",
	    "Unknown path: POST /acme/v1/messages/batches"), "POST",
	    "/acme/v1/messages/batches", NULL, o);
	ck_dispatch_h("404|" OAI("not_found_error",
	    "Unknown path: POST /v1/messagesx"), "POST", "/v1/messagesx", NULL, o);
	ck_dispatch_h("404|" OAI("not_found_error",
	    "Unknown path: POST /v1/chat/nope"), "POST", "/v1/chat/nope", NULL, o);
	ck_dispatch_h("405|" ANTH("invalid_request_error",
	    "Method GET is not allowed on /acme/v1/messages; allowed: POST"),
	    "GET", "/acme/v1/messages", NULL, o);
	ck_dispatch_h("405|" OAI("invalid_request_error",
	    "Method POST is not allowed on /v1/models; allowed: GET, HEAD"),
	    "POST", "/v1/models", NULL, o);
	/* with keys, a stranger's 401 on an unknown Anthropic path is
	 * Anthropic-shaped too; CORS stays "*" */
	ck_dispatch_h("401|" ANTH("authentication_error", "Unauthorized") "|acao=*",
	    "GET", "/v1/messages/nope", NULL,
	    &(struct guard_policy){ keys, 2, NULL, NULL, NULL });
}
END_TEST

#define FOREIGN_HOST(h) "Host '" h "' is not allowed: with no auth.apiKeys " \
	"this gateway answers only loopback names (localhost, 127.0.0.1, " \
	"[::1]); add the name to \\\"allowedHosts\\\" in config.json, or set " \
	"auth.apiKeys"

START_TEST(open_mode_answers_only_loopback_or_allowed_hosts)
{
	const struct guard_policy *o = &open_policy;
	const char *const hosts[] = { "gw.example", NULL };
	const char *const any[] = { "*", NULL };
	const char *const good[] = { "127.0.0.1:4141", "127.9.8.7", "localhost",
	    "LocalHost.:80", "[::1]:4141", "[::1]", "app.localhost:3000" };
	const char *const bad[] = { "evil.example", "localhost.evil.example",
	    "127.0.0.1.evil.example", "[::2]:80", "10.0.0.1", "0.0.0.0:4141",
	    "[::1" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++)
		ck_dispatch_h(OK_APP, "POST", "/v1/messages", HDRS("host", good[i]),
		    o);
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		char *got = dispatch_h("POST", "/v1/messages", HDRS("host", bad[i]),
		    o, CORS_HDRS);

		ck_assert_msg(util_has_prefix(got, "403|{\"type\":\"error\""),
		    "%s: %s", bad[i], got);
		ck_assert_ptr_nonnull(strstr(got, "allowedHosts"));
		free(got);
	}
	ck_dispatch_h("403|" OAI("permission_error",
	    FOREIGN_HOST("evil.example:4141")), "GET", "/v1/models",
	    HDRS("host", "evil.example:4141"), o);
	/* the preflight too: a rebinding page gets no 204 */
	ck_dispatch_h("403|" OAI("permission_error", FOREIGN_HOST("evil.example")),
	    "OPTIONS", "/v1/models", HDRS("host", "evil.example"), o);
	ck_dispatch_h(OK_APP, "POST", "/v1/messages",
	    HDRS("host", "GW.example:8080"),
	    &(struct guard_policy){ NULL, 0, NULL, hosts, NULL });
	ck_dispatch_h(OK_APP, "POST", "/v1/messages", HDRS("host", "evil.example"),
	    &(struct guard_policy){ NULL, 0, NULL, any, NULL });
	/* no Host at all is no browser */
	ck_dispatch_h(OK_APP, "POST", "/v1/messages", NULL, o);
	/* with keys, today's behaviour: the key decides */
	ck_dispatch_h(OK_APP "|acao=*", "POST", "/v1/messages",
	    HDRS("host", "evil.example", "x-api-key", "key-one"),
	    &(struct guard_policy){ keys, 2, NULL, NULL, NULL });
}
END_TEST

START_TEST(open_mode_refuses_cross_site_browsers)
{
	const struct guard_policy *o = &open_policy;
	const char *const origins[] = { "http://localhost:3000", NULL };
	const struct guard_policy allow = { NULL, 0, NULL, NULL, origins };
	char *got;

	/* the text/plain POST of any web page */
	got = dispatch_h("POST", "/v1/chat/completions", HDRS("host",
	    "127.0.0.1:4141", "origin", "https://evil.example",
	    "content-type", "text/plain"), o, CORS_HDRS);
	ck_assert_str_eq(got, "403|" OAI("permission_error", "Cross-site request "
	    "from origin 'https://evil.example' refused: with no auth.apiKeys a "
	    "browser may call this gateway only from an origin in "
	    "\\\"cors.allowedOrigins\\\" in config.json; add it there, or set "
	    "auth.apiKeys"));
	free(got);
	got = dispatch_h("POST", "/v1/messages", HDRS("host", "localhost:4141",
	    "origin", "null"), o, CORS_HDRS);
	ck_assert(util_has_prefix(got, "403|{\"type\":\"error\",\"error\":{"
	    "\"type\":\"permission_error\""));
	free(got);
	got = dispatch_h("GET", "/v1/models", HDRS("host", "localhost:4141",
	    "sec-fetch-site", "cross-site"), o, CORS_HDRS);
	ck_assert(util_has_prefix(got, "403|"));
	ck_assert_ptr_nonnull(strstr(got, "cors.allowedOrigins"));
	free(got);
	got = dispatch_h("OPTIONS", "/v1/messages", HDRS("host", "localhost:4141",
	    "origin", "https://evil.example"), o, CORS_HDRS);
	ck_assert(util_has_prefix(got, "403|"));
	ck_assert_ptr_null(strstr(got, "acao="));
	free(got);
	/* allowed: the origin is reflected, never "*" */
	ck_dispatch_h(OK_APP "|acao=http://localhost:3000|vary=Origin", "POST",
	    "/v1/messages", HDRS("host", "localhost:4141", "origin",
	    "http://localhost:3000", "sec-fetch-site", "same-site"), &allow);
	ck_dispatch_h("204||acao=http://localhost:3000|vary=Origin", "OPTIONS",
	    "/v1/messages", HDRS("host", "localhost:4141", "origin",
	    "http://localhost:3000"), &allow);
	/* same-origin and non-browser clients pass, with no CORS header */
	ck_dispatch_h(OK_APP, "POST", "/v1/messages", HDRS("host",
	    "127.0.0.1:4141", "origin", "http://127.0.0.1:4141",
	    "sec-fetch-site", "same-origin"), o);
	ck_dispatch_h(OK_APP, "POST", "/v1/messages", HDRS("host",
	    "127.0.0.1:4141"), o);
	ck_dispatch_h(OK_APP, "GET", "/v1/models", HDRS("host", "127.0.0.1:4141",
	    "sec-fetch-site", "none"), o);
	/* with keys, today's behaviour */
	ck_dispatch_h(OK_APP "|acao=*", "POST", "/v1/messages", HDRS("origin",
	    "https://evil.example", "x-api-key", "key-two"),
	    &(struct guard_policy){ keys, 2, NULL, NULL, NULL });
}
END_TEST

START_TEST(hashed_keys)
{
	char hex[65], entry[80], upper[80];
	const char *k[2] = { entry, "plain" };
	size_t i;

	util_sha256_hex("sk-hashed", 9, hex);
	snprintf(entry, sizeof(entry), "sha256:%s", hex);
	snprintf(upper, sizeof(upper), "sha256:%s", hex);
	for (i = 7; upper[i] != '\0'; i++)
		upper[i] = (char)toupper((unsigned char)upper[i]);
	ck_assert_int_eq(check(&reg_route, "sk-hashed", NULL, k, 2, NULL),
	    GUARD_PASS);
	ck_assert_int_eq(check(&reg_route, "plain", NULL, k, 2, NULL), GUARD_PASS);
	/* the stored entry itself is no key */
	ck_assert_int_eq(check(&reg_route, entry, NULL, k, 2, NULL),
	    GUARD_UNAUTHORIZED);
	ck_assert_int_eq(check(&reg_route, "sk-hashe", NULL, k, 2, NULL),
	    GUARD_UNAUTHORIZED);
	k[0] = upper;
	ck_assert_int_eq(check(&reg_route, "sk-hashed", NULL, k, 2, NULL),
	    GUARD_PASS);
	/* the admin key may be stored hashed too */
	ck_assert_int_eq(check(&admin_route, "sk-hashed", NULL, NULL, 0, entry),
	    GUARD_PASS);
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
	tcase_add_test(tc, no_route_answers_in_the_paths_dialect);
	tcase_add_test(tc, open_mode_answers_only_loopback_or_allowed_hosts);
	tcase_add_test(tc, open_mode_refuses_cross_site_browsers);
	tcase_add_test(tc, hashed_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(guard_suite());
}

/*
 * The front door before any handler: CORS preflight, API and admin keys,
 * then the router's 404/405 (contract in guard.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "http/guard.h"
#include "http/server.h"

static int
is_space(char c)
{
	return isspace((unsigned char)c) != 0;
}

/* "Bearer  a  b " -> "a b": the words after the scheme, single-spaced. */
static GW_MUST_CHECK enum gw_err
bearer_key(const char *auth, char **out)
{
	struct buf b = BUF_INIT;
	const char *p = auth, *w;
	enum gw_err e = GW_OK;

	while (is_space(*p))
		p++;
	w = p;
	while (*p != '\0' && !is_space(*p))
		p++;
	if (p - w != 6 || strncasecmp(w, "bearer", 6) != 0)
		return GW_ENOTFOUND;
	for (;;) {
		while (is_space(*p))
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && !is_space(*p))
			p++;
		if (b.len > 0 && (e = buf_putc(&b, ' ')) != GW_OK)
			goto out;
		if ((e = buf_append(&b, w, (size_t)(p - w))) != GW_OK)
			goto out;
	}
	if (b.len == 0) {
		e = GW_ENOTFOUND;
		goto out;
	}
	*out = buf_detach(&b);
out:
	buf_free(&b);
	return e;
}

/* The key the client presented, malloc'd in *out; GW_ENOTFOUND if none. */
static GW_MUST_CHECK enum gw_err
guard_request_key(const struct http_request *req, char **out)
{
	const char *v;
	char *k;

	*out = NULL;
	if ((v = http_header(req, "x-api-key")) != NULL) {
		if ((k = util_strndup_trim(v, strlen(v))) == NULL)
			return GW_ENOMEM;
		if (*k != '\0') {
			*out = k;
			return GW_OK;
		}
		free(k);
	}
	if ((v = http_header(req, "authorization")) != NULL)
		return bearer_key(v, out);
	return GW_ENOTFOUND;
}

static size_t
count_keys(const char *const *keys, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (keys[i] != NULL && keys[i][0] != '\0')
			c++;
	return c;
}

/* configured ("sha256:<hex>") holds the digest of key.  Both digests
 * are compared whole, so the time taken tells nothing of either. */
static int
hashed_key_equal(const char *key, const char *configured)
{
	char hex[65], want[65];
	size_t i;
	unsigned diff = 0;

	if (strlen(configured + 7) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		want[i] = (char)tolower((unsigned char)configured[7 + i]);
	want[64] = '\0';
	util_sha256_hex(key, strlen(key), hex);
	for (i = 0; i < 64; i++)
		diff |= (unsigned)(hex[i] ^ want[i]);
	return diff == 0;
}

/* No early exit: the time taken does not tell which key matched. */
static int
key_in(const char *key, const char *const *keys, size_t n)
{
	int hit = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (keys[i] != NULL && keys[i][0] != '\0')
			hit |= strncmp(keys[i], "sha256:", 7) == 0 ?
			    hashed_key_equal(key, keys[i]) :
			    util_secret_equal(key, keys[i]);
	return hit;
}

/* route may be NULL (unknown path): only the preflight applies then. */
static enum guard_result
guard_check(const struct http_request *req, const struct route *route,
    const struct guard_policy *p)
{
	const char *admin[1] = { p->admin_key };
	char *key = NULL;
	int pass, regular_hit, admin_hit;

	if (strcmp(req->method, "OPTIONS") == 0)
		return GUARD_PREFLIGHT;
	if (route == NULL || route_auth(route) == ROUTE_AUTH_NONE)
		return GUARD_PASS;
	/* ENOMEM leaves no key: fail closed */
	if (guard_request_key(req, &key) != GW_OK)
		key = NULL;
	regular_hit = key != NULL && key_in(key, p->keys, p->nkeys);
	admin_hit = key != NULL && key_in(key, admin, 1);
	if (route_auth(route) == ROUTE_AUTH_ADMIN)
		pass = admin_hit;
	else
		pass = count_keys(p->keys, p->nkeys) == 0 || regular_hit ||
		    admin_hit;
	free(key);
	return pass ? GUARD_PASS : GUARD_UNAUTHORIZED;
}

/* 1 when s (lower-case) is in list, or list holds "*". */
static int
listed(const char *s, const char *const *list)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, "*") == 0 || strcasecmp(*list, s) == 0)
			return 1;
	return 0;
}

/* "LocalHost.:4141" -> "localhost", "[::1]:80" -> "[::1]"; 0 if too long. */
static int
host_name(const char *host, char out[256])
{
	size_t n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
	size_t i;

	if (n >= 256 || (host[0] == '[' && host[n - 1] != ']'))
		return 0;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	if (n > 1 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return 1;
}

/* localhost, *.localhost (RFC 6761), 127.0.0.0/8, [::1]. */
static int
loopback_name(const char *name)
{
	struct in_addr a;
	size_t n = strlen(name);

	if (strcmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0 ||
	    (n > 10 && strcmp(name + n - 10, ".localhost") == 0))
		return 1;
	return inet_pton(AF_INET, name, &a) == 1 &&
	    (ntohl(a.s_addr) >> 24) == 127;
}

/* Origin "http://host:port" names the server the request went to. */
static int
same_origin(const char *origin, const char *host)
{
	const char *rest = strstr(origin, "://");

	return rest != NULL && host != NULL && strcasecmp(rest + 3, host) == 0;
}

/*
 * Open mode only (no regular key): the Host and Origin rules of guard.h.
 * Sets conn->cors_origin (the origin to reflect, or "" for none); on
 * GUARD_FORBIDDEN says why in msg, naming the config key to set.
 */
static enum guard_result
guard_access(struct http_conn *conn, const struct guard_policy *p,
    char *msg, size_t cap)
{
	const struct http_request *req = conn->req;
	const char *host = http_header(req, "host");
	const char *origin = http_header(req, "origin");
	const char *site = http_header(req, "sec-fetch-site");
	char name[256];

	if (count_keys(p->keys, p->nkeys) > 0)
		return GUARD_PASS;
	conn->cors_origin = "";
	/* no Host: not a browser (a browser always sends one) */
	if (host != NULL && (!host_name(host, name) ||
	    (!loopback_name(name) && !listed(name, p->hosts)))) {
		snprintf(msg, cap, "Host '%.200s' is not allowed: with no "
		    "auth.apiKeys this gateway answers only loopback names "
		    "(localhost, 127.0.0.1, [::1]); add the name to "
		    "\"allowedHosts\" in config.json, or set auth.apiKeys",
		    host);
		return GUARD_FORBIDDEN;
	}
	if (origin != NULL && listed(origin, p->origins)) {
		conn->cors_origin = origin;
		return GUARD_PASS;
	}
	if (origin != NULL && !same_origin(origin, host)) {
		snprintf(msg, cap, "Cross-site request from origin '%.200s' "
		    "refused: with no auth.apiKeys a browser may call this "
		    "gateway only from an origin in \"cors.allowedOrigins\" in "
		    "config.json; add it there, or set auth.apiKeys", origin);
		return GUARD_FORBIDDEN;
	}
	if (origin == NULL && site != NULL && strcasecmp(site, "cross-site") == 0) {
		snprintf(msg, cap, "Cross-site browser request refused "
		    "(Sec-Fetch-Site: cross-site, no Origin): with no "
		    "auth.apiKeys only origins in \"cors.allowedOrigins\" in "
		    "config.json may call this gateway; or set auth.apiKeys");
		return GUARD_FORBIDDEN;
	}
	return GUARD_PASS;
}

/* "a , b,,c" -> "a,b,c", the way Hono's cors() echoes the list. */
static GW_MUST_CHECK enum gw_err
normalise_list(const char *s, struct buf *out)
{
	const char *p = s, *end;
	char *item;
	enum gw_err e = GW_OK;

	while (*p != '\0' && e == GW_OK) {
		end = p + strcspn(p, ",");
		if ((item = util_strndup_trim(p, (size_t)(end - p))) == NULL)
			return GW_ENOMEM;
		if (*item != '\0') {
			if (out->len > 0)
				e = buf_putc(out, ',');
			if (e == GW_OK)
				e = buf_puts(out, item);
		}
		free(item);
		p = *end != '\0' ? end + 1 : end;
	}
	return e;
}

static GW_MUST_CHECK enum gw_err
preflight(struct http_conn *conn)
{
	const char *hdrs[9];
	const char *req_hdrs = conn->req != NULL ?
	    http_header(conn->req, "access-control-request-headers") : NULL;
	struct buf list = BUF_INIT;
	size_t n = 0;
	enum gw_err e;

	hdrs[n++] = "Access-Control-Allow-Methods";
	hdrs[n++] = "GET,HEAD,PUT,POST,DELETE,PATCH";
	if (req_hdrs != NULL) {
		if ((e = normalise_list(req_hdrs, &list)) != GW_OK)
			goto out;
		if (list.len > 0) {
			hdrs[n++] = "Access-Control-Allow-Headers";
			hdrs[n++] = list.data;
			hdrs[n++] = "Vary";
			hdrs[n++] = "Access-Control-Request-Headers";
		}
	}
	hdrs[n] = NULL;
	/* no Content-Length on a 204 */
	e = http_begin(conn, 204, NULL, hdrs);
out:
	buf_free(&list);
	return e;
}

/*
 * Writes the answer for GUARD_PREFLIGHT (204 with the CORS headers, the
 * requested headers echoed) or GUARD_UNAUTHORIZED (401 in the route's
 * dialect, WWW-Authenticate: Bearer realm="copilot-api").  GW_EINVAL for
 * GUARD_PASS.
 */
static GW_MUST_CHECK enum gw_err
guard_respond(struct http_conn *conn, enum guard_result r,
    const struct route *route)
{
	static const char *const www[] = {
		"WWW-Authenticate", "Bearer realm=\"copilot-api\"", NULL,
	};

	switch (r) {
	case GUARD_PREFLIGHT:
		return preflight(conn);
	case GUARD_UNAUTHORIZED:
		return http_send_error(conn, route_dialect(route), 401,
		    "authentication_error", "Unauthorized", www);
	case GUARD_PASS:
	default:
		return GW_EINVAL;
	}
}

/* 404 or 405 (with Allow), as JSON in the dialect the path implies. */
static void
no_route(struct http_conn *conn, enum router_result rr, const char *allow)
{
	const struct http_request *req = conn->req;
	enum gw_dialect d = router_path_dialect(req->path);
	char msg[448];

	/* best effort, like every answer here: a failed write means the
	 * client is gone, which the server's log line reports */
	if (rr == ROUTER_NOT_FOUND) {
		snprintf(msg, sizeof(msg), "Unknown path: %.16s %.256s",
		    req->method, req->path);
		GW_IGNORE(http_send_error(conn, d, 404, NULL, msg, NULL));
		return;
	}
	snprintf(msg, sizeof(msg), "Method %.16s is not allowed on %.256s; "
	    "allowed: %s", req->method, req->path, allow);
	GW_IGNORE(http_send_error(conn, d, 405, NULL, msg,
	    (const char *const[]){ "Allow", allow, NULL }));
}

/*
 * A zstd body decoded once the key passed (as the reference's middleware,
 * after its auth): 1 to go on, 0 when answered in the route's dialect.
 */
static int
decoded(struct http_conn *conn, const struct route *rt)
{
	enum gw_err e = http_request_decode_body(conn->req);

	if (e == GW_OK)
		return 1;
	log_info("request body not decoded (%s) trace=%s", gw_strerror(e),
	    conn->req->trace_id);
	/* best effort, as every answer here */
	if (e == GW_EINVAL)
		GW_IGNORE(http_send_error(conn, route_dialect(rt), 400,
		    "invalid_request_error", "Failed to decompress zstd request "
		    "body.", NULL));
	else
		http_server_reject(conn, route_dialect(rt), e,
		    conn->req->max_body);
	return 0;
}

void
guard_dispatch(void *tctx, struct http_conn *conn, const struct route *table,
    size_t n, const struct guard_policy *p)
{
	const struct http_request *req = conn->req;
	struct route_match m;
	struct route unmatched = { NULL, NULL, NULL, ROUTE_AUTH_REGULAR };
	const struct route *rt;
	enum router_result rr;
	enum guard_result g;
	char msg[512];

	rr = router_match(table, n, req->method, req->path, &m);
	rt = m.route;
	if (rr != ROUTER_FOUND) {
		if (util_has_prefix(req->path, "/admin/"))
			unmatched.flags = ROUTE_AUTH_ADMIN;
		if (router_path_dialect(req->path) == GW_DIALECT_ANTHROPIC)
			unmatched.flags |= ROUTE_ANTHROPIC;
		rt = &unmatched;
	}
	g = guard_access(conn, p, msg, sizeof(msg));
	if (g == GUARD_PASS)
		g = guard_check(req, rt, p);
	/* The answer is decided: a failed write means the client is gone,
	 * which the server's log line reports. */
	if (g == GUARD_FORBIDDEN)
		GW_IGNORE(http_send_error(conn, route_dialect(rt), 403, NULL, msg,
		    NULL));
	else if (g != GUARD_PASS)
		GW_IGNORE(guard_respond(conn, g, rt));
	else if (!decoded(conn, rt))
		return;
	else if (rr == ROUTER_FOUND)
		m.route->handler(tctx, conn, &m.params);
	else
		no_route(conn, rr, m.allow);
}

/*
 * The front door before any handler: CORS preflight, API and admin keys,
 * then the router's 404/405 (contract in guard.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/util.h"
#include "http/guard.h"

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

/* No early exit: the time taken does not tell which key matched. */
static int
key_in(const char *key, const char *const *keys, size_t n)
{
	int hit = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (keys[i] != NULL && keys[i][0] != '\0')
			hit |= util_secret_equal(key, keys[i]);
	return hit;
}

/* route may be NULL (unknown path): only the preflight applies then. */
static enum guard_result
guard_check(const struct http_request *req, const struct route *route,
    const char *const *keys, size_t nkeys, const char *admin_key)
{
	const char *admin[1] = { admin_key };
	char *key = NULL;
	int pass, regular_hit, admin_hit;

	if (strcmp(req->method, "OPTIONS") == 0)
		return GUARD_PREFLIGHT;
	if (route == NULL || route_auth(route) == ROUTE_AUTH_NONE)
		return GUARD_PASS;
	/* ENOMEM leaves no key: fail closed */
	if (guard_request_key(req, &key) != GW_OK)
		key = NULL;
	regular_hit = key != NULL && key_in(key, keys, nkeys);
	admin_hit = key != NULL && key_in(key, admin, 1);
	if (route_auth(route) == ROUTE_AUTH_ADMIN)
		pass = admin_hit;
	else
		pass = count_keys(keys, nkeys) == 0 || regular_hit || admin_hit;
	free(key);
	return pass ? GUARD_PASS : GUARD_UNAUTHORIZED;
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

void
guard_dispatch(void *tctx, struct http_conn *conn, const struct route *table,
    size_t n, const char *const *keys, size_t nkeys, const char *admin_key)
{
	const struct http_request *req = conn->req;
	struct route_match m;
	struct route unmatched = { NULL, NULL, NULL, ROUTE_AUTH_REGULAR };
	const struct route *rt;
	enum router_result rr;
	enum guard_result g;

	rr = router_match(table, n, req->method, req->path, &m);
	rt = m.route;
	if (rr != ROUTER_FOUND) {
		if (util_has_prefix(req->path, "/admin/"))
			unmatched.flags = ROUTE_AUTH_ADMIN;
		rt = &unmatched;
	}
	g = guard_check(req, rt, keys, nkeys, admin_key);
	/* The answer is decided: a failed write means the client is gone,
	 * which the server's log line reports. */
	if (g != GUARD_PASS) {
		GW_IGNORE(guard_respond(conn, g, rt));
		return;
	}
	if (rr == ROUTER_NOT_FOUND) {
		GW_IGNORE(http_send_text(conn, 404, "404 Not Found"));
	} else if (rr == ROUTER_METHOD_NOT_ALLOWED) {
		GW_IGNORE(http_send(conn, 405, "text/plain; charset=utf-8",
		    "405 Method Not Allowed", 22,
		    (const char *const[]){ "Allow", m.allow, NULL }));
	} else {
		m.route->handler(tctx, conn, &m.params);
	}
}

/* The route table and the per-request path through guard and handler. */
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "http/guard.h"
#include "http/router.h"
#include "routes/routes.h"
#include "state/config.h"

#define R(m, p, f) { m, p, NULL, f }

/* Order is precedence: fixed paths before patterns. */
static const struct route table[] = {
	R("GET", "/", ROUTE_AUTH_NONE),
	R("GET", "/v1/models", ROUTE_AUTH_REGULAR),
	R("GET", "/models", ROUTE_AUTH_REGULAR),
	R("POST", "/v1/chat/completions", ROUTE_AUTH_REGULAR),
	R("POST", "/chat/completions", ROUTE_AUTH_REGULAR),
	R("POST", "/v1/embeddings", ROUTE_AUTH_REGULAR),
	R("POST", "/embeddings", ROUTE_AUTH_REGULAR),
	R("GET", "/usage", ROUTE_AUTH_REGULAR),
	R("GET", "/token", ROUTE_AUTH_ADMIN),
	R("GET", "/token-usage", ROUTE_AUTH_REGULAR),
	R("GET", "/token-usage/daily", ROUTE_AUTH_REGULAR),
	R("GET", "/token-usage/events", ROUTE_AUTH_REGULAR),
	R("GET", "/admin/config/model-mappings", ROUTE_AUTH_ADMIN),
	R("POST", "/admin/config/model-mappings", ROUTE_AUTH_ADMIN),
};

/* Handlers, index for index with the table. */
static const route_fn handlers[] = {
	route_root,
	route_models,
	route_models,
	route_chat,
	route_chat,
	route_embeddings,
	route_embeddings,
	route_usage,
	route_token,
	route_token_usage,
	route_token_usage_daily,
	route_token_usage_events,
	route_admin_mappings_get,
	route_admin_mappings_post,
};

_Static_assert(ARRAY_LEN(table) == ARRAY_LEN(handlers),
    "every route has a handler");

void
routes_handle(void *worker, struct http_conn *c)
{
	struct route_match m;
	struct rctx r;
	struct buf msg = BUF_INIT;
	const struct cfg *cfg;
	const struct http_request *req = c->req;
	enum router_result rr;
	enum guard_result g;
	const struct route *route;

	memset(&r, 0, sizeof(r));
	r.w = worker;
	r.c = c;
	r.req = req;
	r.start_ms = util_mono_ms();
	cfg = r.w->app->cfg;
	rr = router_match(table, ARRAY_LEN(table), req->method, req->path, &m);
	route = rr == ROUTER_FOUND ? m.route : NULL;
	r.dialect = route != NULL ? route_dialect(route) : HTTP_OPENAI;
	g = guard_check(req, route, (const char *const *)cfg->api_keys,
	    cfg->n_api_keys, cfg->admin_api_key);
	if (g != GUARD_PASS) {
		guard_respond(c, g, route);
		goto out;
	}
	if (rr == ROUTER_NOT_FOUND) {
		buf_printf(&msg, "Not found: %s %s", req->method, req->path);
		http_send_error(c, HTTP_OPENAI, 404, NULL, msg.data, NULL);
		goto out;
	}
	if (rr == ROUTER_METHOD_NOT_ALLOWED) {
		const char *extra[] = { "Allow", m.allow, NULL };

		buf_printf(&msg, "Method %s is not allowed on %s", req->method,
		    req->path);
		http_send_error(c, HTTP_OPENAI, 405, NULL, msg.data, extra);
		goto out;
	}
	r.param = m.params.n > 0 ? m.params.p[0].value : NULL;
	handlers[route - table](&r);
out:
	log_debug("%s %s -> %d (%lld ms) %s", req->method, req->path, c->status,
	    (long long)(util_mono_ms() - r.start_ms), req->trace_id);
	buf_free(&msg);
}

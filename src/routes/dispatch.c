/* The route table.  guard_dispatch (src/http/guard.c) runs the front door:
 * preflight, keys, 404/405, then one of these handlers. */
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "http/guard.h"
#include "http/router.h"
#include "routes/routes.h"
#include "state/config.h"

static void
run(void *worker, struct http_conn *c, const struct route_params *p,
    route_fn fn, enum gw_dialect d)
{
	struct rctx r;

	memset(&r, 0, sizeof(r));
	r.w = worker;
	r.c = c;
	r.req = c->req;
	r.dialect = d;
	r.param = p->n > 0 ? p->p[0].value : NULL;
	r.start_ms = util_mono_ms();
	fn(&r);
}

/* One trampoline per handler: the router's handler type carries no
 * context, and the dialect belongs to the route. */
#define OPENAI(fn) \
	static void h_##fn(void *w, struct http_conn *c, const struct route_params *p) \
	{ run(w, c, p, fn, GW_DIALECT_OPENAI); }

OPENAI(route_root)
OPENAI(route_models)
OPENAI(route_chat)
OPENAI(route_embeddings)
OPENAI(route_usage)
OPENAI(route_token)
OPENAI(route_token_usage)
OPENAI(route_token_usage_daily)
OPENAI(route_token_usage_events)
OPENAI(route_admin_mappings_get)
OPENAI(route_admin_mappings_post)
OPENAI(route_responses)
OPENAI(route_provider_models)

#define ANTHROPIC(fn) \
	static void h_##fn(void *w, struct http_conn *c, const struct route_params *p) \
	{ run(w, c, p, fn, GW_DIALECT_ANTHROPIC); }

ANTHROPIC(route_messages)
ANTHROPIC(route_count_tokens)
ANTHROPIC(route_provider_messages)
ANTHROPIC(route_provider_count_tokens)

/* Order is precedence: fixed paths before patterns. */
static const struct route table[] = {
	{ "GET", "/", h_route_root, ROUTE_AUTH_NONE },
	{ "GET", "/v1/models", h_route_models, ROUTE_AUTH_REGULAR },
	{ "GET", "/models", h_route_models, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/chat/completions", h_route_chat, ROUTE_AUTH_REGULAR },
	{ "POST", "/chat/completions", h_route_chat, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/embeddings", h_route_embeddings, ROUTE_AUTH_REGULAR },
	{ "POST", "/embeddings", h_route_embeddings, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/responses", h_route_responses, ROUTE_AUTH_REGULAR },
	{ "POST", "/responses", h_route_responses, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/messages", h_route_messages, ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "POST", "/v1/messages/count_tokens", h_route_count_tokens,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "GET", "/usage", h_route_usage, ROUTE_AUTH_REGULAR },
	{ "GET", "/token", h_route_token, ROUTE_AUTH_ADMIN },
	{ "GET", "/token-usage", h_route_token_usage, ROUTE_AUTH_REGULAR },
	{ "GET", "/token-usage/daily", h_route_token_usage_daily, ROUTE_AUTH_REGULAR },
	{ "GET", "/token-usage/events", h_route_token_usage_events, ROUTE_AUTH_REGULAR },
	{ "GET", "/admin/config/model-mappings", h_route_admin_mappings_get, ROUTE_AUTH_ADMIN },
	{ "POST", "/admin/config/model-mappings", h_route_admin_mappings_post, ROUTE_AUTH_ADMIN },
	/* Patterns last: /v1/models stays Copilot's list. */
	{ "POST", "/:provider/v1/messages", h_route_provider_messages,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "POST", "/:provider/v1/messages/count_tokens",
	    h_route_provider_count_tokens, ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "GET", "/:provider/v1/models", h_route_provider_models, ROUTE_AUTH_REGULAR },
};

void
routes_handle(void *worker, struct http_conn *c)
{
	const struct cfg *cfg = ((struct worker *)worker)->app->cfg;
	int64_t t0 = util_mono_ms();

	guard_dispatch(worker, c, table, ARRAY_LEN(table),
	    strlist_view(&cfg->api_keys), cfg->api_keys.n,
	    cfg->admin_api_key);
	log_debug("%s %s -> %d (%lld ms) %s", c->req->method, c->req->path,
	    c->status, (long long)(util_mono_ms() - t0), c->req->trace_id);
}

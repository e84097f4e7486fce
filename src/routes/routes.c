/*
 * The route table and routes_handle.  guard_dispatch (src/http/guard.c)
 * runs the front door: preflight, keys, 404/405, then run(), which calls
 * the row's handler with a fresh request context.
 */
#include <string.h>

#include "app/pool.h"
#include "core/log.h"
#include "core/util.h"
#include "http/guard.h"
#include "http/router.h"
#include "routes/admin_accounts.h"
#include "routes/approval.h"
#include "routes/common.h"
#include "routes/health.h"
#include "routes/messages.h"
#include "routes/misc.h"
#include "routes/openai.h"
#include "routes/providers.h"
#include "routes/responses.h"
#include "routes/routes.h"
#include "state/config.h"
#include "state/metrics.h"

typedef void (*route_fn)(struct rctx *r);

/* One row: the router's method, pattern and flags (ROUTE_ANTHROPIC: the
 * Anthropic dialect; ROW_OPEN_IF_METRICS_PUBLIC: no key when config
 * metrics.public is true), and the handler. */
#define ROW_OPEN_IF_METRICS_PUBLIC 0x100u
struct row {
	const char *method;
	const char *pattern;
	route_fn fn;
	unsigned flags;
};

/* Order is precedence: fixed paths before patterns. */
static const struct row rows[] = {
	{ "GET", "/", route_root, ROUTE_AUTH_NONE },
	{ "GET", "/healthz", route_healthz, ROUTE_AUTH_NONE },
	{ "GET", "/readyz", route_readyz, ROUTE_AUTH_NONE },
	{ "GET", "/metrics", route_metrics,
	    ROUTE_AUTH_ADMIN | ROW_OPEN_IF_METRICS_PUBLIC },
	{ "GET", "/v1/models", route_models, ROUTE_AUTH_REGULAR },
	{ "GET", "/models", route_models, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/chat/completions", route_chat, ROUTE_AUTH_REGULAR },
	{ "POST", "/chat/completions", route_chat, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/embeddings", route_embeddings, ROUTE_AUTH_REGULAR },
	{ "POST", "/embeddings", route_embeddings, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/responses", route_responses, ROUTE_AUTH_REGULAR },
	{ "POST", "/responses", route_responses, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/images/generations", route_images_generations, ROUTE_AUTH_REGULAR },
	{ "POST", "/images/generations", route_images_generations, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/images/edits", route_images_edits, ROUTE_AUTH_REGULAR },
	{ "POST", "/images/edits", route_images_edits, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/alpha/search", route_alpha_search, ROUTE_AUTH_REGULAR },
	{ "POST", "/alpha/search", route_alpha_search, ROUTE_AUTH_REGULAR },
	{ "POST", "/v1/messages", route_messages, ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "POST", "/v1/messages/count_tokens", route_count_tokens,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "GET", "/usage", route_usage, ROUTE_AUTH_REGULAR },
	{ "GET", "/usage-viewer", route_usage_viewer, ROUTE_AUTH_NONE },
	{ "GET", "/usage-viewer/", route_usage_viewer_slash, ROUTE_AUTH_NONE },
	{ "GET", "/token", route_token, ROUTE_AUTH_ADMIN },
	{ "GET", "/token-usage", route_token_usage, ROUTE_AUTH_REGULAR },
	{ "GET", "/token-usage/daily", route_token_usage_daily, ROUTE_AUTH_REGULAR },
	{ "GET", "/token-usage/events", route_token_usage_events, ROUTE_AUTH_REGULAR },
	{ "GET", "/admin/config/model-mappings", route_admin_mappings_get, ROUTE_AUTH_ADMIN },
	{ "POST", "/admin/config/model-mappings", route_admin_mappings_post, ROUTE_AUTH_ADMIN },
	{ "GET", "/admin/approvals", route_admin_approvals_get, ROUTE_AUTH_ADMIN },
	{ "GET", "/admin/accounts", route_admin_accounts_get, ROUTE_AUTH_ADMIN },
	{ "POST", "/admin/approvals/:id", route_admin_approvals_post, ROUTE_AUTH_ADMIN },
	/* Patterns last: a fixed path (/v1/models) wins over /:provider/v1/models. */
	{ "POST", "/:provider/v1/messages", route_provider_messages,
	    ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "POST", "/:provider/v1/messages/count_tokens",
	    route_provider_count_tokens, ROUTE_AUTH_REGULAR | ROUTE_ANTHROPIC },
	{ "GET", "/:provider/v1/models", route_provider_models, ROUTE_AUTH_REGULAR },
	{ "POST", "/:provider/v1/responses", route_provider_responses,
	    ROUTE_AUTH_REGULAR },
};

/* What guard_dispatch hands run(): the router's table is built from rows
 * per request, so the matched route's index is its row's.  run() leaves
 * the row and the model for the request's metrics. */
struct pass {
	struct worker *w;
	const struct route *table;
	const struct row *row;       /* NULL: no handler ran */
	char model[128];
};

static void
run(void *tctx, struct http_conn *c, const struct route_params *p)
{
	struct pass *ps = tctx;
	const struct row *row = &rows[p->route - ps->table];
	struct rctx r;

	memset(&r, 0, sizeof(r));
	r.w = ps->w;
	r.c = c;
	r.req = c->req;
	r.dialect = route_dialect(p->route);
	r.param = p->n > 0 ? p->p[0].value : NULL;
	r.start_ms = util_mono_ms();
	r.w->conn = c;
	pool_begin(r.w);              /* model calls choose their own */
	row->fn(&r);
	r.w->conn = NULL;
	ps->row = row;
	memcpy(ps->model, r.model, sizeof(ps->model));
}

void
routes_handle(void *worker, struct http_conn *c)
{
	const struct cfg *cfg;
	struct route table[ARRAY_LEN(rows)];
	struct pass ps = { worker, table, NULL, "" };
	struct guard_policy policy;
	int64_t t0 = util_mono_ms();
	size_t i;

	/* between requests: this one keeps the config it starts with */
	app_cfg_refresh(worker);
	app_db_refresh(worker);
	cfg = ((struct worker *)worker)->cfg;

	/* The router's handler type carries no per-route context: every
	 * route goes through run(), which finds its row. */
	for (i = 0; i < ARRAY_LEN(rows); i++) {
		table[i].method = rows[i].method;
		table[i].pattern = rows[i].pattern;
		table[i].handler = run;
		table[i].flags = rows[i].flags & ~ROW_OPEN_IF_METRICS_PUBLIC;
		if ((rows[i].flags & ROW_OPEN_IF_METRICS_PUBLIC) &&
		    cfg->metrics_public)
			table[i].flags &= ~(unsigned)ROUTE_AUTH_MASK;
	}
	policy.keys = strlist_view(&cfg->api_keys);
	policy.nkeys = cfg->api_keys.n;
	policy.admin_key = cfg->admin_api_key;
	policy.hosts = strlist_view(&cfg->allowed_hosts);
	policy.origins = strlist_view(&cfg->allowed_origins);
	guard_dispatch(&ps, c, table, ARRAY_LEN(table), &policy);
	metrics_request(ps.row != NULL ? ps.row->pattern : NULL, c->status,
	    ps.model);
	log_debug("%s %s -> %d (%lld ms) %s", c->req->method, c->req->path,
	    c->status, (long long)(util_mono_ms() - t0), c->req->trace_id);
}

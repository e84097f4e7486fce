/* Small routes: health, account usage, the usage viewer page, the token,
 * local usage statistics, and the admin model mappings. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/share.h"
#include "core/util.h"
#include "routes/misc.h"
#include "state/config.h"
#include "state/db.h"
#include "state/spool.h"
#include "state/usage.h"
#include "upstream/auth.h"

void
route_root(struct rctx *r)
{
	/* The answer is decided: a failed write means the client left (so
	 * for every http_send* below). */
	GW_IGNORE(http_send_text(r->c, 200, "Server running"));
}

/*
 * The usage dashboard, share/usage-viewer/index.html: open like the
 * reference's, since the page holds no data (it asks for a key when the
 * routes it reads answer 401).  Read per request: it is small, and an
 * upgrade of share/ shows without a restart.
 */
void
route_usage_viewer(struct rctx *r)
{
	struct buf page = BUF_INIT, tried = BUF_INIT;
	enum gw_err e;

	if ((e = share_read("usage-viewer/index.html", &page, &tried)) != GW_OK) {
		log_error("usage viewer: cannot read the page (%s); tried %s (set "
		    "COPILOT_API_SHARE_DIR to the share directory)", gw_strerror(e),
		    buf_cstr(&tried));
		rc_reject(r, 500, "the usage viewer page is not installed "
		    "(share/usage-viewer/index.html); see the responder's log");
		goto out;
	}
	GW_IGNORE(http_send(r->c, 200, "text/html; charset=utf-8", page.data,
	    page.len, (const char *const[]){ "Cache-Control", "no-cache", NULL }));
out:
	buf_free(&page);
	buf_free(&tried);
}

/* "/usage-viewer/" → the page.  The target is relative ("../usage-viewer")
 * so that it stays under the sub-path a CGI install is mounted at. */
void
route_usage_viewer_slash(struct rctx *r)
{
	GW_IGNORE(http_send(r->c, 301, "text/plain; charset=utf-8",
	    "Moved\n", 6, (const char *const[]){ "Location", "../usage-viewer",
	    NULL }));
}

/* Pass-through of GitHub's copilot_internal/user (quotas, plan). */
void
route_usage(struct rctx *r)
{
	struct auth_env env;
	struct buf body = BUF_INIT, err = BUF_INIT;
	cJSON *doc = NULL;
	char *tok = NULL;
	long status = 0;
	enum gw_err e;

	app_auth_env(r->w, &env);
	if ((e = auth_github_token(&env, &tok)) != GW_OK) {
		rc_reject(r, 503, "the gateway is not signed in to GitHub: run "
		    "`copilot-api auth login`");
		goto out;
	}
	if ((e = gh_copilot_user(&r->w->gh, tok, &status, &body, &err)) != GW_OK) {
		rc_fail(r, e, err.data);
		goto out;
	}
	if (status / 100 != 2) {
		buf_reset(&err);
		/* best effort: without the message the error says its reason phrase */
		GW_IGNORE(buf_printf(&err, "Failed to fetch Copilot usage: GitHub "
		    "answered HTTP %ld: %.300s", status, buf_cstr(&body)));
		rc_reject(r, status >= 400 && status < 600 ? (int)status : 502, err.data);
		goto out;
	}
	/* we say application/json: relay only what is (the reference parses
	 * it too, and fails on garbage) */
	if ((doc = json_parse(buf_cstr(&body), body.len, NULL, NULL)) == NULL) {
		rc_reject(r, 502, "Failed to fetch Copilot usage: GitHub answered "
		    "with a body that is not JSON");
		goto out;
	}
	GW_IGNORE(http_send(r->c, 200, "application/json", buf_cstr(&body),
	    body.len, NULL));
out:
	cJSON_Delete(doc);
	free(tok);
	buf_free(&body);
	buf_free(&err);
}

/* The current Copilot token: admin key only (we never hand it to regular
 * keys, unlike the reference). */
void
route_token(struct rctx *r)
{
	struct auth_env env;
	struct db_copilot_token t;
	struct buf err = BUF_INIT;
	cJSON *doc;
	enum gw_err e;

	app_auth_env(r->w, &env);
	if ((e = auth_copilot_token(&env, NULL, 0, &t, &err)) != GW_OK) {
		rc_fail(r, e, err.data);
		buf_free(&err);
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "token", t.token);
	cJSON_AddNumberToObject(doc, "expires_at", (double)t.expires_at);
	cJSON_AddNumberToObject(doc, "refresh_in", (double)t.refresh_in);
	GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
	db_copilot_token_free(&t);
	buf_free(&err);
}

static char *
query_or(struct rctx *r, const char *name, const char *def)
{
	char *v = NULL;

	if (http_query_param(r->req, name, &v) != GW_OK)
		return util_strdup(def);
	return v;
}

/*
 * A positive integer query value read as the reference reads it
 * (Number.parseInt(v, 10), kept when finite and > 0): leading whitespace,
 * a sign, then the digits up to the first other character ("10abc" is
 * 10); anything else is def.  Saturates at LONG_MAX.
 */
static long
query_positive(struct rctx *r, const char *name, long def)
{
	char *v = query_or(r, name, NULL);
	const char *p = v;
	long n = 0;
	size_t sig = 0;
	int neg = 0, digits = 0;

	if (p == NULL)
		return def;
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++) {
		digits = 1;
		if (n == 0 && *p == '0')
			continue;
		sig++;
		n = n > (LONG_MAX - (*p - '0')) / 10 ? LONG_MAX :
		    n * 10 + (*p - '0');
	}
	free(v);
	/* over 309 digits parseInt gives Infinity, which is not finite */
	if (!digits || neg || n == 0 || sig > 309)
		return def;
	return n;
}

enum tu_kind { TU_SUMMARY, TU_DAILY, TU_EVENTS };

static void
token_usage(struct rctx *r, enum tu_kind kind)
{
	char *period = query_or(r, "period", "day");
	char *account = query_or(r, "account", NULL);
	cJSON *doc = NULL;
	enum gw_err e;

	/* ?account= (empty) is no filter, as no ?account at all */
	if (account != NULL && *account == '\0') {
		free(account);
		account = NULL;
	}
	/* this process's queued rows first: a client sees its own requests */
	spool_sync();
	switch (kind) {
	case TU_SUMMARY:
		e = usage_summary_json(r->w->db, period, account, util_now_ms(),
		    &doc);
		break;
	case TU_DAILY:
		e = usage_daily_json(r->w->db, period, account, util_now_ms(),
		    &doc);
		break;
	default:
		e = usage_events_json(r->w->db, period, account,
		    query_positive(r, "page", 1),
		    query_positive(r, "page_size", USAGE_DEFAULT_PAGE_SIZE),
		    util_now_ms(), &doc);
		break;
	}
	if (e != GW_OK)
		rc_fail(r, e, e == GW_EBUSY || e == GW_EDBDOWN ? NULL :
		    "could not read the usage database");
	else
		GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
	free(period);
	free(account);
}

void route_token_usage(struct rctx *r) { token_usage(r, TU_SUMMARY); }
void route_token_usage_daily(struct rctx *r) { token_usage(r, TU_DAILY); }
void route_token_usage_events(struct rctx *r) { token_usage(r, TU_EVENTS); }

static void
send_mappings(struct rctx *r)
{
	struct cfg *cfg = NULL;
	struct buf err = BUF_INIT;
	cJSON *doc, *maps;
	size_t i;

	/* Read from disk: another process may have changed the file. */
	if (cfg_load(r->w->app->config_path, &cfg, &err) != GW_OK) {
		rc_fail(r, GW_ECONFIG, err.data);
		buf_free(&err);
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "configPath", r->w->app->config_path);
	maps = cJSON_AddObjectToObject(doc, "modelMappings");
	for (i = 0; i < cfg->model_mappings.n; i++)
		cJSON_AddStringToObject(maps, cfg->model_mappings.v[i].key,
		    cfg->model_mappings.v[i].value);
	GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
	cfg_free(cfg);
	buf_free(&err);
}

void
route_admin_mappings_get(struct rctx *r)
{
	send_mappings(r);
}

void
route_admin_mappings_post(struct rctx *r)
{
	struct buf err = BUF_INIT;
	const cJSON *maps, *m;
	cJSON *body;
	enum gw_err e;

	if ((body = rc_body_json(r)) == NULL)
		return;
	maps = cJSON_GetObjectItemCaseSensitive(body, "modelMappings");
	if (!cJSON_IsObject(maps)) {
		rc_reject(r, 400, "\"modelMappings\" must be an object of strings");
		goto out;
	}
	cJSON_ArrayForEach(m, maps) {
		if (!cJSON_IsString(m)) {
			/* best effort: without it the 400 says its reason phrase */
			GW_IGNORE(buf_printf(&err, "modelMappings.%s must be a "
			    "string", m->string));
			rc_reject(r, 400, err.data);
			goto out;
		}
	}
	if ((e = cfg_set_model_mappings(r->w->app->config_path, maps, &err)) != GW_OK) {
		rc_reject(r, gw_http_status(e), buf_cstr(&err));
		goto out;
	}
	/* every later request of this process uses it at once; the other
	 * processes see the file within a second (app_cfg_refresh) */
	app_cfg_changed(r->w->app);
	log_info("model mappings replaced by an admin request (%s)",
	    r->req->trace_id);
	send_mappings(r);
out:
	cJSON_Delete(body);
	buf_free(&err);
}

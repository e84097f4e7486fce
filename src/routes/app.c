#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "routes/app.h"
#include "state/config.h"
#include "state/db.h"
#include "state/paths.h"
#include "state/spool.h"
#include "translate/stream.h"
#include "upstream/auth.h"
#include "upstream/client.h"
#include "upstream/relay.h"

enum gw_err
app_home(char **out)
{
	return paths_home(out);
}

/* device_id and machine_id are stored once so every process and every run
 * presents the same "VS Code install" to Copilot. */
static enum gw_err
load_ident(struct app *a, struct db *db)
{
	char *v = NULL, u[37], mid[65];
	enum gw_err e;

	if ((e = db_kv_get(db, "device_id", &v)) == GW_ENOTFOUND) {
		if ((e = util_uuid4(u)) != GW_OK ||
		    (e = db_kv_set(db, "device_id", u)) != GW_OK)
			return e;
		v = strdup(u);
	} else if (e != GW_OK)
		return e;
	snprintf(a->ident.device_id, sizeof(a->ident.device_id), "%s", v ? v : "");
	free(v);
	v = NULL;
	if ((e = db_kv_get(db, "machine_id", &v)) == GW_ENOTFOUND) {
		copilot_machine_id(mid);
		if ((e = db_kv_set(db, "machine_id", mid)) != GW_OK)
			return e;
		v = strdup(mid);
	} else if (e != GW_OK)
		return e;
	snprintf(a->ident.machine_id, sizeof(a->ident.machine_id), "%s", v ? v : "");
	free(v);
	return GW_OK;
}

enum gw_err
app_init(struct app *a, int ensure_admin_key, struct buf *errmsg)
{
	struct db *db = NULL;
	const char *gt;
	enum gw_err e;

	memset(a, 0, sizeof(*a));
	if ((e = paths_home(&a->home)) != GW_OK) {
		buf_puts(errmsg, "cannot find the data directory: set "
		    "COPILOT_API_HOME or HOME");
		return e;
	}
	if ((e = paths_ensure_dir(a->home)) != GW_OK) {
		buf_printf(errmsg, "cannot create the data directory %s", a->home);
		return e;
	}
	if ((e = paths_join(a->home, "config.json", &a->config_path)) != GW_OK ||
	    (e = paths_join(a->home, DB_FILE_NAME, &a->db_path)) != GW_OK ||
	    (e = paths_join(a->home, "copilot-token.lock", &a->lock_path)) != GW_OK ||
	    (e = paths_join(a->home, SPOOL_FILE_NAME, &a->spool_path)) != GW_OK)
		return e;
	if (ensure_admin_key &&
	    (e = cfg_ensure_admin_key(a->config_path, errmsg)) != GW_OK)
		return e;
	if ((e = cfg_load(a->config_path, &a->cfg, errmsg)) != GW_OK)
		return e;
	if ((e = cfg_apply_env(a->cfg)) != GW_OK) {
		buf_puts(errmsg, "invalid COPILOT_API_* environment value");
		return e;
	}
	a->ident.opencode = a->cfg->oauth_app == CFG_OAUTH_OPENCODE;
	gt = getenv("COPILOT_API_GITHUB_TOKEN");
	a->github_token = gt != NULL && *gt != '\0' ? gt : NULL;
	if ((e = db_open(a->db_path, &db)) != GW_OK) {
		buf_printf(errmsg, "cannot open the database %s: %s", a->db_path,
		    gw_strerror(e));
		return e;
	}
	e = load_ident(a, db);
	if (e != GW_OK)
		buf_printf(errmsg, "cannot read the database %s: %s", a->db_path,
		    gw_strerror(e));
	db_close(db);
	return e;
}

void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	cfg_free(a->cfg);
	free(a->home);
	free(a->config_path);
	free(a->db_path);
	free(a->lock_path);
	free(a->spool_path);
	memset(a, 0, sizeof(*a));
}

enum gw_err
worker_init(struct worker *w, struct app *a, struct buf *errmsg)
{
	enum gw_err e;

	memset(w, 0, sizeof(*w));
	w->app = a;
	if ((e = db_open(a->db_path, &w->db)) != GW_OK) {
		buf_printf(errmsg, "cannot open the database %s: %s", a->db_path,
		    gw_strerror(e));
		return e;
	}
	if ((e = up_client_new(&w->client)) != GW_OK) {
		buf_puts(errmsg, "cannot create the HTTP client");
		return e;
	}
	w->gh.client = w->client;
	w->gh.github_url = cfg_github_url(a->cfg);
	w->gh.api_url = cfg_github_api_url(a->cfg);
	w->gh.opencode = a->ident.opencode;
	w->gh.connect_timeout_s = a->cfg->connect_timeout_s;
	return GW_OK;
}

const char *
app_github_login(struct worker *w)
{
	char *v = NULL;
	int64_t now = util_mono_ms();

	if (w->login_read_ms == 0 || now - w->login_read_ms >= 60000) {
		/* `auth login` may switch accounts while the responder runs. */
		if (db_kv_get(w->db, "github_login", &v) == GW_OK) {
			free(w->login);
			w->login = v;
		}
		w->login_read_ms = now;
	}
	return w->login != NULL ? w->login : "";
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	free(w->login);
	up_client_free(w->client);
	db_close(w->db);
	memset(w, 0, sizeof(*w));
}

void
app_auth_env(struct worker *w, struct auth_env *env)
{
	memset(env, 0, sizeof(*env));
	env->db = w->db;
	env->gh = &w->gh;
	env->lock_path = w->app->lock_path;
	env->opencode = w->app->ident.opencode;
	env->github_token = w->app->github_token;
}

char *
app_copilot_base(struct worker *w, const char *token_api_url)
{
	char *kv = NULL, *r;

	if (token_api_url == NULL)
		(void)db_kv_get(w->db, "copilot_api_url", &kv);
	r = util_strdup(cfg_copilot_url(w->app->cfg,
	    token_api_url != NULL ? token_api_url : kv));
	free(kv);
	return r;
}

/* One attempt with a given token. */
static enum gw_err
copilot_once(struct worker *w, const struct copilot_req *rq,
    const struct db_copilot_token *tok, struct tr_stream *tr, struct tr_sink *sink,
    struct relay_result *res)
{
	struct copilot_call call = rq->call;
	struct strlist h = STRLIST_INIT;
	struct up_request ur;
	struct relay_opts ro;
	struct buf url = BUF_INIT;
	char *base = NULL;
	const struct cfg *cfg = w->app->cfg;
	enum gw_err e;

	call.token = tok->token;
	if ((base = app_copilot_base(w, tok->api_url)) == NULL ||
	    (e = buf_printf(&url, "%s%s", base, rq->path)) != GW_OK ||
	    (e = copilot_headers(&w->app->ident, &call, &h)) != GW_OK) {
		e = GW_ENOMEM;
		goto out;
	}
	memset(&ur, 0, sizeof(ur));
	ur.method = rq->method;
	ur.url = url.data;
	ur.headers = strlist_view(&h);
	ur.body = rq->body;
	ur.body_len = rq->body_len;
	ur.connect_timeout_s = cfg->connect_timeout_s;
	ur.stall_timeout_s = cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : -1;
	memset(&ro, 0, sizeof(ro));
	ro.ping_interval_ms = cfg->ping_interval_s * 1000;
	e = relay_run(w->client, &ur, &ro, rq->stream ? tr : NULL,
	    rq->stream ? sink : NULL, res);
out:
	free(base);
	buf_free(&url);
	strlist_free(&h);
	return e;
}

enum gw_err
app_copilot(struct worker *w, const struct copilot_req *rq,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res,
    struct buf *errmsg)
{
	struct auth_env env;
	struct db_copilot_token tok;
	char *stale = NULL;
	enum gw_err e;

	memset(&tok, 0, sizeof(tok));
	app_auth_env(w, &env);
	if ((e = auth_copilot_token(&env, NULL, 0, &tok, errmsg)) != GW_OK)
		return e;
	e = copilot_once(w, rq, &tok, tr, sink, res);
	if (e == GW_OK && res->status == 401 && !res->client_started) {
		/* The token expired under us: refresh once, retry once. */
		log_info("Copilot answered 401: refreshing the token and retrying");
		stale = tok.token;
		tok.token = NULL;
		db_copilot_token_free(&tok);
		if ((e = auth_copilot_token(&env, stale, 0, &tok, errmsg)) != GW_OK)
			goto out;
		relay_result_free(res);
		e = copilot_once(w, rq, &tok, tr, sink, res);
	}
out:
	free(stale);
	db_copilot_token_free(&tok);
	return e;
}

/* Fetches GET /models and keeps picker-enabled and embedding models. */
static enum gw_err
models_fetch(struct worker *w, cJSON **out, struct buf *errmsg)
{
	struct copilot_req rq;
	struct relay_result res;
	cJSON *doc = NULL, *data, *keep = NULL, *m;
	const char *type;
	char *s = NULL;
	enum gw_err e;

	memset(&rq, 0, sizeof(rq));
	memset(&res, 0, sizeof(res));
	rq.method = "GET";
	rq.path = "/models";
	rq.call.interaction_type = "model-access";
	rq.call.intent = "model-access";
	if ((e = app_copilot(w, &rq, NULL, NULL, &res, errmsg)) != GW_OK)
		goto out;
	if (res.status / 100 != 2) {
		e = GW_EUPSTREAM;
		buf_printf(errmsg, "GET /models: HTTP %ld: %.300s", res.status,
		    buf_cstr(&res.resp.body));
		goto out;
	}
	doc = json_parse(res.resp.body.data, res.resp.body.len, NULL, NULL);
	if ((data = json_arr(doc, "data")) == NULL) {
		e = GW_EUPSTREAM;
		buf_puts(errmsg, "GET /models: the answer has no data array");
		goto out;
	}
	if ((keep = cJSON_CreateArray()) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	while ((m = cJSON_DetachItemFromArray(data, 0)) != NULL) {
		type = json_str(json_obj(m, "capabilities"), "type");
		if (json_bool(m, "model_picker_enabled", 0) ||
		    (type != NULL && strcmp(type, "embeddings") == 0))
			cJSON_AddItemToArray(keep, m);
		else
			cJSON_Delete(m);
	}
	if ((s = json_print(keep)) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	if (db_models_put(w->db, s, util_now_ms()) != GW_OK)
		log_warn("could not store the model list in the database");
	*out = keep;
	keep = NULL;
out:
	cJSON_free(s);
	cJSON_Delete(keep);
	cJSON_Delete(doc);
	relay_result_free(&res);
	return e;
}

enum gw_err
models_get(struct worker *w, int force, cJSON **out, int *fetched,
    struct buf *errmsg)
{
	char *json = NULL;
	int64_t at = 0;
	cJSON *cached = NULL;
	enum gw_err e;

	*out = NULL;
	if (fetched != NULL)
		*fetched = 0;
	if (db_models_get(w->db, &json, &at) == GW_OK)
		cached = json_parse(json, strlen(json), NULL, NULL);
	free(json);
	if (cached != NULL && !force && util_now_ms() - at < MODELS_MAX_AGE_MS) {
		*out = cached;
		return GW_OK;
	}
	e = models_fetch(w, out, errmsg);
	if (e == GW_OK && fetched != NULL)
		*fetched = 1;
	if (e != GW_OK && cached != NULL) {
		/* A failed refresh keeps serving the old list. */
		log_warn("model list refresh failed (%s); using the cached list",
		    buf_cstr(errmsg));
		buf_reset(errmsg);
		*out = cached;
		return GW_OK;
	}
	cJSON_Delete(cached);
	return e;
}

const cJSON *
models_find(const cJSON *list, const char *id)
{
	const cJSON *m;
	const char *mid;

	if (id == NULL)
		return NULL;
	cJSON_ArrayForEach(m, list) {
		mid = json_str(m, "id");
		if (mid != NULL && strcmp(mid, id) == 0)
			return m;
	}
	return NULL;
}

int
models_supports(const cJSON *model, const char *ep)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, json_arr(model, "supported_endpoints"))
		if (cJSON_IsString(e) && strcmp(e->valuestring, ep) == 0)
			return 1;
	return 0;
}

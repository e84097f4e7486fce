/*
 * The gateway's runtime: loading the process state (paths, config,
 * identity), the per-thread worker, and what every upstream call needs
 * from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "app/app.h"
#include "state/config.h"
#include "state/db.h"
#include "state/paths.h"
#include "state/spool.h"
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
static GW_MUST_CHECK enum gw_err
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
	/* best effort (errmsg below): the error is returned whatever the
	 * message says. */
	if ((e = paths_home(&a->home)) != GW_OK) {
		GW_IGNORE(buf_puts(errmsg, "cannot find the data directory: set "
		    "COPILOT_API_HOME or HOME"));
		return e;
	}
	if ((e = paths_ensure_dir(a->home)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "cannot create the data directory %s",
		    a->home));
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
		GW_IGNORE(buf_puts(errmsg,
		    "invalid COPILOT_API_* environment value"));
		return e;
	}
	a->ident.opencode = a->cfg->oauth_app == CFG_OAUTH_OPENCODE;
	gt = getenv("COPILOT_API_GITHUB_TOKEN");
	a->github_token = gt != NULL && *gt != '\0' ? gt : NULL;
	if ((e = db_open(a->db_path, &db)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "cannot open the database %s: %s",
		    a->db_path, gw_strerror(e)));
		return e;
	}
	e = load_ident(a, db);
	if (e != GW_OK)
		GW_IGNORE(buf_printf(errmsg, "cannot read the database %s: %s",
		    a->db_path, gw_strerror(e)));
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
	/* best effort (errmsg below): the error is returned whatever the
	 * message says. */
	if ((e = db_open(a->db_path, &w->db)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "cannot open the database %s: %s",
		    a->db_path, gw_strerror(e)));
		return e;
	}
	if ((e = up_client_new(&w->client)) != GW_OK) {
		GW_IGNORE(buf_puts(errmsg, "cannot create the HTTP client"));
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


void
app_up_request(const struct worker *w, struct up_request *ur,
    struct relay_opts *ro)
{
	const struct cfg *cfg = w->app->cfg;

	memset(ur, 0, sizeof(*ur));
	ur->connect_timeout_s = cfg->connect_timeout_s;
	/* 0 in the config means "no stall guard"; the client wants -1. */
	ur->stall_timeout_s = cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : -1;
	if (ro != NULL) {
		memset(ro, 0, sizeof(*ro));
		ro->ping_interval_ms = cfg->ping_interval_s * 1000;
	}
}

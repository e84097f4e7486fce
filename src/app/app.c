/*
 * The gateway's runtime: loading the process state (paths, config,
 * identity), the per-thread worker, and what every upstream call needs
 * from them.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "app/app.h"
#include "http/response.h"
#include "state/config.h"
#include "state/db.h"
#include "state/import.h"
#include "state/metrics.h"
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

struct app_cfg {
	struct cfg *cfg;
	int refs;                  /* guarded by app.cfg_mu */
};

static void
file_id(const char *path, struct app_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0)
		return;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime_s = (long)st.st_mtim.tv_sec;
	id->mtime_ns = st.st_mtim.tv_nsec;
}

static int
same_file(const struct app_file_id *x, const struct app_file_id *y)
{
	return x->dev == y->dev && x->ino == y->ino && x->size == y->size &&
	    x->mtime_s == y->mtime_s && x->mtime_ns == y->mtime_ns;
}

/* config.json with the environment's overrides, as app_init reads it. */
static GW_MUST_CHECK enum gw_err
load_cfg(const char *path, struct cfg **out, struct buf *errmsg)
{
	enum gw_err e;

	if ((e = cfg_load(path, out, errmsg)) != GW_OK)
		return e;
	if ((e = cfg_apply_env(*out)) != GW_OK) {
		GW_IGNORE(buf_puts(errmsg,
		    "invalid COPILOT_API_* environment value"));
		cfg_free(*out);
		*out = NULL;
	}
	return e;
}

static GW_MUST_CHECK enum gw_err
ref_new(struct cfg *cfg, int refs, struct app_cfg **out)
{
	if ((*out = malloc(sizeof(**out))) == NULL)
		return GW_ENOMEM;
	(*out)->cfg = cfg;
	(*out)->refs = refs;
	return GW_OK;
}

/* cfg_mu held. */
static void
ref_drop(struct app_cfg *r)
{
	if (r != NULL && --r->refs == 0) {
		cfg_free(r->cfg);
		free(r);
	}
}

/* Looks at the file when due (or when force) and swaps in a new live
 * config if it changed and validates. */
static void
check_file(struct app *a, int force)
{
	struct buf err = BUF_INIT;
	struct app_file_id id;
	struct app_cfg *ref;
	struct cfg *cfg = NULL;
	int64_t now = util_mono_ms();

	pthread_mutex_lock(&a->cfg_mu);
	if (!force && now - atomic_load(&a->cfg_checked_ms) < 1000)
		goto out;
	atomic_store(&a->cfg_checked_ms, now);
	file_id(a->config_path, &id);
	if (same_file(&id, &a->cfg_id))
		goto out;
	/* Once per version of the file, valid or not: a bad edit is logged
	 * once, not every second. */
	a->cfg_id = id;
	/* Gone or empty is most likely an editor half way through saving;
	 * its defaults would drop the API keys and open the gateway. */
	if (id.ino == 0 || id.size == 0) {
		log_warn("config.json is missing or empty; keeping the "
		    "previous configuration");
		goto out;
	}
	if (load_cfg(a->config_path, &cfg, &err) != GW_OK) {
		log_warn("config.json changed but is not valid (%s); keeping "
		    "the previous configuration", buf_cstr(&err));
		goto out;
	}
	if (ref_new(cfg, 1, &ref) != GW_OK) {
		cfg_free(cfg);
		goto out;
	}
	ref_drop(a->live);
	a->live = ref;
	atomic_fetch_add(&a->cfg_gen, 1);
	log_info("config.json reloaded");
out:
	pthread_mutex_unlock(&a->cfg_mu);
	buf_free(&err);
}

/* Moves w to the live config (and lets go of the one it had). */
static void
pin_live(struct worker *w)
{
	struct app *a = w->app;

	pthread_mutex_lock(&a->cfg_mu);
	ref_drop(w->pin);
	w->pin = a->live;
	w->pin->refs++;
	w->cfg = w->pin->cfg;
	w->cfg_gen = atomic_load(&a->cfg_gen);
	pthread_mutex_unlock(&a->cfg_mu);
}

void
app_cfg_refresh(struct worker *w)
{
	struct app *a = w->app;

	if (util_mono_ms() - atomic_load(&a->cfg_checked_ms) >= 1000)
		check_file(a, 0);
	if (atomic_load(&a->cfg_gen) != w->cfg_gen)
		pin_live(w);
}

void
app_db_refresh(struct worker *w)
{
	struct app *a = w->app;
	int64_t now = util_mono_ms();
	enum gw_err e;

	if (now - w->db_checked_ms < 1000)
		return;
	w->db_checked_ms = now;
	if (!db_moved(w->db))
		return;
	if ((e = db_reopen(&w->db)) != GW_OK) {
		log_error("database %s was deleted or replaced while the gateway "
		    "runs, and opening the new file failed (%s): this worker "
		    "still writes to the old one; retrying in a second",
		    a->db_path, gw_strerror(e));
		return;
	}
	atomic_fetch_add(&a->db_reopens, 1);
	atomic_store(&a->db_reopened_ms, util_now_ms());
	log_error("database %s was deleted or replaced while the gateway runs: "
	    "reopened it; what this worker wrote since the change (at most a "
	    "second) went to the old file", a->db_path);
}

void
app_cfg_changed(struct app *a)
{
	check_file(a, 1);
}

static void *
watch_main(void *arg)
{
	struct app *a = arg;
	struct timespec ts;

	pthread_mutex_lock(&a->watch_mu);
	while (!a->watch_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&a->watch_cv, &a->watch_mu, &ts);
		if (a->watch_stop)
			break;
		pthread_mutex_unlock(&a->watch_mu);
		/* forced: a request's look 999 ms ago must not make this one
		 * wait for the next second */
		check_file(a, 1);
		pthread_mutex_lock(&a->watch_mu);
	}
	pthread_mutex_unlock(&a->watch_mu);
	return NULL;
}

enum gw_err
app_watch_start(struct app *a)
{
	if (a->watching)
		return GW_OK;
	if (pthread_mutex_init(&a->watch_mu, NULL) != 0)
		return GW_ENOMEM;
	if (pthread_cond_init(&a->watch_cv, NULL) != 0) {
		pthread_mutex_destroy(&a->watch_mu);
		return GW_ENOMEM;
	}
	a->watch_stop = 0;
	if (util_thread_nosig(&a->watch_thread, watch_main, a) != GW_OK) {
		pthread_cond_destroy(&a->watch_cv);
		pthread_mutex_destroy(&a->watch_mu);
		return GW_ENOMEM;
	}
	a->watching = 1;
	return GW_OK;
}

void
app_watch_stop(struct app *a)
{
	if (!a->watching)
		return;
	pthread_mutex_lock(&a->watch_mu);
	a->watch_stop = 1;
	pthread_cond_signal(&a->watch_cv);
	pthread_mutex_unlock(&a->watch_mu);
	pthread_join(a->watch_thread, NULL);
	pthread_cond_destroy(&a->watch_cv);
	pthread_mutex_destroy(&a->watch_mu);
	a->watching = 0;
}

static GW_MUST_CHECK enum gw_err
live_init(struct app *a)
{
	enum gw_err e;

	if (pthread_mutex_init(&a->cfg_mu, NULL) != 0)
		return GW_ENOMEM;
	a->cfg_mu_ready = 1;
	atomic_init(&a->cfg_gen, 0);
	atomic_init(&a->cfg_checked_ms, util_mono_ms());
	atomic_init(&a->db_reopens, 0);
	atomic_init(&a->db_reopened_ms, 0);
	/* boot and live: two references to the start-up config */
	if ((e = ref_new(a->cfg, 2, &a->boot)) != GW_OK)
		return e;
	a->live = a->boot;
	return GW_OK;
}

/* The pool's shared counters (state/metrics.h).  A gateway without them
 * still serves: /metrics then says why. */
static void
open_metrics(const struct app *a)
{
	struct buf err = BUF_INIT;
	char *path = NULL;

	if (paths_join(a->home, METRICS_FILE_NAME, &path) != GW_OK ||
	    metrics_open(path, &err) != GW_OK)
		log_warn("%s", err.len > 0 ? buf_cstr(&err) :
		    "metrics: out of memory");
	buf_free(&err);
	free(path);
}

/* The database for messages: the file, or the server's URL without its
 * password (the config's URL may hold one). */
static const char *
db_label(const struct app *a)
{
	return a->cfg->storage_driver == CFG_STORAGE_POSTGRESQL ?
	    "(storage.url)" : a->db_path;
}

static GW_MUST_CHECK enum gw_err
app_db_open(const struct app *a, struct db **out)
{
	return db_open_target(a->db_driver, a->db_target, out);
}

/* Someone moving over from the reference keeps their login and usage
 * history: its files in the same data directory are read once. */
static void
import_theirs(struct app *a, struct db *db)
{
	struct import_ref r;

	memset(&r, 0, sizeof(r));
	r.home = a->home;
	r.oauth_app = a->ident.opencode ? "opencode" : "";
	r.enterprise = a->cfg->enterprise_domain != NULL;
	r.account = a->account;
	r.usage_db = getenv("COPILOT_API_SQLITE_DB_PATH");
	if (import_reference(db, &r) != GW_OK)
		log_warn("importing the reference gateway's files failed; it is "
		    "tried again at the next start");
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
	/* the file's id before reading it: a change in between is seen at
	 * the next look */
	file_id(a->config_path, &a->cfg_id);
	if ((e = load_cfg(a->config_path, &a->cfg, errmsg)) != GW_OK ||
	    (e = live_init(a)) != GW_OK)
		return e;
	a->ident.opencode = a->cfg->oauth_app == CFG_OAUTH_OPENCODE;
	if ((e = db_account(a->ident.opencode, a->cfg->enterprise_domain,
	    &a->account)) != GW_OK)
		return e;
	if (a->cfg->storage_driver == CFG_STORAGE_POSTGRESQL) {
		a->db_driver = "postgresql";
		a->db_target = a->cfg->storage_url;
	} else {
		a->db_driver = "sqlite";
		a->db_target = a->db_path;
	}
	gt = getenv("COPILOT_API_GITHUB_TOKEN");
	a->github_token = gt != NULL && *gt != '\0' ? gt : NULL;
	gt = getenv("COPILOT_API_SHOW_TOKEN");
	a->show_token = gt != NULL && strcmp(gt, "1") == 0;
	if (pthread_mutex_init(&a->ident_mu, NULL) != 0)
		return GW_ENOMEM;
	a->ident_mu_ready = 1;
	if ((e = app_db_open(a, &db)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "cannot open the database %s: %s",
		    db_label(a), gw_strerror(e)));
		return e;
	}
	e = load_ident(a, db);
	if (e == GW_OK)
		import_theirs(a, db);
	if (e == GW_EDBDOWN) {
		/* the server comes back later: the pool serves meanwhile */
		log_warn("the database %s is unreachable: starting without it "
		    "(requests that need it answer 503 until it is back)",
		    db_label(a));
		atomic_store(&a->ident_pending, 1);
		e = GW_OK;
	}
	if (e != GW_OK)
		GW_IGNORE(buf_printf(errmsg, "cannot read the database %s: %s",
		    db_label(a), gw_strerror(e)));
	db_close(db);
	if (e == GW_OK)
		open_metrics(a);
	return e;
}

void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	app_watch_stop(a);
	if (a->boot != NULL) {
		ref_drop(a->live);
		ref_drop(a->boot);      /* frees a->cfg */
	} else {
		cfg_free(a->cfg);
	}
	if (a->cfg_mu_ready)
		pthread_mutex_destroy(&a->cfg_mu);
	if (a->ident_mu_ready)
		pthread_mutex_destroy(&a->ident_mu);
	metrics_close();
	free(a->home);
	free(a->config_path);
	free(a->db_path);
	free(a->lock_path);
	free(a->spool_path);
	free(a->account);
	memset(a, 0, sizeof(*a));
}

enum gw_err
worker_init(struct worker *w, struct app *a, struct buf *errmsg)
{
	enum gw_err e;

	memset(w, 0, sizeof(*w));
	w->app = a;
	pin_live(w);
	/* best effort (errmsg below): the error is returned whatever the
	 * message says. */
	if ((e = app_db_open(a, &w->db)) != GW_OK) {
		GW_IGNORE(buf_printf(errmsg, "cannot open the database %s: %s",
		    db_label(a), gw_strerror(e)));
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

enum gw_err
app_account_get(struct worker *w, const char *prefix, char **out)
{
	char *key = NULL;
	enum gw_err e;

	*out = NULL;
	if ((e = db_account_key(prefix, w->app->account, &key)) != GW_OK)
		return e;
	e = db_kv_get(w->db, key, out);
	free(key);
	return e;
}

enum gw_err
app_account_set(struct worker *w, const char *prefix, const char *value)
{
	char *key = NULL;
	enum gw_err e;

	if ((e = db_account_key(prefix, w->app->account, &key)) != GW_OK)
		return e;
	e = db_kv_set(w->db, key, value);
	free(key);
	return e;
}

const char *
app_github_login(struct worker *w)
{
	char *v = NULL;
	int64_t now = util_mono_ms();

	if (w->login_read_ms == 0 || now - w->login_read_ms >= 60000) {
		/* `auth login` may switch accounts while the responder runs. */
		if (app_account_get(w, "github_login", &v) == GW_OK) {
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
	if (w->pin != NULL) {
		pthread_mutex_lock(&w->app->cfg_mu);
		ref_drop(w->pin);
		pthread_mutex_unlock(&w->app->cfg_mu);
	}
	free(w->login);
	free(w->pool_login);
	strlist_free(&w->pool_members);
	/* app/models.c's reference, by the hook it set (no include cycle) */
	if (w->models_release != NULL)
		w->models_release(w);
	if (w->tok != NULL)
		db_copilot_token_free(w->tok);
	free(w->tok);
	up_client_free(w->client);
	db_close(w->db);
	memset(w, 0, sizeof(*w));
}

/* The identity the database was too far to give at start, once it
 * answers; one thread loads it, the others wait for it. */
static void
ident_retry(struct worker *w)
{
	struct app *a = w->app;
	struct app tmp;

	pthread_mutex_lock(&a->ident_mu);
	if (atomic_load(&a->ident_pending)) {
		memset(&tmp, 0, sizeof(tmp));
		if (load_ident(&tmp, w->db) == GW_OK) {
			memcpy(a->ident.device_id, tmp.ident.device_id,
			    sizeof(a->ident.device_id));
			memcpy(a->ident.machine_id, tmp.ident.machine_id,
			    sizeof(a->ident.machine_id));
			atomic_store(&a->ident_pending, 0);
			log_info("the database answers again: identity loaded");
		}
	}
	pthread_mutex_unlock(&a->ident_mu);
}

void
app_auth_env(struct worker *w, struct auth_env *env)
{
	if (atomic_load(&w->app->ident_pending))
		ident_retry(w);
	memset(env, 0, sizeof(*env));
	env->db = w->db;
	env->gh = &w->gh;
	env->lock_path = w->app->lock_path;
	env->opencode = w->app->ident.opencode;
	env->github_token = w->app->github_token;
	env->account = w->app->account;
	env->named = w->acct[0] != '\0' ? w->acct : NULL;
	env->show_token = w->app->show_token;
}


/* The relay's watch: has the client hung up?  Does not wait. */
static int
client_left(void *ctx)
{
	return http_conn_watch(ctx, 0);
}

void
app_up_request(const struct worker *w, struct up_request *ur,
    struct relay_opts *ro)
{
	const struct cfg *cfg = w->cfg;

	memset(ur, 0, sizeof(*ur));
	ur->connect_timeout_s = cfg->connect_timeout_s;
	/* 0 in the config means "no stall guard"; the client wants -1. */
	ur->stall_timeout_s = cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : -1;
	if (ro != NULL) {
		memset(ro, 0, sizeof(*ro));
		ro->ping_interval_ms = cfg->ping_interval_s * 1000;
		if (w->conn != NULL) {
			ro->client_left = client_left;
			ro->client_ctx = w->conn;
		}
	}
}

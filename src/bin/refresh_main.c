/*
 * copilot-refresh: keeps the Copilot token and the model list fresh, from
 * cron or a systemd timer.  Prints one line; exits non-zero with the reason
 * when something failed, so cron mail and monitoring notice.
 *
 *   copilot-refresh [--force] [--quiet] [--prune-days N]
 *
 * The built-in codex provider's credentials, when signed in, are refreshed
 * too: when they expire within a day (or with --force); and each named
 * Copilot account's token and model list (one more line each).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwconfig.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "app/app.h"
#include "app/models.h"
#include "state/accounts.h"
#include "state/config.h"
#include "state/db.h"
#include "state/paths.h"
#include "upstream/auth.h"
#include "upstream/client.h"
#include "upstream/codex.h"

static void
iso_time(int64_t epoch_s, char out[32])
{
	time_t t = (time_t)epoch_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* endpoints.api from copilot_internal/user is the account's own Copilot
 * base URL (business seats get 403 elsewhere); token_based_billing says
 * whether /v1/messages may merge turns (app_token_based_billing). */
static void
store_api_endpoint(struct worker *w, const char *ghtok)
{
	struct buf body = BUF_INIT, err = BUF_INIT;
	const char *api;
	long status = 0;
	cJSON *v;

	if (gh_copilot_user(&w->gh, ghtok, &status, &body, &err) == GW_OK &&
	    status / 100 == 2 &&
	    (v = json_parse(body.data, body.len, NULL, NULL)) != NULL) {
		api = json_str(json_obj(v, "endpoints"), "api");
		if (api != NULL && *api != '\0' &&
		    db_kv_set(w->db, "copilot_api_url", api) != GW_OK)
			log_error("copilot-refresh: cannot store the Copilot "
			    "API endpoint %s", api);
		if (db_kv_set(w->db, "token_based_billing",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v,
		    "token_based_billing")) ? "1" : "0") != GW_OK)
			log_error("copilot-refresh: cannot store the billing mode");
		cJSON_Delete(v);
	}
	buf_free(&body);
	buf_free(&err);
}

struct refresh_opts {
	int force, quiet;
	long prune_days;
};

/* -1 to go on, else the exit status. */
static int
parse_args(int argc, char **argv, struct refresh_opts *o)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "prune-days", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->force = o->quiet = 0;
	o->prune_days = 90;
	while ((c = getopt_long(argc, argv, "fqp:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o->force = 1; break;
		case 'q': o->quiet = 1; break;
		case 'p':
			if (util_parse_long(optarg, 0, 36500, &o->prune_days) !=
			    GW_OK) {
				fprintf(stderr, "copilot-refresh: bad --prune-days\n");
				return 2;
			}
			break;
		case 'h':
			printf("usage: copilot-refresh [--force] [--quiet] "
			    "[--prune-days N] [--version]\n");
			return 0;
		case 'V':
			printf("copilot-refresh %s\n", GW_VERSION);
			return 0;
		default:
			return 2;
		}
	}
	return -1;
}

/* The codex credentials, if signed in: 0, or 1 after printing why not. */
static int
refresh_codex(struct worker *w, const struct refresh_opts *o)
{
	struct codex_env env;
	struct codex_creds prev, c;
	struct buf err = BUF_INIT;
	char *lock = NULL, until[32];
	int rc = 1;
	enum gw_err e;

	memset(&c, 0, sizeof(c));
	if ((e = codex_creds_load(w->db, &prev)) == GW_ENOTFOUND)
		return 0;
	if (e != GW_OK) {
		fprintf(stderr, "copilot-refresh: Codex credentials: %s\n",
		    gw_strerror(e));
		return 1;
	}
	memset(&env, 0, sizeof(env));
	env.db = w->db;
	env.client = w->client;
	env.auth_base = w->cfg->upstream_codex_auth_url;
	env.lead_ms = 86400000LL;
	env.force = o->force;
	env.show_token = w->app->show_token;   /* COPILOT_API_SHOW_TOKEN=1 */
	if (paths_join(w->app->home, "codex-token.lock", &lock) != GW_OK) {
		fprintf(stderr, "copilot-refresh: out of memory\n");
		goto out;
	}
	env.lock_path = lock;
	if (codex_token(&env, NULL, &c, &err) != GW_OK) {
		fprintf(stderr, "copilot-refresh: %s\n", buf_cstr(&err));
		goto out;
	}
	iso_time(c.expires_at_ms / 1000, until);
	if (!o->quiet)
		printf("ok: Codex credentials %s, valid until %s\n",
		    strcmp(prev.access_token, c.access_token) != 0 ? "refreshed" :
		    "still fresh", until);
	rc = 0;
out:
	codex_creds_free(&prev);
	codex_creds_free(&c);
	free(lock);
	buf_free(&err);
	return rc;
}

/* The token, the API endpoint, the model list, old rows pruned: the exit
 * status, after printing what happened. */
static int
refresh(struct worker *w, const struct refresh_opts *o)
{
	struct auth_env env;
	struct db_copilot_token t, prev;
	struct buf err = BUF_INIT;
	enum gw_err e;
	char *ghtok = NULL, until[32];
	const cJSON *models = NULL;
	long pruned = 0, named = 0;
	int rc = 1, refreshed = 0, fetched = 0;

	memset(&t, 0, sizeof(t));
	memset(&prev, 0, sizeof(prev));
	app_auth_env(w, &env);
	if (auth_github_token(&env, &ghtok) != GW_OK) {
		if (accounts_count(w->db, &named) == GW_OK && named > 0) {
			/* a pool of named accounts alone: their lines follow */
			if (!o->quiet)
				printf("ok: the default account is not signed in; "
				    "%ld named account(s)\n", named);
			goto prune;
		}
		fprintf(stderr, "copilot-refresh: not signed in to GitHub: run "
		    "`copilot-api auth login` as this user (data dir %s)\n",
		    w->app->home);
		goto out;
	}
	/* none (or an unreadable one) leaves prev empty: "refreshed" */
	GW_IGNORE(db_copilot_token_get(w->db, &prev));
	if (auth_copilot_token(&env, NULL, o->force, &t, &err) != GW_OK) {
		fprintf(stderr, "copilot-refresh: %s\n", buf_cstr(&err));
		goto out;
	}
	refreshed = prev.token == NULL || strcmp(prev.token, t.token) != 0;
	if (!w->app->ident.opencode && (refreshed || o->force))
		store_api_endpoint(w, ghtok);
	if (models_get(w, o->force, &models, &fetched, &err) != GW_OK) {
		fprintf(stderr, "copilot-refresh: model list: %s\n", buf_cstr(&err));
		goto out;
	}
prune:
	if (o->prune_days > 0 && (e = db_prune_usage(w->db,
	    util_now_ms() - o->prune_days * 86400000LL, &pruned)) != GW_OK) {
		fprintf(stderr, "copilot-refresh: pruning usage rows: %s\n",
		    gw_strerror(e));
		goto out;
	}
	/* best effort: the WAL keeps the rows for the next checkpoint */
	GW_IGNORE(db_checkpoint(w->db));
	iso_time(t.expires_at, until);
	if (!o->quiet && t.token != NULL)
		printf("ok: Copilot token %s, valid until %s; %d models%s; "
		    "%ld old usage rows pruned\n",
		    refreshed ? "refreshed" : "still fresh", until,
		    cJSON_GetArraySize(models),
		    fetched ? " (fetched)" : " (cached)",
		    pruned);
	rc = 0;
out:
	db_copilot_token_free(&prev);
	db_copilot_token_free(&t);
	free(ghtok);
	buf_free(&err);
	return rc;
}

/* One named account's token and model list: 0, or 1 after printing why. */
static int
refresh_named(struct worker *w, const struct refresh_opts *o, const char *name)
{
	struct auth_env env;
	struct db_copilot_token t, prev;
	struct buf err = BUF_INIT;
	const cJSON *models = NULL;
	char until[32];
	int fetched = 0, rc = 1;

	memset(&t, 0, sizeof(t));
	snprintf(w->acct, sizeof(w->acct), "%s", name);
	app_auth_env(w, &env);
	/* none (or an unreadable one) leaves prev empty: "refreshed" */
	GW_IGNORE(accounts_token_get(w->db, name, &prev));
	if (auth_copilot_token(&env, NULL, o->force, &t, &err) != GW_OK) {
		fprintf(stderr, "copilot-refresh: account %s: %s\n", name,
		    buf_cstr(&err));
		goto out;
	}
	if (models_get(w, o->force, &models, &fetched, &err) != GW_OK) {
		fprintf(stderr, "copilot-refresh: account %s: model list: %s\n",
		    name, buf_cstr(&err));
		goto out;
	}
	iso_time(t.expires_at, until);
	if (!o->quiet)
		printf("ok: account %s: Copilot token %s, valid until %s; %d "
		    "models%s\n", name, prev.token == NULL ||
		    strcmp(prev.token, t.token) != 0 ? "refreshed" : "still fresh",
		    until, cJSON_GetArraySize(models),
		    fetched ? " (fetched)" : " (cached)");
	rc = 0;
out:
	w->acct[0] = '\0';
	db_copilot_token_free(&prev);
	db_copilot_token_free(&t);
	buf_free(&err);
	return rc;
}

/* Every named account (state/accounts.h): the exit status. */
static int
refresh_accounts(struct worker *w, const struct refresh_opts *o)
{
	struct accounts_row *rows = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (accounts_list(w->db, &rows, &n) != GW_OK) {
		fprintf(stderr, "copilot-refresh: cannot read the accounts\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (rows[i].named)
			rc = refresh_named(w, o, rows[i].name) || rc;
	accounts_rows_free(rows, n);
	return rc;
}

int
main(int argc, char **argv)
{
	struct refresh_opts o;
	struct app a;
	struct worker w;
	struct buf err = BUF_INIT;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) >= 0)
		return rc;
	log_set_level(o.quiet ? LOG_ERROR : LOG_WARN);
	memset(&w, 0, sizeof(w));
	if (up_global_init() != GW_OK) {
		fprintf(stderr, "copilot-refresh: cannot initialise libcurl\n");
		return 1;
	}
	if (app_init(&a, 0, &err) != GW_OK || worker_init(&w, &a, &err) != GW_OK) {
		fprintf(stderr, "copilot-refresh: %s\n", buf_cstr(&err));
		rc = 1;
	} else {
		rc = refresh_codex(&w, &o);
		rc = refresh(&w, &o) || rc;
		rc = refresh_accounts(&w, &o) || rc;
	}
	worker_free(&w);    /* both: whatever app_init/worker_init said */
	app_free(&a);
	buf_free(&err);
	up_global_cleanup();
	return rc;
}

/*
 * The gateway's runtime: one struct app per process (paths, configuration,
 * identity) and one struct worker per thread (its database connection and
 * its long-lived upstream client).
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "upstream/copilot.h"
#include "upstream/github.h"

struct cfg;
struct db;
struct up_client;
struct relay_result;
struct tr_stream;
struct tr_sink;

struct app {
	char *home;
	char *config_path;
	char *db_path;
	char *lock_path;
	char *spool_path;
	struct cfg *cfg;
	struct copilot_ident ident;
	const char *github_token;    /* --github-token / COPILOT_API_GITHUB_TOKEN */
};

struct worker {
	struct app *app;
	struct db *db;
	struct up_client *client;
	struct gh gh;
	char *login;               /* GitHub login, cached (app_github_login) */
	int64_t login_read_ms;
};

/* The data directory ($COPILOT_API_HOME or ~/.local/share/copilot-api). */
enum gw_err app_home(char **out);
/* Loads paths and config.json; admin: also ensure the admin key (writes). */
enum gw_err app_init(struct app *a, int ensure_admin_key, struct buf *errmsg);
void app_free(struct app *a);
enum gw_err worker_init(struct worker *w, struct app *a, struct buf *errmsg);
void worker_free(struct worker *w);

/* The signed-in GitHub login for usage rows ("" when unknown): read from
 * the database at most once a minute per worker, not per request. */
const char *app_github_login(struct worker *w);

struct auth_env;
/* The token manager's view of this worker. */
void app_auth_env(struct worker *w, struct auth_env *env);

/* The Copilot API base URL: config, then the account's endpoints.api, then
 * the account-type default.  Malloc'd. */
char *app_copilot_base(struct worker *w, const char *token_api_url);

/* One Copilot API call through the relay (tr NULL: not streamed).  Fills the
 * token and identity headers, and on a 401 refreshes the token once and
 * retries once.  errmsg explains a failure that is not an upstream status. */
struct copilot_req {
	const char *method;
	const char *path;            /* "/chat/completions" */
	const char *body;
	size_t body_len;
	struct copilot_call call;    /* token is filled in here */
	int stream;
};
enum gw_err app_copilot(struct worker *w, const struct copilot_req *rq,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res,
    struct buf *errmsg);

/*
 * The cached model list (spec/surface.md §6.1): picker-enabled and
 * embedding models.  Fetched when missing or older than 30 minutes (force:
 * always).  *out is a new cJSON array owned by the caller; *fetched (may
 * be NULL) says whether it came from Copilot just now.
 */
enum gw_err models_get(struct worker *w, int force, cJSON **out,
    int *fetched, struct buf *errmsg);
/* Borrowed entry of list with that id, or NULL. */
const cJSON *models_find(const cJSON *list, const char *id);
/* 1 when the model's supported_endpoints lists ep ("/responses"). */
int models_supports(const cJSON *model, const char *ep);

#define MODELS_MAX_AGE_MS (30LL * 60 * 1000)

#endif

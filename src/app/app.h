/*
 * The gateway's runtime: one struct app per process (paths, configuration,
 * identity) and one struct worker per thread (its database connection and
 * its long-lived upstream client).
 *
 * Ownership: struct app owns its paths and config; a worker borrows its
 * app (which must outlive it) and owns its database connection, client and
 * login cache.  An app is shared read-only by every worker thread once
 * app_init returned; a worker belongs to one thread.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "upstream/copilot.h"
#include "upstream/github.h"

struct cfg;
struct db;
struct up_client;
struct up_request;
struct relay_opts;
struct auth_env;

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
GW_MUST_CHECK enum gw_err app_home(char **out);
/*
 * Loads paths and config.json; admin: also ensure the admin key (writes).
 * errmsg explains a failure.  Call app_free whatever the outcome: a
 * failure can leave part of *a filled.
 */
GW_MUST_CHECK enum gw_err app_init(struct app *a, int ensure_admin_key, struct buf *errmsg);
void app_free(struct app *a);
/* Opens the worker's database and client; call worker_free whatever the
 * outcome. */
GW_MUST_CHECK enum gw_err worker_init(struct worker *w, struct app *a, struct buf *errmsg);
void worker_free(struct worker *w);

/* The signed-in GitHub login for usage rows ("" when unknown): read from
 * the database at most once a minute per worker, not per request. */
const char *app_github_login(struct worker *w);

/* The token manager's view of this worker (borrows from it). */
void app_auth_env(struct worker *w, struct auth_env *env);

/*
 * Zeroes ur (and ro, when not NULL) and sets what the configuration says
 * about every upstream call: the connect timeout, the stall guard (none:
 * -1) and the keep-alive ping interval.  The caller fills the rest.
 */
void app_up_request(const struct worker *w, struct up_request *ur,
    struct relay_opts *ro);

#endif

/*
 * The gateway's runtime: one struct app per process (paths, configuration,
 * identity) and one struct worker per thread (its database connection and
 * its long-lived upstream client).
 *
 * Ownership: struct app owns its paths and config; a worker borrows its
 * app (which must outlive it) and owns its database connection, client and
 * login cache.  An app is shared by every worker thread once app_init
 * returned: read-only but for the live configuration (below), which has its
 * own lock; a worker belongs to one thread.
 *
 * The live configuration: config.json is looked at (stat: inode, size,
 * mtime) at most once a second per process, by the first request that
 * finds the last look a second old, and in a FastCGI pool's process also
 * once a second while it is idle (app_watch_start), so every process
 * follows each version of the file that stays a second, whether it served
 * a request meanwhile or not; a changed file is loaded and validated
 * and becomes the new current struct cfg (an invalid one is logged and the
 * old one kept).  Each worker pins one reference-counted config and
 * changes it only between requests (app_cfg_refresh), so a request in
 * flight keeps the config it started with; the last worker to let go of
 * an old config frees it.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strlist.h"
#include "state/accounts.h"
#include "upstream/copilot.h"
#include "upstream/github.h"

struct cfg;
struct db;
struct up_client;
struct up_request;
struct relay_opts;
struct auth_env;
struct app_cfg;               /* one counted reference to a struct cfg */

/* What tells one version of config.json from the next. */
struct app_file_id {
	dev_t dev;
	ino_t ino;               /* 0: no file */
	off_t size;
	long mtime_s, mtime_ns;
};

struct app {
	char *home;
	char *config_path;
	char *db_path;
	char *lock_path;
	char *spool_path;
	/* The start-up config: identity, GitHub URLs, process options (not
	 * reloaded).  Requests read the live one through worker.cfg. */
	struct cfg *cfg;
	struct copilot_ident ident;
	const char *github_token;    /* --github-token / COPILOT_API_GITHUB_TOKEN */
	int show_token;              /* --show-token / COPILOT_API_SHOW_TOKEN=1 */
	char *account;               /* db_account of oauth app + domain */
	/* The state database as config storage says (read at start): the
	 * driver's name and its target, db_path or storage.url (borrowed
	 * from cfg).  Every connection of the process opens these. */
	const char *db_driver;
	const char *db_target;
	/* The database server was down at start: ident is read at the first
	 * app_auth_env that reaches it (ident_mu). */
	_Atomic int ident_pending;
	pthread_mutex_t ident_mu;
	int ident_mu_ready;

	/* The live configuration (app.c only). */
	pthread_mutex_t cfg_mu;
	int cfg_mu_ready;
	struct app_cfg *boot;        /* holds a->cfg alive */
	struct app_cfg *live;        /* current; cfg_mu */
	struct app_file_id cfg_id;   /* of live's file; cfg_mu */
	_Atomic uint64_t cfg_gen;    /* bumped when live changes */
	_Atomic int64_t cfg_checked_ms;  /* last look at the file */
	/* The database file replaced or deleted under us (app_db_refresh). */
	_Atomic long db_reopens;         /* connections reopened since start */
	_Atomic int64_t db_reopened_ms;  /* the last one, epoch ms; 0: never */
	/* The config watcher (app_watch_start); watch_mu guards watch_stop. */
	pthread_t watch_thread;
	pthread_mutex_t watch_mu;
	pthread_cond_t watch_cv;
	int watching, watch_stop;
};

struct http_conn;

struct worker {
	struct app *app;
	struct db *db;
	struct up_client *client;
	struct gh gh;
	const struct cfg *cfg;     /* the live config this request uses */
	struct app_cfg *pin;       /* the reference behind cfg */
	uint64_t cfg_gen;
	char *login;               /* GitHub login, cached (app_github_login) */
	int64_t login_read_ms;
	/* The client of the request this thread serves (NULL between
	 * requests), watched during upstream calls (app_up_request). */
	struct http_conn *conn;
	int64_t db_checked_ms;     /* last look at the database's file */
	/* The model list models_get last handed this worker, and how
	 * worker_free lets go of it. */
	struct models_ref *models;
	void (*models_release)(struct worker *w);
	/* The Copilot token as this worker last read it (app_copilot_call),
	 * and whose (an account name, "" the default). */
	struct db_copilot_token *tok;
	int64_t tok_read_ms;
	char tok_acct[ACCOUNTS_NAME_MAX + 1];
	/* The account this request is served by (app/pool.c): a named
	 * account, "" the default; routes/routes.c empties it before each
	 * request.  How many named accounts there are, as last read. */
	char acct[ACCOUNTS_NAME_MAX + 1];
	long pool_named;
	char pool_primary[ACCOUNTS_NAME_MAX + 1];   /* pool_begin's */
	/* The pool's accounts ("" the default), in order, with named ones;
	 * empty without: app/models.c then lists the union of their lists. */
	struct strlist pool_members;
	int64_t pool_read_ms;
	int64_t pool_stamp;        /* POOL_STAMP's mtime as last seen */
	char *pool_login;          /* pool_login's, of account pool_login_of */
	char pool_login_of[ACCOUNTS_NAME_MAX + 1];
	int64_t pool_login_ms;
	int64_t pool_pruned_ms;
	int tbb;                   /* app_token_based_billing, as last read */
	int64_t tbb_read_ms;
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
/* Opens the worker's database (a->db_driver, a->db_target: a server
 * that is down still opens, and its uses answer GW_EDBDOWN until it is
 * back) and client; call worker_free whatever the outcome. */
GW_MUST_CHECK enum gw_err worker_init(struct worker *w, struct app *a, struct buf *errmsg);
void worker_free(struct worker *w);

/*
 * Between requests: looks at config.json when the last look is a second
 * old, and moves w->cfg to the current config if it changed.  Never
 * fails: an unreadable or invalid file keeps the previous config.
 */
void app_cfg_refresh(struct worker *w);
/*
 * Between requests: at most once a second per worker, looks whether the
 * database file was deleted or replaced (db_moved) and then reopens the
 * worker's connection on the file now at the path, logged as an error and
 * counted for /readyz.  A failed reopen keeps the old connection and is
 * tried again a second later.
 */
void app_db_refresh(struct worker *w);
/* config.json was just written by this process: look at it now. */
void app_cfg_changed(struct app *a);
/*
 * A thread of this process that looks at config.json once a second (as a
 * request would), until app_watch_stop: a process left idle then cannot
 * miss a valid version of the file that an invalid one follows, and keep
 * serving an older config than the other processes of its pool.  Start it
 * after any fork (threads do not follow one), in a process that serves
 * many requests; it takes no signal.  Calling it again while it runs does
 * nothing.  GW_ENOMEM when the thread cannot be made (the process still
 * serves, looking at the file at its requests).
 */
GW_MUST_CHECK enum gw_err app_watch_start(struct app *a);
/* Stops and joins the watcher; nothing when it does not run. */
void app_watch_stop(struct app *a);

/* A value of this process's GitHub account (prefix github_token or
 * github_login; see db_account_key). */
GW_MUST_CHECK enum gw_err app_account_get(struct worker *w, const char *prefix,
    char **out);
GW_MUST_CHECK enum gw_err app_account_set(struct worker *w, const char *prefix,
    const char *value);

/* The signed-in GitHub login for usage rows ("" when unknown): read from
 * the database at most once a minute per worker, not per request. */
const char *app_github_login(struct worker *w);

/* The token manager's view of this worker (borrows from it); first reads
 * the identity if the database was down when the process started. */
void app_auth_env(struct worker *w, struct auth_env *env);

/*
 * Zeroes ur (and ro, when not NULL) and sets what the configuration says
 * about every upstream call: the connect timeout, the stall guard (none:
 * -1) and the keep-alive ping interval, and the watch of w->conn, so a
 * client that hangs up aborts the call.  The caller fills the rest.
 */
void app_up_request(const struct worker *w, struct up_request *ur,
    struct relay_opts *ro);

#endif

/*
 * The Copilot token as workers see it: read from the database, refreshed
 * inline when it is due.  One refresher per account at a time across
 * threads, processes and hosts (db_lock_named: an flock on a lock file in
 * the data dir with sqlite, an advisory lock on PostgreSQL); the others
 * wait and re-read what it stored, so an expiry never causes a stampede
 * of exchanges.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct db;
struct gh;

/* How long a worker waits for another host's exchange (PostgreSQL's
 * lock; the flock waits without bound). */
#define AUTH_LOCK_WAIT_MS 20000

struct auth_env {
	struct db *db;
	struct gh *gh;             /* GitHub endpoints + this thread's client */
	const char *lock_path;     /* <home>/copilot-token.lock (sqlite) */
	int opencode;              /* GitHub token is the Copilot token */
	const char *github_token;  /* override (--github-token), else from db */
	const char *account;       /* whose tokens (db_account); NULL = "" */
	const char *named;         /* a named account (state/accounts.h):
	                            * its tokens instead, its lock file
	                            * lock_path + "." + named; NULL: none */
	int show_token;            /* print each newly fetched Copilot token on
	                            * stderr (--show-token) */
};

struct db_copilot_token;

/*
 * A usable Copilot token.  stale: the token that upstream just rejected
 * with 401 (NULL otherwise); it forces one exchange unless another worker
 * already stored a different token.  force: exchange regardless.
 */
GW_MUST_CHECK enum gw_err auth_copilot_token(struct auth_env *env, const char *stale,
    int force, struct db_copilot_token *out, struct buf *errmsg);

/* Whether t is due for refresh at now_s (seconds): refresh_in (less a
 * minute) has passed, or expiry is a minute away, whichever comes first;
 * a token that is NULL or empty is always due. */
int auth_token_due(const struct db_copilot_token *t, int64_t now_s);

/* The GitHub token of env->account (or the override); GW_ENOTFOUND when
 * that account is not signed in, even if another one is.  A stored Copilot
 * token of another account is never served: it is exchanged anew. */
GW_MUST_CHECK enum gw_err auth_github_token(struct auth_env *env, char **out);

#endif

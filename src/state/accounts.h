/*
 * Named Copilot accounts (issue 15): several GitHub users in one pool.
 *
 * The account of before (no --account) stays the zero-configuration
 * default: its GitHub token is in kv (db_account_key), its Copilot token
 * the one row of copilot_token, its model list models_cache.  A named
 * account has its row in "accounts" with its GitHub token, its Copilot
 * token in account_tokens and its model list in account_models.  Every
 * account, the default included (row name "default", no GitHub token),
 * keeps its state here: the quota snapshot of copilot_internal/user, its
 * cool-down, when a new session was last given to it.  Sessions stick to
 * an account through session_accounts.
 *
 * Pure database logic in portable SQL (state/db.h's rules); choosing an
 * account belongs to app/accounts.c.  Thread-safety: one db per thread.
 * Strings handed out are malloc'd and owned by the caller.  Errors: as
 * state/db.h (GW_ENOTFOUND: no such row), GW_EINVAL for a bad name.
 */
#ifndef GW_STATE_ACCOUNTS_H
#define GW_STATE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct db;
struct db_copilot_token;

/* The name the default account is listed and recorded under. */
#define ACCOUNTS_DEFAULT "default"
#define ACCOUNTS_NAME_MAX 32

/*
 * 1 when name may be given to `auth login --account`: 1 to 32 of
 * [a-z0-9_-], starting with a letter or digit, and not "default" nor
 * "opencode" (the names of the OAuth-app accounts of db_account; those
 * with a domain hold '@', outside the set anyway).
 */
int accounts_name_valid(const char *name);

/* One account as listed.  has_quota: a snapshot was read (quota_at_ms);
 * premium_unlimited: no premium limit. */
struct accounts_row {
	char *name;
	char *login;
	char *plan;                /* copilot_plan, NULL when never read */
	int has_quota;
	int premium_unlimited;
	int64_t premium_remaining;
	int64_t premium_entitlement;
	int64_t quota_at_ms;
	int64_t cooldown_until_ms; /* 0: none */
	char *cooldown_reason;
	int64_t last_pick_ms;      /* a new session last went to it */
	int64_t created_at_ms;
	int named;                 /* 0: the default account's state row */
};
/* Frees the contents and zeroes; accepts NULL. */
void accounts_row_free(struct accounts_row *r);
/* Frees n rows and the array; accepts NULL. */
void accounts_rows_free(struct accounts_row *rows, size_t n);

/*
 * Adds the named account, or gives it a new GitHub token and login (a new
 * sign-in: its Copilot token, model list, quota and cool-down are
 * forgotten).  GW_EINVAL for a name accounts_name_valid refuses.
 */
GW_MUST_CHECK enum gw_err accounts_add(struct db *db, const char *name,
    const char *github_token, const char *login, int64_t now_ms);
/* Removes the named account and all it had (tokens, models, sessions);
 * GW_ENOTFOUND when there is none of that name. */
GW_MUST_CHECK enum gw_err accounts_remove(struct db *db, const char *name);
/* Every row, the default's state row (if any) first, then the named
 * accounts in the order they were added.  *rows NULL when *n is 0. */
GW_MUST_CHECK enum gw_err accounts_list(struct db *db,
    struct accounts_row **rows, size_t *n);
/* How many named accounts there are. */
GW_MUST_CHECK enum gw_err accounts_count(struct db *db, long *n);
/* The named account's GitHub token, its login; GW_ENOTFOUND when no
 * such account. */
GW_MUST_CHECK enum gw_err accounts_github_token(struct db *db,
    const char *name, char **out);
GW_MUST_CHECK enum gw_err accounts_login(struct db *db, const char *name,
    char **out);

/* A named account's Copilot token (out->account is set to name). */
GW_MUST_CHECK enum gw_err accounts_token_get(struct db *db, const char *name,
    struct db_copilot_token *out);
GW_MUST_CHECK enum gw_err accounts_token_put(struct db *db, const char *name,
    const struct db_copilot_token *t);
/* A named account's cached /models document (json NULL: only its time). */
GW_MUST_CHECK enum gw_err accounts_models_get(struct db *db, const char *name,
    char **json, int64_t *fetched_at_ms);
GW_MUST_CHECK enum gw_err accounts_models_put(struct db *db, const char *name,
    const char *json, int64_t fetched_at_ms);

/* The state of any account (ACCOUNTS_DEFAULT included: its state row is
 * made when first written; a named account that is gone is left alone):
 * the quota snapshot, a cool-down until until_ms (reason may be NULL), a
 * new session given to it. */
GW_MUST_CHECK enum gw_err accounts_quota_put(struct db *db, const char *name,
    const char *plan, int unlimited, int64_t remaining, int64_t entitlement,
    int64_t at_ms);
/* Claims the refresh of a snapshot older than older_than_ms (its time
 * becomes now_ms, so other workers and hosts keep using it meanwhile):
 * *claimed 1 for the one caller that should read it again. */
GW_MUST_CHECK enum gw_err accounts_quota_claim(struct db *db, const char *name,
    int64_t older_than_ms, int64_t now_ms, int *claimed);
GW_MUST_CHECK enum gw_err accounts_cooldown(struct db *db, const char *name,
    int64_t until_ms, const char *reason);
GW_MUST_CHECK enum gw_err accounts_picked(struct db *db, const char *name,
    int64_t now_ms);

/* The account a session is on and when it was last put (last_use_ms may
 * be NULL); GW_ENOTFOUND: none yet.  Putting it records the use.  prune:
 * sessions unused since before older_than_ms. */
GW_MUST_CHECK enum gw_err accounts_session_get(struct db *db,
    const char *session, char **account, int64_t *last_use_ms);
GW_MUST_CHECK enum gw_err accounts_session_put(struct db *db,
    const char *session, const char *account, int64_t now_ms);
GW_MUST_CHECK enum gw_err accounts_session_prune(struct db *db,
    int64_t older_than_ms);

#endif

/* Named Copilot accounts: the tables accounts, account_tokens,
 * account_models and session_accounts (contract in accounts.h). */
#include <stdlib.h>
#include <string.h>

#include "state/accounts.h"
#include "state/db.h"

int
accounts_name_valid(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > ACCOUNTS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '-' || c == '_'))))
			return 0;
	}
	return strcmp(name, ACCOUNTS_DEFAULT) != 0 &&
	    strcmp(name, "opencode") != 0;
}

void
accounts_row_free(struct accounts_row *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->login);
	free(r->plan);
	free(r->cooldown_reason);
	memset(r, 0, sizeof(*r));
}

void
accounts_rows_free(struct accounts_row *rows, size_t n)
{
	size_t i;

	for (i = 0; rows != NULL && i < n; i++)
		accounts_row_free(&rows[i]);
	free(rows);
}

/* The first text column of the one row sql selects by key. */
static GW_MUST_CHECK enum gw_err
get_text(struct db *db, const char *sql, const char *key, char **out)
{
	struct db_stmt *st;
	enum gw_err e;

	*out = NULL;
	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	db_bind_text(st, 1, key);
	if ((e = db_step(st)) == GW_OK) {
		e = db_column_strdup(st, 0, out);
		if (e == GW_OK && *out == NULL)
			e = GW_ENOTFOUND;
	}
	db_done(db, st);
	return e;
}

/* Deletes what the account's last sign-in left: its Copilot token and
 * model list (inside the caller's transaction). */
static GW_MUST_CHECK enum gw_err
forget(struct db *db, const char *const *name)
{
	enum gw_err e;

	if ((e = db_run(db, "DELETE FROM account_tokens WHERE account = ?1", name,
	    1, NULL, 0, NULL)) != GW_OK)
		return e;
	return db_run(db, "DELETE FROM account_models WHERE account = ?1", name, 1,
	    NULL, 0, NULL);
}

enum gw_err
accounts_add(struct db *db, const char *name, const char *github_token,
    const char *login, int64_t now_ms)
{
	const char *t[3] = { name, github_token, login != NULL ? login : "" };
	int64_t n[1] = { now_ms };
	enum gw_err e;

	if (!accounts_name_valid(name) || github_token == NULL)
		return GW_EINVAL;
	if ((e = db_begin_immediate(db)) != GW_OK)
		return e;
	/* a new sign-in: what was known of the previous one goes */
	if ((e = forget(db, t)) != GW_OK ||
	    (e = db_run(db, "INSERT INTO accounts (name, github_token, login, "
	    "created_at_ms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE "
	    "SET github_token = excluded.github_token, login = excluded.login, "
	    "plan = NULL, premium_unlimited = 0, premium_remaining = 0, "
	    "premium_entitlement = 0, quota_at_ms = 0, cooldown_until_ms = 0, "
	    "cooldown_reason = NULL", t, 3, n, 1, NULL)) != GW_OK ||
	    (e = db_commit(db)) != GW_OK)
		GW_IGNORE(db_rollback(db));   /* e says what failed */
	return e;
}

enum gw_err
accounts_remove(struct db *db, const char *name)
{
	const char *t[1] = { name };
	int found = 0;
	enum gw_err e;

	if (!accounts_name_valid(name))
		return GW_ENOTFOUND;
	if ((e = db_begin_immediate(db)) != GW_OK)
		return e;
	if ((e = forget(db, t)) != GW_OK ||
	    (e = db_run(db, "DELETE FROM session_accounts WHERE account = ?1", t, 1,
	    NULL, 0, NULL)) != GW_OK ||
	    (e = db_run(db, "DELETE FROM accounts WHERE name = ?1 RETURNING name",
	    t, 1, NULL, 0, &found)) != GW_OK ||
	    (e = db_commit(db)) != GW_OK) {
		GW_IGNORE(db_rollback(db));   /* e says what failed */
		return e;
	}
	return found ? GW_OK : GW_ENOTFOUND;
}

/* The row under st (columns in the order of accounts_list's SELECT). */
static GW_MUST_CHECK enum gw_err
read_row(struct db_stmt *st, struct accounts_row *r)
{
	enum gw_err e;

	memset(r, 0, sizeof(*r));
	r->named = !db_column_is_null(st, 1);
	r->premium_unlimited = db_column_int64(st, 4) != 0;
	r->premium_remaining = db_column_int64(st, 5);
	r->premium_entitlement = db_column_int64(st, 6);
	r->quota_at_ms = db_column_int64(st, 7);
	r->has_quota = r->quota_at_ms != 0;
	r->cooldown_until_ms = db_column_int64(st, 8);
	r->last_pick_ms = db_column_int64(st, 10);
	r->created_at_ms = db_column_int64(st, 11);
	if ((e = db_column_strdup(st, 0, &r->name)) != GW_OK ||
	    (e = db_column_strdup(st, 2, &r->login)) != GW_OK ||
	    (e = db_column_strdup(st, 3, &r->plan)) != GW_OK ||
	    (e = db_column_strdup(st, 9, &r->cooldown_reason)) != GW_OK)
		accounts_row_free(r);
	return e;
}

enum gw_err
accounts_list(struct db *db, struct accounts_row **rows, size_t *n)
{
	struct db_stmt *st;
	struct accounts_row *v = NULL, *nv;
	size_t cap = 0, k = 0;
	enum gw_err e;

	*rows = NULL;
	*n = 0;
	/* github_token is read only as "named or not" */
	if ((e = db_prepare(db, "SELECT name, CASE WHEN github_token IS NULL "
	    "THEN NULL ELSE 1 END, login, plan, premium_unlimited, "
	    "premium_remaining, premium_entitlement, quota_at_ms, "
	    "cooldown_until_ms, cooldown_reason, last_pick_ms, created_at_ms "
	    "FROM accounts ORDER BY CASE WHEN github_token IS NULL THEN 0 "
	    "ELSE 1 END, created_at_ms, name", &st)) != GW_OK)
		return e;
	while ((e = db_step(st)) == GW_OK) {
		if (k == cap) {
			cap = cap ? cap * 2 : 4;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				e = GW_ENOMEM;
				break;
			}
			v = nv;
		}
		if ((e = read_row(st, &v[k])) != GW_OK)
			break;
		k++;
	}
	db_done(db, st);
	if (e != GW_ENOTFOUND) {
		accounts_rows_free(v, k);
		return e;
	}
	*rows = v;
	*n = k;
	return GW_OK;
}

enum gw_err
accounts_count(struct db *db, long *n)
{
	struct db_stmt *st;
	enum gw_err e;

	*n = 0;
	if ((e = db_prepare(db, "SELECT COUNT(*) FROM accounts "
	    "WHERE github_token IS NOT NULL", &st)) != GW_OK)
		return e;
	if ((e = db_step(st)) == GW_OK)
		*n = (long)db_column_int64(st, 0);
	db_done(db, st);
	return e == GW_ENOTFOUND ? GW_OK : e;
}

enum gw_err
accounts_github_token(struct db *db, const char *name, char **out)
{
	return get_text(db, "SELECT github_token FROM accounts WHERE name = ?1",
	    name, out);
}

enum gw_err
accounts_login(struct db *db, const char *name, char **out)
{
	return get_text(db, "SELECT login FROM accounts WHERE name = ?1 AND "
	    "github_token IS NOT NULL", name, out);
}

enum gw_err
accounts_token_get(struct db *db, const char *name,
    struct db_copilot_token *out)
{
	struct db_stmt *st;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	if ((e = db_prepare(db, "SELECT token, expires_at, refresh_in, "
	    "fetched_at, api_url FROM account_tokens WHERE account = ?1",
	    &st)) != GW_OK)
		return e;
	db_bind_text(st, 1, name);
	if ((e = db_step(st)) == GW_OK) {
		out->expires_at = db_column_int64(st, 1);
		out->refresh_in = db_column_int64(st, 2);
		out->fetched_at = db_column_int64(st, 3);
		if ((e = db_column_strdup(st, 0, &out->token)) != GW_OK ||
		    (e = db_column_strdup(st, 4, &out->api_url)) != GW_OK ||
		    (out->account = strdup(name)) == NULL) {
			e = e != GW_OK ? e : GW_ENOMEM;
			db_copilot_token_free(out);
		}
	}
	db_done(db, st);
	return e;
}

enum gw_err
accounts_token_put(struct db *db, const char *name,
    const struct db_copilot_token *t)
{
	const char *s[3] = { name, t->token, t->api_url };
	int64_t n[3] = { t->expires_at, t->refresh_in, t->fetched_at };

	if (t->token == NULL)
		return GW_EINVAL;
	return db_run(db, "INSERT INTO account_tokens (account, token, api_url, "
	    "expires_at, refresh_in, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT (account) DO UPDATE SET token = excluded.token, "
	    "api_url = excluded.api_url, expires_at = excluded.expires_at, "
	    "refresh_in = excluded.refresh_in, fetched_at = excluded.fetched_at",
	    s, 3, n, 3, NULL);
}

enum gw_err
accounts_models_get(struct db *db, const char *name, char **json,
    int64_t *fetched_at_ms)
{
	struct db_stmt *st;
	enum gw_err e;

	if (json != NULL)
		*json = NULL;
	if ((e = db_prepare(db, json != NULL ?
	    "SELECT fetched_at_ms, json FROM account_models WHERE account = ?1" :
	    "SELECT fetched_at_ms FROM account_models WHERE account = ?1",
	    &st)) != GW_OK)
		return e;
	db_bind_text(st, 1, name);
	if ((e = db_step(st)) == GW_OK) {
		if (fetched_at_ms != NULL)
			*fetched_at_ms = db_column_int64(st, 0);
		if (json != NULL)
			e = db_column_strdup(st, 1, json);
	}
	db_done(db, st);
	return e;
}

enum gw_err
accounts_models_put(struct db *db, const char *name, const char *json,
    int64_t fetched_at_ms)
{
	const char *s[2] = { name, json };
	int64_t n[1] = { fetched_at_ms };

	if (json == NULL)
		return GW_EINVAL;
	return db_run(db, "INSERT INTO account_models (account, json, "
	    "fetched_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT (account) DO UPDATE "
	    "SET json = excluded.json, fetched_at_ms = excluded.fetched_at_ms",
	    s, 2, n, 1, NULL);
}

/*
 * Runs upsert for the default account (its state row is made when
 * missing), update for a named one (one removed meanwhile stays removed):
 * ?1 is name, the texts (ntexts of at most 3) and integers follow.
 */
static GW_MUST_CHECK enum gw_err
state_set(struct db *db, const char *name, const char *upsert,
    const char *update, const char *const *texts, int ntexts,
    const int64_t *ints, int nints)
{
	const char *all[4] = { name, NULL, NULL, NULL };
	int i;

	for (i = 0; i < ntexts && i < 3; i++)
		all[i + 1] = texts[i];
	return db_run(db, strcmp(name, ACCOUNTS_DEFAULT) == 0 ? upsert : update,
	    all, ntexts + 1, ints, nints, NULL);
}

enum gw_err
accounts_quota_put(struct db *db, const char *name, const char *plan,
    int unlimited, int64_t remaining, int64_t entitlement, int64_t at_ms)
{
	const char *s[1] = { plan };
	int64_t n[4] = { unlimited ? 1 : 0, remaining, entitlement, at_ms };

	return state_set(db, name, "INSERT INTO accounts (name, plan, "
	    "premium_unlimited, premium_remaining, premium_entitlement, "
	    "quota_at_ms, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0) "
	    "ON CONFLICT (name) DO UPDATE SET plan = excluded.plan, "
	    "premium_unlimited = excluded.premium_unlimited, "
	    "premium_remaining = excluded.premium_remaining, "
	    "premium_entitlement = excluded.premium_entitlement, "
	    "quota_at_ms = excluded.quota_at_ms",
	    "UPDATE accounts SET plan = ?2, premium_unlimited = ?3, "
	    "premium_remaining = ?4, premium_entitlement = ?5, quota_at_ms = ?6 "
	    "WHERE name = ?1 AND github_token IS NOT NULL", s, 1, n, 4);
}

enum gw_err
accounts_quota_claim(struct db *db, const char *name, int64_t older_than_ms,
    int64_t now_ms, int *claimed)
{
	const char *s[1] = { name };
	int64_t n[2] = { now_ms, older_than_ms };

	return db_run(db, "UPDATE accounts SET quota_at_ms = ?2 WHERE name = ?1 "
	    "AND quota_at_ms <> 0 AND quota_at_ms < ?3 RETURNING name", s, 1, n,
	    2, claimed);
}

enum gw_err
accounts_cooldown(struct db *db, const char *name, int64_t until_ms,
    const char *reason)
{
	const char *s[1] = { reason };
	int64_t n[1] = { until_ms };

	return state_set(db, name, "INSERT INTO accounts (name, "
	    "cooldown_reason, cooldown_until_ms, created_at_ms) VALUES (?1, ?2, "
	    "?3, 0) ON CONFLICT (name) DO UPDATE SET "
	    "cooldown_reason = excluded.cooldown_reason, "
	    "cooldown_until_ms = excluded.cooldown_until_ms",
	    "UPDATE accounts SET cooldown_reason = ?2, cooldown_until_ms = ?3 "
	    "WHERE name = ?1 AND github_token IS NOT NULL", s, 1, n, 1);
}

enum gw_err
accounts_picked(struct db *db, const char *name, int64_t now_ms)
{
	int64_t n[1] = { now_ms };

	return state_set(db, name, "INSERT INTO accounts (name, last_pick_ms, "
	    "created_at_ms) VALUES (?1, ?2, 0) ON CONFLICT (name) DO UPDATE SET "
	    "last_pick_ms = excluded.last_pick_ms",
	    "UPDATE accounts SET last_pick_ms = ?2 WHERE name = ?1 AND "
	    "github_token IS NOT NULL", NULL, 0, n, 1);
}

enum gw_err
accounts_session_get(struct db *db, const char *session, char **account,
    int64_t *last_use_ms)
{
	struct db_stmt *st;
	enum gw_err e;

	*account = NULL;
	if ((e = db_prepare(db, "SELECT account, last_use_ms FROM "
	    "session_accounts WHERE session = ?1", &st)) != GW_OK)
		return e;
	db_bind_text(st, 1, session);
	if ((e = db_step(st)) == GW_OK) {
		if (last_use_ms != NULL)
			*last_use_ms = db_column_int64(st, 1);
		e = db_column_strdup(st, 0, account);
	}
	db_done(db, st);
	return e;
}

enum gw_err
accounts_session_put(struct db *db, const char *session, const char *account,
    int64_t now_ms)
{
	const char *s[2] = { session, account };
	int64_t n[1] = { now_ms };

	return db_run(db, "INSERT INTO session_accounts (session, account, "
	    "last_use_ms) VALUES (?1, ?2, ?3) ON CONFLICT (session) DO UPDATE "
	    "SET account = excluded.account, last_use_ms = excluded.last_use_ms",
	    s, 2, n, 1, NULL);
}

enum gw_err
accounts_session_prune(struct db *db, int64_t older_than_ms)
{
	int64_t n[1] = { older_than_ms };

	return db_run(db, "DELETE FROM session_accounts WHERE last_use_ms < ?1",
	    NULL, 0, n, 1, NULL);
}

/*
 * The Copilot token for workers: read from the database, refreshed under
 * the lock file when due, one refresher at a time (contract in auth.h).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "state/accounts.h"
#include "state/db.h"
#include "state/metrics.h"
#include "upstream/auth.h"
#include "upstream/github.h"

int
auth_token_due(const struct db_copilot_token *t, int64_t now_s)
{
	int64_t by_refresh, by_expiry, lead;

	if (t->token == NULL || t->token[0] == '\0')
		return 1;
	lead = t->refresh_in > 120 ? t->refresh_in - 60 : t->refresh_in / 2;
	by_refresh = t->fetched_at + lead;
	by_expiry = t->expires_at - 60;
	return now_s >= (by_refresh < by_expiry ? by_refresh : by_expiry);
}

static const char *
account(const struct auth_env *env)
{
	return env->account != NULL ? env->account : "";
}

enum gw_err
auth_github_token(struct auth_env *env, char **out)
{
	char *key = NULL;
	enum gw_err e;

	*out = NULL;
	if (env->named != NULL)
		return accounts_github_token(env->db, env->named, out);
	if (env->github_token != NULL && env->github_token[0] != '\0')
		return (*out = strdup(env->github_token)) ? GW_OK : GW_ENOMEM;
	if ((e = db_account_key("github_token", account(env), &key)) != GW_OK)
		return e;
	e = db_kv_get(env->db, key, out);
	free(key);
	return e;
}

/* The stored row, if it is this account's. */
static GW_MUST_CHECK enum gw_err
load(struct auth_env *env, struct db_copilot_token *t)
{
	enum gw_err e;

	memset(t, 0, sizeof(*t));
	if (env->named != NULL)
		return accounts_token_get(env->db, env->named, t);
	if ((e = db_copilot_token_get(env->db, t)) != GW_OK)
		return e;
	if (t->account == NULL || strcmp(t->account, account(env)) != 0) {
		db_copilot_token_free(t);
		return GW_ENOTFOUND;
	}
	return GW_OK;
}

/* Exchanges the GitHub token and stores the result. */
static GW_MUST_CHECK enum gw_err
exchange(struct auth_env *env, struct db_copilot_token *out,
    struct buf *errmsg)
{
	char *ghtok = NULL, fp[16];
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	if ((e = auth_github_token(env, &ghtok)) != GW_OK) {
		if (e == GW_ENOTFOUND) {
			e = GW_EAUTH;
			/* best effort: e is returned whatever it says */
			GW_IGNORE(buf_puts(errmsg, "not signed in to GitHub: "
			    "run `copilot-api auth login`"));
		}
		goto out;
	}
	if (env->opencode) {
		/* The opencode app's OAuth token is itself the Copilot token. */
		out->token = ghtok;
		ghtok = NULL;
		out->fetched_at = util_now_ms() / 1000;
		out->refresh_in = 365L * 86400;
		out->expires_at = out->fetched_at + out->refresh_in;
	} else if ((e = gh_copilot_token(env->gh, ghtok, out, errmsg)) != GW_OK)
		goto out;
	if ((out->account = strdup(env->named != NULL ? env->named :
	    account(env))) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	if ((e = env->named != NULL ?
	    accounts_token_put(env->db, env->named, out) :
	    db_copilot_token_put(env->db, out)) != GW_OK) {
		/* The token is good even if it cannot be stored right now (a
		 * locked database): use it; the next worker exchanges again. */
		log_warn("could not store the Copilot token (%s); using it "
		    "unstored", gw_strerror(e));
		e = GW_OK;
	}
	log_fingerprint(out->token, fp);
	log_info("Copilot token refreshed (%s%s%s, refresh in %lld s)", fp,
	    env->named != NULL ? ", account " : "",
	    env->named != NULL ? env->named : "", (long long)out->refresh_in);
	if (env->show_token) {
		/* asked for (--show-token): the operator's own terminal */
		fprintf(stderr, "Copilot token: %s\n", out->token);
		fflush(stderr);
	}
out:
	metrics_token_refresh(e == GW_OK);
	if (e != GW_OK)
		db_copilot_token_free(out);
	free(ghtok);
	return e;
}

static int
usable(const struct db_copilot_token *t, const char *stale, int force)
{
	if (force || t->token == NULL)
		return 0;
	if (stale != NULL && strcmp(t->token, stale) == 0)
		return 0;
	return !auth_token_due(t, util_now_ms() / 1000);
}

enum gw_err
auth_copilot_token(struct auth_env *env, const char *stale, int force,
    struct db_copilot_token *out, struct buf *errmsg)
{
	struct db_copilot_token cur;
	struct db_lock lk = { .fd = -1 };
	struct buf lock = BUF_INIT;
	char *name = NULL;
	enum gw_err e;

	memset(out, 0, sizeof(*out));
	e = load(env, &cur);
	if (e != GW_OK && e != GW_ENOTFOUND)
		return e;
	if (e == GW_OK && usable(&cur, stale, force)) {
		*out = cur;
		return GW_OK;
	}
	/* A token that failed is only refreshed once by whoever locks first:
	 * the others find a different token after the lock and use it.  Each
	 * account has its own lock (a named account: its own file, or its own
	 * advisory key on PostgreSQL): one refresh never waits for another's. */
	if ((name = buf_strdupf("copilot-token:%s%s%s", account(env),
	    env->named != NULL ? "/" : "", env->named != NULL ? env->named :
	    "")) == NULL || (env->named != NULL && buf_printf(&lock, "%s.%s",
	    env->lock_path, env->named) != GW_OK)) {
		e = GW_ENOMEM;
		goto out;
	}
	if ((e = db_lock_named(env->db, name, env->named != NULL ? lock.data :
	    env->lock_path, AUTH_LOCK_WAIT_MS, &lk)) != GW_OK) {
		/* best effort: e is returned whatever the message says */
		GW_IGNORE(buf_printf(errmsg, "cannot take the token refresh "
		    "lock (%s): %s", env->named != NULL ? buf_cstr(&lock) :
		    env->lock_path, gw_strerror(e)));
		goto out;
	}
	db_copilot_token_free(&cur);
	e = load(env, &cur);
	if (e != GW_OK && e != GW_ENOTFOUND)
		goto out;
	if (e == GW_OK && usable(&cur, stale, 0) &&
	    !(force && stale == NULL)) {
		*out = cur;
		memset(&cur, 0, sizeof(cur));
		e = GW_OK;
		goto out;
	}
	e = exchange(env, out, errmsg);
	if (e != GW_OK && cur.token != NULL && !force && stale == NULL &&
	    cur.expires_at > util_now_ms() / 1000 + 10) {
		/* The exchange failed but the old token is still valid: serve
		 * with it rather than fail the request. */
		log_warn("Copilot token refresh failed (%s); using the current "
		    "token until it expires", buf_cstr(errmsg));
		buf_reset(errmsg);
		*out = cur;
		memset(&cur, 0, sizeof(cur));
		e = GW_OK;
	}
out:
	db_unlock_named(env->db, &lk);
	buf_free(&lock);
	free(name);
	db_copilot_token_free(&cur);
	return e;
}

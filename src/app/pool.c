/* The pool of Copilot accounts: choice per call, cool-downs, quota
 * snapshots, the listing (contract in pool.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "app/copilot_call.h"
#include "app/models.h"
#include "app/pool.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/accounts.h"
#include "state/config.h"
#include "state/db.h"
#include "upstream/relay.h"
#include "upstream/auth.h"
#include "upstream/github.h"

#define POOL_RECHECK_MS 5000
#define POOL_SESSION_TOUCH_MS (10 * 60 * 1000)
#define POOL_PRUNE_EVERY_MS 60000

static int default_signed_in(struct worker *w);
static const char *key_of(const struct accounts_row *r);
static GW_MUST_CHECK enum gw_err members(struct worker *w, int signed_out,
    struct accounts_row **out, size_t *n, int *default_in);

/* The pool's members into w->pool_members, and the account that serves
 * what is not a model call: the default when signed in, else the first
 * named one (into w->pool_primary). */
static void
primary(struct worker *w)
{
	struct accounts_row *v = NULL;
	size_t n = 0, i;
	int din;

	w->pool_primary[0] = '\0';
	strlist_free(&w->pool_members);
	if (members(w, 0, &v, &n, &din) != GW_OK)
		n = 0;
	if (n > 0 && v[0].named)
		snprintf(w->pool_primary, sizeof(w->pool_primary), "%s", v[0].name);
	for (i = 0; i < n; i++)
		if (strlist_add(&w->pool_members, key_of(&v[i])) != GW_OK) {
			/* without the union, the primary's list serves */
			strlist_free(&w->pool_members);
			break;
		}
	accounts_rows_free(v, n);
}

/* The stamp's path in the data directory, into out. */
static void
stamp_path(const struct app *a, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", a->home, POOL_STAMP);
}

/* Whether the stamp changed since w last looked (one stat). */
static int
stamp_changed(struct worker *w)
{
	char p[4096];
	struct stat sb;
	int64_t id = 0;

	stamp_path(w->app, p, sizeof(p));
	if (stat(p, &sb) == 0)
		id = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec +
		    (int64_t)sb.st_size;
	if (id == w->pool_stamp)
		return 0;
	w->pool_stamp = id;
	return 1;
}

void
pool_touch(const struct app *a)
{
	char p[4096];
	FILE *f;

	stamp_path(a, p, sizeof(p));
	if ((f = fopen(p, "w")) == NULL) {
		log_warn("cannot write %s: running responders see the change "
		    "within %d s", p, POOL_RECHECK_MS / 1000);
		return;
	}
	fprintf(f, "%lld\n", (long long)util_now_ms());
	if (fclose(f) != 0)
		log_warn("cannot write %s", p);
}

/* 1 when there are named accounts: read again when the stamp changed
 * (this host's CLI) or POOL_RECHECK_MS passed (another host's). */
static int
pool_active(struct worker *w)
{
	int64_t now = util_now_ms();
	long n;

	if (stamp_changed(w) || w->pool_read_ms == 0 ||
	    now - w->pool_read_ms >= POOL_RECHECK_MS) {
		/* unreadable: keep what was known (none at first) */
		if (accounts_count(w->db, &n) == GW_OK)
			w->pool_named = n;
		w->pool_read_ms = now;
		if (w->pool_named > 0)
			primary(w);
		else {
			w->pool_primary[0] = '\0';
			strlist_free(&w->pool_members);
		}
	}
	return w->pool_named > 0;
}

void
pool_begin(struct worker *w)
{
	w->acct[0] = '\0';
	if (pool_active(w))
		memcpy(w->acct, w->pool_primary, sizeof(w->acct));
}

/* The account's key in w->acct: "" for the default. */
static const char *
key_of(const struct accounts_row *r)
{
	return r->named ? r->name : "";
}

static void
set_acct(struct worker *w, const char *key)
{
	snprintf(w->acct, sizeof(w->acct), "%s", key);
}

/* Whether the default account has a GitHub token (flag or stored). */
static int
default_signed_in(struct worker *w)
{
	char *v = NULL;
	int r;

	if (w->app->github_token != NULL && w->app->github_token[0] != '\0')
		return 1;
	r = app_account_get(w, "github_token", &v) == GW_OK;
	free(v);
	return r;
}

/*
 * The pool in order: the default first (signed in or, with signed_out,
 * listed anyway), then the named accounts as added.  *out new.
 */
static GW_MUST_CHECK enum gw_err
members(struct worker *w, int signed_out, struct accounts_row **out,
    size_t *n, int *default_in)
{
	struct accounts_row *rows = NULL, *v;
	size_t k, i;
	enum gw_err e;

	*out = NULL;
	*n = 0;
	*default_in = default_signed_in(w);
	if ((e = accounts_list(w->db, &rows, &k)) != GW_OK)
		return e;
	/* room for a default that has no state row yet */
	if ((v = calloc(k + 1, sizeof(*v))) == NULL) {
		accounts_rows_free(rows, k);
		return GW_ENOMEM;
	}
	*n = 0;
	for (i = 0; i < k && (*default_in || signed_out); i++)
		if (!rows[i].named && strcmp(rows[i].name, ACCOUNTS_DEFAULT) == 0) {
			v[(*n)++] = rows[i];      /* the default's state row */
			rows[i].name = NULL;      /* moved */
			break;
		}
	if ((*default_in || signed_out) && *n == 0 &&
	    (v[(*n)++].name = strdup(ACCOUNTS_DEFAULT)) == NULL)
		e = GW_ENOMEM;
	for (i = 0; i < k; i++)
		if (rows[i].named)
			v[(*n)++] = rows[i];
		else if (rows[i].name != NULL)
			accounts_row_free(&rows[i]);
	free(rows);
	if (e != GW_OK) {
		accounts_rows_free(v, *n);
		*n = 0;
		return e;
	}
	*out = v;
	return GW_OK;
}

/* copilot_internal/user's premium snapshot into r and the database.
 * *status: GitHub's answer (401: signed out), 0 when not asked. */
static GW_MUST_CHECK enum gw_err
quota_read(struct worker *w, struct accounts_row *r, long *status)
{
	struct auth_env env;
	struct buf body = BUF_INIT, err = BUF_INIT;
	char saved[sizeof(w->acct)], *tok = NULL;
	const cJSON *q;
	cJSON *v = NULL;
	enum gw_err e;

	*status = 0;
	memcpy(saved, w->acct, sizeof(saved));
	set_acct(w, key_of(r));
	app_auth_env(w, &env);
	e = auth_github_token(&env, &tok);
	memcpy(w->acct, saved, sizeof(saved));
	if (e != GW_OK)
		goto out;
	if ((e = gh_copilot_user(&w->gh, tok, status, &body, &err)) != GW_OK)
		goto out;
	v = json_parse(body.data, body.len, NULL, NULL);
	if (*status / 100 != 2 || v == NULL) {
		e = GW_EUPSTREAM;
		goto out;
	}
	q = json_obj(json_obj(v, "quota_snapshots"), "premium_interactions");
	free(r->plan);
	r->plan = util_strdup(json_str(v, "copilot_plan"));
	r->premium_unlimited = q == NULL || json_bool(q, "unlimited", 0);
	r->premium_remaining = (int64_t)json_num(q, "remaining", 0);
	r->premium_entitlement = (int64_t)json_num(q, "entitlement", 0);
	r->quota_at_ms = util_now_ms();
	r->has_quota = 1;
	if (accounts_quota_put(w->db, r->name, r->plan, r->premium_unlimited,
	    r->premium_remaining, r->premium_entitlement, r->quota_at_ms) != GW_OK)
		log_warn("account %s: could not store its quota", r->name);
out:
	if (e != GW_OK)
		log_warn("account %s: no quota snapshot (%s%s)", r->name,
		    gw_strerror(e), *status != 0 ? ", GitHub answered an error" : "");
	cJSON_Delete(v);
	free(tok);
	buf_free(&body);
	buf_free(&err);
	return e;
}

/* The snapshot when it is older than POOL_QUOTA_MAX_AGE_MS; a failure
 * keeps the old one.  An old snapshot is read again by one caller only
 * (claimed: the others, here or on other hosts, keep using it meanwhile
 * instead of all asking GitHub at once). */
static void
quota_fresh(struct worker *w, struct accounts_row *r, int64_t now, long *status)
{
	int claimed = 1;

	*status = 0;
	if (r->has_quota && now - r->quota_at_ms < POOL_QUOTA_MAX_AGE_MS)
		return;
	if (r->has_quota && (accounts_quota_claim(w->db, r->name,
	    now - POOL_QUOTA_MAX_AGE_MS, now, &claimed) != GW_OK || !claimed))
		return;
	GW_IGNORE(quota_read(w, r, status));   /* logged; ranked without */
}

/* Whether the account offers model (its own model list). */
static int
offers(struct worker *w, const struct accounts_row *r, const char *model)
{
	char saved[sizeof(w->acct)];
	int ok;

	if (model == NULL || model[0] == '\0')
		return 1;
	memcpy(saved, w->acct, sizeof(saved));
	set_acct(w, key_of(r));
	ok = models_offers(w, model);
	memcpy(w->acct, saved, sizeof(saved));
	return ok;
}

/* Ranks a over b for a new session: >0 when a is better. */
static int64_t
better(struct worker *w, const struct accounts_row *a,
    const struct accounts_row *b)
{
	switch (w->cfg->accounts_strategy) {
	case CFG_STRATEGY_ROUND_ROBIN:
		return b->last_pick_ms - a->last_pick_ms;
	case CFG_STRATEGY_FILL_FIRST:
		return 0;                /* the first in order stays */
	default:
		/* unlimited first, then the most left; no snapshot last */
		if (a->has_quota != b->has_quota)
			return a->has_quota - b->has_quota;
		if (a->premium_unlimited != b->premium_unlimited)
			return a->premium_unlimited - b->premium_unlimited;
		return a->premium_remaining - b->premium_remaining;
	}
}

/* The session's account among the eligible (ok[i]), or -1; *last_use:
 * when the session was last recorded on it. */
static long
session_pick(struct worker *w, const char *session,
    const struct accounts_row *v, const int *ok, size_t n, int64_t *last_use)
{
	char *name = NULL;
	long r = -1;
	size_t i;

	if (session == NULL || session[0] == '\0' ||
	    accounts_session_get(w->db, session, &name, last_use) != GW_OK)
		return -1;
	for (i = 0; i < n; i++)
		if (ok[i] && strcmp(v[i].name, name) == 0)
			r = (long)i;
	free(name);
	return r;
}

/* The best of the eligible for a new session, or -1. */
static long
strategy_pick(struct worker *w, struct accounts_row *v, const int *ok,
    size_t n, int64_t now)
{
	long best = -1, st;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		if (w->cfg->accounts_strategy == CFG_STRATEGY_AFFINITY_QUOTA)
			quota_fresh(w, &v[i], now, &st);
		if (best < 0 || better(w, &v[i], &v[best]) > 0)
			best = (long)i;
	}
	return best;
}

/* Remembers the choice: the session's account (a session that stays is
 * written again only every POOL_SESSION_TOUCH_MS: no write per request),
 * the round-robin clock. */
static void
remember(struct worker *w, const char *session, const char *name, int fresh,
    int64_t last_use, int64_t now)
{
	if (fresh && accounts_picked(w->db, name, now) != GW_OK)
		log_warn("account %s: could not record the pick", name);
	if (session != NULL && session[0] != '\0' &&
	    (fresh || now - last_use >= POOL_SESSION_TOUCH_MS) &&
	    accounts_session_put(w->db, session, name, now) != GW_OK)
		log_warn("session %s: could not record its account", session);
	if (now - w->pool_pruned_ms >= POOL_PRUNE_EVERY_MS) {
		w->pool_pruned_ms = now;
		if (accounts_session_prune(w->db, now - POOL_SESSION_IDLE_MS) !=
		    GW_OK)
			log_warn("could not prune idle sessions");
	}
}

/*
 * Sets w->acct to the account for a call of model in session (NULL or
 * "": none), never exclude (NULL: none).  GW_ENOTFOUND when exclude is
 * set and no other account can serve (w->acct is then unchanged); without
 * exclude some account is always chosen: when none is healthy, the one
 * whose cool-down ends first, so Copilot's own answer reaches the client.
 */
static GW_MUST_CHECK enum gw_err
pool_choose(struct worker *w, const char *session, const char *model,
    const char *exclude)
{
	struct accounts_row *v = NULL;
	int *ok = NULL, din, any = 0;
	size_t n = 0, i;
	long pick = -1, soonest = -1;
	int64_t now = util_now_ms(), last_use = 0;
	enum gw_err e = GW_ENOTFOUND;

	/* pool_begin looked at the pool for this request */
	if (w->pool_named <= 0) {
		if (exclude == NULL)
			set_acct(w, "");
		return exclude == NULL ? GW_OK : GW_ENOTFOUND;
	}
	if (members(w, 0, &v, &n, &din) != GW_OK || n == 0 ||
	    (ok = calloc(n, sizeof(*ok))) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		any += (ok[i] = offers(w, &v[i], model));
	for (i = 0; i < n; i++) {
		/* a model in no list (a list keeps picker-enabled models
		 * only) is Copilot's to accept or refuse, on any account */
		if (!ok[i] && any > 0)
			continue;
		ok[i] = 0;
		if (exclude != NULL && strcmp(key_of(&v[i]), exclude) == 0)
			continue;
		if (v[i].cooldown_until_ms > now) {
			if (soonest < 0 || v[i].cooldown_until_ms <
			    v[soonest].cooldown_until_ms)
				soonest = (long)i;
			continue;
		}
		ok[i] = 1;
	}
	if ((pick = session_pick(w, session, v, ok, n, &last_use)) >= 0) {
		remember(w, session, v[pick].name, 0, last_use, now);
	} else if ((pick = strategy_pick(w, v, ok, n, now)) >= 0) {
		remember(w, session, v[pick].name, 1, 0, now);
	} else if (exclude == NULL) {
		/* nobody healthy: the first to come back, else the first;
		 * Copilot's own answer (429, unknown model) goes through */
		pick = soonest >= 0 ? soonest : 0;
	}
	if (pick >= 0) {
		set_acct(w, key_of(&v[pick]));
		log_debug("account %s for %s (session %s%s%s)", v[pick].name,
		    model != NULL ? model : "-", session != NULL && *session ?
		    session : "-", exclude != NULL ? ", after " : "",
		    exclude != NULL ? (*exclude ? exclude : ACCOUNTS_DEFAULT) : "");
		e = GW_OK;
	}
out:
	if (e != GW_OK && exclude == NULL) {
		/* the pool is unreadable: as before, the default serves */
		log_warn("no account pool (%s): the default account serves",
		    gw_strerror(e));
		set_acct(w, "");
		e = GW_OK;
	}
	free(ok);
	accounts_rows_free(v, n);
	return e;
}

/* Whether Copilot's status means w->acct refused for want of capacity
 * (429, or 402: no quota left): the request was not served. */
static int
pool_refused(long status)
{
	return status == 429 || status == 402;
}

/* Puts w->acct on a cool-down of retry_after seconds (NULL or invalid:
 * POOL_COOLDOWN_DEFAULT_S; status 0, no Copilot token to be had:
 * POOL_SIGNED_OUT_S); logged. */
static void
pool_cool(struct worker *w, const char *retry_after, long status)
{
	long s = status == 0 ? POOL_SIGNED_OUT_S : POOL_COOLDOWN_DEFAULT_S;
	const char *name = w->acct[0] != '\0' ? w->acct : ACCOUNTS_DEFAULT;
	char reason[64];

	if (retry_after != NULL && util_parse_long(retry_after, 1, 86400, &s) !=
	    GW_OK)
		s = POOL_COOLDOWN_DEFAULT_S;
	snprintf(reason, sizeof(reason), status == 0 ? "no Copilot token "
	    "(GitHub refused the sign-in)" : status == 402 ?
	    "no quota (HTTP 402)" : "rate limited (HTTP %ld)", status);
	log_warn("account %s: %s, cooling down for %ld s", name, reason, s);
	if (accounts_cooldown(w->db, name, util_now_ms() + s * 1000, reason) !=
	    GW_OK)
		log_warn("account %s: could not store its cool-down", name);
}

/* "2026-12-07T22:16:26Z" of epoch ms. */
static void
iso(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

/* One account's entry of pool_list_json. */
static cJSON *
entry(struct worker *w, struct accounts_row *r, int signed_in, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *p;
	long status = 0;
	char when[32];

	if (o == NULL)
		return NULL;
	if (signed_in)
		quota_fresh(w, r, now, &status);
	if (status == 401)
		signed_in = 0;           /* GitHub refuses its token */
	cJSON_AddStringToObject(o, "name", r->name);
	if (r->login != NULL && r->login[0] != '\0')
		cJSON_AddStringToObject(o, "login", r->login);
	else
		cJSON_AddNullToObject(o, "login");
	if (r->plan != NULL)
		cJSON_AddStringToObject(o, "plan", r->plan);
	else
		cJSON_AddNullToObject(o, "plan");
	if (r->has_quota && (p = cJSON_AddObjectToObject(o, "premium")) != NULL) {
		cJSON_AddBoolToObject(p, "unlimited", r->premium_unlimited);
		cJSON_AddNumberToObject(p, "remaining", (double)r->premium_remaining);
		cJSON_AddNumberToObject(p, "entitlement",
		    (double)r->premium_entitlement);
	} else
		cJSON_AddNullToObject(o, "premium");
	if (!signed_in)
		cJSON_AddStringToObject(o, "state", "signed-out");
	else if (r->cooldown_until_ms > now) {
		cJSON_AddStringToObject(o, "state", "cooling");
		iso(r->cooldown_until_ms, when);
		cJSON_AddStringToObject(o, "cooling_until", when);
		if (r->cooldown_reason != NULL)
			cJSON_AddStringToObject(o, "reason", r->cooldown_reason);
	} else
		cJSON_AddStringToObject(o, "state", "ok");
	return o;
}

enum gw_err
pool_list_json(struct worker *w, cJSON **out)
{
	struct accounts_row *v = NULL;
	size_t n = 0, i;
	int64_t now = util_now_ms();
	cJSON *arr = NULL, *o;
	char *login = NULL;
	int din;
	enum gw_err e;

	*out = NULL;
	if ((e = members(w, 1, &v, &n, &din)) != GW_OK)
		return e;
	if ((arr = cJSON_CreateArray()) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!v[i].named && (v[i].login == NULL || v[i].login[0] == '\0') &&
		    app_account_get(w, "github_login", &login) == GW_OK) {
			free(v[i].login);
			v[i].login = login;
			login = NULL;
		}
		if ((o = entry(w, &v[i], v[i].named || din, now)) == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		cJSON_AddItemToArray(arr, o);
	}
	*out = arr;
	arr = NULL;
out:
	cJSON_Delete(arr);
	accounts_rows_free(v, n);
	return e;
}

/* Whether the call's outcome is a refusal that served nothing: a 429 or
 * 402 before any byte reached the client, or no Copilot token at all
 * (GW_EAUTH: GitHub refused the account's sign-in). */
static int
refused(enum gw_err e, const struct relay_result *res)
{
	if (e == GW_EAUTH)
		return !res->client_started;
	return e == GW_OK && pool_refused(res->status) && !res->client_started;
}

enum gw_err
pool_copilot_call(struct worker *w, const struct copilot_req *rq,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res,
    struct buf *errmsg)
{
	char tried[sizeof(w->acct)];
	enum gw_err e;

	if (rq->model != NULL &&
	    (e = pool_choose(w, rq->session, rq->model, NULL)) != GW_OK)
		return e;
	e = app_copilot_call(w, rq, tr, sink, res, errmsg);
	if (rq->model == NULL || !refused(e, res) || w->pool_named <= 0)
		return e;
	/* Copilot did not serve it (429: over the rate; 402: no quota; no
	 * token: the account is signed out): that account rests, the request
	 * goes once to the next one. */
	pool_cool(w, res->resp.retry_after, e == GW_OK ? res->status : 0);
	memcpy(tried, w->acct, sizeof(tried));
	if (pool_choose(w, rq->session, rq->model, tried) != GW_OK)
		return e;                /* nobody else: Copilot's answer */
	log_info("account %s refused (HTTP %ld): sending to account %s",
	    tried[0] != '\0' ? tried : ACCOUNTS_DEFAULT, res->status,
	    w->acct[0] != '\0' ? w->acct : ACCOUNTS_DEFAULT);
	relay_result_free(res);
	buf_reset(errmsg);
	e = app_copilot_call(w, rq, tr, sink, res, errmsg);
	/* refused again: that one rests too, and its answer is the client's */
	if (refused(e, res))
		pool_cool(w, res->resp.retry_after, e == GW_OK ? res->status : 0);
	return e;
}

const char *
pool_login(struct worker *w)
{
	int64_t now = util_now_ms();
	char *v = NULL;

	if (w->acct[0] == '\0')
		return app_github_login(w);
	if (w->pool_login != NULL && strcmp(w->pool_login_of, w->acct) == 0 &&
	    now - w->pool_login_ms < 60000)
		return w->pool_login;
	/* unreadable: "" for now, read again next time */
	if (accounts_login(w->db, w->acct, &v) != GW_OK)
		return "";
	free(w->pool_login);
	w->pool_login = v;
	memcpy(w->pool_login_of, w->acct, sizeof(w->pool_login_of));
	w->pool_login_ms = now;
	return v;
}

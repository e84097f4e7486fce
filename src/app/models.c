/* The cached Copilot model list: fetched, stored, looked up. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/copilot_call.h"
#include "app/models.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/accounts.h"
#include "state/db.h"
#include "translate/model_id.h"
#include "upstream/relay.h"

/* Fetches GET /models and keeps picker-enabled and embedding models. */
static GW_MUST_CHECK enum gw_err
models_fetch(struct worker *w, cJSON **out, int64_t *at, struct buf *errmsg)
{
	struct copilot_req rq;
	struct relay_result res;
	cJSON *doc = NULL, *data, *keep = NULL, *m;
	const char *type;
	char *s = NULL;
	enum gw_err e;

	memset(&rq, 0, sizeof(rq));
	memset(&res, 0, sizeof(res));
	rq.method = "GET";
	rq.path = "/models";
	rq.call.interaction_type = "model-access";
	rq.call.intent = "model-access";
	if ((e = app_copilot_call(w, &rq, NULL, NULL, &res, errmsg)) != GW_OK)
		goto out;
	if (res.status / 100 != 2) {
		e = GW_EUPSTREAM;
		/* best effort: e is returned whatever the message says */
		GW_IGNORE(buf_printf(errmsg, "GET /models: HTTP %ld: %.300s",
		    res.status, buf_cstr(&res.resp.body)));
		goto out;
	}
	doc = json_parse(res.resp.body.data, res.resp.body.len, NULL, NULL);
	if ((data = json_arr(doc, "data")) == NULL) {
		e = GW_EUPSTREAM;
		/* best effort: e is returned whatever the message says */
		GW_IGNORE(buf_puts(errmsg,
		    "GET /models: the answer has no data array"));
		goto out;
	}
	if ((keep = cJSON_CreateArray()) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	while ((m = cJSON_DetachItemFromArray(data, 0)) != NULL) {
		type = json_str(json_obj(m, "capabilities"), "type");
		if (json_bool(m, "model_picker_enabled", 0) ||
		    (type != NULL && strcmp(type, "embeddings") == 0))
			cJSON_AddItemToArray(keep, m);
		else
			cJSON_Delete(m);
	}
	if ((s = json_print(keep)) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	*at = util_now_ms();
	if ((w->acct[0] != '\0' ? accounts_models_put(w->db, w->acct, s, *at) :
	    db_models_put(w->db, s, *at)) != GW_OK)
		log_warn("could not store the model list in the database");
	*out = keep;
	keep = NULL;
out:
	cJSON_free(s);
	cJSON_Delete(keep);
	cJSON_Delete(doc);
	relay_result_free(&res);
	return e;
}

/*
 * The process's parsed lists, one per account (the default's key is ""),
 * shared by its worker threads (a pool of hundreds of threads keeps one
 * copy): a reference-counted holder that a newer list replaces; a worker
 * holds a reference to the one it was last given (models_get's borrowed
 * pointer) until its next call.  mu guards every field and every holder's
 * refs.
 */
struct models_ref {
	cJSON *list;
	int refs;
};

struct slot {
	char account[ACCOUNTS_NAME_MAX + 1];   /* UNION_KEY: the pool's */
	char *sig;                /* the union's: its members' list times */
	struct models_ref *cur;
	int64_t cur_at;           /* when Copilot sent it */
	int64_t cur_checked_ms;   /* when the database was last asked */
};

#define MODELS_SLOTS 64
/* The union of the pool's lists (not an account name: '*' is not allowed) */
#define UNION_KEY "*"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[MODELS_SLOTS];
static size_t nslots;

/* mu held. */
static void
ref_drop(struct models_ref *r)
{
	if (r != NULL && --r->refs == 0) {
		cJSON_Delete(r->list);
		free(r);
	}
}

/* The slot of key, an account ("" the default) or UNION_KEY (mu held);
 * the last one is reused when there are more accounts than slots, so a
 * list is never shared by two. */
static struct slot *
slot_of(const char *key)
{
	size_t i;
	struct slot *sl;

	for (i = 0; i < nslots; i++)
		if (strcmp(slots[i].account, key) == 0)
			return &slots[i];
	if (nslots < MODELS_SLOTS)
		sl = &slots[nslots++];
	else {
		sl = &slots[MODELS_SLOTS - 1];
		ref_drop(sl->cur);
		free(sl->sig);
	}
	memset(sl, 0, sizeof(*sl));
	snprintf(sl->account, sizeof(sl->account), "%s", key);
	return sl;
}

/* Makes list the current one of sl (mu held); it is freed on failure. */
static GW_MUST_CHECK enum gw_err
keep(struct slot *sl, cJSON *list, int64_t at, int64_t now)
{
	struct models_ref *r = malloc(sizeof(*r));

	if (r == NULL) {
		cJSON_Delete(list);
		return GW_ENOMEM;
	}
	r->list = list;
	r->refs = 1;                     /* the slot's own */
	ref_drop(sl->cur);
	sl->cur = r;
	sl->cur_at = at;
	sl->cur_checked_ms = now;
	return GW_OK;
}

/* The stored list of w's account (db_models_get for the default). */
static enum gw_err
stored(struct worker *w, char **json, int64_t *at)
{
	return w->acct[0] != '\0' ? accounts_models_get(w->db, w->acct, json, at) :
	    db_models_get(w->db, json, at);
}

/* The stored list made current (mu held), parsed only when it is not the
 * current one.  GW_ENOTFOUND when none is stored (or it is unreadable). */
static enum gw_err
load(struct worker *w, struct slot *sl, int64_t now)
{
	char *json = NULL;
	int64_t at = 0;
	cJSON *list;

	if (stored(w, NULL, &at) != GW_OK)
		return GW_ENOTFOUND;
	if (sl->cur != NULL && at == sl->cur_at) {
		sl->cur_checked_ms = now;
		return GW_OK;
	}
	if (stored(w, &json, &at) != GW_OK)
		return GW_ENOTFOUND;
	list = json_parse(json, strlen(json), NULL, NULL);
	free(json);
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(list);
		return GW_ENOTFOUND;
	}
	return keep(sl, list, at, now);
}

/* The current list of sl to w (mu held): w's reference moves to it. */
static const cJSON *
hand_out(struct worker *w, struct slot *sl)
{
	sl->cur->refs++;
	ref_drop(w->models);
	w->models = sl->cur;
	w->models_release = models_release;
	return sl->cur->list;
}

/*
 * w's account's list made current in sl (mu held): loaded, or fetched
 * when missing or old (force: always); a failed refresh keeps the old
 * list.  *fetched: whether it came from Copilot.
 */
static GW_MUST_CHECK enum gw_err
refresh(struct worker *w, struct slot *sl, int force, int *fetched,
    struct buf *errmsg)
{
	int64_t now = util_now_ms(), at = 0;
	cJSON *list = NULL;
	enum gw_err e;

	*fetched = 0;
	if (!force && (sl->cur == NULL ||
	    now - sl->cur_checked_ms >= MODELS_RECHECK_MS ||
	    now - sl->cur_at >= MODELS_MAX_AGE_MS))
		GW_IGNORE(load(w, sl, now)); /* none stored: fetched below */
	if (sl->cur != NULL && !force && now - sl->cur_at < MODELS_MAX_AGE_MS)
		return GW_OK;
	if ((e = models_fetch(w, &list, &at, errmsg)) == GW_OK &&
	    (e = keep(sl, list, at, now)) == GW_OK)
		*fetched = 1;
	else if (sl->cur != NULL) {
		/* A failed refresh keeps serving the old list. */
		log_warn("model list refresh failed (%s); using the cached list",
		    buf_cstr(errmsg));
		buf_reset(errmsg);
		e = GW_OK;
	}
	return e;
}

void
models_release(struct worker *w)
{
	pthread_mutex_lock(&mu);
	ref_drop(w->models);
	w->models = NULL;
	pthread_mutex_unlock(&mu);
}

/* Appends to u the entries of list whose id u does not have yet. */
static GW_MUST_CHECK enum gw_err
merge(cJSON *u, const cJSON *list)
{
	const cJSON *m;
	cJSON *c;

	cJSON_ArrayForEach(m, list) {
		if (models_find(u, json_str(m, "id")) != NULL)
			continue;
		if ((c = cJSON_Duplicate(m, 1)) == NULL)
			return GW_ENOMEM;
		cJSON_AddItemToArray(u, c);
	}
	return GW_OK;
}

/*
 * The union of the lists of w->pool_members (mu held): each member's list
 * made current as models_get does, then merged in member order (the first
 * entry of an id wins), rebuilt only when a member's list changed.  A
 * member without a list is left out (logged); none at all is the error.
 */
static GW_MUST_CHECK enum gw_err
union_get(struct worker *w, int force, const cJSON **out, struct buf *errmsg)
{
	char saved[sizeof(w->acct)];
	struct buf sig = BUF_INIT;
	struct slot *sl, *u;
	cJSON *list = NULL;
	size_t i;
	int got, any = 0;
	enum gw_err e = GW_OK, last = GW_ENOTFOUND;

	memcpy(saved, w->acct, sizeof(saved));
	for (i = 0; i < w->pool_members.n && e == GW_OK; i++) {
		snprintf(w->acct, sizeof(w->acct), "%s", w->pool_members.v[i]);
		sl = slot_of(w->acct);
		if ((last = refresh(w, sl, force, &got, errmsg)) != GW_OK) {
			log_warn("account %s: no model list (%s)", w->acct[0] ?
			    w->acct : "default", buf_cstr(errmsg));
			continue;
		}
		any = 1;
		e = buf_printf(&sig, "%s=%lld;", w->acct, (long long)sl->cur_at);
	}
	memcpy(w->acct, saved, sizeof(saved));
	if (e != GW_OK || !any) {
		e = e != GW_OK ? e : last;
		goto out;
	}
	buf_reset(errmsg);             /* a member's failure is logged */
	u = slot_of(UNION_KEY);
	if (u->cur == NULL || u->sig == NULL || strcmp(u->sig, sig.data) != 0) {
		if ((list = cJSON_CreateArray()) == NULL) {
			e = GW_ENOMEM;
			goto out;
		}
		for (i = 0; i < w->pool_members.n && e == GW_OK; i++) {
			sl = slot_of(w->pool_members.v[i]);
			if (sl->cur != NULL)
				e = merge(list, sl->cur->list);
		}
		if (e != GW_OK) {
			cJSON_Delete(list);
			goto out;
		}
		/* keep frees the list when it fails */
		if ((e = keep(u, list, util_now_ms(), util_now_ms())) != GW_OK)
			goto out;
		free(u->sig);
		u->sig = buf_detach(&sig);
	}
	*out = hand_out(w, u);
out:
	buf_free(&sig);
	return e;
}

enum gw_err
models_get(struct worker *w, int force, const cJSON **out, int *fetched,
    struct buf *errmsg)
{
	struct slot *sl;
	int got = 0;
	enum gw_err e;

	*out = NULL;
	/* one thread of the process looks, fetches or parses at a time; the
	 * others wait for its list rather than fetch their own */
	pthread_mutex_lock(&mu);
	if (w->pool_members.n > 1)
		e = union_get(w, force, out, errmsg);
	else if ((e = refresh(w, sl = slot_of(w->acct), force, &got,
	    errmsg)) == GW_OK)
		*out = hand_out(w, sl);
	pthread_mutex_unlock(&mu);
	if (fetched != NULL)
		*fetched = got;
	return e;
}

int
models_offers(struct worker *w, const char *model)
{
	struct slot *sl;
	struct buf err = BUF_INIT;
	int got, r = 0;

	pthread_mutex_lock(&mu);
	sl = slot_of(w->acct);
	if (refresh(w, sl, 0, &got, &err) == GW_OK)
		r = tr_model_resolve(sl->cur->list, model) != NULL;
	else
		log_warn("account %s: no model list (%s)", w->acct[0] != '\0' ?
		    w->acct : "default", buf_cstr(&err));
	pthread_mutex_unlock(&mu);
	buf_free(&err);
	return r;
}

const cJSON *
models_find(const cJSON *list, const char *id)
{
	const cJSON *m;
	const char *mid;

	if (id == NULL)
		return NULL;
	cJSON_ArrayForEach(m, list) {
		mid = json_str(m, "id");
		if (mid != NULL && strcmp(mid, id) == 0)
			return m;
	}
	return NULL;
}

int
models_supports(const cJSON *model, const char *ep)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, json_arr(model, "supported_endpoints"))
		if (cJSON_IsString(e) && strcmp(e->valuestring, ep) == 0)
			return 1;
	return 0;
}

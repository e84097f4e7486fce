/* The cached Copilot model list: fetched, stored, looked up. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "app/copilot_call.h"
#include "app/models.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
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
	if (db_models_put(w->db, s, *at) != GW_OK)
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
 * The process's parsed list, shared by its worker threads (a pool of
 * hundreds of threads keeps one copy): a reference-counted holder that a
 * newer list replaces; a worker holds a reference to the one it was last
 * given (models_get's borrowed pointer) until its next call.  mu guards
 * every field and every holder's refs.
 */
struct models_ref {
	cJSON *list;
	int refs;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct models_ref *cur;
static int64_t cur_at;           /* when Copilot sent it */
static int64_t cur_checked_ms;   /* when the database was last asked */

/* mu held. */
static void
ref_drop(struct models_ref *r)
{
	if (r != NULL && --r->refs == 0) {
		cJSON_Delete(r->list);
		free(r);
	}
}

/* Makes list the current one (mu held); it is freed on failure. */
static GW_MUST_CHECK enum gw_err
keep(cJSON *list, int64_t at, int64_t now)
{
	struct models_ref *r = malloc(sizeof(*r));

	if (r == NULL) {
		cJSON_Delete(list);
		return GW_ENOMEM;
	}
	r->list = list;
	r->refs = 1;                     /* cur's own */
	ref_drop(cur);
	cur = r;
	cur_at = at;
	cur_checked_ms = now;
	return GW_OK;
}

/* The stored list made current (mu held), parsed only when it is not the
 * current one.  GW_ENOTFOUND when none is stored (or it is unreadable). */
static enum gw_err
load(struct worker *w, int64_t now)
{
	char *json = NULL;
	int64_t at = 0;
	cJSON *list;

	if (db_models_get(w->db, NULL, &at) != GW_OK)
		return GW_ENOTFOUND;
	if (cur != NULL && at == cur_at) {
		cur_checked_ms = now;
		return GW_OK;
	}
	if (db_models_get(w->db, &json, &at) != GW_OK)
		return GW_ENOTFOUND;
	list = json_parse(json, strlen(json), NULL, NULL);
	free(json);
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(list);
		return GW_ENOTFOUND;
	}
	return keep(list, at, now);
}

/* The current list to w (mu held): w's reference moves to it. */
static const cJSON *
hand_out(struct worker *w)
{
	cur->refs++;
	ref_drop(w->models);
	w->models = cur;
	w->models_release = models_release;
	return cur->list;
}

void
models_release(struct worker *w)
{
	pthread_mutex_lock(&mu);
	ref_drop(w->models);
	w->models = NULL;
	pthread_mutex_unlock(&mu);
}

enum gw_err
models_get(struct worker *w, int force, const cJSON **out, int *fetched,
    struct buf *errmsg)
{
	int64_t now = util_now_ms(), at = 0;
	cJSON *list = NULL;
	enum gw_err e = GW_OK;

	*out = NULL;
	if (fetched != NULL)
		*fetched = 0;
	/* one thread of the process looks, fetches or parses at a time; the
	 * others wait for its list rather than fetch their own */
	pthread_mutex_lock(&mu);
	if (!force && (cur == NULL || now - cur_checked_ms >= MODELS_RECHECK_MS ||
	    now - cur_at >= MODELS_MAX_AGE_MS))
		GW_IGNORE(load(w, now)); /* none stored: fetched below */
	if (cur != NULL && !force && now - cur_at < MODELS_MAX_AGE_MS) {
		*out = hand_out(w);
		goto out;
	}
	if ((e = models_fetch(w, &list, &at, errmsg)) == GW_OK &&
	    (e = keep(list, at, now)) == GW_OK) {
		if (fetched != NULL)
			*fetched = 1;
		*out = hand_out(w);
	} else if (cur != NULL) {
		/* A failed refresh keeps serving the old list. */
		log_warn("model list refresh failed (%s); using the cached list",
		    buf_cstr(errmsg));
		buf_reset(errmsg);
		*out = hand_out(w);
		e = GW_OK;
	}
out:
	pthread_mutex_unlock(&mu);
	return e;
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

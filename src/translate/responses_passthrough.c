/*
 * /v1/responses passthrough (translation.md §10.2 step 6, surface §2.8
 * step 11).
 *
 * Copilot gives one output item a different id in nearly every event
 * (added, deltas, done), which breaks clients that track items by id
 * (@ai-sdk/openai).  We remember the id each item was added with, per
 * output_index, and put it back everywhere else.  Events that need no
 * repair go out byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/responses_passthrough.h"

struct item_id {
	long output_index;
	char *id;
};

struct rpass {
	struct tr_stream base; /* first: the translator is freed through it */
	struct item_id *ids;
	size_t nids, cap;
	double last_seq;       /* highest sequence_number seen, -1 none */
	int finished;          /* finish() wrote its error */
};

static struct item_id *
find_id(struct rpass *p, long oi)
{
	size_t i;

	for (i = p->nids; i-- > 0;)        /* newest first: the usual hit */
		if (p->ids[i].output_index == oi)
			return &p->ids[i];
	return NULL;
}

static GW_MUST_CHECK enum gw_err
remember(struct rpass *p, long oi, const char *id)
{
	struct item_id *it = find_id(p, oi), *n;
	char *copy = strdup(id);

	if (copy == NULL)
		return GW_ENOMEM;
	if (it == NULL) {
		if (p->nids == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 8;

			if ((n = realloc(p->ids, cap * sizeof(*n))) == NULL) {
				free(copy);
				return GW_ENOMEM;
			}
			p->ids = n;
			p->cap = cap;
		}
		it = &p->ids[p->nids++];
		it->output_index = oi;
	} else
		free(it->id);
	it->id = copy;
	return GW_OK;
}

/* "oi_<output_index>_<16 random base-36 characters>" */
static GW_MUST_CHECK enum gw_err
invent_id(long oi, char *out, size_t size)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "oi_%ld_", oi);
	return util_random_id(prefix, UTIL_ID_BASE36, 16, out, size);
}

/* Sets obj[key] = s unless it already is s; *changed says whether it
 * did. */
static GW_MUST_CHECK enum gw_err
set_str(cJSON *obj, const char *key, const char *s, int *changed)
{
	cJSON *v;

	if (util_streq(json_str(obj, key), s))
		return GW_OK;
	if ((v = cJSON_CreateString(s)) == NULL)
		return GW_ENOMEM;
	*changed = 1;
	return json_set(obj, key, v);
}

/* The id repair; *changed when ev was modified. */
static GW_MUST_CHECK enum gw_err
repair(struct rpass *p, const char *type, cJSON *ev, int *changed)
{
	const cJSON *oiv = cJSON_GetObjectItemCaseSensitive(ev, "output_index");
	cJSON *item = json_obj(ev, "item");
	const struct item_id *known;
	const char *id;
	char made[64];
	long oi;
	enum gw_err e;

	if (!cJSON_IsNumber(oiv))
		return GW_OK;
	oi = json_long(ev, "output_index", 0);
	if (util_streq(type, "response.output_item.added") && item != NULL) {
		id = json_str(item, "id");
		if (id == NULL || *id == '\0') {
			if ((e = invent_id(oi, made, sizeof(made))) != GW_OK ||
			    (e = set_str(item, "id", made, changed)) != GW_OK)
				return e;
			id = made;
		}
		return remember(p, oi, id);
	}
	if ((known = find_id(p, oi)) == NULL)
		return GW_OK;
	if (util_streq(type, "response.output_item.done") && item != NULL)
		return set_str(item, "id", known->id, changed);
	return set_str(ev, "item_id", known->id, changed);
}

/* A terminal event: its response's usage, and Copilot's charge beside it. */
static void
sniff_usage(struct rpass *p, const cJSON *ev)
{
	const cJSON *resp = json_obj(ev, "response");
	const cJSON *u = json_obj(resp, "usage");
	const char *model = json_str(resp, "model");
	struct tr_usage *us = &p->base.usage;

	if (model != NULL)
		snprintf(us->model, sizeof(us->model), "%s", model);
	tr_usage_copilot(us, ev);
	if (u != NULL)
		tr_usage_from_json(us, u);
}

static GW_MUST_CHECK enum gw_err
rp_feed(struct tr_stream *t, const char *name, const char *data, size_t len,
    struct tr_sink *out)
{
	struct rpass *p = (struct rpass *)t;
	cJSON *ev = len > 0 ? json_parse(data, len, NULL, NULL) : NULL;
	const char *type;
	char *s = NULL;
	int changed = 0;
	enum gw_err e = GW_OK;

	if (!cJSON_IsObject(ev)) {
		if (strcmp(data, "[DONE]") == 0)
			t->done = 1;
		cJSON_Delete(ev);
		return out->emit(out->ctx, name, data, len);
	}
	type = json_str(ev, "type");
	if (type == NULL)
		type = name;
	if (name == NULL)
		name = type;    /* an event without its name gets it back */
	if (json_num(ev, "sequence_number", -1) > p->last_seq)
		p->last_seq = json_num(ev, "sequence_number", -1);
	if (util_streq(type, "response.completed") ||
	    util_streq(type, "response.incomplete") ||
	    util_streq(type, "response.failed")) {
		sniff_usage(p, ev);
		t->done = 1;
	} else if (util_streq(type, "error"))
		t->done = 1;
	else if ((e = repair(p, type, ev, &changed)) != GW_OK)
		goto out;
	if (!changed)
		e = out->emit(out->ctx, name, data, len);
	else if ((s = json_print(ev)) == NULL)
		e = GW_ENOMEM;
	else
		e = out->emit(out->ctx, name, s, strlen(s));
out:
	cJSON_free(s);
	cJSON_Delete(ev);
	return e;
}

static GW_MUST_CHECK enum gw_err
rp_ping(struct tr_stream *t, struct tr_sink *out)
{
	(void)t;
	return out->comment(out->ctx, "keep-alive");
}

/*
 * The stream failed.  The error event carries the documented Responses
 * shape (type, code, message, param, sequence_number: what @ai-sdk/openai
 * validates, with a string code) and an `error` object (what the openai
 * SDK reads for its APIError message; it throws on any `event: error`).
 */
static GW_MUST_CHECK enum gw_err
rp_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct rpass *p = (struct rpass *)t;
	const char *code = status == GW_ETIMEOUT ? "timeout_error" : "api_error";
	cJSON *ev = NULL, *err;
	char *s = NULL;
	enum gw_err e = GW_ENOMEM;

	if (t->done || p->finished)
		return GW_OK;
	p->finished = 1;
	if (message == NULL)
		message = status == GW_OK ?
		    "Responses stream ended without completion" :
		    gw_strerror(status);
	if ((ev = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(ev, "type", "error") == NULL ||
	    cJSON_AddStringToObject(ev, "code", code) == NULL ||
	    cJSON_AddStringToObject(ev, "message", message) == NULL ||
	    cJSON_AddNullToObject(ev, "param") == NULL ||
	    cJSON_AddNumberToObject(ev, "sequence_number", p->last_seq + 1)
	    == NULL ||
	    (err = cJSON_AddObjectToObject(ev, "error")) == NULL ||
	    cJSON_AddStringToObject(err, "type", code) == NULL ||
	    cJSON_AddStringToObject(err, "code", code) == NULL ||
	    cJSON_AddStringToObject(err, "message", message) == NULL ||
	    cJSON_AddNullToObject(err, "param") == NULL ||
	    (s = json_print(ev)) == NULL)
		goto out;
	e = out->emit(out->ctx, "error", s, strlen(s));
out:
	cJSON_free(s);
	cJSON_Delete(ev);
	return e;
}

static void
rp_free(struct tr_stream *t)
{
	struct rpass *p = (struct rpass *)t;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nids; i++)
		free(p->ids[i].id);
	free(p->ids);
	free(p);
}

static const struct tr_stream_ops rpass_ops = {
	"responses-passthrough", rp_feed, rp_ping, rp_finish, rp_free,
};

enum gw_err
tr_responses_passthrough_new(struct tr_stream **out)
{
	struct rpass *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return GW_ENOMEM;
	p->base.ops = &rpass_ops;
	tr_usage_init(&p->base.usage);
	p->last_seq = -1;
	*out = &p->base;
	return GW_OK;
}

/* ---- a first `error` event held back (1.14.7, 141f86f) ------------------- */

struct first_error {
	struct tr_wrap w;
	int seen;                    /* an event or a ping went by */
	int empty;                   /* it ended before any */
	cJSON *err;                  /* the held first event */
};

static GW_MUST_CHECK enum gw_err
fe_feed(struct tr_stream *t, const char *event, const char *data, size_t len,
    struct tr_sink *out)
{
	struct first_error *f = (struct first_error *)t;
	const char *type;
	cJSON *v;

	if (!f->seen) {
		f->seen = 1;
		v = json_parse(data, len, NULL, NULL);
		type = json_str(v, "type");
		if (type != NULL && strcmp(type, "error") == 0) {
			f->err = v;
			return GW_EUPSTREAM;
		}
		cJSON_Delete(v);
	}
	return tr_wrap_feed(t, event, data, len, out);
}

static GW_MUST_CHECK enum gw_err
fe_ping(struct tr_stream *t, struct tr_sink *out)
{
	((struct first_error *)t)->seen = 1;
	return tr_wrap_ping(t, out);
}

static GW_MUST_CHECK enum gw_err
fe_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct first_error *f = (struct first_error *)t;

	/* held, or nothing came (1.14.7, a352e47): the route answers it; the
	 * client stream never started */
	(void)status;
	if (!f->seen)
		f->empty = 1;
	if (f->err != NULL || f->empty)
		return GW_OK;
	return tr_wrap_finish(t, status, message, out);
}

static void
fe_free(struct tr_stream *t)
{
	if (t == NULL)
		return;
	cJSON_Delete(((struct first_error *)t)->err);
	tr_wrap_free(t);
}

static const struct tr_stream_ops first_error_ops = {
	"responses-first-error", fe_feed, fe_ping, fe_finish, fe_free,
};

enum gw_err
tr_responses_first_error_new(struct tr_stream *inner, struct tr_stream **out)
{
	struct first_error *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		tr_stream_free(inner);
		return GW_ENOMEM;
	}
	tr_wrap_init(&f->w, &first_error_ops, inner);
	*out = &f->w.base;
	return GW_OK;
}

int
tr_responses_stream_empty(const struct tr_stream *t)
{
	return t != NULL && t->ops == &first_error_ops &&
	    ((const struct first_error *)t)->empty;
}

const cJSON *
tr_responses_first_error(const struct tr_stream *t)
{
	return t != NULL && t->ops == &first_error_ops ?
	    ((const struct first_error *)t)->err : NULL;
}

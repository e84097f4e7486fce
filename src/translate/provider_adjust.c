#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "translate/provider_adjust.h"

static long
count_or_zero(const cJSON *usage, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ?
	    (v->valuedouble > 1e15 ? (long)1e15 : (long)v->valuedouble) : 0;
}

void
tr_adjust_input_tokens(cJSON *usage)
{
	cJSON *in = cJSON_GetObjectItemCaseSensitive(usage, "input_tokens");
	long n;

	if (!cJSON_IsNumber(in))
		return;
	n = count_or_zero(usage, "input_tokens") -
	    count_or_zero(usage, "cache_read_input_tokens") -
	    count_or_zero(usage, "cache_creation_input_tokens");
	cJSON_SetNumberValue(in, n > 0 ? (double)n : 0.0);
}

/* ---- the anthropic provider's stream ----------------------------------- */

/* Pings and ends like the Anthropic passthrough; no inner translator. */
struct panth {
	struct tr_stream base;      /* first: freed through it */
	int adjust;
};

/* Only the counts this usage object carries: message_delta may report
 * output_tokens alone, and message_start's input must survive it. */
static void
merge_usage(struct tr_usage *u, const cJSON *usage)
{
	static const char *const keys[] = { "input_tokens", "output_tokens",
	    "cache_read_input_tokens", "cache_creation_input_tokens" };
	long *slots[4];
	const cJSON *v;
	size_t i;

	slots[0] = &u->input_tokens;
	slots[1] = &u->output_tokens;
	slots[2] = &u->cache_read_tokens;
	slots[3] = &u->cache_creation_tokens;
	for (i = 0; i < 4; i++) {
		v = cJSON_GetObjectItemCaseSensitive(usage, keys[i]);
		if (cJSON_IsNumber(v))
			*slots[i] = count_or_zero(usage, keys[i]);
	}
}

static int
is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* message_start / message_delta: usage read (and adjusted), re-serialised
 * only when adjusting changed what the client sees. */
static enum gw_err
usage_event(struct panth *p, const char *event, const char *kind, cJSON *v,
    struct tr_sink *out, int *sent)
{
	cJSON *msg = json_obj(v, "message");
	cJSON *usage = is(kind, "message_start") ? json_obj(msg, "usage") :
	    json_obj(v, "usage");
	const char *model = json_str(msg, "model");
	enum gw_err e = GW_OK;
	char *s;

	*sent = 0;
	if (model != NULL)
		snprintf(p->base.usage.model, sizeof(p->base.usage.model), "%s",
		    model);
	if (usage == NULL)
		return GW_OK;
	if (p->adjust)
		tr_adjust_input_tokens(usage);
	merge_usage(&p->base.usage, usage);
	if (!p->adjust)
		return GW_OK;
	if ((s = json_print(v)) == NULL)
		return GW_ENOMEM;
	e = out->emit(out->ctx, event, s, strlen(s));
	cJSON_free(s);
	*sent = 1;
	return e;
}

static enum gw_err
pa_feed(struct tr_stream *t, const char *event, const char *data, size_t len,
    struct tr_sink *out)
{
	struct panth *p = (struct panth *)t;
	const char *kind = event;
	cJSON *v = NULL;
	enum gw_err e = GW_OK;
	int sent = 0;

	if (len == 0)
		return GW_OK;
	if (strcmp(data, "[DONE]") == 0) {
		t->done = 1;
		return GW_OK;
	}
	if (is(event, "ping"))
		return tr_anthropic_ping(out);
	/* A bare data event says what it is in its type. */
	if (kind == NULL || is(kind, "message_start") || is(kind, "message_delta")) {
		v = json_parse(data, len, NULL, NULL);
		if (kind == NULL)
			kind = json_str(v, "type");
	}
	if (v != NULL && (is(kind, "message_start") || is(kind, "message_delta")))
		e = usage_event(p, event, kind, v, out, &sent);
	if (e == GW_OK && !sent)
		e = out->emit(out->ctx, event, data, len);
	if (is(kind, "message_stop") || is(kind, "error"))
		t->done = 1;
	cJSON_Delete(v);
	return e;
}

static enum gw_err
pa_ping(struct tr_stream *t, struct tr_sink *out)
{
	(void)t;
	return tr_anthropic_ping(out);
}

static enum gw_err
pa_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	return tr_passthrough_end(GW_DIALECT_ANTHROPIC, t->done, status,
	    message, out);
}

static void
pa_free(struct tr_stream *t)
{
	free(t);
}

static const struct tr_stream_ops panth_ops = {
	"provider-anthropic", pa_feed, pa_ping, pa_finish, pa_free,
};

enum gw_err
tr_provider_anthropic_new(int adjust, struct tr_stream **out)
{
	struct panth *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL)
		return GW_ENOMEM;
	p->base.ops = &panth_ops;
	tr_usage_init(&p->base.usage);
	p->adjust = adjust;
	*out = &p->base;
	return GW_OK;
}

/* ---- the named wrapper -------------------------------------------------- */

struct pnamed {
	struct tr_wrap w;           /* first: freed through it */
	char *message;              /* "<provider> stream ended ..." */
};

static enum gw_err
pn_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct pnamed *p = (struct pnamed *)t;

	if (status == GW_EUPSTREAM && !p->w.inner->done)
		message = p->message;
	return tr_wrap_finish(t, status, message, out);
}

static void
pn_free(struct tr_stream *t)
{
	if (t != NULL)
		free(((struct pnamed *)t)->message);
	tr_wrap_free(t);
}

static const struct tr_stream_ops pnamed_ops = {
	"provider-named", tr_wrap_feed, tr_wrap_ping, pn_finish, pn_free,
};

enum gw_err
tr_provider_named_new(struct tr_stream *inner, const char *provider,
    struct tr_stream **out)
{
	struct pnamed *p = calloc(1, sizeof(*p));
	struct buf m = BUF_INIT;

	*out = NULL;
	if (p == NULL || buf_printf(&m, "%s stream ended without a completion "
	    "event", provider != NULL ? provider : "provider") != GW_OK) {
		free(p);
		buf_free(&m);
		tr_stream_free(inner);
		return GW_ENOMEM;
	}
	tr_wrap_init(&p->w, &pnamed_ops, inner);
	p->message = buf_detach(&m);
	*out = &p->w.base;
	return GW_OK;
}

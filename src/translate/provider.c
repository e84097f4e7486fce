/*
 * Third-party providers' payloads (model defaults, extraBody, the Chat
 * form, context cache markers, the local token count) and their stream
 * translators (the anthropic relay, the named wrapper).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "tokenize/count.h"
#include "translate/anthropic_chat.h"
#include "translate/provider.h"

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
	u->input_net = 1;
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
static GW_MUST_CHECK enum gw_err
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

static GW_MUST_CHECK enum gw_err
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

static GW_MUST_CHECK enum gw_err
pa_ping(struct tr_stream *t, struct tr_sink *out)
{
	(void)t;
	return tr_anthropic_ping(out);
}

static GW_MUST_CHECK enum gw_err
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

static GW_MUST_CHECK enum gw_err
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

/* ---- per-model options and payloads (spec translation.md §11) ---------- */

/* Chat translator flags from toolContentSupportType ("array", "image",
 * "pdf"); none by default. */
static unsigned
prov_tool_content(const cJSON *mopts)
{
	const cJSON *v;
	unsigned f = 0;

	cJSON_ArrayForEach(v, json_arr(mopts, "toolContentSupportType")) {
		if (!cJSON_IsString(v))
			continue;
		if (strcmp(v->valuestring, "array") == 0)
			f |= TR_TOOL_ARRAY;
		else if (strcmp(v->valuestring, "image") == 0)
			f |= TR_TOOL_IMAGE;
		else if (strcmp(v->valuestring, "pdf") == 0)
			f |= TR_TOOL_PDF;
	}
	return f;
}

/* supportPdf (default false). */
static int
prov_support_pdf(const cJSON *mopts)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mopts, "supportPdf"));
}

static int
has(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key) != NULL;
}

/* obj[key] = copy of v. */
static GW_MUST_CHECK enum gw_err
set_copy(cJSON *obj, const char *key, const cJSON *v)
{
	cJSON *c = cJSON_Duplicate(v, 1);

	return c == NULL ? GW_ENOMEM : json_set(obj, key, c);
}

enum gw_err
prov_apply_model_defaults(cJSON *a, const cJSON *mopts)
{
	static const char *const map[][2] = {
		{ "temperature", "temperature" }, { "top_p", "topP" },
		{ "top_k", "topK" },
	};
	const cJSON *v;
	enum gw_err e;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(mopts, map[i][1]);
		if (!cJSON_IsNumber(v) || has(a, map[i][0]))
			continue;
		if ((e = set_copy(a, map[i][0], v)) != GW_OK)
			return e;
	}
	return GW_OK;
}

enum gw_err
prov_anthropic_payload(cJSON *a, const cJSON *mopts)
{
	const cJSON *v;
	enum gw_err e;

	cJSON_ArrayForEach(v, json_obj(mopts, "extraBody")) {
		if (has(a, v->string))
			continue;
		if ((e = set_copy(a, v->string, v)) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* ---- openai-compatible ------------------------------------------------- */

static int
cache_eligible(const cJSON *m)
{
	static const char *const roles[] = { "system", "user", "assistant",
	    "tool" };
	const char *role = json_str(m, "role");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	size_t i;

	if (role == NULL)
		return 0;
	for (i = 0; i < 4; i++)
		if (strcmp(role, roles[i]) == 0)
			break;
	if (i == 4)
		return 0;
	return (cJSON_IsString(c) && *c->valuestring != '\0') ||
	    (cJSON_IsArray(c) && cJSON_GetArraySize(c) > 0);
}

static GW_MUST_CHECK enum gw_err
add_marker(cJSON *part)
{
	cJSON *cc = cJSON_CreateObject();

	if (cc == NULL || cJSON_AddStringToObject(cc, "type", "ephemeral") == NULL) {
		cJSON_Delete(cc);
		return GW_ENOMEM;
	}
	return json_set(part, "cache_control", cc);
}

/* A string becomes one marked text part; an array gets its last part
 * marked. */
static GW_MUST_CHECK enum gw_err
mark_message(cJSON *m)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	cJSON *arr, *part;

	if (cJSON_IsArray(c))
		return cJSON_IsObject(cJSON_GetArrayItem(c, cJSON_GetArraySize(c) - 1)) ?
		    add_marker(cJSON_GetArrayItem(c, cJSON_GetArraySize(c) - 1)) :
		    GW_OK;
	if ((part = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(part, "type", "text") == NULL ||
	    cJSON_AddStringToObject(part, "text", c->valuestring) == NULL ||
	    add_marker(part) != GW_OK ||
	    (arr = cJSON_CreateArray()) == NULL) {
		cJSON_Delete(part);
		return GW_ENOMEM;
	}
	cJSON_AddItemToArray(arr, part);
	return json_set(m, "content", arr);
}

/* §11.3 step 10: cache_control {"type":"ephemeral"} on the first two
 * system messages and the last last_n other ones with content (1.14.7
 * marks one, 966003a; two before). */
static GW_MUST_CHECK enum gw_err
prov_context_cache(cJSON *chat, int last_n)
{
	cJSON *msgs = json_arr(chat, "messages");
	int n = cJSON_GetArraySize(msgs), i, sys = 0, other = 0;
	int pick[4], npick = 0, k, dup;
	cJSON *m;
	enum gw_err e;

	for (i = 0; i < n && sys < 2; i++) {
		m = cJSON_GetArrayItem(msgs, i);
		if (cache_eligible(m) && strcmp(json_str(m, "role"), "system") == 0) {
			pick[npick++] = i;
			sys++;
		}
	}
	for (i = n - 1; i >= 0 && other < last_n; i--) {
		m = cJSON_GetArrayItem(msgs, i);
		if (!cache_eligible(m) || strcmp(json_str(m, "role"), "system") == 0)
			continue;
		other++;
		for (dup = 0, k = 0; k < npick; k++)
			dup |= pick[k] == i;
		if (!dup)
			pick[npick++] = i;
	}
	for (k = 0; k < npick; k++)
		if ((e = mark_message(cJSON_GetArrayItem(msgs, pick[k]))) != GW_OK)
			return e;
	return GW_OK;
}

/* §11.3 step 5: Chat upstreams other than Copilot read reasoning_content. */
static GW_MUST_CHECK enum gw_err
reasoning_history(cJSON *chat)
{
	cJSON *m, *rt;

	cJSON_ArrayForEach(m, json_arr(chat, "messages")) {
		const char *role = json_str(m, "role");

		if (role == NULL || strcmp(role, "assistant") != 0)
			continue;
		rt = cJSON_DetachItemFromObjectCaseSensitive(m, "reasoning_text");
		if (rt != NULL && !has(m, "reasoning_content"))
			cJSON_AddItemToObject(m, "reasoning_content", rt);
		else
			cJSON_Delete(rt);
		cJSON_DeleteItemFromObjectCaseSensitive(m, "reasoning_opaque");
	}
	return GW_OK;
}

int
prov_is_dashscope(const char *name, const char *base_url)
{
	return util_streq(name, "dashscope") ||
	    (base_url != NULL && strstr(base_url, "aliyuncs.com") != NULL);
}

/* Steps 2-9 on the translated body c, from the request a. */
static GW_MUST_CHECK enum gw_err
chat_options(const cJSON *a, const cJSON *mopts, int dashscope, cJSON *c)
{
	const cJSON *extra = json_obj(mopts, "extraBody");
	const cJSON *budget, *v;
	cJSON *so;
	enum gw_err e;

	budget = cJSON_GetObjectItemCaseSensitive(json_obj(a, "thinking"),
	    "budget_tokens");
	if (dashscope && cJSON_IsNumber(budget) && (e = set_copy(c,
	    "thinking_budget", budget)) != GW_OK)
		return e;
	if (has(a, "top_k") && (e = set_copy(c, "top_k",
	    cJSON_GetObjectItemCaseSensitive(a, "top_k"))) != GW_OK)
		return e;
	if (json_bool(a, "stream", 0)) {
		if ((so = cJSON_CreateObject()) == NULL ||
		    cJSON_AddTrueToObject(so, "include_usage") == NULL) {
			cJSON_Delete(so);
			return GW_ENOMEM;
		}
		if ((e = json_set(c, "stream_options", so)) != GW_OK)
			return e;
	}
	if ((e = reasoning_history(c)) != GW_OK)
		return e;
	/* The client's own value of an extraBody key wins; the rest fill. */
	cJSON_ArrayForEach(v, extra) {
		const cJSON *mine = cJSON_GetObjectItemCaseSensitive(a, v->string);

		e = GW_OK;
		if (mine != NULL)
			e = set_copy(c, v->string, mine);
		else if (!has(c, v->string))
			e = set_copy(c, v->string, v);
		if (e != GW_OK)
			return e;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(extra, "thinking_budget")) != NULL &&
	    (e = set_copy(c, "thinking_budget", v)) != GW_OK)
		return e;
	if (dashscope && !has(c, "preserve_thinking") &&
	    cJSON_AddTrueToObject(c, "preserve_thinking") == NULL)
		return GW_ENOMEM;
	if (!has(c, "parallel_tool_calls") &&
	    cJSON_AddTrueToObject(c, "parallel_tool_calls") == NULL)
		return GW_ENOMEM;
	return GW_OK;
}

/* The Chat form with the model's tool content options. */
static GW_MUST_CHECK enum gw_err
to_chat(const cJSON *a, const cJSON *mopts, cJSON **out, struct buf *errmsg)
{
	struct tr_chat_opts o;

	memset(&o, 0, sizeof(o));
	o.tool_content = prov_tool_content(mopts);
	o.support_pdf = prov_support_pdf(mopts);
	return tr_anthropic_to_chat(a, &o, out, errmsg);
}

enum gw_err
prov_chat_payload(const cJSON *a, const cJSON *mopts, int dashscope,
    cJSON **out, struct buf *errmsg)
{
	const cJSON *cc;
	cJSON *c = NULL;
	enum gw_err e;

	*out = NULL;
	if ((e = to_chat(a, mopts, &c, errmsg)) != GW_OK)
		return e;
	if ((e = chat_options(a, mopts, dashscope, c)) != GW_OK)
		goto out;
	/* contextCache ?? dashscope */
	cc = cJSON_GetObjectItemCaseSensitive(mopts, "contextCache");
	if ((cc == NULL || cJSON_IsNull(cc) ? dashscope : json_truthy(cc)) &&
	    (e = prov_context_cache(c, 1)) != GW_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	cJSON_Delete(c);
	return e;
}

enum gw_err
prov_chat_passthrough(cJSON *chat, const cJSON *mopts, int dashscope)
{
	const cJSON *cc = cJSON_GetObjectItemCaseSensitive(mopts, "contextCache");
	cJSON *so;
	enum gw_err e;

	if ((e = prov_apply_model_defaults(chat, mopts)) != GW_OK ||
	    (e = prov_anthropic_payload(chat, mopts)) != GW_OK)
		return e;
	if (json_bool(chat, "stream", 0)) {
		so = cJSON_GetObjectItemCaseSensitive(chat, "stream_options");
		if (!cJSON_IsObject(so)) {
			if ((so = cJSON_CreateObject()) == NULL)
				return GW_ENOMEM;
			if ((e = json_set(chat, "stream_options", so)) != GW_OK)
				return e;
		}
		if ((e = json_set(so, "include_usage", cJSON_CreateTrue())) != GW_OK)
			return e;
	}
	if (dashscope && !has(chat, "preserve_thinking") &&
	    cJSON_AddTrueToObject(chat, "preserve_thinking") == NULL)
		return GW_ENOMEM;
	if ((cJSON_IsTrue(cc) || (cc == NULL && dashscope)) &&
	    cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(chat, "messages")))
		return prov_context_cache(chat, 1);
	return GW_OK;
}

/* ---- count_tokens ------------------------------------------------------ */

enum gw_err
prov_count_tokens(const cJSON *a, const cJSON *mopts, long *out,
    struct buf *errmsg)
{
	cJSON *chat = NULL;
	long in = 0, outp = 0;
	enum gw_err e;

	*out = 0;
	if ((e = to_chat(a, mopts, &chat, errmsg)) != GW_OK)
		return e;
	e = tok_count_chat_model(chat, json_str(a, "model"), TOK_O200K, &in,
	    &outp);
	if (e == GW_OK)
		*out = in + outp;
	cJSON_Delete(chat);
	return e;
}

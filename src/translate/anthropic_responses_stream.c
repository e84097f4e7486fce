/*
 * Responses SSE -> Anthropic SSE (translation spec §6.3).
 *
 * Anthropic content blocks are opened lazily as deltas arrive and at most
 * one is open at a time: opening a block closes the open one.  Text and
 * thinking blocks are found again by (output_index, content_index), tool
 * blocks by output_index while their call is in progress.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/responses.h"
#include "translate/tool_search.h"

/* Copilot sometimes streams newlines into tool arguments until it runs
 * out of tokens; past this many in a row the call is abandoned. */
#define MAX_ARG_WHITESPACE 20

struct block_key {
	long output_index, content_index;
	int block;
};

/* A tool call whose arguments are still streaming. */
struct call {
	long output_index;
	int block;
	int whitespace;        /* consecutive \r \n \t in the arguments */
	char *id, *name;       /* as first opened, for a reopened block */
};

struct rstream {
	struct tr_stream base; /* first: the translator is freed through it */
	char *model;
	char *bridge;          /* the bridge tool's name for tool_search calls */
	int started;           /* message_start sent */
	int finished;          /* finish() wrote its error */
	int next_block;
	int open;              /* the open block, -1 when none */
	unsigned char *has_delta; /* per block: a delta was emitted */
	size_t has_delta_cap;
	int has_tool_call;
	int refused;           /* refusal text was streamed */
	struct block_key *keys;
	size_t nkeys, keys_cap;
	struct block_key *sums; /* summary parts (output, summary index)
	                         * that got a text delta */
	size_t nsums, sums_cap;
	struct call *calls;
	size_t ncalls, calls_cap;
};

static long
index_of(const cJSON *ev, const char *key)
{
	return json_long(ev, key, 0);
}

static GW_MUST_CHECK enum gw_err
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return GW_OK;
	while (n < need)
		n *= 2;
	if ((q = realloc(*p, n * size)) == NULL)
		return GW_ENOMEM;
	memset((char *)q + *cap * size, 0, (n - *cap) * size);
	*p = q;
	*cap = n;
	return GW_OK;
}

/* Emits ev (taken) as an event named after its type. */
static GW_MUST_CHECK enum gw_err
emit(struct tr_sink *out, cJSON *ev)
{
	char *s;
	enum gw_err e;

	if (ev == NULL)
		return GW_ENOMEM;
	if ((s = json_print(ev)) == NULL) {
		cJSON_Delete(ev);
		return GW_ENOMEM;
	}
	e = out->emit(out->ctx, json_str(ev, "type"), s, strlen(s));
	cJSON_free(s);
	cJSON_Delete(ev);
	return e;
}

static GW_MUST_CHECK enum gw_err
emit_error(struct tr_sink *out, const char *message)
{
	return tr_emit_error(GW_DIALECT_ANTHROPIC, "api_error", message, out);
}

/* ---- usage ---- */

/* The usage of a response event's response, and Copilot's charge, which
 * the event itself carries (beside its response). */
static void
take_usage(struct rstream *s, const cJSON *ev)
{
	const cJSON *resp = json_obj(ev, "response");
	const cJSON *u = json_obj(resp, "usage");
	const char *model = json_str(resp, "model");

	if (model != NULL)
		snprintf(s->base.usage.model, sizeof(s->base.usage.model), "%s",
		    model);
	tr_usage_copilot(&s->base.usage, ev);
	if (u != NULL)
		tr_usage_from_json(&s->base.usage, u);
}

/* ---- message_start ---- */

static GW_MUST_CHECK enum gw_err
message_start(struct rstream *s, const cJSON *resp, struct tr_sink *out)
{
	const cJSON *u = json_obj(resp, "usage");
	double cached = json_num(json_obj(u, "input_tokens_details"),
	    "cached_tokens", 0);
	const cJSON *wr = cJSON_GetObjectItemCaseSensitive(json_obj(u,
	    "input_tokens_details"), "cache_write_tokens");
	double w = cJSON_IsNumber(wr) ? wr->valuedouble : 0;
	const char *id = json_str(resp, "id"), *model = json_str(resp, "model");
	cJSON *ev, *m, *usage;
	char gen[29];
	enum gw_err e;

	if (id == NULL || *id == '\0') {
		/* no response to name the message after: make an id up */
		if ((e = util_random_id("msg_", UTIL_ID_HEX, 24, gen,
		    sizeof(gen))) != GW_OK)
			return e;
		id = gen;
	}
	ev = tr_resp_typed("message_start");
	if (model == NULL)
		model = s->model;
	s->started = 1;
	if (ev == NULL || (m = cJSON_AddObjectToObject(ev, "message")) == NULL ||
	    cJSON_AddStringToObject(m, "id", id) == NULL ||
	    cJSON_AddStringToObject(m, "type", "message") == NULL ||
	    cJSON_AddStringToObject(m, "role", "assistant") == NULL ||
	    cJSON_AddArrayToObject(m, "content") == NULL ||
	    cJSON_AddStringToObject(m, "model", model) == NULL ||
	    cJSON_AddNullToObject(m, "stop_reason") == NULL ||
	    cJSON_AddNullToObject(m, "stop_sequence") == NULL ||
	    (usage = cJSON_AddObjectToObject(m, "usage")) == NULL ||
	    cJSON_AddNumberToObject(usage, "input_tokens",
	    json_num(u, "input_tokens", 0) - cached - w) == NULL ||
	    cJSON_AddNumberToObject(usage, "output_tokens", 0) == NULL ||
	    cJSON_AddNumberToObject(usage, "cache_read_input_tokens", cached)
	    == NULL ||
	    (cJSON_IsNumber(wr) && cJSON_AddNumberToObject(usage,
	    "cache_creation_input_tokens", w) == NULL)) {
		cJSON_Delete(ev);
		return GW_ENOMEM;
	}
	return emit(out, ev);
}

/* Content before any response.created: Anthropic clients need a
 * message_start first, so one is made from what we know. */
static GW_MUST_CHECK enum gw_err
ensure_started(struct rstream *s, struct tr_sink *out)
{
	return s->started ? GW_OK : message_start(s, NULL, out);
}

/* ---- blocks ---- */

static GW_MUST_CHECK enum gw_err
close_open(struct rstream *s, struct tr_sink *out)
{
	cJSON *ev;
	int b = s->open;

	if (b < 0)
		return GW_OK;
	s->open = -1;
	ev = tr_resp_typed("content_block_stop");
	if (ev != NULL && cJSON_AddNumberToObject(ev, "index", b) == NULL) {
		cJSON_Delete(ev);
		ev = NULL;
	}
	return emit(out, ev);
}

static int
has_delta(const struct rstream *s, int b)
{
	return (size_t)b < s->has_delta_cap && s->has_delta[b];
}

static GW_MUST_CHECK enum gw_err
mark_delta(struct rstream *s, int b)
{
	void *p = s->has_delta;
	enum gw_err e = grow(&p, &s->has_delta_cap, (size_t)b + 1, 1);

	s->has_delta = p;
	if (e == GW_OK)
		s->has_delta[b] = 1;
	return e;
}

/* Opens block b unless it is the open one: content_block_start with the
 * given content_block (taken). */
static GW_MUST_CHECK enum gw_err
open_block(struct rstream *s, int b, cJSON *content_block,
    struct tr_sink *out)
{
	cJSON *ev;
	enum gw_err e;

	if (s->open == b) {
		cJSON_Delete(content_block);
		return GW_OK;
	}
	if (content_block == NULL)
		return GW_ENOMEM;
	if ((e = ensure_started(s, out)) != GW_OK ||
	    (e = close_open(s, out)) != GW_OK) {
		cJSON_Delete(content_block);
		return e;
	}
	ev = tr_resp_typed("content_block_start");
	if (ev == NULL || cJSON_AddNumberToObject(ev, "index", b) == NULL ||
	    !cJSON_AddItemToObject(ev, "content_block", content_block)) {
		cJSON_Delete(ev);
		cJSON_Delete(content_block);
		return GW_ENOMEM;
	}
	s->open = b;
	return emit(out, ev);
}

/* The block of a text or thinking key, made when first seen.  Searched
 * newest first: events nearly always concern the latest item. */
static GW_MUST_CHECK enum gw_err
keyed_block(struct rstream *s, long oi, long ci, int *b)
{
	void *p = s->keys;
	size_t i;

	for (i = s->nkeys; i-- > 0;)
		if (s->keys[i].output_index == oi && s->keys[i].content_index == ci) {
			*b = s->keys[i].block;
			return GW_OK;
		}
	if (grow(&p, &s->keys_cap, s->nkeys + 1, sizeof(*s->keys)) != GW_OK)
		return GW_ENOMEM;
	s->keys = p;
	s->keys[s->nkeys].output_index = oi;
	s->keys[s->nkeys].content_index = ci;
	s->keys[s->nkeys++].block = *b = s->next_block++;
	return GW_OK;
}

static cJSON *
start_of(const char *type, const char *field)
{
	cJSON *cb = tr_resp_typed(type);

	if (cb != NULL && cJSON_AddStringToObject(cb, field, "") == NULL) {
		cJSON_Delete(cb);
		return NULL;
	}
	return cb;
}

static GW_MUST_CHECK enum gw_err
open_text(struct rstream *s, long oi, long ci, int *b, struct tr_sink *out)
{
	if (keyed_block(s, oi, ci, b) != GW_OK)
		return GW_ENOMEM;
	return open_block(s, *b, s->open == *b ? NULL :
	    start_of("text", "text"), out);
}

/* All summary parts of a reasoning item share one thinking block. */
static GW_MUST_CHECK enum gw_err
open_thinking(struct rstream *s, long oi, int *b, struct tr_sink *out)
{
	if (keyed_block(s, oi, 0, b) != GW_OK)
		return GW_ENOMEM;
	return open_block(s, *b, s->open == *b ? NULL :
	    start_of("thinking", "thinking"), out);
}

static struct call *
find_call(struct rstream *s, long oi)
{
	size_t i;

	for (i = 0; i < s->ncalls; i++)
		if (s->calls[i].output_index == oi)
			return &s->calls[i];
	return NULL;
}

static void
forget_call(struct rstream *s, long oi)
{
	struct call *c = find_call(s, oi);

	if (c == NULL)
		return;
	free(c->id);
	free(c->name);
	*c = s->calls[--s->ncalls];
}

static void
forget_calls(struct rstream *s)
{
	while (s->ncalls > 0)
		forget_call(s, s->calls[0].output_index);
}

/*
 * The tool block of the call at output index oi, opened if needed.  A call
 * first seen through an arguments event (no output_item.added) is named
 * "function" with a made-up id, as the client must get some tool_use.
 */
static GW_MUST_CHECK enum gw_err
open_call(struct rstream *s, long oi, const char *id, const char *name,
    struct call **cp, struct tr_sink *out)
{
	struct call *c = find_call(s, oi);
	void *p = s->calls;
	char gen[32];
	cJSON *cb = NULL;

	s->has_tool_call = 1;
	if (c == NULL) {
		if (grow(&p, &s->calls_cap, s->ncalls + 1, sizeof(*s->calls))
		    != GW_OK)
			return GW_ENOMEM;
		s->calls = p;
		c = &s->calls[s->ncalls];
		c->output_index = oi;
		c->block = s->next_block;
		c->whitespace = 0;
		if (id == NULL || *id == '\0') {
			snprintf(gen, sizeof(gen), "tool_call_%d", c->block);
			id = gen;
		}
		c->id = strdup(id);
		c->name = strdup(name != NULL && *name != '\0' ? name :
		    "function");
		if (c->id == NULL || c->name == NULL) {
			free(c->id);
			free(c->name);
			return GW_ENOMEM;
		}
		s->ncalls++;
		s->next_block++;
	}
	*cp = c;
	if (s->open == c->block)
		return GW_OK;
	if ((cb = tr_resp_typed("tool_use")) == NULL ||
	    cJSON_AddStringToObject(cb, "id", c->id) == NULL ||
	    cJSON_AddStringToObject(cb, "name", c->name) == NULL ||
	    cJSON_AddObjectToObject(cb, "input") == NULL) {
		cJSON_Delete(cb);
		return GW_ENOMEM;
	}
	return open_block(s, c->block, cb, out);
}

/* content_block_delta {index b, delta {type, field: text}}. */
static GW_MUST_CHECK enum gw_err
delta(struct rstream *s, int b, const char *type, const char *field,
    const char *text, struct tr_sink *out)
{
	cJSON *ev = tr_resp_typed("content_block_delta"), *d;

	if (ev == NULL || cJSON_AddNumberToObject(ev, "index", b) == NULL ||
	    (d = cJSON_AddObjectToObject(ev, "delta")) == NULL ||
	    cJSON_AddStringToObject(d, "type", type) == NULL ||
	    cJSON_AddStringToObject(d, field, text) == NULL ||
	    mark_delta(s, b) != GW_OK) {
		cJSON_Delete(ev);
		return GW_ENOMEM;
	}
	return emit(out, ev);
}

#define TEXT_DELTA(s, b, t, o) delta(s, b, "text_delta", "text", t, o)
#define THINKING_DELTA(s, b, t, o) \
	delta(s, b, "thinking_delta", "thinking", t, o)
#define SIGNATURE_DELTA(s, b, t, o) \
	delta(s, b, "signature_delta", "signature", t, o)
#define JSON_DELTA(s, b, t, o) \
	delta(s, b, "input_json_delta", "partial_json", t, o)

/* ---- events ---- */

/* A *.done event's full text goes out only for a block that got no delta:
 * one that did has had it all already. */
static GW_MUST_CHECK enum gw_err
full_text(struct rstream *s, int b, const char *dtype, const char *key,
    const char *t, struct tr_sink *out)
{
	if (t == NULL || *t == '\0' || has_delta(s, b))
		return GW_OK;
	return delta(s, b, dtype, key, t, out);
}

static GW_MUST_CHECK enum gw_err
on_item_added(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const cJSON *item = json_obj(ev, "item");
	const char *type = json_str(item, "type"), *ns, *args;
	long oi = index_of(ev, "output_index");
	struct call *c;
	enum gw_err e;

	if (util_streq(type, "tool_search_call"))
		return open_call(s, oi, json_str(item, "call_id"), s->bridge, &c,
		    out);
	if (!util_streq(type, "function_call"))
		return GW_OK;
	ns = json_str(item, "namespace");
	if ((e = open_call(s, oi, json_str(item, "call_id"),
	    ns != NULL && *ns != '\0' ? ns : json_str(item, "name"), &c, out))
	    != GW_OK)
		return e;
	args = json_str(item, "arguments");
	if (args == NULL || *args == '\0')
		return GW_OK;
	return JSON_DELTA(s, c->block, args, out);
}

/* Output text and refusal text alike become a text block (the refusal:
 * ours, the reference drops it); a refusal also sets the stop_reason. */
static GW_MUST_CHECK enum gw_err
on_text_delta(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *d = json_str(ev, "delta");
	int b;
	enum gw_err e;

	if (d == NULL || *d == '\0')
		return GW_OK;
	if (util_streq(json_str(ev, "type"), "response.refusal.delta"))
		s->refused = 1;
	if ((e = open_text(s, index_of(ev, "output_index"),
	    index_of(ev, "content_index"), &b, out)) != GW_OK)
		return e;
	return TEXT_DELTA(s, b, d, out);
}

/* The full text (or refusal), for a block that got no delta. */
static GW_MUST_CHECK enum gw_err
on_text_done(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *t = json_str(ev, "text");
	int b;
	enum gw_err e;

	if (util_streq(json_str(ev, "type"), "response.refusal.done") &&
	    (t = json_str(ev, "refusal")) != NULL && *t != '\0')
		s->refused = 1;
	if ((e = open_text(s, index_of(ev, "output_index"),
	    index_of(ev, "content_index"), &b, out)) != GW_OK)
		return e;
	return full_text(s, b, "text_delta", "text", t, out);
}

static int
summary_seen(const struct rstream *s, long oi, long si)
{
	size_t i;

	for (i = s->nsums; i-- > 0;)
		if (s->sums[i].output_index == oi && s->sums[i].content_index == si)
			return 1;
	return 0;
}

static GW_MUST_CHECK enum gw_err
summary_mark(struct rstream *s, long oi, long si)
{
	void *p = s->sums;

	if (summary_seen(s, oi, si))
		return GW_OK;
	if (grow(&p, &s->sums_cap, s->nsums + 1, sizeof(*s->sums)) != GW_OK)
		return GW_ENOMEM;
	s->sums = p;
	s->sums[s->nsums].output_index = oi;
	s->sums[s->nsums++].content_index = si;
	return GW_OK;
}

/* An empty delta opens nothing (1.14.7). */
static GW_MUST_CHECK enum gw_err
on_summary_delta(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *d = json_str(ev, "delta");
	long oi = index_of(ev, "output_index");
	int b;
	enum gw_err e;

	if (d == NULL || *d == '\0')
		return GW_OK;
	if ((e = open_thinking(s, oi, &b, out)) != GW_OK ||
	    (e = THINKING_DELTA(s, b, d, out)) != GW_OK)
		return e;
	return summary_mark(s, oi, index_of(ev, "summary_index"));
}

/* Every summary part after the first starts with the separator. */
static GW_MUST_CHECK enum gw_err
on_summary_part_added(struct rstream *s, const cJSON *ev,
    struct tr_sink *out)
{
	int b;
	enum gw_err e;

	if ((e = open_thinking(s, index_of(ev, "output_index"), &b, out))
	    != GW_OK || index_of(ev, "summary_index") == 0)
		return e;
	return THINKING_DELTA(s, b, REASONING_SUMMARY_SEPARATOR, out);
}

/* A part's full text goes out only when that part got no delta. */
static GW_MUST_CHECK enum gw_err
on_summary_done(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *t = json_str(ev, "text");
	long oi = index_of(ev, "output_index");
	int b;
	enum gw_err e;

	if ((e = open_thinking(s, oi, &b, out)) != GW_OK ||
	    t == NULL || *t == '\0' ||
	    summary_seen(s, oi, index_of(ev, "summary_index")))
		return e;
	return THINKING_DELTA(s, b, t, out);
}

static GW_MUST_CHECK enum gw_err
tool_search_done(struct rstream *s, long oi, const cJSON *item,
    struct tr_sink *out)
{
	struct call *c;
	cJSON *input = NULL;
	char *json = NULL;
	int b;
	enum gw_err e;

	if ((e = open_call(s, oi, json_str(item, "call_id"), s->bridge, &c,
	    out)) != GW_OK)
		return e;
	b = c->block;
	forget_call(s, oi);
	if (has_delta(s, b))
		return GW_OK;
	if ((e = tr_ts_anthropic_input(cJSON_GetObjectItemCaseSensitive(item,
	    "arguments"), &input)) != GW_OK)
		return e;
	if ((json = json_print(input)) == NULL)
		e = GW_ENOMEM;
	else
		e = JSON_DELTA(s, b, json, out);
	cJSON_free(json);
	cJSON_Delete(input);
	return e;
}

/* The end of a thinking block: a placeholder when it would otherwise be
 * empty (clients drop those, and the signature with them), then the
 * signature "<tag><enc>@<id>" that brings the item back next turn. */
static GW_MUST_CHECK enum gw_err
sign_thinking(struct rstream *s, int b, int empty, const char *tag,
    const char *enc, const char *id, struct tr_sink *out)
{
	struct buf sig = BUF_INIT;
	enum gw_err e;

	if (empty &&
	    (e = THINKING_DELTA(s, b, THINKING_PLACEHOLDER, out)) != GW_OK)
		return e;
	if ((e = buf_printf(&sig, "%s%s@%s", tag, enc, id)) == GW_OK)
		e = SIGNATURE_DELTA(s, b, buf_cstr(&sig), out);
	buf_free(&sig);
	return e;
}

static GW_MUST_CHECK enum gw_err
compaction_done(struct rstream *s, long oi, const cJSON *item,
    struct tr_sink *out)
{
	const char *id = json_str(item, "id");
	const char *enc = json_str(item, "encrypted_content");
	int b;
	enum gw_err e;

	if (id == NULL || *id == '\0' || enc == NULL || *enc == '\0')
		return GW_OK;
	if ((e = open_thinking(s, oi, &b, out)) != GW_OK)
		return e;
	return sign_thinking(s, b, !has_delta(s, b), "cm1#", enc, id, out);
}

static GW_MUST_CHECK enum gw_err
reasoning_done(struct rstream *s, long oi, const cJSON *item,
    struct tr_sink *out)
{
	const char *id = json_str(item, "id");
	const char *enc = json_str(item, "encrypted_content");
	int b;
	enum gw_err e;

	if ((e = open_thinking(s, oi, &b, out)) != GW_OK)
		return e;
	return sign_thinking(s, b,
	    cJSON_GetArraySize(json_arr(item, "summary")) == 0 &&
	    !has_delta(s, b), "",
	    enc != NULL ? enc : "", id != NULL ? id : "", out);
}

static GW_MUST_CHECK enum gw_err
on_item_done(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const cJSON *item = json_obj(ev, "item");
	const char *type = json_str(item, "type");
	long oi = index_of(ev, "output_index");

	if (util_streq(type, "tool_search_call"))
		return tool_search_done(s, oi, item, out);
	if (util_streq(type, "compaction"))
		return compaction_done(s, oi, item, out);
	if (util_streq(type, "reasoning"))
		return reasoning_done(s, oi, item, out);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
abandon(struct rstream *s, const char *message, struct tr_sink *out)
{
	enum gw_err e = close_open(s, out);

	forget_calls(s);
	s->base.done = 1;
	return e != GW_OK ? e : emit_error(out, message);
}

/* Counts the run of \r \n \t across deltas; a space neither counts nor
 * breaks the run, anything else breaks it. */
static int
whitespace_run_exceeded(struct call *c, const char *d)
{
	for (; *d != '\0'; d++) {
		if (*d == '\r' || *d == '\n' || *d == '\t') {
			if (++c->whitespace > MAX_ARG_WHITESPACE)
				return 1;
		} else if (*d != ' ')
			c->whitespace = 0;
	}
	return 0;
}

static GW_MUST_CHECK enum gw_err
on_args_delta(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *d = json_str(ev, "delta");
	struct call *c;
	enum gw_err e;

	if (d == NULL || *d == '\0')
		return GW_OK;
	if ((e = open_call(s, index_of(ev, "output_index"), NULL, NULL, &c, out))
	    != GW_OK)
		return e;
	if (whitespace_run_exceeded(c, d))
		return abandon(s, "Received function call arguments delta "
		    "containing more than 20 consecutive whitespace characters.",
		    out);
	return JSON_DELTA(s, c->block, d, out);
}

static GW_MUST_CHECK enum gw_err
on_args_done(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *args = json_str(ev, "arguments");
	long oi = index_of(ev, "output_index");
	struct call *c;
	int b;
	enum gw_err e;

	if ((e = open_call(s, oi, NULL, NULL, &c, out)) != GW_OK)
		return e;
	b = c->block;
	forget_call(s, oi);
	if (args == NULL || *args == '\0' || has_delta(s, b))
		return GW_OK;
	return JSON_DELTA(s, b, args, out);
}

/* message_delta {stop_reason, usage} and message_stop, from the final
 * response translated as a whole (§6.2). */
static GW_MUST_CHECK enum gw_err
on_completed(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const cJSON *resp = json_obj(ev, "response");
	struct tr_resp_result_opts o = { s->model, s->bridge, s->has_tool_call,
	    s->refused };
	struct buf why = BUF_INIT;
	cJSON *msg = NULL, *md = NULL, *d, *v;
	enum gw_err e;

	take_usage(s, ev);
	s->base.done = 1;
	forget_calls(s);
	if ((e = ensure_started(s, out)) != GW_OK ||
	    (e = close_open(s, out)) != GW_OK)
		return e;
	e = tr_responses_to_anthropic(resp != NULL ? resp : ev, &o, &msg, &why);
	if (e == GW_EUPSTREAM) {
		e = emit_error(out, buf_cstr(&why));
		goto out;
	}
	if (e != GW_OK)
		goto out;
	e = GW_ENOMEM;
	if ((md = tr_resp_typed("message_delta")) == NULL ||
	    (d = cJSON_AddObjectToObject(md, "delta")) == NULL)
		goto out;
	v = cJSON_DetachItemFromObjectCaseSensitive(msg, "stop_reason");
	if (v == NULL || !cJSON_AddItemToObject(d, "stop_reason", v)) {
		cJSON_Delete(v);
		goto out;
	}
	if (cJSON_AddNullToObject(d, "stop_sequence") == NULL)
		goto out;
	v = cJSON_DetachItemFromObjectCaseSensitive(msg, "usage");
	if (v == NULL || !cJSON_AddItemToObject(md, "usage", v)) {
		cJSON_Delete(v);
		goto out;
	}
	e = emit(out, md);
	md = NULL;
	if (e == GW_OK)
		e = emit(out, tr_resp_typed("message_stop"));
out:
	buf_free(&why);
	cJSON_Delete(md);
	cJSON_Delete(msg);
	return e;
}

static GW_MUST_CHECK enum gw_err
on_failed(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const cJSON *resp = json_obj(ev, "response");
	const char *msg = json_str(json_obj(resp, "error"), "message");

	take_usage(s, ev);
	return abandon(s, msg != NULL ? msg :
	    "The response failed due to an unknown error.", out);
}

/* The upstream's own error event: reported as is; blocks stay open. */
static GW_MUST_CHECK enum gw_err
on_error(struct rstream *s, const cJSON *ev, struct tr_sink *out)
{
	const char *msg = json_str(ev, "message");

	if (msg == NULL)        /* the nested shape some servers send */
		msg = json_str(json_obj(ev, "error"), "message");
	s->base.done = 1;
	forget_calls(s);
	return emit_error(out, msg != NULL ? msg :
	    "An unexpected error occurred during streaming.");
}

static GW_MUST_CHECK enum gw_err
dispatch(struct rstream *s, const char *type, const cJSON *ev,
    struct tr_sink *out)
{
	if (util_streq(type, "response.created") ||
	    util_streq(type, "response.in_progress")) {
		take_usage(s, ev);
		return s->started ? GW_OK :
		    message_start(s, json_obj(ev, "response"), out);
	}
	if (util_streq(type, "response.output_item.added"))
		return on_item_added(s, ev, out);
	if (util_streq(type, "response.output_item.done"))
		return on_item_done(s, ev, out);
	if (util_streq(type, "response.output_text.delta") ||
	    util_streq(type, "response.refusal.delta"))
		return on_text_delta(s, ev, out);
	if (util_streq(type, "response.output_text.done") ||
	    util_streq(type, "response.refusal.done"))
		return on_text_done(s, ev, out);
	if (util_streq(type, "response.reasoning_summary_text.delta"))
		return on_summary_delta(s, ev, out);
	if (util_streq(type, "response.reasoning_summary_text.done"))
		return on_summary_done(s, ev, out);
	if (util_streq(type, "response.reasoning_summary_part.added"))
		return on_summary_part_added(s, ev, out);
	if (util_streq(type, "response.function_call_arguments.delta"))
		return on_args_delta(s, ev, out);
	if (util_streq(type, "response.function_call_arguments.done"))
		return on_args_done(s, ev, out);
	if (util_streq(type, "response.completed") ||
	    util_streq(type, "response.incomplete"))
		return on_completed(s, ev, out);
	if (util_streq(type, "response.failed"))
		return on_failed(s, ev, out);
	if (util_streq(type, "error"))
		return on_error(s, ev, out);
	return GW_OK;           /* in_progress, content_part.*, ... */
}

static GW_MUST_CHECK enum gw_err
rs_ping(struct tr_stream *t, struct tr_sink *out)
{
	(void)t;
	return tr_anthropic_ping(out);
}

static GW_MUST_CHECK enum gw_err
rs_feed(struct tr_stream *t, const char *name, const char *data, size_t len,
    struct tr_sink *out)
{
	struct rstream *s = (struct rstream *)t;
	cJSON *ev;
	const char *type;
	enum gw_err e;

	/* after the terminal event nothing more reaches the client */
	if (t->done)
		return GW_OK;
	if (util_streq(name, "ping"))
		return rs_ping(t, out);
	if (len == 0)
		return GW_OK;
	if ((ev = json_parse(data, len, NULL, NULL)) == NULL)
		return GW_OK;   /* not JSON (e.g. a stray [DONE]): nothing to say */
	type = json_str(ev, "type");
	e = dispatch(s, type != NULL ? type : name, ev, out);
	cJSON_Delete(ev);
	return e;
}

static GW_MUST_CHECK enum gw_err
rs_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct rstream *s = (struct rstream *)t;

	(void)status;           /* every unfinished end is an error here */
	if (t->done || s->finished)
		return GW_OK;
	s->finished = 1;
	return emit_error(out, message != NULL ? message :
	    "Responses stream ended without completion");
}

static void
rs_free(struct tr_stream *t)
{
	struct rstream *s = (struct rstream *)t;

	if (s == NULL)
		return;
	free(s->model);
	free(s->bridge);
	free(s->has_delta);
	free(s->keys);
	free(s->sums);
	forget_calls(s);
	free(s->calls);
	free(s);
}

static const struct tr_stream_ops responses_ops = {
	"responses", rs_feed, rs_ping, rs_finish, rs_free,
};

enum gw_err
tr_responses_stream_new(const char *model, const char *tool_search_name,
    struct tr_stream **out)
{
	struct rstream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return GW_ENOMEM;
	s->base.ops = &responses_ops;
	tr_usage_init(&s->base.usage);
	s->open = -1;
	s->model = strdup(model != NULL ? model : "");
	s->bridge = strdup(tool_search_name != NULL ? tool_search_name :
	    TR_TS_BRIDGE_DEFAULT);
	if (s->model == NULL || s->bridge == NULL) {
		rs_free(&s->base);
		return GW_ENOMEM;
	}
	*out = &s->base;
	return GW_OK;
}

/*
 * Chat Completions SSE stream -> Anthropic Messages SSE stream (spec §5).
 *
 * The reference's state machine, with its gaps closed:
 * - Blocks never interleave, and every tool gets exactly one start and one
 *   stop.  The first tool block stays open until the finish_reason; tools
 *   that start meanwhile are held back whole and emitted after it, so an
 *   argument fragment that arrives late for any of them still lands inside
 *   its own block (the reference emits it after that block's stop).
 * - Fragments that come before a tool's name are held, not dropped.
 * - An open thinking block is closed at the finish; a reasoning_opaque that
 *   arrives with tool calls or the finish signs the open thinking block
 *   instead of starting a second, placeholder one.
 * - The stream always ends with message_stop or an error event (below).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"

#define MAX_TOOLS 256
/* Deferred text plus held tool arguments: far above any real answer, low
 * enough that a runaway upstream cannot eat the worker's memory. */
#define MAX_HELD ((size_t)64 << 20)

enum blk { BLK_NONE, BLK_TEXT, BLK_THINKING, BLK_TOOL };

enum tool_st {
	TOOL_NAMELESS,   /* fragments seen, no name yet: held */
	TOOL_WAITING,    /* named, waiting for the open tool block to end */
	TOOL_OPEN,
	TOOL_CLOSED,
	TOOL_DROPPED     /* never named by the finish: not a tool_use */
};

struct tool {
	long oa_index;           /* the upstream's tool_calls[].index */
	char *id, *name;
	struct buf args;         /* arguments not emitted yet */
	enum tool_st st;
};

struct chat_stream {
	struct tr_stream base;   /* first: freed through it */
	char *model;             /* reported in message_start, NULL: chunk's */
	struct buf ev;           /* the event being built */
	struct buf deferred;     /* text that came while a tool was open */
	struct tool *tools;
	size_t ntools;
	size_t open_tool;        /* tools[] slot of the open tool block */
	size_t held;             /* bytes in deferred + held arguments */
	long index;              /* Anthropic index of the open or next block */
	enum blk open;
	int started;             /* message_start sent */
	int finished;            /* a finish_reason ended the content so far */
	int stopped;             /* message_stop sent */
	int failed;              /* error event sent */
	int saw_done;            /* [DONE] arrived */
	int refused;             /* delta.refusal text arrived */
	char finish[32];         /* finish_reasons combined as in §4 */
	char *opaque;            /* reasoning_opaque waiting for the finish */
	struct tr_anthropic_usage au;
};

/* What one chunk's choices[0] carries. */
struct delta {
	const char *reasoning;   /* non-empty or NULL */
	const char *text;        /* content (after re-routing) */
	const char *opaque;      /* reasoning_opaque, non-empty or NULL */
	const cJSON *tool_calls; /* non-empty array or NULL */
	const char *finish;      /* non-empty or NULL */
	int opaque_used;
};

static int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* ---- event building ---- */

static GW_MUST_CHECK enum gw_err
jstr(struct buf *b, const char *s)
{
	return json_quote(b, s, strlen(s));
}

static GW_MUST_CHECK enum gw_err
emit_ev(struct chat_stream *t, struct tr_sink *out, const char *type)
{
	return out->emit(out->ctx, type, t->ev.data, t->ev.len);
}

static GW_MUST_CHECK enum gw_err
usage_json(struct buf *b, const struct tr_anthropic_usage *au, long output)
{
	enum gw_err e = buf_printf(b, "{\"input_tokens\":%ld,\"output_tokens\":%ld",
	    au->input_tokens, output);

	if (e == GW_OK && au->cache_creation_input_tokens >= 0)
		e = buf_printf(b, ",\"cache_creation_input_tokens\":%ld",
		    au->cache_creation_input_tokens);
	if (e == GW_OK && au->cache_read_input_tokens >= 0)
		e = buf_printf(b, ",\"cache_read_input_tokens\":%ld",
		    au->cache_read_input_tokens);
	return e == GW_OK ? buf_putc(b, '}') : e;
}

static GW_MUST_CHECK enum gw_err
message_start(struct chat_stream *t, const cJSON *chunk, struct tr_sink *out)
{
	const char *id = json_str(chunk, "id");
	const char *model = nonempty(t->model) ? t->model : json_str(chunk, "model");
	char idbuf[40];
	enum gw_err e;

	if (!nonempty(id)) {
		if ((e = util_random_id("msg_", UTIL_ID_HEX, TR_CHAT_ID_HEX, idbuf,
		    sizeof(idbuf))) != GW_OK)
			return e;
		id = idbuf;
	}
	buf_reset(&t->ev);
	if ((e = buf_puts(&t->ev, "{\"type\":\"message_start\",\"message\":{\"id\":")) != GW_OK ||
	    (e = jstr(&t->ev, id)) != GW_OK ||
	    (e = buf_puts(&t->ev, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":")) != GW_OK ||
	    (e = jstr(&t->ev, model != NULL ? model : "")) != GW_OK ||
	    (e = buf_puts(&t->ev, ",\"content\":[],\"stop_reason\":null,"
	    "\"stop_sequence\":null,\"usage\":")) != GW_OK ||
	    (e = usage_json(&t->ev, &t->au, 0)) != GW_OK ||
	    (e = buf_puts(&t->ev, "}}")) != GW_OK)
		return e;
	t->started = 1;
	return emit_ev(t, out, "message_start");
}

/* content_block_start; for tool_use, tool gives id and name. */
static GW_MUST_CHECK enum gw_err
block_start(struct chat_stream *t, enum blk kind, const struct tool *tool,
    struct tr_sink *out)
{
	enum gw_err e;

	buf_reset(&t->ev);
	if ((e = buf_printf(&t->ev, "{\"type\":\"content_block_start\","
	    "\"index\":%ld,\"content_block\":", t->index)) != GW_OK)
		return e;
	if (kind == BLK_TEXT)
		e = buf_puts(&t->ev, "{\"type\":\"text\",\"text\":\"\"}}");
	else if (kind == BLK_THINKING)
		e = buf_puts(&t->ev, "{\"type\":\"thinking\",\"thinking\":\"\"}}");
	else if ((e = buf_puts(&t->ev, "{\"type\":\"tool_use\",\"id\":")) == GW_OK &&
	    (e = jstr(&t->ev, tool->id)) == GW_OK &&
	    (e = buf_puts(&t->ev, ",\"name\":")) == GW_OK &&
	    (e = jstr(&t->ev, tool->name)) == GW_OK)
		e = buf_puts(&t->ev, ",\"input\":{}}}");
	if (e != GW_OK)
		return e;
	t->open = kind;
	return emit_ev(t, out, "content_block_start");
}

/* content_block_delta at index: {"type":dtype, key:value}. */
static GW_MUST_CHECK enum gw_err
block_delta(struct chat_stream *t, long index, const char *dtype,
    const char *key, const char *value, size_t n, struct tr_sink *out)
{
	enum gw_err e;

	buf_reset(&t->ev);
	if ((e = buf_printf(&t->ev, "{\"type\":\"content_block_delta\","
	    "\"index\":%ld,\"delta\":{\"type\":\"%s\",\"%s\":", index, dtype,
	    key)) != GW_OK)
		return e;
	if ((e = json_quote(&t->ev, value, n)) != GW_OK ||
	    (e = buf_puts(&t->ev, "}}")) != GW_OK)
		return e;
	return emit_ev(t, out, "content_block_delta");
}

static GW_MUST_CHECK enum gw_err
block_stop(struct chat_stream *t, struct tr_sink *out)
{
	enum gw_err e;

	buf_reset(&t->ev);
	if ((e = buf_printf(&t->ev, "{\"type\":\"content_block_stop\","
	    "\"index\":%ld}", t->index)) != GW_OK)
		return e;
	if (t->open == BLK_TOOL)
		t->tools[t->open_tool].st = TOOL_CLOSED;
	t->open = BLK_NONE;
	t->index++;
	return emit_ev(t, out, "content_block_stop");
}

static GW_MUST_CHECK enum gw_err
close_thinking(struct chat_stream *t, const char *signature,
    struct tr_sink *out)
{
	enum gw_err e = block_delta(t, t->index, "signature_delta", "signature",
	    signature, strlen(signature), out);

	return e == GW_OK ? block_stop(t, out) : e;
}

/* A thinking block that only carries a signature (§5.3 step 4). */
static GW_MUST_CHECK enum gw_err
opaque_block(struct chat_stream *t, const char *signature,
    struct tr_sink *out)
{
	enum gw_err e;

	if ((e = block_start(t, BLK_THINKING, NULL, out)) != GW_OK ||
	    (e = block_delta(t, t->index, "thinking_delta", "thinking",
	    THINKING_PLACEHOLDER, strlen(THINKING_PLACEHOLDER), out)) != GW_OK)
		return e;
	return close_thinking(t, signature, out);
}

static const char *
take_opaque(struct delta *d)
{
	if (d->opaque == NULL || d->opaque_used)
		return "";
	d->opaque_used = 1;
	return d->opaque;
}

static GW_MUST_CHECK enum gw_err
hold(struct chat_stream *t, struct buf *b, const char *s, size_t n)
{
	if (n > MAX_HELD - t->held)
		return GW_ETOOBIG;
	t->held += n;
	return buf_append(b, s, n);
}

static void
release(struct chat_stream *t, struct buf *b)
{
	t->held -= b->len;
	buf_reset(b);
}

/* ---- tool calls ---- */

static int
id_taken(const struct chat_stream *t, size_t slot)
{
	size_t i;

	for (i = 0; i < t->ntools; i++)
		if (i != slot && (t->tools[i].st == TOOL_OPEN ||
		    t->tools[i].st == TOOL_CLOSED) && strcmp(t->tools[i].id, t->tools[slot].id) == 0)
			return 1;
	return 0;
}

static GW_MUST_CHECK enum gw_err
open_tool(struct chat_stream *t, size_t slot, struct tr_sink *out)
{
	struct tool *tl = &t->tools[slot];
	char idbuf[40];
	enum gw_err e;

	/* No id, or one an earlier call already has: tool_results are matched
	 * by id, so each tool_use gets its own. */
	if (tl->id == NULL || id_taken(t, slot)) {
		if ((e = util_random_id("toolu_", UTIL_ID_HEX, TR_CHAT_ID_HEX,
		    idbuf, sizeof(idbuf))) != GW_OK)
			return e;
		free(tl->id);
		if ((tl->id = strdup(idbuf)) == NULL)
			return GW_ENOMEM;
	}
	if ((e = block_start(t, BLK_TOOL, tl, out)) != GW_OK)
		return e;
	t->open_tool = slot;
	tl->st = TOOL_OPEN;
	if (tl->args.len == 0)
		return GW_OK;
	e = block_delta(t, t->index, "input_json_delta", "partial_json",
	    tl->args.data, tl->args.len, out);
	release(t, &tl->args);
	return e;
}

/* The latest tool the upstream numbered idx. */
static struct tool *
find_tool(struct chat_stream *t, long idx)
{
	size_t i;

	for (i = t->ntools; i > 0; i--)
		if (t->tools[i - 1].oa_index == idx)
			return &t->tools[i - 1];
	return NULL;
}

static GW_MUST_CHECK enum gw_err
new_tool(struct chat_stream *t, long idx, struct tool **out)
{
	struct tool *v;

	if (t->ntools == MAX_TOOLS)
		return GW_ETOOBIG;
	if ((v = realloc(t->tools, (t->ntools + 1) * sizeof(*v))) == NULL)
		return GW_ENOMEM;
	t->tools = v;
	v = &t->tools[t->ntools++];
	memset(v, 0, sizeof(*v));
	v->oa_index = idx;
	v->st = TOOL_NAMELESS;
	*out = v;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
tool_fragment(struct chat_stream *t, const cJSON *tc, long pos,
    struct tr_sink *out)
{
	const cJSON *fn = json_obj(tc, "function");
	const cJSON *ix = cJSON_GetObjectItemCaseSensitive(tc, "index");
	const char *id = json_str(tc, "id"), *name = json_str(fn, "name");
	const char *args = json_str(fn, "arguments");
	long idx = pos;
	struct tool *tl;
	enum gw_err e = GW_OK;

	if (cJSON_IsNumber(ix) && ix->valuedouble >= 0 && ix->valuedouble < 1e9)
		idx = (long)ix->valuedouble;
	id = nonempty(id) ? id : NULL;
	name = nonempty(name) ? name : NULL;
	tl = find_tool(t, idx);
	/* A different id under a known index is a new call (some upstreams
	 * number every call 0). */
	if (tl != NULL && id != NULL && tl->id != NULL && strcmp(tl->id, id) != 0)
		tl = NULL;
	if (tl == NULL && (e = new_tool(t, idx, &tl)) != GW_OK)
		return e;
	if (id != NULL && tl->id == NULL && (tl->id = strdup(id)) == NULL)
		return GW_ENOMEM;
	if (name != NULL && tl->name == NULL && (tl->name = strdup(name)) == NULL)
		return GW_ENOMEM;
	if (nonempty(args)) {
		if (tl->st == TOOL_OPEN)
			e = block_delta(t, t->index, "input_json_delta",
			    "partial_json", args, strlen(args), out);
		else if (tl->st == TOOL_NAMELESS || tl->st == TOOL_WAITING)
			e = hold(t, &tl->args, args, strlen(args));
		/* else its block ended at a finish_reason: too late */
		if (e != GW_OK)
			return e;
	}
	if (tl->st == TOOL_NAMELESS && tl->name != NULL)
		tl->st = TOOL_WAITING;
	if (tl->st == TOOL_WAITING && t->open == BLK_NONE)
		return open_tool(t, (size_t)(tl - t->tools), out);
	return GW_OK;
}

/* At the finish: the held tools, each whole, in the order they began; a
 * call that never got a name cannot become a tool_use and is dropped. */
static GW_MUST_CHECK enum gw_err
flush_tools(struct chat_stream *t, struct tr_sink *out)
{
	enum gw_err e;
	size_t i;

	for (i = 0; i < t->ntools; i++) {
		if (t->tools[i].st == TOOL_NAMELESS) {
			release(t, &t->tools[i].args);
			t->tools[i].st = TOOL_DROPPED;
		} else if (t->tools[i].st == TOOL_WAITING) {
			if ((e = open_tool(t, i, out)) != GW_OK ||
			    (e = block_stop(t, out)) != GW_OK)
				return e;
		}
	}
	return GW_OK;
}

/* ---- the per-chunk steps (§5.3) ---- */

/* Step 2: reasoning opens or extends a thinking block, unless a text or
 * tool block is open: then Copilot sent it out of order and it is text. */
static GW_MUST_CHECK enum gw_err
step_reasoning(struct chat_stream *t, struct delta *d, struct buf *joined,
    struct tr_sink *out)
{
	enum gw_err e;

	if (d->reasoning == NULL)
		return GW_OK;
	if (t->open == BLK_TEXT || t->open == BLK_TOOL) {
		if (d->text == NULL || *d->text == '\0') {
			d->text = d->reasoning;
			return GW_OK;
		}
		/* keep both, reasoning first (the reference drops the content) */
		if ((e = buf_puts(joined, d->reasoning)) != GW_OK ||
		    (e = buf_puts(joined, d->text)) != GW_OK)
			return e;
		d->text = joined->data;
		return GW_OK;
	}
	if (t->open != BLK_THINKING &&
	    (e = block_start(t, BLK_THINKING, NULL, out)) != GW_OK)
		return e;
	return block_delta(t, t->index, "thinking_delta", "thinking",
	    d->reasoning, strlen(d->reasoning), out);
}

/* Step 3: text.  While a tool block is open (or this very delta carries
 * tool calls) it is deferred to the finish, so blocks never interleave. */
static GW_MUST_CHECK enum gw_err
step_text(struct chat_stream *t, struct delta *d, struct tr_sink *out)
{
	enum gw_err e;

	if (!nonempty(d->text)) {
		/* Claude's signature closes its thinking: {content:"",
		 * reasoning_opaque}.  With no thinking open it is dropped. */
		if (d->opaque != NULL && t->open == BLK_THINKING)
			return close_thinking(t, take_opaque(d), out);
		return GW_OK;
	}
	if (t->open == BLK_THINKING &&
	    (e = close_thinking(t, take_opaque(d), out)) != GW_OK)
		return e;
	if (t->open == BLK_TOOL || d->tool_calls != NULL)
		return hold(t, &t->deferred, d->text, strlen(d->text));
	if (t->open != BLK_TEXT &&
	    (e = block_start(t, BLK_TEXT, NULL, out)) != GW_OK)
		return e;
	return block_delta(t, t->index, "text_delta", "text", d->text,
	    strlen(d->text), out);
}

/* Step 4: tool calls. */
static GW_MUST_CHECK enum gw_err
step_tools(struct chat_stream *t, struct delta *d, struct tr_sink *out)
{
	const cJSON *tc;
	enum gw_err e = GW_OK;
	long pos = 0;

	if (d->tool_calls == NULL)
		return GW_OK;
	if (t->open == BLK_THINKING)
		e = close_thinking(t, take_opaque(d), out);
	else if (t->open == BLK_TEXT)
		e = block_stop(t, out);
	if (e != GW_OK)
		return e;
	if (d->opaque != NULL && !d->opaque_used) {
		d->opaque_used = 1;
		if (t->open == BLK_NONE)
			e = opaque_block(t, d->opaque, out);
		else if (t->opaque == NULL && (t->opaque = strdup(d->opaque)) == NULL)
			e = GW_ENOMEM;   /* a tool is open: sign at the finish */
		if (e != GW_OK)
			return e;
	}
	cJSON_ArrayForEach(tc, d->tool_calls) {
		if ((e = tool_fragment(t, tc, pos++, out)) != GW_OK)
			return e;
	}
	return GW_OK;
}

static void
combine_finish(struct chat_stream *t, const char *fr)
{
	if (t->finish[0] == '\0' || strcmp(fr, "tool_calls") == 0 ||
	    strcmp(t->finish, "stop") == 0)
		snprintf(t->finish, sizeof(t->finish), "%s", fr);
}

static GW_MUST_CHECK enum gw_err
complete(struct chat_stream *t, struct tr_sink *out)
{
	enum gw_err e;

	if (t->stopped)
		return GW_OK;
	buf_reset(&t->ev);
	if ((e = buf_puts(&t->ev, "{\"type\":\"message_delta\",\"delta\":"
	    "{\"stop_reason\":")) != GW_OK ||
	    (e = jstr(&t->ev, tr_chat_stop_reason(t->finish,
	    t->refused))) != GW_OK ||
	    (e = buf_puts(&t->ev, ",\"stop_sequence\":null},\"usage\":")) != GW_OK ||
	    (e = usage_json(&t->ev, &t->au, t->au.output_tokens)) != GW_OK ||
	    (e = buf_putc(&t->ev, '}')) != GW_OK ||
	    (e = emit_ev(t, out, "message_delta")) != GW_OK)
		return e;
	t->stopped = 1;
	t->base.done = 1;
	buf_reset(&t->ev);
	if ((e = buf_puts(&t->ev, "{\"type\":\"message_stop\"}")) != GW_OK)
		return e;
	return emit_ev(t, out, "message_stop");
}

/* Step 5: the finish closes everything, then emits what was held back. */
static GW_MUST_CHECK enum gw_err
step_finish(struct chat_stream *t, struct delta *d, int has_usage,
    struct tr_sink *out)
{
	enum gw_err e = GW_OK;

	if (d->finish == NULL)
		return GW_OK;
	if (t->open == BLK_THINKING)
		e = close_thinking(t, take_opaque(d), out);
	else if (t->open != BLK_NONE)
		e = block_stop(t, out);
	if (e == GW_OK && d->opaque != NULL && !d->opaque_used)
		e = opaque_block(t, take_opaque(d), out);
	if (e == GW_OK && t->opaque != NULL) {
		e = opaque_block(t, t->opaque, out);
		free(t->opaque);
		t->opaque = NULL;
	}
	if (e == GW_OK)
		e = flush_tools(t, out);
	if (e == GW_OK && t->deferred.len > 0) {
		if ((e = block_start(t, BLK_TEXT, NULL, out)) == GW_OK &&
		    (e = block_delta(t, t->index, "text_delta", "text",
		    t->deferred.data, t->deferred.len, out)) == GW_OK)
			e = block_stop(t, out);
		release(t, &t->deferred);
	}
	if (e != GW_OK)
		return e;
	combine_finish(t, d->finish);
	t->finished = t->base.finished = 1;
	return has_usage ? complete(t, out) : GW_OK;
}

static const char *
reasoning_of(const cJSON *delta)
{
	static const char *const keys[] = { "reasoning_text",
	    "reasoning_content", "reasoning" };
	const char *r;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (nonempty(r = json_str(delta, keys[i])))
			return r;
	return NULL;
}

static GW_MUST_CHECK enum gw_err
on_choice(struct chat_stream *t, const cJSON *chunk, const cJSON *choice,
    int has_usage, struct tr_sink *out)
{
	const cJSON *delta = json_obj(choice, "delta");
	const char *refusal = json_str(delta, "refusal");
	struct buf joined = BUF_INIT, text = BUF_INIT;
	struct delta d;
	enum gw_err e;

	memset(&d, 0, sizeof(d));
	d.reasoning = reasoning_of(delta);
	d.text = json_str(delta, "content");
	/* refusal text streams as text (ours: the reference drops it) */
	if (nonempty(refusal)) {
		t->refused = 1;
		if (nonempty(d.text) && ((e = buf_puts(&text, d.text)) != GW_OK ||
		    (e = buf_puts(&text, refusal)) != GW_OK))
			goto out;
		d.text = nonempty(d.text) ? buf_cstr(&text) : refusal;
	}
	d.opaque = json_str(delta, "reasoning_opaque");
	d.opaque = nonempty(d.opaque) ? d.opaque : NULL;
	d.tool_calls = json_arr(delta, "tool_calls");
	if (cJSON_GetArraySize(d.tool_calls) == 0)
		d.tool_calls = NULL;
	d.finish = json_str(choice, "finish_reason");
	d.finish = nonempty(d.finish) ? d.finish : NULL;
	/* Content after a finish_reason (another choice) reopens the message
	 * until a finish_reason ends it too. */
	if (d.reasoning != NULL || nonempty(d.text) || d.tool_calls != NULL)
		t->finished = t->base.finished = 0;
	if ((!t->started && (e = message_start(t, chunk, out)) != GW_OK) ||
	    (e = step_reasoning(t, &d, &joined, out)) != GW_OK ||
	    (e = step_text(t, &d, out)) != GW_OK ||
	    (e = step_tools(t, &d, out)) != GW_OK)
		goto out;
	e = step_finish(t, &d, has_usage, out);
out:
	buf_free(&joined);
	buf_free(&text);
	return e;
}

/* ---- the translator ---- */

static GW_MUST_CHECK enum gw_err
error_event(struct chat_stream *t, const char *type, const char *message,
    struct tr_sink *out)
{
	t->failed = 1;
	return tr_emit_error(GW_DIALECT_ANTHROPIC, type, message, out);
}

/* Anthropic error types a client acts on (retry, back off): kept when the
 * upstream names one, everything else is an api_error. */
static const char *
error_type(const cJSON *err)
{
	static const char *const known[] = { "invalid_request_error",
	    "authentication_error", "billing_error", "permission_error",
	    "not_found_error", "request_too_large", "rate_limit_error",
	    "api_error", "overloaded_error", "timeout_error" };
	const char *type = json_str(err, "type"), *code = json_str(err, "code");
	size_t i;

	for (i = 0; type != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(type, known[i]) == 0)
			return known[i];
	if (code != NULL && strstr(code, "rate_limit") != NULL)
		return "rate_limit_error";   /* Copilot: "rate_limited" */
	return "api_error";
}

/* {"error":{"message":...}} in the stream (Copilot reports some failures
 * this way), or an "error" event: the upstream's own words reach the
 * client. */
static GW_MUST_CHECK enum gw_err
upstream_error(struct chat_stream *t, const cJSON *v, const char *raw,
    struct tr_sink *out)
{
	const cJSON *err = json_obj(v, "error");
	const char *m = json_str(err, "message");

	if (!nonempty(m))
		m = json_str(v, "message");
	if (!nonempty(m))
		m = v == NULL && *raw != '\0' ? raw : "upstream error without a message";
	return error_event(t, error_type(err), m, out);
}

static void
take_usage(struct chat_stream *t, const cJSON *chunk)
{
	const cJSON *usage = json_obj(chunk, "usage");
	const char *model = json_str(chunk, "model");

	if (usage != NULL) {
		tr_chat_usage_to_anthropic(usage, &t->au);
		tr_usage_from_json(&t->base.usage, usage);
	}
	tr_usage_copilot(&t->base.usage, chunk);
	if (nonempty(model))
		snprintf(t->base.usage.model, sizeof(t->base.usage.model), "%s",
		    model);
}

static GW_MUST_CHECK enum gw_err
cs_feed(struct tr_stream *base, const char *event, const char *data,
    size_t len, struct tr_sink *out)
{
	struct chat_stream *t = (struct chat_stream *)base;
	const cJSON *choices;
	cJSON *v = NULL;
	enum gw_err e = GW_OK;

	if (t->failed || t->saw_done)
		return GW_OK;
	if (strcmp(data, "[DONE]") == 0) {
		t->saw_done = 1;
		return t->finished ? complete(t, out) : GW_OK;
	}
	v = json_parse(data, len, NULL, NULL);
	if (t->stopped) {       /* the message is complete: only usage counts */
		if (cJSON_IsObject(v))
			take_usage(t, v);
		goto out;
	}
	if (event != NULL && strcmp(event, "error") == 0) {
		e = upstream_error(t, v, data, out);
		goto out;
	}
	/* Anything that is not a chunk object (keep-alive junk) carries
	 * nothing to translate. */
	if (!cJSON_IsObject(v))
		goto out;
	if (json_obj(v, "error") != NULL && json_arr(v, "choices") == NULL) {
		e = upstream_error(t, v, data, out);
		goto out;
	}
	take_usage(t, v);
	choices = json_arr(v, "choices");
	if (cJSON_GetArraySize(choices) == 0) {
		/* A usage-only chunk ends a finished message; an empty one
		 * (Copilot's prompt_filter_results) carries nothing. */
		if (t->finished && json_obj(v, "usage") != NULL)
			e = complete(t, out);
		goto out;
	}
	e = on_choice(t, v, choices->child, json_obj(v, "usage") != NULL, out);
out:
	cJSON_Delete(v);
	return e;
}

static GW_MUST_CHECK enum gw_err
cs_ping(struct tr_stream *base, struct tr_sink *out)
{
	struct chat_stream *t = (struct chat_stream *)base;

	/* The SDKs skip pings wherever they come, even before message_start;
	 * after the last event nothing is sent. */
	if (t->stopped || t->failed)
		return GW_OK;
	return tr_anthropic_ping(out);
}

/*
 * End of the upstream.  A message whose finish_reason was seen is complete:
 * it gets its message_delta/message_stop even if the usage chunk or [DONE]
 * never came (an error event there would make the SDK throw away a whole
 * answer and the client retry it).  Otherwise the client gets an Anthropic
 * error event and nothing else: open blocks are left open, as Anthropic's
 * own API does on a mid-stream overload, so no client mistakes a cut tool
 * input or text for a finished one.
 */
static GW_MUST_CHECK enum gw_err
cs_finish(struct tr_stream *base, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct chat_stream *t = (struct chat_stream *)base;

	if (t->failed || t->stopped || status == GW_ECLIENTGONE)
		return GW_OK;
	if (t->finished)
		return complete(t, out);
	if (message == NULL)
		message = status == GW_OK ?
		    "upstream stream ended before the answer was finished" :
		    gw_strerror(status);
	return error_event(t, status == GW_ETIMEOUT ? "timeout_error" :
	    "api_error", message, out);
}

static void
cs_free(struct tr_stream *base)
{
	struct chat_stream *t = (struct chat_stream *)base;
	size_t i;

	for (i = 0; i < t->ntools; i++) {
		free(t->tools[i].id);
		free(t->tools[i].name);
		buf_free(&t->tools[i].args);
	}
	free(t->tools);
	free(t->model);
	free(t->opaque);
	buf_free(&t->ev);
	buf_free(&t->deferred);
	free(t);
}

static const struct tr_stream_ops chat_stream_ops = {
	"anthropic<-chat", cs_feed, cs_ping, cs_finish, cs_free,
};

enum gw_err
tr_chat_stream_new(const char *model, struct tr_stream **out)
{
	struct chat_stream *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return GW_ENOMEM;
	t->base.ops = &chat_stream_ops;
	tr_usage_init(&t->base.usage);
	tr_chat_usage_to_anthropic(NULL, &t->au);
	if (nonempty(model) && (t->model = strdup(model)) == NULL) {
		free(t);
		return GW_ENOMEM;
	}
	*out = &t->base;
	return GW_OK;
}

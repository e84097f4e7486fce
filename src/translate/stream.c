/*
 * The passthrough translator (the identity, with usage sniffing) and the
 * pieces stream translators share: the Anthropic ping, the end of a
 * relayed stream, and the wrapper base; and what the other translate files
 * share: the Anthropic content blocks and the validation error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "translate/stream.h"

static void tr_wrap_sync(struct tr_wrap *w);

enum gw_err
tr_invalid(struct buf *errmsg, const char *fmt, ...)
{
	va_list ap;

	if (errmsg != NULL) {
		buf_reset(errmsg);
		va_start(ap, fmt);
		/* best effort: GW_EINVAL is returned whatever it says */
		GW_IGNORE(buf_vprintf(errmsg, fmt, ap));
		va_end(ap);
	}
	return GW_EINVAL;
}

enum gw_err
tr_text_block(cJSON *content, const char *text)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL || json_add_str(b, "type", "text") != GW_OK ||
	    json_add_str(b, "text", text) != GW_OK) {
		cJSON_Delete(b);
		return GW_ENOMEM;
	}
	return json_push(content, b);
}

enum gw_err
tr_thinking_block(cJSON *content, const char *thinking, const char *sig)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL || json_add_str(b, "type", "thinking") != GW_OK ||
	    json_add_str(b, "thinking", thinking) != GW_OK ||
	    json_add_str(b, "signature", sig) != GW_OK) {
		cJSON_Delete(b);
		return GW_ENOMEM;
	}
	return json_push(content, b);
}

enum gw_err
tr_tool_use_block(cJSON *content, const char *id, const char *name,
    cJSON *input)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL || json_add_str(b, "type", "tool_use") != GW_OK ||
	    json_add_str(b, "id", id) != GW_OK ||
	    json_add_str(b, "name", name) != GW_OK) {
		cJSON_Delete(b);
		cJSON_Delete(input);
		return GW_ENOMEM;
	}
	if (json_add(b, "input", input) != GW_OK) {
		cJSON_Delete(b);
		return GW_ENOMEM;
	}
	return json_push(content, b);
}

struct passthrough {
	struct tr_stream base;   /* first: the translator is freed through it */
	enum gw_dialect dialect;
};

static void
sniff(struct tr_stream *t, const char *data, size_t len)
{
	const cJSON *usage, *resp;
	const char *model;
	struct tr_usage u;
	cJSON *v;

	/* Parsing every chunk would double the relay's cost: only chunks that
	 * can carry usage are parsed. */
	if (strstr(data, "\"usage\"") == NULL)
		return;
	if ((v = json_parse(data, len, NULL, NULL)) == NULL)
		return;
	resp = json_obj(v, "response");        /* Responses events */
	usage = json_obj(resp != NULL ? resp : v, "usage");
	if (usage == NULL)
		usage = json_obj(json_obj(v, "message"), "usage"); /* Anthropic */
	/* a later event's usage may report only some counts
	 * (message_delta: output_tokens): merge, do not replace */
	tr_usage_init(&u);
	if (usage != NULL)
		tr_usage_from_json(&u, usage);
	/* Copilot's charge: beside the usage of a chunk, a body, a Responses
	 * event or a message_delta, in message_start's message */
	tr_usage_copilot(&u, v);
	tr_usage_copilot(&u, json_obj(v, "message"));
	tr_usage_merge(&t->usage, &u);
	model = json_str(resp != NULL ? resp : v, "model");
	if (model != NULL)
		snprintf(t->usage.model, sizeof(t->usage.model), "%s", model);
	cJSON_Delete(v);
}

/* A chat chunk whose finish_reason is a string (not null), found without
 * parsing: a key "finish_reason" cannot occur inside a JSON string, where
 * its quotes would be escaped. */
static int
has_finish_reason(const char *data)
{
	const char *p = data;

	while ((p = strstr(p, "\"finish_reason\"")) != NULL) {
		p += 15;
		p += strspn(p, " \t\r\n");
		if (*p != ':')
			continue;
		p++;
		p += strspn(p, " \t\r\n");
		if (*p == '"')
			return 1;
	}
	return 0;
}

static GW_MUST_CHECK enum gw_err
pt_feed(struct tr_stream *t, const char *event, const char *data, size_t len,
    struct tr_sink *out)
{
	if (strcmp(data, "[DONE]") == 0)
		t->done = 1;
	else if (event != NULL && (strcmp(event, "message_stop") == 0 ||
	    strcmp(event, "response.completed") == 0 ||
	    strcmp(event, "response.incomplete") == 0 ||
	    strcmp(event, "response.failed") == 0 ||
	    /* an Images stream's last (OpenAI's ImageGen/ImageEdit
	     * CompletedEvent) */
	    strcmp(event, "image_generation.completed") == 0 ||
	    strcmp(event, "image_edit.completed") == 0))
		t->done = 1;
	else if (!t->finished && has_finish_reason(data))
		t->finished = 1;
	sniff(t, data, len);
	return out->emit(out->ctx, event, data, len);
}

enum gw_err
tr_anthropic_ping(struct tr_sink *out)
{
	static const char ping[] = "{\"type\":\"ping\"}";

	return out->emit(out->ctx, "ping", ping, sizeof(ping) - 1);
}

static GW_MUST_CHECK enum gw_err
pt_ping(struct tr_stream *t, struct tr_sink *out)
{
	struct passthrough *p = (struct passthrough *)t;

	if (p->dialect == GW_DIALECT_ANTHROPIC)
		return tr_anthropic_ping(out);
	return out->comment(out->ctx, "keep-alive");
}

/* An OpenAI client still waits for its [DONE] after the error event. */
enum gw_err
tr_passthrough_end(enum gw_dialect d, int done, enum gw_err status,
    const char *message, struct tr_sink *out)
{
	enum gw_err e;

	if (status == GW_OK)
		return GW_OK;
	e = tr_emit_error(d, status == GW_ETIMEOUT ? "timeout_error" :
	    "api_error", message != NULL ? message : gw_strerror(status), out);
	if (e == GW_OK && d == GW_DIALECT_OPENAI && !done)
		e = out->emit(out->ctx, NULL, "[DONE]", 6);
	return e;
}

static GW_MUST_CHECK enum gw_err
pt_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct passthrough *p = (struct passthrough *)t;

	return tr_passthrough_end(p->dialect, t->done, status, message, out);
}

static void
pt_free(struct tr_stream *t)
{
	free(t);
}

static const struct tr_stream_ops passthrough_ops = {
	"passthrough", pt_feed, pt_ping, pt_finish, pt_free,
};

enum gw_err
tr_passthrough_new(enum gw_dialect d, struct tr_stream **out)
{
	struct passthrough *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return GW_ENOMEM;
	p->base.ops = &passthrough_ops;
	tr_usage_init(&p->base.usage);
	p->dialect = d;
	*out = &p->base;
	return GW_OK;
}

/* ---- the wrapper base ---- */

void
tr_wrap_init(struct tr_wrap *w, const struct tr_stream_ops *ops,
    struct tr_stream *inner)
{
	w->base.ops = ops;
	w->inner = inner;
	tr_usage_init(&w->base.usage);
	if (inner != NULL)
		tr_wrap_sync(w);
}

/* base.done, .finished and .usage := inner's. */
static void
tr_wrap_sync(struct tr_wrap *w)
{
	w->base.done = w->inner->done;
	w->base.finished = w->inner->finished;
	w->base.usage = w->inner->usage;
}

enum gw_err
tr_wrap_feed(struct tr_stream *t, const char *event, const char *data,
    size_t len, struct tr_sink *out)
{
	struct tr_wrap *w = (struct tr_wrap *)t;
	enum gw_err e = w->inner->ops->feed(w->inner, event, data, len, out);

	tr_wrap_sync(w);
	return e;
}

enum gw_err
tr_wrap_ping(struct tr_stream *t, struct tr_sink *out)
{
	struct tr_wrap *w = (struct tr_wrap *)t;

	if (w->inner->ops->ping == NULL)
		return out->comment(out->ctx, "keep-alive");
	return w->inner->ops->ping(w->inner, out);
}

enum gw_err
tr_wrap_finish(struct tr_stream *t, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct tr_wrap *w = (struct tr_wrap *)t;
	enum gw_err e = w->inner->ops->finish(w->inner, status, message, out);

	tr_wrap_sync(w);
	return e;
}

void
tr_wrap_free(struct tr_stream *t)
{
	struct tr_wrap *w = (struct tr_wrap *)t;

	if (w == NULL)
		return;
	tr_stream_free(w->inner);
	free(w);
}

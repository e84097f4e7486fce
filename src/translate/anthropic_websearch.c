/*
 * Claude Code's web search through a Responses model (see the header):
 * the request's classification and translation, the rebuilt Anthropic
 * message, its synthetic stream, and the translator that collects the
 * upstream's Responses stream.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "translate/anthropic_websearch.h"

/* ---- the request ------------------------------------------------------ */

static int
is_ws_tool(const cJSON *t)
{
	const char *type = json_str(t, "type");

	return type != NULL && strncmp(type, "web_search", 10) == 0 &&
	    cJSON_GetObjectItemCaseSensitive(t, "input_schema") == NULL;
}

enum tr_ws_kind
tr_ws_classify(const cJSON *anthropic)
{
	const cJSON *t;
	int ws = 0, other = 0;

	cJSON_ArrayForEach(t, json_arr(anthropic, "tools")) {
		if (is_ws_tool(t))
			ws++;
		else
			other++;
	}
	if (ws == 0)
		return TR_WS_NONE;
	return other == 0 ? TR_WS_ONLY : TR_WS_MIXED;
}

void
tr_ws_strip(cJSON *anthropic)
{
	cJSON *tools = json_arr(anthropic, "tools"), *t, *next;

	for (t = tools != NULL ? tools->child : NULL; t != NULL; t = next) {
		next = t->next;
		if (is_ws_tool(t))
			cJSON_Delete(cJSON_DetachItemViaPointer(tools, t));
	}
}

/* A non-empty array of the tool's, copied into filters[key]. */
static GW_MUST_CHECK enum gw_err
copy_domains(const cJSON *tool, const char *key, cJSON *filters)
{
	const cJSON *a = json_arr(tool, key);

	if (cJSON_GetArraySize(a) == 0)
		return GW_OK;
	return json_add(filters, key, cJSON_Duplicate(a, 1));
}

/* buildResponsesWebSearchTool: {type: web_search, filters?, user_location?} */
static cJSON *
hosted_tool(const cJSON *anthropic)
{
	const cJSON *t, *src = NULL, *loc;
	cJSON *tool = cJSON_CreateObject(), *filters = cJSON_CreateObject();

	cJSON_ArrayForEach(t, json_arr(anthropic, "tools"))
		if (is_ws_tool(t)) {
			src = t;
			break;
		}
	if (tool == NULL || filters == NULL ||
	    json_add_str(tool, "type", "web_search") != GW_OK ||
	    copy_domains(src, "allowed_domains", filters) != GW_OK ||
	    copy_domains(src, "blocked_domains", filters) != GW_OK)
		goto fail;
	if (filters->child != NULL) {
		if (json_add(tool, "filters", filters) != GW_OK) {
			filters = NULL;
			goto fail;
		}
		filters = NULL;
	}
	loc = cJSON_GetObjectItemCaseSensitive(src, "user_location");
	if (json_truthy(loc) && json_add(tool, "user_location",
	    cJSON_Duplicate(loc, 1)) != GW_OK)
		goto fail;
	cJSON_Delete(filters);
	return tool;
fail:
	cJSON_Delete(filters);
	cJSON_Delete(tool);
	return NULL;
}

enum gw_err
tr_ws_to_responses(const cJSON *anthropic, const struct tr_resp_opts *o,
    cJSON **out, struct buf *errmsg)
{
	cJSON *copy, *tools, *reasoning;
	enum gw_err e;

	*out = NULL;
	if ((copy = cJSON_Duplicate(anthropic, 1)) == NULL ||
	    (tools = hosted_tool(anthropic)) == NULL) {
		cJSON_Delete(copy);
		return GW_ENOMEM;
	}
	if ((e = json_set(copy, "tools", cJSON_CreateArray())) != GW_OK ||
	    (e = json_set(copy, "stream", cJSON_CreateTrue())) != GW_OK ||
	    (e = tr_anthropic_to_responses(copy, o, out, errmsg)) != GW_OK)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(*out, "tool_choice");
	if ((e = json_set(*out, "tools", cJSON_CreateArray())) != GW_OK ||
	    (e = json_push(json_arr(*out, "tools"), tools)) != GW_OK) {
		tools = NULL;
		goto out;
	}
	tools = NULL;
	if ((reasoning = cJSON_CreateObject()) == NULL ||
	    json_add_str(reasoning, "effort", "medium") != GW_OK ||
	    json_add_str(reasoning, "summary", "auto") != GW_OK) {
		cJSON_Delete(reasoning);
		e = GW_ENOMEM;
		goto out;
	}
	if ((e = json_set(*out, "reasoning", reasoning)) != GW_OK ||
	    (e = json_set(*out, "stream", cJSON_CreateTrue())) != GW_OK)
		goto out;
out:
	cJSON_Delete(tools);
	cJSON_Delete(copy);
	if (e != GW_OK) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return e;
}

/* ---- the answer ------------------------------------------------------- */

/* extractWebSearchResult: the texts, the distinct cited pages, the queries. */
struct extract {
	struct buf text;
	cJSON *pages;        /* [{url, title}] */
	cJSON *queries;      /* [string] */
};

static int
seen_url(const cJSON *pages, const char *url)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, pages)
		if (strcmp(json_str(p, "url"), url) == 0)
			return 1;
	return 0;
}

static GW_MUST_CHECK enum gw_err
add_page(cJSON *pages, const cJSON *ann)
{
	const char *url = json_str(ann, "url"), *title = json_str(ann, "title");
	cJSON *p;

	if (url == NULL || *url == '\0' || seen_url(pages, url))
		return GW_OK;
	if ((p = cJSON_CreateObject()) == NULL ||
	    json_add_str(p, "url", url) != GW_OK ||
	    json_add_str(p, "title", title != NULL ? title : url) != GW_OK) {
		cJSON_Delete(p);
		return GW_ENOMEM;
	}
	return json_push(pages, p);
}

static GW_MUST_CHECK enum gw_err
extract_message(struct extract *x, const cJSON *item)
{
	const cJSON *part, *ann;
	const char *text;
	enum gw_err e;

	cJSON_ArrayForEach(part, json_arr(item, "content")) {
		const char *type = json_str(part, "type");

		if (type == NULL || strcmp(type, "output_text") != 0)
			continue;
		text = json_str(part, "text");
		if (text != NULL && *text != '\0' &&
		    ((x->text.len > 0 && (e = buf_puts(&x->text, "\n\n")) !=
		    GW_OK) || (e = buf_puts(&x->text, text)) != GW_OK))
			return e;
		cJSON_ArrayForEach(ann, json_arr(part, "annotations")) {
			const char *at = json_str(ann, "type");

			if (at != NULL && strcmp(at, "url_citation") == 0 &&
			    (e = add_page(x->pages, ann)) != GW_OK)
				return e;
		}
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
extract_query(struct extract *x, const cJSON *item)
{
	const cJSON *action = json_obj(item, "action"), *q;
	const char *one = json_str(action, "query");

	if (cJSON_GetArraySize(json_arr(action, "queries")) > 0) {
		cJSON_ArrayForEach(q, json_arr(action, "queries"))
			if (json_push(x->queries, cJSON_Duplicate(q, 1)) != GW_OK)
				return GW_ENOMEM;
	} else if (one != NULL && *one != '\0')
		return json_push(x->queries, cJSON_CreateString(one));
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
extract(const cJSON *result, struct extract *x)
{
	const cJSON *item;
	enum gw_err e = GW_OK;

	cJSON_ArrayForEach(item, json_arr(result, "output")) {
		const char *type = json_str(item, "type");

		if (type != NULL && strcmp(type, "message") == 0)
			e = extract_message(x, item);
		else if (type != NULL && strcmp(type, "web_search_call") == 0)
			e = extract_query(x, item);
		if (e != GW_OK)
			return e;
	}
	return GW_OK;
}

/* The first query run, or NULL. */
static const char *
first_query(const struct extract *x)
{
	const cJSON *q = x->queries->child;

	return cJSON_IsString(q) ? q->valuestring : NULL;
}

/* JS's String.prototype.trim on ASCII whitespace, which is what models
 * put around an answer: the trimmed copy. */
static char *
trim_copy(const char *s)
{
	const char *end;

	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\n' ||
	    end[-1] == '\t' || end[-1] == '\r'))
		end--;
	return strndup(s, (size_t)(end - s));
}

static GW_MUST_CHECK enum gw_err
search_blocks(cJSON *content, const struct extract *x, const char *id)
{
	const cJSON *p;
	const char *query = first_query(x);
	cJSON *use = cJSON_CreateObject(), *input = cJSON_CreateObject();
	cJSON *res = cJSON_CreateObject(), *items = cJSON_CreateArray(), *r;

	if (use == NULL || input == NULL || res == NULL || items == NULL ||
	    json_add_str(use, "type", "server_tool_use") != GW_OK ||
	    json_add_str(use, "id", id) != GW_OK ||
	    json_add_str(use, "name", "web_search") != GW_OK ||
	    json_add_str(input, "query", query != NULL ? query : "") != GW_OK)
		goto fail;
	if (json_add(use, "input", input) != GW_OK) {
		input = NULL;
		goto fail;
	}
	input = NULL;
	cJSON_ArrayForEach(p, x->pages) {
		if ((r = cJSON_CreateObject()) == NULL ||
		    json_add_str(r, "type", "web_search_result") != GW_OK ||
		    json_add_str(r, "url", json_str(p, "url")) != GW_OK ||
		    json_add_str(r, "title", json_str(p, "title")) != GW_OK ||
		    json_add(r, "page_age", cJSON_CreateNull()) != GW_OK ||
		    json_add_str(r, "encrypted_content", "") != GW_OK) {
			cJSON_Delete(r);
			goto fail;
		}
		if (json_push(items, r) != GW_OK)
			goto fail;
	}
	if (json_add_str(res, "type", "web_search_tool_result") != GW_OK ||
	    json_add_str(res, "tool_use_id", id) != GW_OK)
		goto fail;
	if (json_add(res, "content", items) != GW_OK) {
		items = NULL;
		goto fail;
	}
	items = NULL;
	if (json_push(content, use) != GW_OK) {
		use = NULL;
		goto fail;
	}
	use = NULL;
	return json_push(content, res);
fail:
	cJSON_Delete(use);
	cJSON_Delete(input);
	cJSON_Delete(res);
	cJSON_Delete(items);
	return GW_ENOMEM;
}

static GW_MUST_CHECK enum gw_err
message_usage(cJSON *msg, const cJSON *usage, long requests)
{
	cJSON *u = cJSON_CreateObject(), *stu = cJSON_CreateObject();

	if (u == NULL || stu == NULL ||
	    json_add(u, "input_tokens", cJSON_CreateNumber((double)json_long(
	    usage, "input_tokens", 0))) != GW_OK ||
	    json_add(u, "output_tokens", cJSON_CreateNumber((double)json_long(
	    usage, "output_tokens", 0))) != GW_OK ||
	    json_add(stu, "web_search_requests",
	    cJSON_CreateNumber((double)requests)) != GW_OK) {
		cJSON_Delete(u);
		cJSON_Delete(stu);
		return GW_ENOMEM;
	}
	if (json_add(u, "server_tool_use", stu) != GW_OK) {
		cJSON_Delete(u);
		return GW_ENOMEM;
	}
	return json_add(msg, "usage", u);
}

/* The collected result -> the Anthropic message (see the header). */
static GW_MUST_CHECK enum gw_err
tr_ws_to_anthropic(const cJSON *result, const struct tr_ws_opts *o,
    cJSON **out)
{
	struct extract x = { BUF_INIT, cJSON_CreateArray(), cJSON_CreateArray() };
	const char *id = json_str(result, "id"), *ot;
	cJSON *msg = NULL, *content;
	char *answer = NULL;
	long nq;
	enum gw_err e = GW_ENOMEM;

	*out = NULL;
	if (x.pages == NULL || x.queries == NULL ||
	    (e = extract(result, &x)) != GW_OK)
		goto out;
	e = GW_ENOMEM;
	ot = json_str(result, "output_text");
	if ((answer = trim_copy(buf_cstr(&x.text))) == NULL)
		goto out;
	if (*answer == '\0' && ot != NULL) {
		free(answer);
		if ((answer = trim_copy(ot)) == NULL)
			goto out;
	}
	if ((msg = cJSON_CreateObject()) == NULL ||
	    json_add_str(msg, "id", id != NULL && *id != '\0' ? id :
	    o->fallback_id) != GW_OK ||
	    json_add_str(msg, "type", "message") != GW_OK ||
	    json_add_str(msg, "role", "assistant") != GW_OK ||
	    json_add(msg, "content", cJSON_CreateArray()) != GW_OK)
		goto out;
	content = json_arr(msg, "content");
	nq = cJSON_GetArraySize(x.queries);
	if ((cJSON_GetArraySize(x.pages) > 0 || (first_query(&x) != NULL &&
	    *first_query(&x) != '\0')) &&
	    (e = search_blocks(content, &x, o->tool_use_id)) != GW_OK)
		goto out;
	e = GW_ENOMEM;
	if (tr_text_block(content, answer) != GW_OK ||
	    json_add_str(msg, "model", o->model) != GW_OK ||
	    json_add_str(msg, "stop_reason", "end_turn") != GW_OK ||
	    json_add(msg, "stop_sequence", cJSON_CreateNull()) != GW_OK ||
	    message_usage(msg, json_obj(result, "usage"), nq > 1 ? nq : 1) !=
	    GW_OK)
		goto out;
	*out = msg;
	msg = NULL;
	e = GW_OK;
out:
	cJSON_Delete(msg);
	cJSON_Delete(x.pages);
	cJSON_Delete(x.queries);
	buf_free(&x.text);
	free(answer);
	return e;
}

/* ---- the synthetic stream -------------------------------------------- */

/* Emits v (JSON.stringify) as event name; takes v. */
static GW_MUST_CHECK enum gw_err
emit(struct tr_sink *out, const char *name, cJSON *v)
{
	char *s = v != NULL ? cJSON_PrintUnformatted(v) : NULL;
	enum gw_err e;

	e = s != NULL ? out->emit(out->ctx, name, s, strlen(s)) : GW_ENOMEM;
	cJSON_free(s);
	cJSON_Delete(v);
	return e;
}

/* {type, index} plus key: item (taken; may be NULL for none). */
static cJSON *
indexed(const char *type, int index, const char *key, cJSON *item)
{
	cJSON *v = cJSON_CreateObject();

	if (v == NULL || json_add_str(v, "type", type) != GW_OK ||
	    json_add(v, "index", cJSON_CreateNumber(index)) != GW_OK) {
		cJSON_Delete(v);
		cJSON_Delete(item);
		return NULL;
	}
	if (key != NULL && json_add(v, key, item) != GW_OK) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* {type: dtype, field: value} */
static cJSON *
delta(const char *dtype, const char *field, const char *value)
{
	cJSON *d = cJSON_CreateObject();

	if (d == NULL || json_add_str(d, "type", dtype) != GW_OK ||
	    json_add_str(d, field, value) != GW_OK) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

static GW_MUST_CHECK enum gw_err
emit_block(struct tr_sink *out, const cJSON *block, int i)
{
	const char *type = json_str(block, "type");
	char *q;
	cJSON *start, *d = NULL;
	enum gw_err e;

	if (type != NULL && strcmp(type, "text") == 0) {
		start = cJSON_CreateObject();
		if (start != NULL && (json_add_str(start, "type", "text") !=
		    GW_OK || json_add_str(start, "text", "") != GW_OK)) {
			cJSON_Delete(start);
			start = NULL;
		}
		d = delta("text_delta", "text", json_str(block, "text"));
	} else if (type != NULL && strcmp(type, "server_tool_use") == 0) {
		start = cJSON_Duplicate(block, 1);
		if (start != NULL && json_set(start, "input",
		    cJSON_CreateObject()) != GW_OK)
			start = NULL;
		/* JSON.stringify(input) */
		if ((q = cJSON_PrintUnformatted(json_obj(block, "input"))) != NULL)
			d = delta("input_json_delta", "partial_json", q);
		cJSON_free(q);
	} else
		start = cJSON_Duplicate(block, 1);
	if (start == NULL || (d == NULL && type != NULL &&
	    (strcmp(type, "text") == 0 ||
	    strcmp(type, "server_tool_use") == 0))) {
		cJSON_Delete(start);
		cJSON_Delete(d);
		return GW_ENOMEM;
	}
	if ((e = emit(out, "content_block_start", indexed("content_block_start",
	    i, "content_block", start))) != GW_OK) {
		cJSON_Delete(d);
		return e;
	}
	if (d != NULL && (e = emit(out, "content_block_delta",
	    indexed("content_block_delta", i, "delta", d))) != GW_OK)
		return e;
	return emit(out, "content_block_stop", indexed("content_block_stop", i,
	    NULL, NULL));
}

/* The message as the synthetic events of an Anthropic stream. */
static GW_MUST_CHECK enum gw_err
tr_ws_emit(const cJSON *message, struct tr_sink *out)
{
	const cJSON *b;
	cJSON *v, *m, *u, *d;
	enum gw_err e;
	int i = 0;

	/* message_start: the message with no content and output_tokens 0 */
	if ((v = cJSON_CreateObject()) == NULL ||
	    json_add_str(v, "type", "message_start") != GW_OK ||
	    json_add(v, "message", cJSON_Duplicate(message, 1)) != GW_OK) {
		cJSON_Delete(v);
		return GW_ENOMEM;
	}
	m = json_obj(v, "message");
	u = json_obj(m, "usage");
	if (json_set(m, "content", cJSON_CreateArray()) != GW_OK ||
	    json_set(m, "stop_reason", cJSON_CreateNull()) != GW_OK ||
	    (u != NULL && json_set(u, "output_tokens",
	    cJSON_CreateNumber(0)) != GW_OK)) {
		cJSON_Delete(v);
		return GW_ENOMEM;
	}
	if ((e = emit(out, "message_start", v)) != GW_OK)
		return e;
	cJSON_ArrayForEach(b, json_arr(message, "content"))
		if ((e = emit_block(out, b, i++)) != GW_OK)
			return e;
	if ((v = cJSON_CreateObject()) == NULL ||
	    json_add_str(v, "type", "message_delta") != GW_OK ||
	    (d = cJSON_CreateObject()) == NULL ||
	    json_add(v, "delta", d) != GW_OK ||
	    json_add(d, "stop_reason", cJSON_Duplicate(cJSON_GetObjectItem(
	    message, "stop_reason"), 1)) != GW_OK ||
	    json_add(d, "stop_sequence", cJSON_CreateNull()) != GW_OK ||
	    (u = cJSON_CreateObject()) == NULL ||
	    json_add(v, "usage", u) != GW_OK ||
	    json_add(u, "output_tokens", cJSON_CreateNumber((double)json_long(
	    json_obj(message, "usage"), "output_tokens", 0))) != GW_OK) {
		cJSON_Delete(v);
		return GW_ENOMEM;
	}
	if ((e = emit(out, "message_delta", v)) != GW_OK)
		return e;
	if ((v = cJSON_CreateObject()) == NULL ||
	    json_add_str(v, "type", "message_stop") != GW_OK) {
		cJSON_Delete(v);
		return GW_ENOMEM;
	}
	return emit(out, "message_stop", v);
}

/* ---- the collector ---------------------------------------------------- */

struct ws_stream {
	struct tr_stream base;
	struct tr_ws_opts o;        /* strings owned */
	int client_stream;
	cJSON *items;               /* [{i, item}] of output_item.done */
	cJSON *message;
	char *error;
};

static GW_MUST_CHECK enum gw_err
keep_item(struct ws_stream *t, const cJSON *ev)
{
	cJSON *p = cJSON_CreateObject();

	if (p == NULL || json_add(p, "i", cJSON_CreateNumber((double)json_long(
	    ev, "output_index", 0))) != GW_OK ||
	    json_add(p, "item", cJSON_Duplicate(json_obj(ev, "item"), 1)) !=
	    GW_OK) {
		cJSON_Delete(p);
		return GW_ENOMEM;
	}
	return json_push(t->items, p);
}

/* The result with the collected items, in output order, as its output. */
static GW_MUST_CHECK enum gw_err
with_items(struct ws_stream *t, const cJSON *resp, cJSON **out)
{
	cJSON *r = cJSON_Duplicate(resp, 1), *output, *p, *best;
	long last = -1, idx, lo;

	*out = NULL;
	if (r == NULL)
		return GW_ENOMEM;
	if (t->items->child != NULL) {
		if ((output = cJSON_CreateArray()) == NULL ||
		    json_set(r, "output", output) != GW_OK) {
			cJSON_Delete(r);
			return GW_ENOMEM;
		}
		output = json_arr(r, "output");
		/* a Map keyed by index: the next larger index, its last item */
		for (;;) {
			best = NULL;
			lo = 0;
			cJSON_ArrayForEach(p, t->items) {
				idx = json_long(p, "i", 0);
				if (idx > last && (best == NULL || idx <= lo)) {
					best = p;
					lo = idx;
				}
			}
			if (best == NULL)
				break;
			if (json_push(output, cJSON_Duplicate(json_obj(best,
			    "item"), 1)) != GW_OK) {
				cJSON_Delete(r);
				return GW_ENOMEM;
			}
			last = lo;
		}
	}
	*out = r;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
fail_with(struct ws_stream *t, const char *msg, const char *fallback)
{
	t->base.done = 1;
	if (t->error != NULL || t->message != NULL)
		return GW_OK;
	t->error = strdup(msg != NULL && *msg != '\0' ? msg : fallback);
	return t->error != NULL ? GW_OK : GW_ENOMEM;
}

/* Neither a search nor any text: a lone empty text block. */
static int
is_empty(const cJSON *msg)
{
	const cJSON *c = json_arr(msg, "content");
	const char *text;

	if (cJSON_GetArraySize(c) != 1)
		return 0;
	text = json_str(c->child, "text");
	return text != NULL && *text == '\0';
}

/* The result (its output final) becomes the message and the usage. */
static GW_MUST_CHECK enum gw_err
complete(struct ws_stream *t, const cJSON *result)
{
	enum gw_err e;

	if ((e = tr_ws_to_anthropic(result, &t->o, &t->message)) != GW_OK)
		return e;
	tr_usage_from_json(&t->base.usage, json_obj(result, "usage"));
	tr_usage_copilot(&t->base.usage, result);   /* a JSON body's charge */
	t->base.done = 1;
	if (!is_empty(t->message))
		return GW_OK;
	cJSON_Delete(t->message);
	t->message = NULL;
	return fail_with(t, NULL, TR_WS_EMPTY);
}

static const struct tr_stream_ops ws_ops;

static enum gw_err
ws_feed(struct tr_stream *s, const char *event, const char *data, size_t len,
    struct tr_sink *out)
{
	struct ws_stream *t = (struct ws_stream *)s;
	cJSON *ev, *result = NULL;
	const cJSON *resp;
	const char *type, *msg;
	enum gw_err e = GW_OK;

	(void)out;
	if ((event != NULL && strcmp(event, "ping") == 0) || t->base.done ||
	    (ev = json_parse(data, len, NULL, NULL)) == NULL)
		return GW_OK;
	type = json_str(ev, "type");
	resp = json_obj(ev, "response");
	if (type == NULL)
		;
	else if (strcmp(type, "error") == 0) {
		msg = json_str(json_obj(ev, "error"), "message");
		e = fail_with(t, msg != NULL ? msg : json_str(ev, "message"),
		    "Web search responses stream failed");
	} else if (strcmp(type, "response.failed") == 0)
		e = fail_with(t, json_str(json_obj(resp, "error"), "message"),
		    resp != NULL ? "Web search responses stream failed" :
		    "Responses stream ended without a response");
	else if (strcmp(type, "response.output_item.done") == 0)
		e = keep_item(t, ev);
	else if (strcmp(type, "response.completed") == 0 ||
	    strcmp(type, "response.incomplete") == 0) {
		if (resp == NULL)
			e = fail_with(t, NULL, "Responses stream ended "
			    "without a response");
		else if ((e = with_items(t, resp, &result)) == GW_OK)
			e = complete(t, result);
		/* Copilot's charge rides on the terminal event itself */
		tr_usage_copilot(&t->base.usage, ev);
	}
	cJSON_Delete(result);
	cJSON_Delete(ev);
	return e;
}

enum gw_err
tr_ws_take_result(struct tr_stream *s, const cJSON *result)
{
	struct ws_stream *t = (struct ws_stream *)s;

	if (s->ops != &ws_ops || t->base.done)
		return GW_OK;
	return complete(t, result);
}

static enum gw_err
ws_ping(struct tr_stream *s, struct tr_sink *out)
{
	(void)s;
	(void)out;
	return GW_OK;          /* nothing reaches the client while searching */
}

static enum gw_err
ws_finish(struct tr_stream *s, enum gw_err status, const char *message,
    struct tr_sink *out)
{
	struct ws_stream *t = (struct ws_stream *)s;

	(void)message;
	if (status != GW_OK || t->message == NULL || !t->client_stream)
		return GW_OK;  /* the caller answers with an error reply */
	t->base.finished = 1;
	return tr_ws_emit(t->message, out);
}

static void
ws_free(struct tr_stream *s)
{
	struct ws_stream *t = (struct ws_stream *)s;

	free((char *)t->o.model);
	free((char *)t->o.tool_use_id);
	free((char *)t->o.fallback_id);
	cJSON_Delete(t->items);
	cJSON_Delete(t->message);
	free(t->error);
	free(t);
}

static const struct tr_stream_ops ws_ops = {
	"anthropic-websearch", ws_feed, ws_ping, ws_finish, ws_free,
};

enum gw_err
tr_ws_stream_new(const struct tr_ws_opts *o, int client_stream,
    struct tr_stream **out)
{
	struct ws_stream *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (t == NULL)
		return GW_ENOMEM;
	t->base.ops = &ws_ops;
	tr_usage_init(&t->base.usage);
	t->client_stream = client_stream;
	t->o.model = strdup(o->model != NULL ? o->model : "");
	t->o.tool_use_id = strdup(o->tool_use_id != NULL ? o->tool_use_id : "");
	t->o.fallback_id = strdup(o->fallback_id != NULL ? o->fallback_id : "");
	t->items = cJSON_CreateArray();
	if (t->o.model == NULL || t->o.tool_use_id == NULL ||
	    t->o.fallback_id == NULL || t->items == NULL) {
		ws_free(&t->base);
		return GW_ENOMEM;
	}
	*out = &t->base;
	return GW_OK;
}

const cJSON *
tr_ws_message(const struct tr_stream *t)
{
	return t->ops == &ws_ops ? ((const struct ws_stream *)t)->message :
	    NULL;
}

const char *
tr_ws_error(const struct tr_stream *t)
{
	return t->ops == &ws_ops ? ((const struct ws_stream *)t)->error : NULL;
}

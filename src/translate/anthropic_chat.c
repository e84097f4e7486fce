/*
 * Anthropic Messages request -> Chat Completions request (spec §3) and
 * Chat Completions response -> Anthropic message (§4).  The stream
 * translator (§5) is in anthropic_chat_stream.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "translate/anthropic_chat.h"
#include "translate/stream.h"


static const char pdf_unsupported[] =
    "PDF/document content is not supported by this Chat Completions "
    "upstream. Use the available text extracted from the document.";
static const char rich_moved[] =
    "Rich tool result content was moved to a user message because this "
    "upstream does not support it in tool messages.";

/* ---- cJSON building: every helper takes ownership of item ---- */

/* obj[key] = a copy of src[key], when src has that key (any JSON value:
 * the reference copies without coercion). */
static GW_MUST_CHECK enum gw_err
copy_key(cJSON *obj, const char *key, const cJSON *src, const char *srckey)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, srckey);

	return v == NULL ? GW_OK : json_add(obj, key, cJSON_Duplicate(v, 1));
}

/* {k1: v1, k2: v2}; NULL when out of memory. */
static cJSON *
str_pair(const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || json_add_str(o, k1, v1) != GW_OK ||
	    json_add_str(o, k2, v2) != GW_OK) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* {type: text, text} */
static cJSON *
text_part(const char *text)
{
	return str_pair("type", "text", "text", text);
}

/* {role, content: a string} */
static cJSON *
str_message(const char *role, const char *content)
{
	return str_pair("role", role, "content", content);
}

/* {role, content: parts}; takes parts (deleted when that fails).  NULL
 * when out of memory. */
static cJSON *
parts_message(const char *role, cJSON *parts)
{
	cJSON *m = cJSON_CreateObject();

	if (m == NULL || json_add_str(m, "role", role) != GW_OK) {
		cJSON_Delete(m);
		cJSON_Delete(parts);
		return NULL;
	}
	if (json_add(m, "content", parts) != GW_OK) {
		cJSON_Delete(m);
		return NULL;
	}
	return m;
}

static int
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* ---- validation (§14.1 item 14) ---- */

static GW_MUST_CHECK enum gw_err
check_block(const cJSON *b, int i, int j, struct buf *err)
{
	const char *type = json_str(b, "type");

	if (!cJSON_IsObject(b) || type == NULL)
		return tr_invalid(err,
		    "messages[%d].content[%d]: must be an object "
		    "with a string \"type\"", i, j);
	if (strcmp(type, "tool_use") == 0 &&
	    (!nonempty(json_str(b, "id")) || !nonempty(json_str(b, "name"))))
		return tr_invalid(err,
		    "messages[%d].content[%d]: tool_use needs a "
		    "string \"id\" and \"name\"", i, j);
	if (strcmp(type, "tool_result") == 0 &&
	    !nonempty(json_str(b, "tool_use_id")))
		return tr_invalid(err,
		    "messages[%d].content[%d]: tool_result needs a "
		    "string \"tool_use_id\"", i, j);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
check_message(const cJSON *m, int i, struct buf *err)
{
	const cJSON *role, *content, *b;
	enum gw_err e;
	int j = 0;

	if (!cJSON_IsObject(m))
		return tr_invalid(err, "messages[%d]: must be an object", i);
	role = cJSON_GetObjectItemCaseSensitive(m, "role");
	if (role == NULL || cJSON_IsNull(role))
		return tr_invalid(err, "messages[%d].role: required", i);
	if (!cJSON_IsString(role) || (strcmp(role->valuestring, "user") != 0 &&
	    strcmp(role->valuestring, "assistant") != 0 &&
	    strcmp(role->valuestring, "system") != 0))
		return tr_invalid(err, "messages[%d].role: must be \"user\" or "
		    "\"assistant\"", i);
	content = cJSON_GetObjectItemCaseSensitive(m, "content");
	if (content == NULL || cJSON_IsNull(content))
		return tr_invalid(err, "messages[%d].content: required", i);
	if (cJSON_IsString(content))
		return GW_OK;
	if (!cJSON_IsArray(content))
		return tr_invalid(err,
		    "messages[%d].content: must be a string or an "
		    "array of content blocks", i);
	cJSON_ArrayForEach(b, content) {
		if ((e = check_block(b, i, j++, err)) != GW_OK)
			return e;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
validate(const cJSON *a, struct buf *err)
{
	const cJSON *model, *msgs, *m, *sys, *tools, *t;
	enum gw_err e;
	int i = 0;

	if (!cJSON_IsObject(a))
		return tr_invalid(err, "request body must be a JSON object");
	model = cJSON_GetObjectItemCaseSensitive(a, "model");
	if (model == NULL || cJSON_IsNull(model))
		return tr_invalid(err, "model: required");
	if (!cJSON_IsString(model) || *model->valuestring == '\0')
		return tr_invalid(err, "model: must be a non-empty string");
	msgs = cJSON_GetObjectItemCaseSensitive(a, "messages");
	if (msgs == NULL || cJSON_IsNull(msgs))
		return tr_invalid(err, "messages: required");
	if (!cJSON_IsArray(msgs))
		return tr_invalid(err, "messages: must be an array");
	if (cJSON_GetArraySize(msgs) == 0)
		return tr_invalid(err,
		    "messages: must contain at least one message");
	cJSON_ArrayForEach(m, msgs) {
		if ((e = check_message(m, i++, err)) != GW_OK)
			return e;
	}
	sys = cJSON_GetObjectItemCaseSensitive(a, "system");
	if (sys != NULL && !cJSON_IsNull(sys) && !cJSON_IsString(sys) &&
	    !cJSON_IsArray(sys))
		return tr_invalid(err,
		    "system: must be a string or an array of text "
		    "blocks");
	tools = cJSON_GetObjectItemCaseSensitive(a, "tools");
	if (tools == NULL || cJSON_IsNull(tools))
		return GW_OK;
	if (!cJSON_IsArray(tools))
		return tr_invalid(err, "tools: must be an array");
	i = 0;
	cJSON_ArrayForEach(t, tools) {
		if (!nonempty(json_str(t, "name")))
			return tr_invalid(err, "tools[%d].name: required", i);
		i++;
	}
	return GW_OK;
}

/* ---- content blocks -> Chat parts (§3.4.2) ---- */

/* The URL of an image: a data URL for base64 sources, the URL itself for
 * url sources (the reference builds a broken data URL for those). */
static GW_MUST_CHECK enum gw_err
image_url(const cJSON *src, struct buf *b)
{
	const char *type = json_str(src, "type");
	const char *data = json_str(src, "data");
	const char *mt = json_str(src, "media_type");

	if (str_eq(type, "url") && json_str(src, "url") != NULL)
		return buf_puts(b, json_str(src, "url"));
	if (!str_eq(type, "base64") || data == NULL)
		return GW_ENOTFOUND;
	if (buf_puts(b, "data:") != GW_OK ||
	    buf_puts(b, mt != NULL ? mt : "application/octet-stream") != GW_OK ||
	    buf_puts(b, ";base64,") != GW_OK || buf_puts(b, data) != GW_OK)
		return GW_ENOMEM;
	return GW_OK;
}

static cJSON *
image_part(const char *url)
{
	cJSON *p = cJSON_CreateObject(), *iu;

	if (p == NULL || json_add_str(p, "type", "image_url") != GW_OK ||
	    (iu = cJSON_AddObjectToObject(p, "image_url")) == NULL ||
	    json_add_str(iu, "url", url) != GW_OK) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

static cJSON *
file_part(const char *file_data, const char *filename)
{
	cJSON *p = cJSON_CreateObject(), *f;

	if (p == NULL || json_add_str(p, "type", "file") != GW_OK ||
	    (f = cJSON_AddObjectToObject(p, "file")) == NULL ||
	    json_add_str(f, "file_data", file_data) != GW_OK ||
	    json_add_str(f, "filename", filename) != GW_OK) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/* A plain-text document is just text; a base64 one is a file part when
 * the upstream takes PDFs, else (or when it has no data) a fixed notice. */
static cJSON *
document_part(const cJSON *blk, const struct tr_chat_opts *o)
{
	const cJSON *src = json_obj(blk, "source");
	const char *type = json_str(src, "type");
	const char *title = json_str(blk, "title");
	struct buf b = BUF_INIT;
	cJSON *p;

	if (str_eq(type, "text") && json_str(src, "data") != NULL)
		return text_part(json_str(src, "data"));
	if (!o->support_pdf || !str_eq(type, "base64") ||
	    json_str(src, "data") == NULL)
		return text_part(pdf_unsupported);
	p = image_url(src, &b) == GW_OK ?
	    file_part(b.data, nonempty(title) ? title : "document.pdf") : NULL;
	buf_free(&b);
	return p;
}

/* Appends the part for one block to parts; kinds Chat has no use for
 * (thinking, tool_use, redacted_thinking, ...) add nothing. */
static GW_MUST_CHECK enum gw_err
map_block(const cJSON *blk, const struct tr_chat_opts *o, cJSON *parts)
{
	const char *type = json_str(blk, "type");
	struct buf b = BUF_INIT;
	enum gw_err e = GW_OK;

	if (str_eq(type, "text")) {
		if (json_str(blk, "text") != NULL)
			e = json_push(parts, text_part(json_str(blk, "text")));
	} else if (str_eq(type, "image")) {
		e = image_url(json_obj(blk, "source"), &b);
		if (e == GW_OK)
			e = json_push(parts, image_part(b.data));
		else if (e == GW_ENOTFOUND)
			e = GW_OK;      /* no usable source: nothing to send */
	} else if (str_eq(type, "document")) {
		e = json_push(parts, document_part(blk, o));
	} else if (str_eq(type, "tool_reference")) {
		const char *name = json_str(blk, "tool_name");

		if ((e = buf_printf(&b, "Tool %s loaded",
		    name != NULL ? name : "")) == GW_OK)
			e = json_push(parts, text_part(b.data));
	}
	buf_free(&b);
	return e;
}

/* mapContent: a block array becomes a part array, or "" when nothing maps.
 * skip_results leaves tool_result blocks out (they become tool messages). */
static GW_MUST_CHECK enum gw_err
map_content(const cJSON *blocks, const struct tr_chat_opts *o,
    int skip_results, cJSON **out)
{
	const cJSON *blk;
	cJSON *parts = cJSON_CreateArray();
	enum gw_err e = GW_OK;

	if (parts == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(blk, blocks) {
		if (skip_results && str_eq(json_str(blk, "type"), "tool_result"))
			continue;
		if ((e = map_block(blk, o, parts)) != GW_OK)
			break;
	}
	if (e == GW_OK && cJSON_GetArraySize(parts) == 0) {
		cJSON_Delete(parts);
		parts = cJSON_CreateString("");
		if (parts == NULL)
			return GW_ENOMEM;
	}
	if (e != GW_OK) {
		cJSON_Delete(parts);
		return e;
	}
	*out = parts;
	return GW_OK;
}

/* Joins the non-empty texts of text parts (or text blocks) with sep. */
static GW_MUST_CHECK enum gw_err
join_texts(const cJSON *arr, const char *sep, struct buf *b)
{
	const cJSON *p;
	const char *s;
	int n = 0;

	cJSON_ArrayForEach(p, arr) {
		s = json_str(p, "text");
		if (!str_eq(json_str(p, "type"), "text") || !nonempty(s))
			continue;
		if ((n++ > 0 && buf_puts(b, sep) != GW_OK) ||
		    buf_puts(b, s) != GW_OK)
			return GW_ENOMEM;
	}
	return GW_OK;
}

/* ---- messages (§3.3-§3.5) ---- */

static GW_MUST_CHECK enum gw_err
system_message(const cJSON *sys, cJSON *msgs)
{
	struct buf b = BUF_INIT;
	const cJSON *blk;
	enum gw_err e = GW_OK;
	int n = 0;

	if (cJSON_IsString(sys))
		return *sys->valuestring == '\0' ? GW_OK :
		    json_push(msgs, str_message("system", sys->valuestring));
	if (!cJSON_IsArray(sys))
		return GW_OK;
	/* Every block's text, empty ones included: the reference joins them
	 * all, and an empty array still gives an (empty) system message. */
	cJSON_ArrayForEach(blk, sys) {
		const char *s = json_str(blk, "text");

		if (s == NULL)
			continue;
		if ((n++ > 0 && buf_puts(&b, "\n\n") != GW_OK) ||
		    buf_puts(&b, s) != GW_OK) {
			e = GW_ENOMEM;
			goto out;
		}
	}
	e = json_push(msgs, str_message("system", buf_cstr(&b)));
out:
	buf_free(&b);
	return e;
}

/* The user message that carries a tool result's rich parts when the
 * upstream cannot take them in a tool message (§3.4.1). */
static GW_MUST_CHECK enum gw_err
moved_message(const char *id, const cJSON *parts, cJSON *moved)
{
	struct buf b = BUF_INIT;
	cJSON *m = NULL, *content, *p;
	const cJSON *q;
	enum gw_err e = GW_ENOMEM;

	if (buf_printf(&b, "Tool result for %s:", id) != GW_OK ||
	    (m = cJSON_CreateObject()) == NULL ||
	    json_add_str(m, "role", "user") != GW_OK ||
	    (content = cJSON_AddArrayToObject(m, "content")) == NULL ||
	    json_push(content, text_part(b.data)) != GW_OK)
		goto out;
	cJSON_ArrayForEach(q, parts) {
		if ((p = cJSON_Duplicate(q, 1)) == NULL ||
		    json_push(content, p) != GW_OK)
			goto out;
	}
	e = json_push(moved, m);
	m = NULL;
out:
	cJSON_Delete(m);
	buf_free(&b);
	return e;
}

static GW_MUST_CHECK enum gw_err
tool_message(const cJSON *blk, const struct tr_chat_opts *o, cJSON *msgs,
    cJSON *moved)
{
	const char *id = json_str(blk, "tool_use_id");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(blk, "content");
	const cJSON *p;
	cJSON *m = NULL, *parts = NULL, *value = NULL;
	struct buf text = BUF_INIT;
	enum gw_err e = GW_ENOMEM;
	int has_image = 0, has_file = 0, move;

	if ((m = cJSON_CreateObject()) == NULL ||
	    json_add_str(m, "role", "tool") != GW_OK ||
	    json_add_str(m, "tool_call_id", id) != GW_OK)
		goto out;
	if (cJSON_IsString(content)) {
		value = cJSON_CreateString(content->valuestring);
		goto done;
	}
	if (!cJSON_IsArray(content)) {
		value = cJSON_CreateString("");
		goto done;
	}
	if ((e = map_content(content, o, 0, &parts)) != GW_OK)
		goto out;
	e = GW_ENOMEM;
	cJSON_ArrayForEach(p, parts) {
		has_image |= str_eq(json_str(p, "type"), "image_url");
		has_file |= str_eq(json_str(p, "type"), "file");
	}
	move = (has_image && !(o->tool_content & TR_TOOL_IMAGE)) ||
	    (has_file && !(o->tool_content & TR_TOOL_PDF));
	if (move) {
		if (join_texts(parts, "\n", &text) != GW_OK ||
		    moved_message(id, parts, moved) != GW_OK)
			goto out;
		value = cJSON_CreateString(text.len > 0 ? text.data : rich_moved);
	} else if (!cJSON_IsArray(parts) || (o->tool_content & TR_TOOL_ARRAY) ||
	    has_image || has_file) {
		value = parts;
		parts = NULL;
	} else {
		if (join_texts(parts, "\n", &text) != GW_OK)
			goto out;
		value = cJSON_CreateString(buf_cstr(&text));
	}
done:
	if ((e = json_add(m, "content", value)) != GW_OK)
		goto out;
	e = json_push(msgs, m);
	m = NULL;
out:
	cJSON_Delete(m);
	cJSON_Delete(parts);
	buf_free(&text);
	return e;
}

/* One Anthropic user message: its tool results, then the rich parts they
 * could not carry, then one user message for everything else (§3.4). */
static GW_MUST_CHECK enum gw_err
user_messages(const cJSON *content, const struct tr_chat_opts *o,
    cJSON *msgs)
{
	const cJSON *blk;
	cJSON *moved = NULL, *rest = NULL, *mm;
	enum gw_err e = GW_ENOMEM;
	int others = 0;

	if (cJSON_IsString(content))
		return json_push(msgs, str_message("user", content->valuestring));
	if ((moved = cJSON_CreateArray()) == NULL)
		goto out;
	cJSON_ArrayForEach(blk, content) {
		if (!str_eq(json_str(blk, "type"), "tool_result"))
			others++;
		else if ((e = tool_message(blk, o, msgs, moved)) != GW_OK)
			goto out;
	}
	while ((mm = cJSON_DetachItemFromArray(moved, 0)) != NULL) {
		if ((e = json_push(msgs, mm)) != GW_OK)
			goto out;
	}
	e = GW_OK;
	if (others == 0)
		goto out;
	if ((e = map_content(content, o, 1, &rest)) != GW_OK)
		goto out;
	e = json_push(msgs, parts_message("user", rest));
	rest = NULL;
out:
	cJSON_Delete(moved);
	cJSON_Delete(rest);
	return e;
}

static cJSON *
tool_call(const cJSON *blk)
{
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(blk, "input");
	cJSON *c = cJSON_CreateObject(), *fn;
	char *args = NULL;

	/* JSON.stringify(input); a missing input is "{}", not a missing key. */
	if (input != NULL && (args = json_print(input)) == NULL)
		goto fail;
	if (c == NULL || json_add_str(c, "id", json_str(blk, "id")) != GW_OK ||
	    json_add_str(c, "type", "function") != GW_OK ||
	    (fn = cJSON_AddObjectToObject(c, "function")) == NULL ||
	    json_add_str(fn, "name", json_str(blk, "name")) != GW_OK ||
	    json_add_str(fn, "arguments", args != NULL ? args : "{}") != GW_OK)
		goto fail;
	cJSON_free(args);
	return c;
fail:
	cJSON_free(args);
	cJSON_Delete(c);
	return NULL;
}

/*
 * Thinking blocks become reasoning_text / reasoning_opaque (§3.5).  For
 * Claude models only blocks with a real text and an Anthropic signature
 * survive: a signature with '@' carries GPT reasoning, and a foreign or
 * missing one makes Claude reject the turn ("Invalid signature").
 */
static GW_MUST_CHECK enum gw_err
reasoning(const cJSON *content, const char *model, cJSON *m)
{
	int claude = util_has_prefix(model, "claude");
	const char *opaque = NULL, *th, *sig;
	struct buf b = BUF_INIT;
	const cJSON *blk;
	enum gw_err e = GW_ENOMEM;
	int n = 0;

	cJSON_ArrayForEach(blk, content) {
		if (!str_eq(json_str(blk, "type"), "thinking"))
			continue;
		th = json_str(blk, "thinking");
		sig = json_str(blk, "signature");
		if (claude && (!nonempty(th) || strcmp(th, THINKING_PLACEHOLDER) == 0 ||
		    !nonempty(sig) || strchr(sig, '@') != NULL))
			continue;
		if (nonempty(th) && strcmp(th, THINKING_PLACEHOLDER) != 0) {
			if ((n++ > 0 && buf_puts(&b, "\n\n") != GW_OK) ||
			    buf_puts(&b, th) != GW_OK)
				goto out;
		}
		if (opaque == NULL && nonempty(sig))
			opaque = sig;
	}
	if (n > 0 && json_add_str(m, "reasoning_text", b.data) != GW_OK)
		goto out;
	if (opaque != NULL && json_add_str(m, "reasoning_opaque", opaque) != GW_OK)
		goto out;
	e = GW_OK;
out:
	buf_free(&b);
	return e;
}

static GW_MUST_CHECK enum gw_err
assistant_message(const cJSON *content, const struct tr_chat_opts *o,
    const char *model, cJSON *msgs)
{
	const cJSON *blk;
	cJSON *m = NULL, *parts = NULL, *calls = NULL;
	enum gw_err e;

	if (cJSON_IsString(content))
		return json_push(msgs, str_message("assistant", content->valuestring));
	if ((e = map_content(content, o, 0, &parts)) != GW_OK)
		return e;
	if ((m = parts_message("assistant", parts)) == NULL)
		return GW_ENOMEM;
	e = GW_ENOMEM;
	cJSON_ArrayForEach(blk, content) {
		if (!str_eq(json_str(blk, "type"), "tool_use"))
			continue;
		if (calls == NULL &&
		    (calls = cJSON_AddArrayToObject(m, "tool_calls")) == NULL)
			goto out;
		if (json_push(calls, tool_call(blk)) != GW_OK)
			goto out;
	}
	if ((e = reasoning(content, model, m)) != GW_OK)
		goto out;
	e = json_push(msgs, m);
	m = NULL;
out:
	cJSON_Delete(m);
	return e;
}

static GW_MUST_CHECK enum gw_err
messages(const cJSON *a, const struct tr_chat_opts *o, cJSON *msgs)
{
	const char *model = json_str(a, "model");
	const cJSON *m, *content;
	const char *role;
	struct buf b = BUF_INIT;
	enum gw_err e;

	if ((e = system_message(cJSON_GetObjectItemCaseSensitive(a, "system"),
	    msgs)) != GW_OK)
		return e;
	cJSON_ArrayForEach(m, json_arr(a, "messages")) {
		role = json_str(m, "role");
		content = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (strcmp(role, "user") == 0)
			e = user_messages(content, o, msgs);
		else if (strcmp(role, "assistant") == 0)
			e = assistant_message(content, o, model, msgs);
		else if (cJSON_IsString(content))  /* system left in messages */
			e = json_push(msgs, str_message("system", content->valuestring));
		else {
			buf_reset(&b);
			e = join_texts(content, "\n\n", &b);
			if (e == GW_OK)
				e = json_push(msgs, str_message("system", buf_cstr(&b)));
		}
		if (e != GW_OK)
			break;
	}
	buf_free(&b);
	return e;
}

/* ---- top-level fields (§3.2, §3.6, §3.7) ---- */

static cJSON *
tool_def(const cJSON *t)
{
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(t, "input_schema");
	cJSON *d = cJSON_CreateObject(), *fn, *params;

	if (d == NULL || json_add_str(d, "type", "function") != GW_OK ||
	    (fn = cJSON_AddObjectToObject(d, "function")) == NULL ||
	    json_add_str(fn, "name", json_str(t, "name")) != GW_OK ||
	    copy_key(fn, "description", t, "description") != GW_OK)
		goto fail;
	if (schema != NULL) {
		if ((params = cJSON_Duplicate(schema, 1)) == NULL ||
		    json_add(fn, "parameters", params) != GW_OK)
			goto fail;
		/* Some upstreams reject an object schema without properties. */
		if (str_eq(json_str(params, "type"), "object") &&
		    !cJSON_HasObjectItem(params, "properties") &&
		    cJSON_AddObjectToObject(params, "properties") == NULL)
			goto fail;
	}
	return d;
fail:
	cJSON_Delete(d);
	return NULL;
}

static GW_MUST_CHECK enum gw_err
tools(const cJSON *a, cJSON *out)
{
	const cJSON *t, *in = json_arr(a, "tools");
	cJSON *arr;

	if (in == NULL)
		return GW_OK;
	if ((arr = cJSON_AddArrayToObject(out, "tools")) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(t, in) {
		if (json_push(arr, tool_def(t)) != GW_OK)
			return GW_ENOMEM;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
tool_choice(const cJSON *a, cJSON *out)
{
	const cJSON *tc = json_obj(a, "tool_choice");
	const char *type = json_str(tc, "type"), *name = json_str(tc, "name");
	cJSON *c, *fn;

	if (str_eq(type, "auto"))
		return json_add_str(out, "tool_choice", "auto");
	if (str_eq(type, "any"))
		return json_add_str(out, "tool_choice", "required");
	if (str_eq(type, "none"))
		return json_add_str(out, "tool_choice", "none");
	if (!str_eq(type, "tool") || !nonempty(name))
		return GW_OK;
	if ((c = cJSON_AddObjectToObject(out, "tool_choice")) == NULL ||
	    json_add_str(c, "type", "function") != GW_OK ||
	    (fn = cJSON_AddObjectToObject(c, "function")) == NULL)
		return GW_ENOMEM;
	return json_add_str(fn, "name", name);
}

/* §3.6.  Deliberately unlike the reference, thinking {type:"disabled"}
 * sends no budget: the client asked for no thinking. */
/* reasoning_effort := the client's output_config.effort (1.14.7).  On
 * Copilot only where the model lists efforts: kept if listed, else the
 * list's last (strongest); a model with no list gets none. */
static GW_MUST_CHECK enum gw_err
reasoning_effort(const cJSON *a, const struct tr_chat_opts *o, cJSON *out)
{
	const char *effort = json_str(json_obj(a, "output_config"), "effort");
	const cJSON *list, *v, *last = NULL;

	if (effort == NULL || *effort == '\0')
		return GW_OK;
	if (o->copilot) {
		list = json_arr(json_obj(json_obj(o->model, "capabilities"),
		    "supports"), "reasoning_effort");
		cJSON_ArrayForEach(v, list) {
			last = v;
			if (cJSON_IsString(v) && strcmp(v->valuestring, effort) == 0)
				break;
		}
		if (!cJSON_IsString(last))
			return GW_OK;
		effort = last->valuestring;
	}
	return json_add_str(out, "reasoning_effort", effort);
}

static GW_MUST_CHECK enum gw_err
thinking_budget(const cJSON *a, const cJSON *model, cJSON *out)
{
	const cJSON *th = json_obj(a, "thinking");
	const cJSON *caps = json_obj(model, "capabilities");
	const cJSON *sup = json_obj(caps, "supports");
	const cJSON *lim = json_obj(caps, "limits");
	double max, budget, min;

	/* only a thinking that names budget_tokens (null: the maximum) gets a
	 * budget; adaptive thinking has none (1.14.7, e6e54e8) */
	if (th == NULL || model == NULL || str_eq(json_str(th, "type"),
	    "disabled") || cJSON_GetObjectItemCaseSensitive(th,
	    "budget_tokens") == NULL)
		return GW_OK;
	max = json_num(sup, "max_thinking_budget", 0);
	if (json_num(lim, "max_output_tokens", 0) - 1 < max)
		max = json_num(lim, "max_output_tokens", 0) - 1;
	if (!(max > 0))
		return GW_OK;
	budget = json_num(th, "budget_tokens", max);
	if (budget > max)
		budget = max;
	min = json_num(sup, "min_thinking_budget", 0);
	if (!(min > 0))
		min = 1024;
	if (budget < min)
		budget = min;
	return json_add(out, "thinking_budget", cJSON_CreateNumber(budget));
}

static int
cache_eligible(const cJSON *m)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");

	return (cJSON_IsString(c) && *c->valuestring != '\0') ||
	    (cJSON_IsArray(c) && cJSON_GetArraySize(c) > 0);
}

static GW_MUST_CHECK enum gw_err
mark(cJSON *m)
{
	cJSON *cc = cJSON_AddObjectToObject(m, "copilot_cache_control");

	return cc == NULL ? GW_ENOMEM : json_add_str(cc, "type", "ephemeral");
}

/* §3.7: the first two system messages and the last other one (two before
 * 1.14.7, 966003a). */
static GW_MUST_CHECK enum gw_err
cache_markers(cJSON *msgs)
{
	int n = cJSON_GetArraySize(msgs), i, sys = 0, other = 0;
	cJSON *m;

	for (i = 0; i < n && sys < 2; i++) {
		m = cJSON_GetArrayItem(msgs, i);
		if (!cache_eligible(m) || !str_eq(json_str(m, "role"), "system"))
			continue;
		sys++;
		if (mark(m) != GW_OK)
			return GW_ENOMEM;
	}
	for (i = n - 1; i >= 0 && other < 1; i--) {
		m = cJSON_GetArrayItem(msgs, i);
		if (!cache_eligible(m) || str_eq(json_str(m, "role"), "system"))
			continue;
		other++;
		if (mark(m) != GW_OK)
			return GW_ENOMEM;
	}
	return GW_OK;
}

enum gw_err
tr_anthropic_to_chat(const cJSON *a, const struct tr_chat_opts *opts,
    cJSON **out, struct buf *errmsg)
{
	static const struct tr_chat_opts zero;
	const struct tr_chat_opts *o = opts != NULL ? opts : &zero;
	const char *user = json_str(json_obj(a, "metadata"), "user_id");
	cJSON *c = NULL, *msgs;
	enum gw_err e;

	*out = NULL;
	if ((e = validate(a, errmsg)) != GW_OK)
		return e;
	e = GW_ENOMEM;
	if ((c = cJSON_CreateObject()) == NULL ||
	    copy_key(c, "model", a, "model") != GW_OK ||
	    (msgs = cJSON_AddArrayToObject(c, "messages")) == NULL)
		goto out;
	if ((e = messages(a, o, msgs)) != GW_OK)
		goto out;
	e = GW_ENOMEM;
	if (copy_key(c, "max_tokens", a, "max_tokens") != GW_OK ||
	    copy_key(c, "stop", a, "stop_sequences") != GW_OK ||
	    copy_key(c, "stream", a, "stream") != GW_OK ||
	    copy_key(c, "temperature", a, "temperature") != GW_OK ||
	    copy_key(c, "top_p", a, "top_p") != GW_OK ||
	    (user != NULL && json_add_str(c, "user", user) != GW_OK) ||
	    tools(a, c) != GW_OK || tool_choice(a, c) != GW_OK ||
	    thinking_budget(a, o->model, c) != GW_OK ||
	    reasoning_effort(a, o, c) != GW_OK ||
	    (o->copilot && cache_markers(msgs) != GW_OK))
		goto out;
	*out = c;
	c = NULL;
	e = GW_OK;
out:
	cJSON_Delete(c);
	return e;
}

/* ---- usage and stop reason (shared with anthropic_chat_stream.c) ---- */

/* A token count: negative, huge or non-numeric values are not trusted. */
static long
tokens(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble > 0))
		return 0;
	return v->valuedouble > 1e15 ? (long)1e15 : (long)v->valuedouble;
}

void
tr_chat_usage_to_anthropic(const cJSON *usage, struct tr_anthropic_usage *au)
{
	const cJSON *d = json_obj(usage, "prompt_tokens_details");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "cached_tokens");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(d,
	    "cache_creation_input_tokens");
	long in = tokens(cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens"));

	in -= tokens(c) + tokens(w);
	au->input_tokens = in > 0 ? in : 0;
	au->output_tokens = tokens(cJSON_GetObjectItemCaseSensitive(usage,
	    "completion_tokens"));
	au->cache_creation_input_tokens = cJSON_IsNumber(w) ? tokens(w) : -1;
	au->cache_read_input_tokens = cJSON_IsNumber(c) ? tokens(c) : -1;
}

const char *
tr_chat_stop_reason(const char *fr, int refused)
{
	if (fr == NULL)
		return NULL;
	if (strcmp(fr, "length") == 0)
		return "max_tokens";
	if (strcmp(fr, "tool_calls") == 0 || strcmp(fr, "function_call") == 0)
		return "tool_use";
	/* stop, content_filter, and whatever a new upstream invents: a
	 * message_delta without a stop_reason would break clients. */
	return refused ? "refusal" : "end_turn";
}

/* ---- Chat response -> Anthropic message (§4) ---- */

static GW_MUST_CHECK enum gw_err
thinking_block(const cJSON *msg, cJSON *content)
{
	const char *r = json_str(msg, "reasoning_text");
	const char *sig = json_str(msg, "reasoning_opaque");

	if (!nonempty(r))
		r = json_str(msg, "reasoning_content");
	if (!nonempty(r) && !nonempty(sig))
		return GW_OK;
	/* Some clients (opencode) drop a thinking block with no text: the
	 * placeholder keeps the signature alive for the next turn. */
	return tr_thinking_block(content,
	    nonempty(r) ? r : THINKING_PLACEHOLDER,
	    sig != NULL ? sig : "");
}

/* The content's text, and a refusal (message.refusal, or a refusal part)
 * as text too: the client sees why the answer is empty (*refused set). */
static GW_MUST_CHECK enum gw_err
text_blocks(const cJSON *msg, cJSON *content, int *refused)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content"), *p;
	const char *t;

	if (cJSON_IsString(c) && *c->valuestring != '\0' &&
	    tr_text_block(content, c->valuestring) != GW_OK)
		return GW_ENOMEM;
	cJSON_ArrayForEach(p, c) {
		if (str_eq(json_str(p, "type"), "refusal")) {
			if (!nonempty(t = json_str(p, "refusal")))
				continue;
			*refused = 1;
		} else if (!str_eq(json_str(p, "type"), "text") ||
		    (t = json_str(p, "text")) == NULL)
			continue;
		if (tr_text_block(content, t) != GW_OK)
			return GW_ENOMEM;
	}
	if (!nonempty(t = json_str(msg, "refusal")))
		return GW_OK;
	*refused = 1;
	return tr_text_block(content, t);
}

/*
 * Tool arguments as an input object.  The reference fails the whole
 * response (500) on arguments that are not JSON; we keep the answer and
 * give that one tool an empty input ("" is what parameterless tools get
 * from some upstreams): the client's tool validation then tells the model,
 * which is cheaper than a retried request.
 */
static cJSON *
tool_input(const cJSON *fn, const char *id)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
	cJSON *v = NULL;

	if (cJSON_IsObject(a))
		return cJSON_Duplicate(a, 1);
	if (cJSON_IsString(a))
		v = json_parse(a->valuestring, strlen(a->valuestring), NULL, NULL);
	if (cJSON_IsObject(v))
		return v;
	cJSON_Delete(v);
	if (cJSON_IsString(a) && strspn(a->valuestring, " \t\r\n") !=
	    strlen(a->valuestring))
		log_warn("tool call %s: arguments are not a JSON object; "
		    "sending an empty input", id != NULL ? id : "?");
	return cJSON_CreateObject();
}

static GW_MUST_CHECK enum gw_err
tool_blocks(const cJSON *msg, cJSON *content)
{
	const cJSON *tc, *fn;
	const char *id, *name;
	enum gw_err e;

	cJSON_ArrayForEach(tc, json_arr(msg, "tool_calls")) {
		fn = json_obj(tc, "function");
		id = json_str(tc, "id");
		name = json_str(fn, "name");
		if ((e = tr_tool_use_block(content, id != NULL ? id : "",
		    name != NULL ? name : "", tool_input(fn, id))) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* §4: a tool_calls finish anywhere wins (Copilot may put text and tool
 * calls in separate choices); stop gives way to any later reason. */
static const char *
combined_finish(const cJSON *choices)
{
	const char *cur = json_str(cJSON_GetArrayItem(choices, 0), "finish_reason");
	const char *fr;
	const cJSON *ch;

	cJSON_ArrayForEach(ch, choices) {
		fr = json_str(ch, "finish_reason");
		if (fr != NULL && (strcmp(fr, "tool_calls") == 0 || str_eq(cur, "stop")))
			cur = fr;
	}
	return cur;
}

static cJSON *
usage_object(const cJSON *usage)
{
	struct tr_anthropic_usage au;
	cJSON *u = cJSON_CreateObject();

	tr_chat_usage_to_anthropic(usage, &au);
	if (u == NULL ||
	    json_add(u, "input_tokens", cJSON_CreateNumber((double)au.input_tokens)) != GW_OK ||
	    json_add(u, "output_tokens", cJSON_CreateNumber((double)au.output_tokens)) != GW_OK ||
	    (au.cache_creation_input_tokens >= 0 && json_add(u,
	    "cache_creation_input_tokens",
	    cJSON_CreateNumber((double)au.cache_creation_input_tokens)) != GW_OK) ||
	    (au.cache_read_input_tokens >= 0 && json_add(u, "cache_read_input_tokens",
	    cJSON_CreateNumber((double)au.cache_read_input_tokens)) != GW_OK)) {
		cJSON_Delete(u);
		return NULL;
	}
	return u;
}

enum gw_err
tr_chat_to_anthropic(const cJSON *r, const char *request_model, cJSON **out,
    struct buf *errmsg)
{
	const cJSON *choices = json_arr(r, "choices"), *ch, *msg;
	const char *id = json_str(r, "id"), *model = json_str(r, "model");
	const char *stop;
	cJSON *a = NULL, *content;
	char idbuf[40];
	int refused = 0;
	enum gw_err e;

	*out = NULL;
	/* best effort (errmsg): GW_EUPSTREAM is returned whatever it says */
	if (!cJSON_IsObject(r)) {
		if (errmsg != NULL)
			GW_IGNORE(buf_puts(errmsg,
			    "upstream response is not a JSON object"));
		return GW_EUPSTREAM;
	}
	if (choices == NULL && json_obj(r, "error") != NULL) {
		const char *m = json_str(json_obj(r, "error"), "message");

		if (errmsg != NULL)
			GW_IGNORE(buf_puts(errmsg, nonempty(m) ? m :
			    "upstream error without a message"));
		return GW_EUPSTREAM;
	}
	if (!nonempty(id)) {
		if ((e = util_random_id("msg_", UTIL_ID_HEX, TR_CHAT_ID_HEX, idbuf,
		    sizeof(idbuf))) != GW_OK)
			return e;
		id = idbuf;
	}
	if (!nonempty(model))
		model = request_model != NULL ? request_model : "";
	e = GW_ENOMEM;
	if ((a = cJSON_CreateObject()) == NULL || json_add_str(a, "id", id) != GW_OK ||
	    json_add_str(a, "type", "message") != GW_OK ||
	    json_add_str(a, "role", "assistant") != GW_OK ||
	    json_add_str(a, "model", model) != GW_OK ||
	    (content = cJSON_AddArrayToObject(a, "content")) == NULL)
		goto out;
	cJSON_ArrayForEach(ch, choices) {
		msg = json_obj(ch, "message");
		if (thinking_block(msg, content) != GW_OK ||
		    text_blocks(msg, content, &refused) != GW_OK ||
		    tool_blocks(msg, content) != GW_OK)
			goto out;
	}
	stop = tr_chat_stop_reason(combined_finish(choices), refused);
	if (json_add(a, "stop_reason", stop != NULL ? cJSON_CreateString(stop) :
	    cJSON_CreateNull()) != GW_OK ||
	    json_add(a, "stop_sequence", cJSON_CreateNull()) != GW_OK ||
	    json_add(a, "usage", usage_object(json_obj(r, "usage"))) != GW_OK)
		goto out;
	*out = a;
	a = NULL;
	e = GW_OK;
out:
	cJSON_Delete(a);
	return e;
}

/*
 * Anthropic Messages request -> Responses request (spec §6.1) and
 * Responses result -> Anthropic message (§6.2).
 *
 * Reasoning survives the round trip through the client inside thinking
 * blocks: the signature carries "<encrypted_content>@<reasoning id>", or
 * "cm1#<encrypted_content>@<compaction id>" for a compaction item.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/anthropic_responses.h"
#include "translate/responses.h"
#include "translate/stream.h"
#include "translate/tool_search.h"

#define COMPACTION_PREFIX "cm1#"

/* One request's translation state. */
struct req {
	cJSON *tools;          /* the client's own (non-server) tools */
	int tool_search;       /* the §6.1.1 bridge is active */
	cJSON *names_by_id;    /* tool_use id -> tool name */
	struct buf *errmsg;
};

/* {type, text} parts: input_text, output_text. */
static cJSON *
text_part(const char *type, const char *text)
{
	cJSON *o = tr_resp_typed(type);

	if (o != NULL && json_add_str(o, "text", text != NULL ? text : "") != GW_OK) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* "data:<media type>;base64,<data>" from an Anthropic base64 source. */
static char *
data_url(const cJSON *source)
{
	struct buf b = BUF_INIT;
	const char *mt = json_str(source, "media_type");
	const char *data = json_str(source, "data");

	if (buf_printf(&b, "data:%s;base64,%s", mt ? mt : "", data ? data : "")
	    != GW_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Anthropic image -> input_image; a URL source is passed as the URL. */
static cJSON *
image_part(const cJSON *block)
{
	const cJSON *src = json_obj(block, "source");
	cJSON *o = tr_resp_typed("input_image");
	char *url = NULL;
	enum gw_err e = GW_ENOMEM;

	if (o == NULL)
		return NULL;
	if (util_streq(json_str(src, "type"), "url"))
		e = json_add_str(o, "image_url", json_str(src, "url") ?
		    json_str(src, "url") : "");
	else if ((url = data_url(src)) != NULL)
		e = json_add_str(o, "image_url", url);
	free(url);
	if (e == GW_OK)
		e = json_add_str(o, "detail", "auto");
	if (e != GW_OK) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Anthropic document -> input_file (base64 or URL source); a plain-text
 * source becomes input_text. */
static cJSON *
document_part(const cJSON *block)
{
	const cJSON *src = json_obj(block, "source");
	const char *st = json_str(src, "type"), *title;
	cJSON *o;
	char *url;
	enum gw_err e;

	if (util_streq(st, "text"))
		return text_part("input_text", json_str(src, "data"));
	if ((o = tr_resp_typed("input_file")) == NULL)
		return NULL;
	if (util_streq(st, "url")) {
		e = json_add_str(o, "file_url", json_str(src, "url") ?
		    json_str(src, "url") : "");
	} else {
		url = data_url(src);
		e = url != NULL ? json_add_str(o, "file_data", url) : GW_ENOMEM;
		free(url);
		title = json_str(block, "title");
		if (e == GW_OK)
			e = json_add_str(o, "filename", title != NULL && *title ?
			    title : "document.pdf");
	}
	if (e != GW_OK) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* A user content block as a Responses input part.  *part is NULL for
 * blocks the Responses input has no place for (they are dropped). */
static GW_MUST_CHECK enum gw_err
user_part(const cJSON *block, cJSON **part)
{
	const char *type = json_str(block, "type");

	*part = NULL;
	if (util_streq(type, "text"))
		*part = text_part("input_text", json_str(block, "text"));
	else if (util_streq(type, "image"))
		*part = image_part(block);
	else if (util_streq(type, "document"))
		*part = document_part(block);
	else
		return GW_OK;
	return *part != NULL ? GW_OK : GW_ENOMEM;
}

/* A tool_result's content as function_call_output.output: a string stays
 * a string; blocks become input parts. */
static GW_MUST_CHECK enum gw_err
tool_output(const cJSON *content, cJSON **out)
{
	const cJSON *b;
	cJSON *arr, *part;
	struct buf t = BUF_INIT;
	char *raw;
	enum gw_err e;

	if (cJSON_IsString(content))
		return (*out = cJSON_CreateString(content->valuestring)) ?
		    GW_OK : GW_ENOMEM;
	if (!cJSON_IsArray(content))
		return (*out = cJSON_CreateString("")) ? GW_OK : GW_ENOMEM;
	if ((arr = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(b, content) {
		const char *type = json_str(b, "type");

		if (util_streq(type, "tool_reference")) {
			buf_reset(&t);
			if (buf_printf(&t, "Tool %s loaded", json_str(b, "tool_name") ?
			    json_str(b, "tool_name") : "") != GW_OK) {
				e = GW_ENOMEM;
				goto fail;
			}
			part = text_part("input_text", buf_cstr(&t));
		} else if (util_streq(type, "text") || util_streq(type, "image") ||
		    util_streq(type, "document")) {
			if ((e = user_part(b, &part)) != GW_OK)
				goto fail;
		} else {
			/* keep what we cannot map as text rather than lose it */
			if ((raw = json_print(b)) == NULL) {
				e = GW_ENOMEM;
				goto fail;
			}
			part = text_part("input_text", raw);
			cJSON_free(raw);
		}
		if ((e = json_push(arr, part)) != GW_OK)
			goto fail;
	}
	buf_free(&t);
	*out = arr;
	return GW_OK;
fail:
	buf_free(&t);
	cJSON_Delete(arr);
	return e;
}

static GW_MUST_CHECK enum gw_err
function_call_output(const cJSON *block, cJSON **out)
{
	cJSON *it = tr_resp_typed("function_call_output"), *output = NULL;
	const char *id = json_str(block, "tool_use_id");
	enum gw_err e = GW_ENOMEM;

	if (it == NULL || json_add_str(it, "call_id", id ? id : "") != GW_OK)
		goto fail;
	if ((e = tool_output(cJSON_GetObjectItemCaseSensitive(block, "content"),
	    &output)) != GW_OK || (e = json_add(it, "output", output)) != GW_OK)
		goto fail;
	if ((e = json_add_str(it, "status", json_bool(block, "is_error", 0) ?
	    "incomplete" : "completed")) != GW_OK)
		goto fail;
	*out = it;
	return GW_OK;
fail:
	cJSON_Delete(it);
	return e;
}

/* Moves the pending parts, if any, into one message item. */
static GW_MUST_CHECK enum gw_err
flush(cJSON *input, cJSON **pending, const char *role, const char *phase)
{
	cJSON *msg, *fresh;
	enum gw_err e;

	if (cJSON_GetArraySize(*pending) == 0)
		return GW_OK;
	if ((fresh = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	if ((msg = tr_resp_typed("message")) == NULL ||
	    json_add_str(msg, "role", role) != GW_OK) {
		cJSON_Delete(msg);
		cJSON_Delete(fresh);
		return GW_ENOMEM;
	}
	e = json_add(msg, "content", *pending);      /* consumes *pending */
	*pending = fresh;
	if (e == GW_OK && phase != NULL)
		e = json_add_str(msg, "phase", phase);
	if (e != GW_OK) {
		cJSON_Delete(msg);
		return e;
	}
	return json_push(input, msg);
}

static GW_MUST_CHECK enum gw_err
string_message(cJSON *input, const char *role, const char *text,
    const char *phase)
{
	cJSON *msg = tr_resp_typed("message");

	if (msg == NULL || json_add_str(msg, "role", role) != GW_OK ||
	    json_add_str(msg, "content", text) != GW_OK ||
	    (phase != NULL && json_add_str(msg, "phase", phase) != GW_OK)) {
		cJSON_Delete(msg);
		return GW_ENOMEM;
	}
	return json_push(input, msg);
}

static GW_MUST_CHECK enum gw_err
user_message(struct req *r, const cJSON *content, cJSON *input)
{
	cJSON *pending, *item = NULL;
	const cJSON *b;
	enum gw_err e = GW_OK;

	if (cJSON_IsString(content))
		return string_message(input, "user", content->valuestring, NULL);
	if (!cJSON_IsArray(content))
		return GW_OK;
	if ((pending = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(b, content) {
		if (util_streq(json_str(b, "type"), "tool_result")) {
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(
			    r->names_by_id, json_str(b, "tool_use_id") ?
			    json_str(b, "tool_use_id") : "");

			if ((e = flush(input, &pending, "user", NULL)) != GW_OK)
				goto out;
			if (r->tool_search && cJSON_IsString(nm) &&
			    tr_ts_is_bridge(nm->valuestring))
				e = tr_ts_output_item(b, r->tools, &item, r->errmsg);
			else
				e = function_call_output(b, &item);
			if (e != GW_OK || (e = json_push(input, item)) != GW_OK)
				goto out;
			continue;
		}
		if ((e = user_part(b, &item)) != GW_OK)
			goto out;
		if (item != NULL && (e = json_push(pending, item)) != GW_OK)
			goto out;
	}
	e = flush(input, &pending, "user", NULL);
out:
	cJSON_Delete(pending);
	return e;
}

/* commentary when the turn mixes text and tool calls, final_answer for a
 * plain answer, none when there is no text at all. */
static const char *
assistant_phase(const cJSON *content)
{
	const cJSON *b;
	int text = 0, tool = 0;

	if (cJSON_IsString(content))
		return "final_answer";
	if (!cJSON_IsArray(content))
		return NULL;
	cJSON_ArrayForEach(b, content) {
		text |= util_streq(json_str(b, "type"), "text");
		tool |= util_streq(json_str(b, "type"), "tool_use");
	}
	if (!text)
		return NULL;
	return tool ? "commentary" : "final_answer";
}

static GW_MUST_CHECK enum gw_err
function_call(const struct req *r, const cJSON *block, cJSON **out)
{
	cJSON *it = tr_resp_typed("function_call");
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
	const char *id = json_str(block, "id"), *name = json_str(block, "name");
	char *args = input != NULL ? json_print(input) : NULL;
	enum gw_err e = GW_ENOMEM;

	if (it == NULL || (input != NULL && args == NULL) ||
	    json_add_str(it, "call_id", id ? id : "") != GW_OK ||
	    json_add_str(it, "name", name ? name : "") != GW_OK ||
	    json_add_str(it, "arguments", args ? args : "{}") != GW_OK ||
	    json_add_str(it, "status", "completed") != GW_OK)
		goto fail;
	if (r->tool_search && tr_ts_is_deferred(name) &&
	    json_add_str(it, "namespace", name) != GW_OK)
		goto fail;
	cJSON_free(args);
	*out = it;
	return GW_OK;
fail:
	cJSON_free(args);
	cJSON_Delete(it);
	return e;
}

/* "cm1#<encrypted>@<id>", split at the first '@' after the prefix, both
 * parts non-empty.  Returns the '@' or NULL when sig is no such carrier. */
static const char *
compaction_split(const char *sig)
{
	const char *raw, *at;

	if (strncmp(sig, COMPACTION_PREFIX, strlen(COMPACTION_PREFIX)) != 0)
		return NULL;
	raw = sig + strlen(COMPACTION_PREFIX);
	at = strchr(raw, '@');
	if (at == NULL || at == raw || at[1] == '\0')
		return NULL;
	return at;
}

/* The summary_text parts of a thinking text: one per piece between
 * REASONING_SUMMARY_SEPARATOR (empty pieces too, as String.split gives
 * them); none for an empty text. */
static GW_MUST_CHECK enum gw_err
summary_parts(cJSON *summary, const char *thinking)
{
	const char *p = thinking, *q;
	size_t seplen = strlen(REASONING_SUMMARY_SEPARATOR);
	cJSON *part;
	char *piece;

	if (*thinking == '\0')
		return GW_OK;
	for (;;) {
		q = strstr(p, REASONING_SUMMARY_SEPARATOR);
		if ((piece = strndup(p, q != NULL ? (size_t)(q - p) :
		    strlen(p))) == NULL)
			return GW_ENOMEM;
		part = text_part("summary_text", piece);
		free(piece);
		if (part == NULL || json_push(summary, part) != GW_OK)
			return GW_ENOMEM;
		if (q == NULL)
			return GW_OK;
		p = q + seplen;
	}
}

/* The item carried by a signature: type "compaction" or "reasoning".
 * enc is the encrypted content, id the item id. */
static cJSON *
carrier_item(const char *type, const char *enc, size_t enc_len,
    const char *id, const char *thinking)
{
	cJSON *it = cJSON_CreateObject(), *summary;
	char *e = strndup(enc, enc_len);

	if (it == NULL || e == NULL || json_add_str(it, "id", id) != GW_OK ||
	    json_add_str(it, "type", type) != GW_OK)
		goto fail;
	if (strcmp(type, "reasoning") == 0) {
		if ((summary = cJSON_AddArrayToObject(it, "summary")) == NULL)
			goto fail;
		/* the placeholder we put in for an empty summary goes back out
		 * as an empty summary */
		if (thinking != NULL &&
		    strcmp(thinking, THINKING_PLACEHOLDER) != 0 &&
		    summary_parts(summary, thinking) != GW_OK)
			goto fail;
	}
	if (json_add_str(it, "encrypted_content", e) != GW_OK)
		goto fail;
	free(e);
	return it;
fail:
	free(e);
	cJSON_Delete(it);
	return NULL;
}

/* A signed thinking block as the compaction or reasoning item it carries;
 * *out NULL when it carries none (a Claude signature has no '@'). */
static GW_MUST_CHECK enum gw_err
thinking_item(const cJSON *block, cJSON **out)
{
	const char *sig = json_str(block, "signature"), *at;
	size_t n;

	*out = NULL;
	if ((at = compaction_split(sig)) != NULL) {
		n = strlen(COMPACTION_PREFIX);
		*out = carrier_item("compaction", sig + n, (size_t)(at - sig) - n,
		    at + 1, NULL);
		return *out != NULL ? GW_OK : GW_ENOMEM;
	}
	if ((at = strrchr(sig, '@')) == NULL)
		return GW_OK;
	n = strlen(sig);
	/* split at the last '@'; one first or last leaves the whole
	 * signature as the encrypted content and no id */
	if (at == sig || at == sig + n - 1)
		*out = carrier_item("reasoning", sig, n, "",
		    json_str(block, "thinking"));
	else
		*out = carrier_item("reasoning", sig, (size_t)(at - sig), at + 1,
		    json_str(block, "thinking"));
	return *out != NULL ? GW_OK : GW_ENOMEM;
}

static GW_MUST_CHECK enum gw_err
assistant_message(struct req *r, const cJSON *content, cJSON *input)
{
	const char *phase = assistant_phase(content);
	cJSON *pending, *item = NULL, *nm;
	const cJSON *b;
	const char *type, *id, *name;
	enum gw_err e = GW_OK;

	if (cJSON_IsString(content))
		return string_message(input, "assistant", content->valuestring,
		    phase);
	if (!cJSON_IsArray(content))
		return GW_OK;
	if ((pending = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(b, content) {
		type = json_str(b, "type");
		if (util_streq(type, "text")) {
			e = json_push(pending, text_part("output_text",
			    json_str(b, "text")));
			if (e != GW_OK)
				goto out;
			continue;
		}
		if (util_streq(type, "tool_use")) {
			id = json_str(b, "id");
			name = json_str(b, "name");
			if (id != NULL && name != NULL) {
				/* a repeated id: the later call wins */
				cJSON_DeleteItemFromObjectCaseSensitive(r->names_by_id,
				    id);
				nm = cJSON_CreateString(name);
				if ((e = json_add(r->names_by_id, id, nm)) != GW_OK)
					goto out;
			}
			if ((e = flush(input, &pending, "assistant", phase)) != GW_OK)
				goto out;
			if (r->tool_search && tr_ts_is_bridge(name))
				e = tr_ts_call_item(b, &item);
			else
				e = function_call(r, b, &item);
			if (e != GW_OK || (e = json_push(input, item)) != GW_OK)
				goto out;
			continue;
		}
		if (!util_streq(type, "thinking") || json_str(b, "signature") == NULL ||
		    *json_str(b, "signature") == '\0')
			continue;       /* unsigned, redacted and other blocks */
		if ((e = thinking_item(b, &item)) != GW_OK)
			goto out;
		if (item == NULL)
			continue;
		if ((e = flush(input, &pending, "assistant", phase)) != GW_OK ||
		    (e = json_push(input, item)) != GW_OK)
			goto out;
	}
	e = flush(input, &pending, "assistant", phase);
out:
	cJSON_Delete(pending);
	return e;
}

/* instructions: the system prompt plus the configured extra prompt. */
static GW_MUST_CHECK enum gw_err
instructions(const cJSON *system, const char *extra, cJSON **out)
{
	struct buf b = BUF_INIT;
	const cJSON *blk;
	const char *t;
	int first = 1;
	enum gw_err e = GW_ENOMEM;

	if (extra == NULL)
		extra = "";
	if (cJSON_IsString(system) && *system->valuestring != '\0') {
		if (buf_printf(&b, "%s%s", system->valuestring, extra) != GW_OK)
			goto out;
	} else if (cJSON_IsArray(system)) {
		cJSON_ArrayForEach(blk, system) {
			t = json_str(blk, "text");
			if (buf_printf(&b, "%s%s", first ? "" : " ", t ? t : "")
			    != GW_OK)
				goto out;
			if (first && *extra != '\0' &&
			    buf_printf(&b, "\n\n%s\n\n", extra) != GW_OK)
				goto out;
			first = 0;
		}
	}
	*out = b.len > 0 ? cJSON_CreateString(buf_cstr(&b)) : cJSON_CreateNull();
	e = *out != NULL ? GW_OK : GW_ENOMEM;
out:
	buf_free(&b);
	return e;
}

/* The client's own tools: server tools (web_search_2025..., bash_2025...)
 * carry a type of their own and cannot run on the Responses API. */
static GW_MUST_CHECK enum gw_err
client_tools(const cJSON *tools, cJSON **out)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *t;
	const char *type;

	if (arr == NULL)
		return GW_ENOMEM;
	if (cJSON_IsArray(tools))
		cJSON_ArrayForEach(t, tools) {
			type = json_str(t, "type");
			if (json_str(t, "name") == NULL ||
			    (type != NULL && strcmp(type, "custom") != 0))
				continue;
			if (json_push(arr, cJSON_Duplicate(t, 1)) != GW_OK) {
				cJSON_Delete(arr);
				return GW_ENOMEM;
			}
		}
	*out = arr;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
convert_tools(const struct req *r, cJSON **out)
{
	cJSON *arr, *f;
	const cJSON *t;

	if (cJSON_GetArraySize(r->tools) == 0)
		return (*out = cJSON_CreateNull()) ? GW_OK : GW_ENOMEM;
	if (r->tool_search)
		return tr_ts_convert_tools(r->tools, out);
	if ((arr = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(t, r->tools)
		if (tr_resp_function_tool(t, 0, &f) != GW_OK ||
		    json_push(arr, f) != GW_OK) {
			cJSON_Delete(arr);
			return GW_ENOMEM;
		}
	*out = arr;
	return GW_OK;
}

static cJSON *
tool_choice(const struct req *r, const cJSON *choice)
{
	const char *type = json_str(choice, "type");
	const char *name = json_str(choice, "name");
	cJSON *o;

	if (util_streq(type, "any"))
		return cJSON_CreateString("required");
	if (util_streq(type, "none"))
		return cJSON_CreateString("none");
	if (!util_streq(type, "tool") || name == NULL || *name == '\0' ||
	    (r->tool_search && tr_ts_is_bridge(name)))
		return cJSON_CreateString("auto");
	if ((o = tr_resp_typed("function")) != NULL && json_add_str(o, "name", name) != GW_OK) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}

/* base, plus ":agent:<id>" for a subagent; null without a base. */
static cJSON *
prompt_cache_key(const struct tr_resp_opts *o)
{
	struct buf b = BUF_INIT;
	char *agent = NULL;
	cJSON *v;

	if (o == NULL || o->prompt_cache_key == NULL || *o->prompt_cache_key == '\0')
		return cJSON_CreateNull();
	if (o->subagent_agent_id != NULL &&
	    (agent = util_strndup_trim(o->subagent_agent_id,
	    strlen(o->subagent_agent_id))) == NULL)
		return NULL;
	if (buf_puts(&b, o->prompt_cache_key) != GW_OK ||
	    (agent != NULL && *agent != '\0' &&
	    buf_printf(&b, ":agent:%s", agent) != GW_OK))
		v = NULL;
	else
		v = cJSON_CreateString(buf_cstr(&b));
	free(agent);
	buf_free(&b);
	return v;
}

static cJSON *
copy_or_null(const cJSON *v, int (*ok)(const cJSON *))
{
	return v != NULL && ok(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static int
is_number(const cJSON *v)
{
	return cJSON_IsNumber(v);
}

static int
is_object(const cJSON *v)
{
	return cJSON_IsObject(v);
}

static int
is_bool(const cJSON *v)
{
	return cJSON_IsBool(v);
}

static GW_MUST_CHECK enum gw_err
translate_messages(struct req *r, const cJSON *messages, cJSON *input)
{
	const cJSON *m;
	enum gw_err e;

	cJSON_ArrayForEach(m, messages) {
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m,
		    "content");

		/* anything not from the user is the assistant's, as upstream
		 * reads it */
		if (util_streq(json_str(m, "role"), "user"))
			e = user_message(r, content, input);
		else
			e = assistant_message(r, content, input);
		if (e != GW_OK)
			return e;
	}
	return GW_OK;
}

/* Models that keep reasoning across turns (1.14.7's isSupportAllTurns). */
static int
all_turns(const char *model)
{
	return util_streq(model, "gpt-5.4") || util_streq(model, "gpt-5.4-mini") ||
	    util_streq(model, "gpt-5.5") || util_gpt_at_least(model, 5, 6);
}

static GW_MUST_CHECK enum gw_err
reasoning(cJSON *p, const cJSON *a, const struct tr_resp_opts *o)
{
	cJSON *rs = cJSON_AddObjectToObject(p, "reasoning"), *inc;
	/* the client's output_config.effort wins, unchecked (1.14.7) */
	const char *effort = json_str(json_obj(a, "output_config"), "effort");

	if (effort == NULL || *effort == '\0')
		effort = o != NULL && o->reasoning_effort != NULL &&
		    *o->reasoning_effort != '\0' ? o->reasoning_effort :
		    TR_RESP_DEFAULT_EFFORT;

	if (rs == NULL || json_add_str(rs, "effort", effort) != GW_OK ||
	    json_add_str(rs, "summary", "auto") != GW_OK ||
	    json_add_str(rs, "context", all_turns(json_str(a, "model")) ?
	    "all_turns" : "auto") != GW_OK ||
	    (inc = cJSON_AddArrayToObject(p, "include")) == NULL ||
	    json_push(inc, cJSON_CreateString("reasoning.encrypted_content")) != GW_OK)
		return GW_ENOMEM;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
build_payload(struct req *r, const cJSON *a, const struct tr_resp_opts *o,
    cJSON *p)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(a, "max_tokens");
	const char *model = json_str(a, "model");
	cJSON *input, *v = NULL;
	double max_out = TR_RESP_MIN_OUTPUT_TOKENS;
	enum gw_err e;

	if (json_add_str(p, "model", model ? model : "") != GW_OK ||
	    (input = cJSON_AddArrayToObject(p, "input")) == NULL)
		return GW_ENOMEM;
	if ((e = translate_messages(r, json_arr(a, "messages"), input)) != GW_OK)
		return e;
	if ((e = instructions(cJSON_GetObjectItemCaseSensitive(a, "system"),
	    o != NULL ? o->extra_prompt : NULL, &v)) != GW_OK ||
	    (e = json_add(p, "instructions", v)) != GW_OK)
		return e;
	if (cJSON_IsNumber(mt) && mt->valuedouble > max_out)
		max_out = floor(mt->valuedouble);
	if (cJSON_AddNumberToObject(p, "temperature", 1) == NULL ||
	    json_add(p, "top_p", copy_or_null(cJSON_GetObjectItemCaseSensitive(a,
	    "top_p"), is_number)) != GW_OK ||
	    cJSON_AddNumberToObject(p, "max_output_tokens", max_out) == NULL)
		return GW_ENOMEM;
	if ((e = convert_tools(r, &v)) != GW_OK || (e = json_add(p, "tools", v)) != GW_OK)
		return e;
	if (json_add(p, "tool_choice", tool_choice(r, json_obj(a, "tool_choice")))
	    != GW_OK ||
	    json_add(p, "metadata", copy_or_null(json_obj(a, "metadata"), is_object))
	    != GW_OK ||
	    json_add(p, "stream", copy_or_null(cJSON_GetObjectItemCaseSensitive(a,
	    "stream"), is_bool)) != GW_OK ||
	    cJSON_AddFalseToObject(p, "store") == NULL ||
	    cJSON_AddTrueToObject(p, "parallel_tool_calls") == NULL)
		return GW_ENOMEM;
	if ((e = reasoning(p, a, o)) != GW_OK)
		return e;
	/* the cache key only pays off for tool-using (agent) traffic */
	if (cJSON_GetArraySize(json_arr(a, "tools")) > 0 &&
	    json_add(p, "prompt_cache_key", prompt_cache_key(o)) != GW_OK)
		return GW_ENOMEM;
	return tr_responses_context_management(p, o != NULL ? o->model : NULL,
	    o != NULL ? o->compact : NULL);
}

enum gw_err
tr_anthropic_to_responses(const cJSON *a, const struct tr_resp_opts *o,
    cJSON **out, struct buf *errmsg)
{
	struct req r = { NULL, 0, NULL, errmsg };
	cJSON *p = NULL;
	enum gw_err e;

	if (!cJSON_IsObject(a) || !cJSON_IsArray(json_arr(a, "messages"))) {
		/* best effort: GW_EINVAL is returned whatever errmsg says */
		if (errmsg != NULL)
			GW_IGNORE(buf_puts(errmsg,
			    "messages: an array is required"));
		return GW_EINVAL;
	}
	e = GW_ENOMEM;
	if ((r.names_by_id = cJSON_CreateObject()) == NULL ||
	    (p = cJSON_CreateObject()) == NULL ||
	    (e = client_tools(json_arr(a, "tools"), &r.tools)) != GW_OK)
		goto out;
	r.tool_search = tr_ts_enabled(json_str(a, "model"), r.tools);
	if ((e = build_payload(&r, a, o, p)) != GW_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	/* best effort: e is returned whatever errmsg says */
	if (e == GW_ENOMEM && errmsg != NULL && errmsg->len == 0)
		GW_IGNORE(buf_puts(errmsg, gw_strerror(e)));
	cJSON_Delete(p);
	cJSON_Delete(r.tools);
	cJSON_Delete(r.names_by_id);
	return e;
}

/* ---- §6.2: Responses result -> Anthropic message ---- */

/* The summary parts' texts joined with REASONING_SUMMARY_SEPARATOR, then
 * trimmed; no summary at all gives the placeholder, so that clients that
 * drop empty thinking keep it. */
static GW_MUST_CHECK enum gw_err
reasoning_block(const cJSON *item, cJSON *content)
{
	const cJSON *summary = json_arr(item, "summary"), *s;
	const char *enc = json_str(item, "encrypted_content");
	const char *id = json_str(item, "id");
	struct buf text = BUF_INIT, sig = BUF_INIT;
	char *trimmed = NULL;
	size_t parts = 0;
	enum gw_err e = GW_ENOMEM;

	if (cJSON_GetArraySize(summary) == 0) {
		if (buf_puts(&text, THINKING_PLACEHOLDER) != GW_OK)
			goto out;
	} else
		cJSON_ArrayForEach(s, summary) {
			if (json_str(s, "text") == NULL)
				continue;
			if ((parts++ > 0 && buf_puts(&text,
			    REASONING_SUMMARY_SEPARATOR) != GW_OK) ||
			    buf_puts(&text, json_str(s, "text")) != GW_OK)
				goto out;
		}
	if ((trimmed = util_strndup_trim(buf_cstr(&text), text.len)) == NULL)
		goto out;
	e = GW_OK;
	if (*trimmed == '\0')
		goto out;
	if ((e = buf_printf(&sig, "%s@%s", enc ? enc : "", id ? id : ""))
	    != GW_OK)
		goto out;
	e = tr_thinking_block(content, trimmed, buf_cstr(&sig));
out:
	free(trimmed);
	buf_free(&text);
	buf_free(&sig);
	return e;
}

static int
blank(const char *s)
{
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* The tool input from a call's argument text: {} when blank, the object,
 * an array as {"arguments":[...]}, and anything else kept raw. */
static cJSON *
tool_input(const cJSON *args)
{
	cJSON *v, *o;
	const char *s;

	if (cJSON_IsObject(args))
		return cJSON_Duplicate(args, 1);
	if (!cJSON_IsString(args) || blank(args->valuestring))
		return cJSON_CreateObject();
	s = args->valuestring;
	v = json_parse(s, strlen(s), NULL, NULL);
	if (cJSON_IsObject(v))
		return v;
	if ((o = cJSON_CreateObject()) == NULL) {
		cJSON_Delete(v);
		return NULL;
	}
	if (cJSON_IsArray(v)) {
		if (json_add(o, "arguments", v) == GW_OK)
			return o;
	} else {
		cJSON_Delete(v);
		if (json_add_str(o, "raw_arguments", s) == GW_OK)
			return o;
	}
	cJSON_Delete(o);
	return NULL;
}

/* A namespaced call (a deferred tool) is named after its namespace, which
 * is the client's tool name. */
static const char *
call_name(const cJSON *item)
{
	const char *ns = json_str(item, "namespace");

	return ns != NULL && *ns != '\0' ? ns : json_str(item, "name");
}

static GW_MUST_CHECK enum gw_err
function_call_block(const cJSON *item, cJSON *content)
{
	const char *id = json_str(item, "call_id"), *name = call_name(item);

	if (id == NULL || *id == '\0' || name == NULL || *name == '\0')
		return GW_OK;
	return tr_tool_use_block(content, id, name,
	    tool_input(cJSON_GetObjectItemCaseSensitive(item, "arguments")));
}

static GW_MUST_CHECK enum gw_err
tool_search_block(const cJSON *item, const char *bridge, cJSON *content)
{
	const char *id = json_str(item, "call_id");
	cJSON *input = NULL;
	enum gw_err e;

	if (id == NULL || *id == '\0')
		return GW_OK;
	if ((e = tr_ts_anthropic_input(cJSON_GetObjectItemCaseSensitive(item,
	    "arguments"), &input)) != GW_OK)
		return e;
	return tr_tool_use_block(content, id, bridge, input);
}

/* The text of a message's parts: output_text, refusal, or any part with a
 * string text or reasoning. */
static GW_MUST_CHECK enum gw_err
parts_text(const cJSON *parts, struct buf *b)
{
	const cJSON *p;
	const char *t;

	cJSON_ArrayForEach(p, parts) {
		if (util_streq(json_str(p, "type"), "refusal"))
			t = json_str(p, "refusal");
		else if ((t = json_str(p, "text")) == NULL)
			t = json_str(p, "reasoning");
		if (t != NULL && buf_puts(b, t) != GW_OK)
			return GW_ENOMEM;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
message_block(const cJSON *item, cJSON *content)
{
	struct buf b = BUF_INIT;
	enum gw_err e;

	if ((e = parts_text(json_arr(item, "content"), &b)) == GW_OK &&
	    b.len > 0)
		e = tr_text_block(content, buf_cstr(&b));
	buf_free(&b);
	return e;
}

static GW_MUST_CHECK enum gw_err
compaction_block(const cJSON *item, cJSON *content)
{
	const char *id = json_str(item, "id");
	const char *enc = json_str(item, "encrypted_content");
	struct buf sig = BUF_INIT;
	enum gw_err e;

	if (id == NULL || *id == '\0' || enc == NULL || *enc == '\0')
		return GW_OK;
	if ((e = buf_printf(&sig, COMPACTION_PREFIX "%s@%s", enc, id)) == GW_OK)
		e = tr_thinking_block(content,
		    THINKING_PLACEHOLDER, buf_cstr(&sig));
	buf_free(&sig);
	return e;
}

static GW_MUST_CHECK enum gw_err
output_blocks(const cJSON *output, const char *bridge, cJSON *content)
{
	const cJSON *item;
	const char *type;
	enum gw_err e;

	cJSON_ArrayForEach(item, output) {
		type = json_str(item, "type");
		if (util_streq(type, "reasoning"))
			e = reasoning_block(item, content);
		else if (util_streq(type, "function_call"))
			e = function_call_block(item, content);
		else if (util_streq(type, "tool_search_call"))
			e = tool_search_block(item, bridge, content);
		else if (util_streq(type, "tool_search_output"))
			e = GW_OK;
		else if (util_streq(type, "compaction"))
			e = compaction_block(item, content);
		else
			e = message_block(item, content);
		if (e != GW_OK)
			return e;
	}
	return GW_OK;
}

/* Whether an output item holds a refusal part with text. */
static int
refuses(const cJSON *item)
{
	const cJSON *p;
	const char *t;

	cJSON_ArrayForEach(p, json_arr(item, "content"))
		if (util_streq(json_str(p, "type"), "refusal") &&
		    (t = json_str(p, "refusal")) != NULL && *t != '\0')
			return 1;
	return 0;
}

/* A completed answer that refused ends with Anthropic's "refusal" (ours:
 * the reference says end_turn); a tool call still wins. */
static const char *
stop_reason(const cJSON *result, int has_tool_call, int refused)
{
	const char *status = json_str(result, "status");
	const char *why = json_str(json_obj(result, "incomplete_details"),
	    "reason");
	const cJSON *output = json_arr(result, "output"), *it;

	if (util_streq(status, "completed")) {
		if (cJSON_GetArraySize(output) == 0)
			return has_tool_call ? "tool_use" :
			    refused ? "refusal" : "end_turn";
		cJSON_ArrayForEach(it, output) {
			if (util_streq(json_str(it, "type"), "function_call") ||
			    util_streq(json_str(it, "type"), "tool_search_call"))
				return "tool_use";
			refused |= refuses(it);
		}
		return refused ? "refusal" : "end_turn";
	}
	if (util_streq(status, "incomplete")) {
		if (util_streq(why, "max_output_tokens"))
			return "max_tokens";
		if (util_streq(why, "content_filter"))
			return "end_turn";
	}
	return NULL;
}

/* input_tokens excludes the cached and the written parts (not clamped, as
 * upstream); the cache read and write are reported only when the upstream
 * reported them (1.14.7). */
static cJSON *
anthropic_usage(const cJSON *usage)
{
	const cJSON *d = json_obj(usage, "input_tokens_details");
	const cJSON *cached = cJSON_GetObjectItemCaseSensitive(d, "cached_tokens");
	const cJSON *wr = cJSON_GetObjectItemCaseSensitive(d, "cache_write_tokens");
	double in = json_num(usage, "input_tokens", 0);
	double c = cJSON_IsNumber(cached) ? cached->valuedouble : 0;
	double w = cJSON_IsNumber(wr) ? wr->valuedouble : 0;
	cJSON *u = cJSON_CreateObject();

	if (u == NULL ||
	    cJSON_AddNumberToObject(u, "input_tokens", in - c - w) == NULL ||
	    cJSON_AddNumberToObject(u, "output_tokens",
	    json_num(usage, "output_tokens", 0)) == NULL ||
	    (cJSON_IsNumber(cached) &&
	    cJSON_AddNumberToObject(u, "cache_read_input_tokens", c) == NULL) ||
	    (cJSON_IsNumber(wr) &&
	    cJSON_AddNumberToObject(u, "cache_creation_input_tokens", w) == NULL)) {
		cJSON_Delete(u);
		return NULL;
	}
	return u;
}

enum gw_err
tr_responses_to_anthropic(const cJSON *result,
    const struct tr_resp_result_opts *o, cJSON **out, struct buf *errmsg)
{
	const char *bridge = o != NULL && o->tool_search_name != NULL ?
	    o->tool_search_name : TR_TS_BRIDGE_DEFAULT;
	const char *model = json_str(result, "model"), *id, *stop, *msg;
	const char *text;
	cJSON *m = NULL, *content;
	enum gw_err e = GW_ENOMEM;

	/* best effort (errmsg): GW_EUPSTREAM is returned whatever it says */
	if (!cJSON_IsObject(result)) {
		if (errmsg != NULL)
			GW_IGNORE(buf_puts(errmsg,
			    "upstream sent no response object"));
		return GW_EUPSTREAM;
	}
	if (util_streq(json_str(result, "status"), "failed")) {
		msg = json_str(json_obj(result, "error"), "message");
		if (errmsg != NULL)
			GW_IGNORE(buf_puts(errmsg, msg != NULL ? msg :
			    "The response failed due to an unknown error."));
		return GW_EUPSTREAM;
	}
	if (model == NULL)
		model = o != NULL && o->model != NULL ? o->model : "";
	id = json_str(result, "id");
	if ((m = cJSON_CreateObject()) == NULL ||
	    json_add_str(m, "id", id ? id : "") != GW_OK ||
	    json_add_str(m, "type", "message") != GW_OK ||
	    json_add_str(m, "role", "assistant") != GW_OK ||
	    (content = cJSON_AddArrayToObject(m, "content")) == NULL)
		goto out;
	if ((e = output_blocks(json_arr(result, "output"), bridge, content))
	    != GW_OK)
		goto out;
	e = GW_ENOMEM;
	text = json_str(result, "output_text");
	if (cJSON_GetArraySize(content) == 0 && text != NULL && *text != '\0' &&
	    tr_text_block(content, text) != GW_OK)
		goto out;
	stop = stop_reason(result, o != NULL && o->has_tool_call,
	    o != NULL && o->refused);
	if (json_add_str(m, "model", model) != GW_OK ||
	    json_add(m, "stop_reason", stop ? cJSON_CreateString(stop) :
	    cJSON_CreateNull()) != GW_OK ||
	    cJSON_AddNullToObject(m, "stop_sequence") == NULL ||
	    json_add(m, "usage", anthropic_usage(json_obj(result, "usage"))) != GW_OK)
		goto out;
	*out = m;
	m = NULL;
	e = GW_OK;
out:
	cJSON_Delete(m);
	return e;
}

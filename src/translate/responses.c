/*
 * Responses-API pieces both client sides use: the Anthropic -> Responses
 * request translator and the /v1/responses route (and its tool search
 * bridge).
 */
#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "translate/responses.h"

cJSON *
tr_resp_typed(const char *type)
{
	cJSON *o = cJSON_CreateObject();

	if (o != NULL && cJSON_AddStringToObject(o, "type", type) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The input schema with properties:{} added to an object schema that
 * lacks it (the Responses API insists). */
static cJSON *
tool_schema(const cJSON *schema)
{
	cJSON *s;

	if (!cJSON_IsObject(schema)) {
		s = tr_resp_typed("object");
		if (s != NULL && cJSON_AddObjectToObject(s, "properties") == NULL) {
			cJSON_Delete(s);
			return NULL;
		}
		return s;
	}
	if ((s = cJSON_Duplicate(schema, 1)) == NULL)
		return NULL;
	if (util_streq(json_str(s, "type"), "object") &&
	    cJSON_GetObjectItemCaseSensitive(s, "properties") == NULL &&
	    cJSON_AddObjectToObject(s, "properties") == NULL) {
		cJSON_Delete(s);
		return NULL;
	}
	return s;
}

enum gw_err
tr_resp_function_tool(const cJSON *tool, int defer_loading, cJSON **out)
{
	cJSON *f = tr_resp_typed("function");
	const char *name = json_str(tool, "name"), *desc;

	desc = json_str(tool, "description");
	if (f == NULL || json_add_str(f, "name", name ? name : "") != GW_OK ||
	    json_add(f, "parameters", tool_schema(json_obj(tool, "input_schema")))
	    != GW_OK || cJSON_AddFalseToObject(f, "strict") == NULL ||
	    (defer_loading && cJSON_AddTrueToObject(f, "defer_loading") == NULL) ||
	    (desc != NULL && *desc != '\0' &&
	    json_add_str(f, "description", desc) != GW_OK)) {
		cJSON_Delete(f);
		return GW_ENOMEM;
	}
	*out = f;
	return GW_OK;
}

/* Drops the input items before the last compaction item. */
static void
trim_compaction(cJSON *payload)
{
	cJSON *input = json_arr(payload, "input"), *it;
	int i, last = -1, n = cJSON_GetArraySize(input);

	for (i = 0, it = input ? input->child : NULL; it; it = it->next, i++)
		if (util_streq(json_str(it, "type"), "compaction"))
			last = i;
	for (i = 0; i < last && i < n; i++)
		cJSON_DeleteItemFromArray(input, 0);
}

static int
ends_with_trigger(const cJSON *payload)
{
	const cJSON *input = json_arr(payload, "input");
	int n = cJSON_GetArraySize(input);

	return n > 0 && util_streq(json_str(cJSON_GetArrayItem(input, n - 1),
	    "type"), "compaction_trigger");
}

enum gw_err
tr_responses_context_management(cJSON *payload, const cJSON *model,
    const struct tr_resp_compact *c)
{
	const cJSON *limits = json_obj(json_obj(model, "capabilities"), "limits");
	double max_prompt = json_num(limits, "max_prompt_tokens", 0), threshold;
	cJSON *arr, *item;

	if (c == NULL || util_gpt_at_least(json_str(payload, "model"), 5, 6))
		return GW_OK;
	if (ends_with_trigger(payload)) {
		if (c->enabled)
			trim_compaction(payload);
		return GW_OK;
	}
	if (cJSON_GetObjectItemCaseSensitive(payload, "context_management")) {
		trim_compaction(payload);
		return GW_OK;
	}
	if (!c->enabled)
		return GW_OK;
	threshold = c->threshold > 0 ? c->threshold : max_prompt > 0 ?
	    floor(max_prompt * c->ratio) : TR_RESP_COMPACT_BASE_TOKENS * c->ratio;
	if ((arr = cJSON_AddArrayToObject(payload, "context_management")) == NULL ||
	    (item = tr_resp_typed("compaction")) == NULL)
		return GW_ENOMEM;
	if (json_push(arr, item) != GW_OK ||
	    cJSON_AddNumberToObject(item, "compact_threshold", threshold) == NULL)
		return GW_ENOMEM;
	trim_compaction(payload);
	return GW_OK;
}

static int
has_image(const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsObject(v) && util_streq(json_str(v, "type"), "input_image"))
		return 1;
	if (cJSON_IsObject(v) || cJSON_IsArray(v))
		cJSON_ArrayForEach(c, v)
			if (has_image(c))
				return 1;
	return 0;
}

int
tr_responses_has_image(const cJSON *payload)
{
	return has_image(cJSON_GetObjectItemCaseSensitive(payload, "input"));
}

int
tr_responses_agent_initiated(const cJSON *payload)
{
	const cJSON *input = json_arr(payload, "input"), *last;
	const char *role;

	if (cJSON_GetArraySize(input) == 0)
		return 0;
	last = cJSON_GetArrayItem(input, cJSON_GetArraySize(input) - 1);
	role = json_str(last, "role");
	return role == NULL || strcmp(role, "assistant") == 0;
}

/* A message item: an object with a string role and no type but
 * "message". */
static int
message_item(const cJSON *it)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");

	return cJSON_IsObject(it) && json_str(it, "role") != NULL &&
	    (type == NULL || util_streq(cJSON_GetStringValue(type), "message"));
}

static int
blank(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
	    *s == '\f' || *s == '\v')
		s++;
	return *s == '\0';
}

/* The message's text appended to b (its non-empty text parts joined by a
 * blank line); 0 when a part is not text, so the item cannot move. */
static GW_MUST_CHECK enum gw_err
message_text(const cJSON *content, struct buf *b, int *ok)
{
	const cJSON *p, *type;
	size_t start = b->len;
	enum gw_err e = GW_OK;

	*ok = 1;
	if (content == NULL)
		return GW_OK;
	if (cJSON_IsString(content))
		return buf_puts(b, content->valuestring);
	if (!cJSON_IsArray(content)) {
		*ok = 0;
		return GW_OK;
	}
	cJSON_ArrayForEach(p, content) {
		type = cJSON_GetObjectItemCaseSensitive(p, "type");
		if (!cJSON_IsObject(p) || json_str(p, "text") == NULL ||
		    (type != NULL && !util_streq(cJSON_GetStringValue(type),
		    "input_text") && !util_streq(cJSON_GetStringValue(type),
		    "output_text"))) {
			*ok = 0;
			return GW_OK;
		}
		if (*json_str(p, "text") == '\0')
			continue;
		if (b->len > start)
			e = buf_puts(b, "\n\n");
		if (e == GW_OK)
			e = buf_puts(b, json_str(p, "text"));
		if (e != GW_OK)
			return e;
	}
	return GW_OK;
}

enum gw_err
tr_responses_system_to_instructions(cJSON *payload)
{
	cJSON *input = json_arr(payload, "input"), *it, *next;
	const char *ins = json_str(payload, "instructions");
	struct buf all = BUF_INIT, one = BUF_INIT;
	int messages = 0, ok, moved = 0;
	enum gw_err e = GW_OK;

	if ((ins != NULL && !blank(ins)) || input == NULL)
		return GW_OK;
	for (it = input->child; it != NULL; it = next) {
		next = it->next;
		if (!message_item(it))
			continue;
		if (++messages > 3 || !util_streq(json_str(it, "role"), "system"))
			continue;
		buf_reset(&one);
		if ((e = message_text(cJSON_GetObjectItemCaseSensitive(it,
		    "content"), &one, &ok)) != GW_OK)
			goto out;
		if (!ok)
			continue;
		if (one.len > 0 && !blank(buf_cstr(&one)) &&
		    ((all.len > 0 && (e = buf_puts(&all, "\n\n")) != GW_OK) ||
		    (e = buf_append(&all, one.data, one.len)) != GW_OK))
			goto out;
		cJSON_Delete(cJSON_DetachItemViaPointer(input, it));
		moved = 1;
	}
	if (!moved)
		goto out;
	if (all.len > 0 && (e = json_set(payload, "instructions",
	    cJSON_CreateString(buf_cstr(&all)))) != GW_OK)
		goto out;
	if (input->child == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(payload, "input");
out:
	buf_free(&all);
	buf_free(&one);
	return e;
}

enum gw_err
tr_responses_ws_frame(const cJSON *payload, const char *initiator, char **out)
{
	static const char *const drop[] = { "stream", "background",
	    "service_tier" };
	cJSON *f = cJSON_Duplicate(payload, 1), *t;
	enum gw_err e = f != NULL ? GW_OK : GW_ENOMEM;
	size_t i;

	*out = NULL;
	for (i = 0; e == GW_OK && i < (initiator != NULL ? ARRAY_LEN(drop) : 1);
	    i++)
		cJSON_DeleteItemFromObjectCaseSensitive(f, drop[i]);
	if (e == GW_OK && initiator == NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(f, "type");
		t = cJSON_CreateString("response.create");
		/* first, as the reference spreads the payload after it */
		if (t == NULL || !cJSON_AddItemToObject(f, "type", t)) {
			cJSON_Delete(t);
			e = GW_ENOMEM;
		} else if (!cJSON_InsertItemInArray(f, 0,
		    cJSON_DetachItemViaPointer(f, t))) {
			cJSON_Delete(t);
			e = GW_ENOMEM;
		}
	} else if (e == GW_OK) {
		e = json_set(f, "type", cJSON_CreateString("response.create"));
	}
	if (e == GW_OK && initiator != NULL)
		e = json_set(f, "initiator", cJSON_CreateString(initiator));
	if (e == GW_OK && (*out = json_print(f)) == NULL)
		e = GW_ENOMEM;
	cJSON_Delete(f);
	return e;
}

/*
 * Responses-API pieces both client sides use: the Anthropic -> Responses
 * request translator and the /v1/responses route (and its tool search
 * bridge).
 */
#include <math.h>
#include <string.h>

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

enum gw_err
tr_responses_context_management(cJSON *payload, const cJSON *model)
{
	const cJSON *limits = json_obj(json_obj(model, "capabilities"), "limits");
	double max_prompt = json_num(limits, "max_prompt_tokens", 0);
	double threshold = TR_RESP_DEFAULT_COMPACT_THRESHOLD;
	cJSON *arr, *c;

	if (cJSON_GetObjectItemCaseSensitive(payload, "context_management") &&
	    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(payload,
	    "context_management")))
		return GW_OK;
	if (max_prompt > 0)
		threshold = floor(max_prompt * 0.9);
	cJSON_DeleteItemFromObjectCaseSensitive(payload, "context_management");
	if ((arr = cJSON_AddArrayToObject(payload, "context_management")) == NULL ||
	    (c = tr_resp_typed("compaction")) == NULL)
		return GW_ENOMEM;
	if (json_push(arr, c) != GW_OK ||
	    cJSON_AddNumberToObject(c, "compact_threshold", threshold) == NULL)
		return GW_ENOMEM;
	return GW_OK;
}

void
tr_responses_trim_compaction(cJSON *payload)
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

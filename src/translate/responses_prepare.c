#include <string.h>

#include "core/json.h"
#include "translate/anthropic_responses.h"
#include "translate/responses_prepare.h"

static void
filter_tools(cJSON *body, int keep_web_search)
{
	cJSON *tools = json_arr(body, "tools");
	const char *type;
	int i;

	for (i = cJSON_GetArraySize(tools) - 1; i >= 0; i--) {
		type = json_str(cJSON_GetArrayItem(tools, i), "type");
		if (type == NULL)
			continue;
		if (strcmp(type, "image_generation") == 0 ||
		    (!keep_web_search && strncmp(type, "web_search", 10) == 0))
			cJSON_DeleteItemFromArray(tools, i);
	}
}

static enum gw_err
default_effort(cJSON *body, const cJSON *model, const char *effort)
{
	const cJSON *efforts, *e, *last = NULL;
	cJSON *reasoning = json_obj(body, "reasoning");
	enum gw_err err;
	int listed = 0;

	efforts = json_arr(json_obj(json_obj(model, "capabilities"), "supports"),
	    "reasoning_effort");
	if (effort == NULL || efforts == NULL ||
	    cJSON_GetArraySize(efforts) == 0 || json_str(reasoning, "effort") != NULL)
		return GW_OK;
	cJSON_ArrayForEach(e, efforts) {
		if (cJSON_IsString(e) && strcmp(e->valuestring, effort) == 0)
			listed = 1;
		last = e;
	}
	if (!listed && cJSON_IsString(last))
		effort = last->valuestring;
	if (reasoning == NULL) {
		if ((err = json_set(body, "reasoning", cJSON_CreateObject())) != GW_OK)
			return err;
		reasoning = json_obj(body, "reasoning");
	}
	return json_set(reasoning, "effort", cJSON_CreateString(effort));
}

enum gw_err
tr_responses_prepare(cJSON *body, const struct tr_responses_prepare_opts *o)
{
	enum gw_err e;

	filter_tools(body, o->keep_web_search);
	tr_responses_trim_compaction(body);
	cJSON_DeleteItemFromObjectCaseSensitive(body, "service_tier");
	if (o->context_management &&
	    cJSON_GetObjectItemCaseSensitive(body, "context_management") == NULL &&
	    (e = tr_responses_context_management(body, o->model)) != GW_OK)
		return e;
	return default_effort(body, o->model, o->reasoning_effort);
}

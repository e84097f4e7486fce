/*
 * The rewrites /v1/responses applies to a client's Responses request
 * before relaying it to Copilot (translation spec §10.2).
 */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "translate/responses.h"
#include "translate/responses_prepare.h"

/* 96x32 grey PNG reading "TOO LARGE / REDACTED" (generated for this
 * project), sent in place of an image over the model's size limit. */
static const char too_large_png[] =
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAGAAAAAgCAAAAA"
    "DIqyKIAAAAkklEQVR42u2WAQqAMAhFd5yOuDt3iaAQ978OinCzmDCQdL1wfl"
    "upwVbqHmq/A2ynXZ48wTh6ki2e7p8F0I24GMBx/3NyA7QkmM+IvID+ygHot6"
    "mUhl/6sE0DAWvYZQCoeFBMKDOM+yKbB7ADzBeTHew3hDYEgD+TdpD5AMzLAP"
    "j+GXBJuAR4MXjRpkGANewMINgOHwzfkelZhK0AAAAASUVORK5CYII=";

/* Estimated bytes of a data URL as the reference measures it: the whole
 * string, prefix included, times 3/4. */
static GW_MUST_CHECK enum gw_err
redact_image(cJSON *part, double limit)
{
	const char *url = json_str(part, "image_url");
	enum gw_err e;

	if (url == NULL || strncmp(url, "data:", 5) != 0 ||
	    (double)(strlen(url) * 3 / 4) <= limit)
		return GW_OK;
	if ((e = json_set(part, "image_url",
	    cJSON_CreateString(too_large_png))) != GW_OK ||
	    (e = json_set(part, "detail", cJSON_CreateString("low"))) != GW_OK)
		return e;
	cJSON_DeleteItemFromObjectCaseSensitive(part, "file_id");
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
redact_parts(cJSON *parts, double limit)
{
	cJSON *part;
	const char *type;
	enum gw_err e;

	cJSON_ArrayForEach(part, parts) {
		type = json_str(part, "type");
		if (type != NULL && strcmp(type, "input_image") == 0 &&
		    (e = redact_image(part, limit)) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* Images over limits.vision.max_prompt_image_size in messages and in
 * function_call_output arrays (v1.10.21+); others are untouched. */
static GW_MUST_CHECK enum gw_err
redact_oversized_images(cJSON *body, const cJSON *model)
{
	double limit = json_num(json_obj(json_obj(json_obj(model, "capabilities"),
	    "limits"), "vision"), "max_prompt_image_size", 0);
	cJSON *item;
	enum gw_err e;

	if (limit <= 0)
		return GW_OK;
	cJSON_ArrayForEach(item, json_arr(body, "input")) {
		if ((e = redact_parts(json_arr(item, "content"),
		    limit)) != GW_OK ||
		    (e = redact_parts(json_arr(item, "output"), limit)) != GW_OK)
			return e;
	}
	return GW_OK;
}

static void
filter_tools(cJSON *body, int keep_web_search)
{
	cJSON *tools = json_arr(body, "tools");
	const char *type, *name;
	int i;

	for (i = cJSON_GetArraySize(tools) - 1; i >= 0; i--) {
		type = json_str(cJSON_GetArrayItem(tools, i), "type");
		name = json_str(cJSON_GetArrayItem(tools, i), "name");
		if (type == NULL)
			continue;
		/* Copilot has no image tool: the tool, or Codex's namespace of
		 * it (1.14.7, 377188e) */
		if (strcmp(type, "image_generation") == 0 ||
		    (strcmp(type, "namespace") == 0 && name != NULL &&
		    strcmp(name, "image_gen") == 0) ||
		    (!keep_web_search && strncmp(type, "web_search", 10) == 0))
			cJSON_DeleteItemFromArray(tools, i);
	}
}

enum gw_err
tr_responses_prepare(cJSON *body, const struct tr_responses_prepare_opts *o)
{
	enum gw_err e;

	filter_tools(body, o->keep_web_search);
	tr_responses_trim_compaction(body);
	if ((e = redact_oversized_images(body, o->model)) != GW_OK)
		return e;
	cJSON_DeleteItemFromObjectCaseSensitive(body, "service_tier");
	if (o->context_management &&
	    cJSON_GetObjectItemCaseSensitive(body, "context_management") == NULL &&
	    (e = tr_responses_context_management(body, o->model)) != GW_OK)
		return e;
	return GW_OK;
}

/*
 * The deferred-tool search bridge between Claude Code's bridge tool and
 * the Responses API's tool_search and namespaces (translation §6.1.1).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/responses.h"
#include "translate/tool_search.h"

static const char *const bridge_names[] = {
	TR_TS_BRIDGE_DEFAULT,
	"tool_search_search",
	"mcp__plugin_tool-search_tool_search__search",
};

/* Claude Code's built-in tools and the usual lower-case spellings of other
 * agents: loaded up front, so hiding them behind a search would only cost
 * a round trip. */
static const char *const always_loaded[] = {
	"Agent", "AskUserQuestion", "Bash", "Edit", "EnterPlanMode",
	"ExitPlanMode", "Glob", "Grep", "Read", "Skill", "TodoWrite",
	"ToolSearch", "WebFetch", "Write", "apply_patch", "bash", "glob",
	"grep", "plan_exit", "question", "read", "skill", "task", "todowrite",
	"webfetch",
};

/* Our own wording; the model reads it, so it says what to do. */
static const char tool_search_description[] =
    "Load deferred tools by exact name before using them. Ask only for the "
    "tools needed for the next step.";
static const char names_description[] =
    "Exact names of the deferred tools to load.";

static int
in_list(const char *name, const char *const *list, size_t n)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

int
tr_ts_is_bridge(const char *name)
{
	return in_list(name, bridge_names, ARRAY_LEN(bridge_names));
}

/* A tool Claude Code always loads, so never deferred. */
static int
tr_ts_is_always_loaded(const char *name)
{
	return in_list(name, always_loaded, ARRAY_LEN(always_loaded));
}

int
tr_ts_is_deferred(const char *name)
{
	return name != NULL && !tr_ts_is_bridge(name) &&
	    !tr_ts_is_always_loaded(name);
}

/* Leading decimal digits of *p as a number (saturating), advancing *p. */
static long
digits(const char **p)
{
	long v = 0;

	while (isdigit((unsigned char)**p)) {
		if (v < 100000)
			v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

/* gpt-<major>[.<minor>] with version >= 5.4 (case-insensitive prefix). */
static int
tr_ts_model_supported(const char *model)
{
	const char *p;
	long major, minor = 0;

	if (model == NULL || strncasecmp(model, "gpt-", 4) != 0)
		return 0;
	p = model + 4;
	if (!isdigit((unsigned char)*p))
		return 0;
	major = digits(&p);
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		minor = digits(&p);
	}
	return major > 5 || (major == 5 && minor >= 4);
}

static const char *
tool_name(const cJSON *tool)
{
	return json_str(tool, "name");
}

int
tr_ts_enabled_in(const char *model, const cJSON *tools,
    const char *(*name)(const cJSON *tool))
{
	const cJSON *t;
	int bridge = 0, deferred = 0;

	if (!tr_ts_model_supported(model) || !cJSON_IsArray(tools))
		return 0;
	cJSON_ArrayForEach(t, tools) {
		const char *n = name(t);

		bridge |= tr_ts_is_bridge(n);
		deferred |= tr_ts_is_deferred(n);
	}
	return bridge && deferred;
}

int
tr_ts_enabled(const char *model, const cJSON *tools)
{
	return tr_ts_enabled_in(model, tools, tool_name);
}

const char *
tr_ts_bridge_in(const cJSON *tools, const char *(*name)(const cJSON *tool))
{
	const cJSON *t;

	if (cJSON_IsArray(tools))
		cJSON_ArrayForEach(t, tools)
			if (tr_ts_is_bridge(name(t)))
				return name(t);
	return TR_TS_BRIDGE_DEFAULT;
}

const char *
tr_ts_bridge_name(const cJSON *tools)
{
	return tr_ts_bridge_in(tools, tool_name);
}

static int
has_string(const cJSON *arr, const char *s, size_t n)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, arr)
		if (strlen(v->valuestring) == n && memcmp(v->valuestring, s, n) == 0)
			return 1;
	return 0;
}

/* Appends the n bytes at s to names unless names holds them already: the
 * name lists keep each name once, in the order first seen. */
static GW_MUST_CHECK enum gw_err
add_name(cJSON *names, const char *s, size_t n)
{
	char *copy;
	cJSON *v;

	if (has_string(names, s, n))
		return GW_OK;
	if ((copy = strndup(s, n)) == NULL)
		return GW_ENOMEM;
	v = cJSON_CreateString(copy);
	free(copy);
	if (v == NULL || !cJSON_AddItemToArray(names, v)) {
		cJSON_Delete(v);
		return GW_ENOMEM;
	}
	return GW_OK;
}

/* Appends the trimmed, non-empty, new comma-separated parts of s. */
static GW_MUST_CHECK enum gw_err
add_comma_list(cJSON *names, const char *s)
{
	const char *p = s, *end, *a, *b;
	enum gw_err e;

	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		a = p;
		b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a && (e = add_name(names, a, (size_t)(b - a))) != GW_OK)
			return e;
		if (*end == '\0')
			return GW_OK;
		p = end + 1;
	}
}

enum gw_err
tr_ts_parse_names(const cJSON *v, cJSON **out)
{
	cJSON *names = cJSON_CreateArray();
	const cJSON *e;
	enum gw_err err = GW_OK;

	if (names == NULL)
		return GW_ENOMEM;
	if (cJSON_IsString(v))
		err = add_comma_list(names, v->valuestring);
	else if (cJSON_IsArray(v))
		cJSON_ArrayForEach(e, v)
			if (cJSON_IsString(e) &&
			    (err = add_comma_list(names, e->valuestring)) != GW_OK)
				break;
	if (err != GW_OK) {
		cJSON_Delete(names);
		return err;
	}
	*out = names;
	return GW_OK;
}

/* `names`, else `query`, else `paths`: the first key that is present and
 * not null. */
static const cJSON *
names_source(const cJSON *obj)
{
	static const char *const keys[] = { "names", "query", "paths" };
	const cJSON *v;
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		v = cJSON_GetObjectItemCaseSensitive(obj, keys[i]);
		if (v != NULL && !cJSON_IsNull(v))
			return v;
	}
	return NULL;
}

/*
 * Names from bridge arguments: an object's `names`, else `query`, else
 * `paths`; a string is tried as a JSON object first, then taken as a
 * comma list.
 */
static GW_MUST_CHECK enum gw_err
tr_ts_args_names(const cJSON *args, cJSON **out)
{
	cJSON *parsed;
	enum gw_err e;

	if (cJSON_IsObject(args))
		return tr_ts_parse_names(names_source(args), out);
	if (!cJSON_IsString(args))
		return tr_ts_parse_names(NULL, out);
	parsed = json_parse(args->valuestring, strlen(args->valuestring),
	    NULL, NULL);
	if (cJSON_IsObject(parsed))
		e = tr_ts_parse_names(names_source(parsed), out);
	else
		e = tr_ts_parse_names(args, out);
	cJSON_Delete(parsed);
	return e;
}

enum gw_err
tr_ts_sentinel_make(const cJSON *names_value, char **out)
{
	cJSON *root = NULL, *names = NULL;
	enum gw_err e;

	if ((e = tr_ts_parse_names(names_value, &names)) != GW_OK)
		return e;
	e = GW_ENOMEM;
	if ((root = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(root, "type", TR_TS_SENTINEL_TYPE) == NULL ||
	    !cJSON_AddItemToObject(root, "names", names))
		goto out;
	names = NULL;
	if ((*out = json_print(root)) != NULL)
		e = GW_OK;
out:
	cJSON_Delete(names);
	cJSON_Delete(root);
	return e;
}

enum gw_err
tr_ts_sentinel_parse(const char *text, cJSON **out)
{
	cJSON *v, *names = NULL;
	enum gw_err e = GW_ENOTFOUND;

	if (text == NULL)
		return GW_ENOTFOUND;
	v = json_parse(text, strlen(text), NULL, NULL);
	if (!cJSON_IsObject(v) || json_str(v, "type") == NULL ||
	    strcmp(json_str(v, "type"), TR_TS_SENTINEL_TYPE) != 0)
		goto out;
	if ((e = tr_ts_parse_names(names_source(v), &names)) != GW_OK)
		goto out;
	if (cJSON_GetArraySize(names) == 0) {
		e = GW_ENOTFOUND;
		goto out;
	}
	*out = names;
	names = NULL;
out:
	cJSON_Delete(names);
	cJSON_Delete(v);
	return e;
}

static const cJSON *
find_first(const cJSON *tools, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tools) {
		const char *n = tool_name(t);

		if (n != NULL && strcmp(n, name) == 0)
			return t;
	}
	return NULL;
}

/* The last deferred tool of that name (a later definition wins, as a map
 * built from the list would have it). */
static const cJSON *
find_deferred(const cJSON *tools, const char *name)
{
	const cJSON *t, *found = NULL;

	if (!tr_ts_is_deferred(name))
		return NULL;
	cJSON_ArrayForEach(t, tools) {
		const char *n = tool_name(t);

		if (n != NULL && strcmp(n, name) == 0)
			found = t;
	}
	return found;
}

enum gw_err
tr_ts_select_deferred(const cJSON *names, const cJSON *tools, cJSON **out)
{
	cJSON *sel = cJSON_CreateArray(), *dup;
	const cJSON *n, *t;

	if (sel == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(n, names) {
		if (!cJSON_IsString(n) ||
		    (t = find_deferred(tools, n->valuestring)) == NULL)
			continue;
		dup = cJSON_Duplicate(t, 1);
		if (dup == NULL || !cJSON_AddItemToArray(sel, dup)) {
			cJSON_Delete(dup);
			cJSON_Delete(sel);
			return GW_ENOMEM;
		}
	}
	*out = sel;
	return GW_OK;
}

/* One deferred Anthropic tool as a Responses namespace definition. */
static GW_MUST_CHECK enum gw_err
tr_ts_namespace(const cJSON *tool, cJSON **out)
{
	cJSON *ns = cJSON_CreateObject(), *fn = NULL, *arr;
	const char *desc = json_str(tool, "description");
	enum gw_err e;

	if ((e = tr_resp_function_tool(tool, 1, &fn)) != GW_OK)
		goto fail;
	e = GW_ENOMEM;
	if (ns == NULL ||
	    cJSON_AddStringToObject(ns, "type", "namespace") == NULL ||
	    cJSON_AddStringToObject(ns, "name", tool_name(tool)) == NULL)
		goto fail;
	if (desc != NULL && *desc != '\0' &&
	    cJSON_AddStringToObject(ns, "description", desc) == NULL)
		goto fail;
	if ((arr = cJSON_AddArrayToObject(ns, "tools")) == NULL ||
	    !cJSON_AddItemToArray(arr, fn))
		goto fail;
	*out = ns;
	return GW_OK;
fail:
	cJSON_Delete(fn);
	cJSON_Delete(ns);
	return e;
}

static GW_MUST_CHECK enum gw_err
tool_search_tool(const cJSON *deferred_names, cJSON **out)
{
	cJSON *t = cJSON_CreateObject(), *params, *props, *names, *items, *req;
	cJSON *enm;

	if (t == NULL ||
	    cJSON_AddStringToObject(t, "type", "tool_search") == NULL ||
	    cJSON_AddStringToObject(t, "execution", "client") == NULL ||
	    cJSON_AddStringToObject(t, "description",
	    tool_search_description) == NULL ||
	    (params = cJSON_AddObjectToObject(t, "parameters")) == NULL ||
	    cJSON_AddStringToObject(params, "type", "object") == NULL ||
	    (props = cJSON_AddObjectToObject(params, "properties")) == NULL ||
	    (names = cJSON_AddObjectToObject(props, "names")) == NULL ||
	    cJSON_AddStringToObject(names, "type", "array") == NULL ||
	    (items = cJSON_AddObjectToObject(names, "items")) == NULL ||
	    cJSON_AddStringToObject(items, "type", "string") == NULL ||
	    (enm = cJSON_Duplicate(deferred_names, 1)) == NULL)
		goto fail;
	if (!cJSON_AddItemToObject(items, "enum", enm)) {
		cJSON_Delete(enm);
		goto fail;
	}
	if (cJSON_AddNumberToObject(names, "minItems", 1) == NULL ||
	    cJSON_AddStringToObject(names, "description",
	    names_description) == NULL ||
	    (req = cJSON_AddArrayToObject(params, "required")) == NULL ||
	    !cJSON_AddItemToArray(req, cJSON_CreateString("names")) ||
	    cJSON_AddFalseToObject(params, "additionalProperties") == NULL)
		goto fail;
	*out = t;
	return GW_OK;
fail:
	cJSON_Delete(t);
	return GW_ENOMEM;
}

enum gw_err
tr_ts_search_tool(const cJSON *deferred_names, cJSON **out)
{
	return tool_search_tool(deferred_names, out);
}

/* The names pick() finds in the items of arr, each once, in order; pick
 * returns NULL for an item that names nothing. */
static GW_MUST_CHECK enum gw_err
collect_names(const cJSON *arr, const char *(*pick)(const cJSON *),
    cJSON **out)
{
	cJSON *names = cJSON_CreateArray();
	const cJSON *it;
	const char *n;
	enum gw_err e;

	if (names == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(it, arr)
		if ((n = pick(it)) != NULL &&
		    (e = add_name(names, n, strlen(n))) != GW_OK) {
			cJSON_Delete(names);
			return e;
		}
	*out = names;
	return GW_OK;
}

static const char *
deferred_name(const cJSON *tool)
{
	const char *n = tool_name(tool);

	return tr_ts_is_deferred(n) ? n : NULL;
}

/* Unique deferred tool names, in request order. */
static GW_MUST_CHECK enum gw_err
deferred_names(const cJSON *tools, cJSON **out)
{
	return collect_names(tools, deferred_name, out);
}

enum gw_err
tr_ts_convert_tools(const cJSON *tools, cJSON **out)
{
	cJSON *res = cJSON_CreateArray(), *names = NULL, *item = NULL;
	const cJSON *t;
	int search_added = 0;
	enum gw_err e = GW_ENOMEM;

	if (res == NULL || (e = deferred_names(tools, &names)) != GW_OK)
		goto out;
	cJSON_ArrayForEach(t, tools) {
		const char *n = tool_name(t);

		if (n == NULL)
			continue;
		if (tr_ts_is_bridge(n)) {
			if (search_added)
				continue;
			search_added = 1;
			e = tool_search_tool(names, &item);
		} else if (tr_ts_is_deferred(n))
			e = tr_ts_namespace(t, &item);
		else
			e = tr_resp_function_tool(t, 0, &item);
		if (e != GW_OK)
			goto out;
		if (!cJSON_AddItemToArray(res, item)) {
			e = GW_ENOMEM;
			goto out;
		}
		item = NULL;
	}
	*out = res;
	res = NULL;
	e = GW_OK;
out:
	cJSON_Delete(item);
	cJSON_Delete(names);
	cJSON_Delete(res);
	return e;
}

enum gw_err
tr_ts_call_item(const cJSON *tool_use, cJSON **out)
{
	cJSON *it = cJSON_CreateObject(), *args, *names = NULL;
	const char *id = json_str(tool_use, "id");
	enum gw_err e;

	if ((e = tr_ts_args_names(cJSON_GetObjectItemCaseSensitive(tool_use,
	    "input"), &names)) != GW_OK)
		goto fail;
	e = GW_ENOMEM;
	if (it == NULL ||
	    cJSON_AddStringToObject(it, "type", "tool_search_call") == NULL ||
	    cJSON_AddStringToObject(it, "call_id", id ? id : "") == NULL ||
	    (args = cJSON_AddObjectToObject(it, "arguments")) == NULL)
		goto fail;
	if (cJSON_GetArraySize(names) > 0) {
		if (!cJSON_AddItemToObject(args, "names", names))
			goto fail;
		names = NULL;
	}
	if (cJSON_AddStringToObject(it, "execution", "client") == NULL ||
	    cJSON_AddStringToObject(it, "status", "completed") == NULL)
		goto fail;
	cJSON_Delete(names);
	*out = it;
	return GW_OK;
fail:
	cJSON_Delete(names);
	cJSON_Delete(it);
	return e;
}

static const char *
reference_name(const cJSON *block)
{
	const char *type = json_str(block, "type");

	if (type == NULL || strcmp(type, "tool_reference") != 0)
		return NULL;
	return json_str(block, "tool_name");
}

/* Unique tool_reference names of a tool_result's content array. */
static GW_MUST_CHECK enum gw_err
reference_names(const cJSON *content, cJSON **out)
{
	return collect_names(cJSON_IsArray(content) ? content : NULL,
	    reference_name, out);
}

/* The sentinel in a string content or in the first text block holding
 * one; GW_ENOTFOUND when none. */
static GW_MUST_CHECK enum gw_err
content_sentinel(const cJSON *content, cJSON **names)
{
	const cJSON *b;
	enum gw_err e;

	if (cJSON_IsString(content))
		return tr_ts_sentinel_parse(content->valuestring, names);
	if (cJSON_IsArray(content))
		cJSON_ArrayForEach(b, content) {
			const char *type = json_str(b, "type");

			if (type == NULL || strcmp(type, "text") != 0)
				continue;
			e = tr_ts_sentinel_parse(json_str(b, "text"), names);
			if (e != GW_ENOTFOUND)
				return e;
		}
	return GW_ENOTFOUND;
}

/* Appends deferred tool t to dst as a namespace. */
static GW_MUST_CHECK enum gw_err
add_namespace(cJSON *dst, const cJSON *t)
{
	cJSON *ns;
	enum gw_err e;

	if ((e = tr_ts_namespace(t, &ns)) != GW_OK)
		return e;
	if (!cJSON_AddItemToArray(dst, ns)) {
		cJSON_Delete(ns);
		return GW_ENOMEM;
	}
	return GW_OK;
}

/* The tools a bridge result loaded, as namespaces. */
static GW_MUST_CHECK enum gw_err
loaded_namespaces(const cJSON *content, const cJSON *tools, cJSON *dst,
    struct buf *errmsg)
{
	cJSON *names = NULL, *sel = NULL;
	const cJSON *n, *t;
	enum gw_err e;

	if ((e = reference_names(content, &names)) != GW_OK)
		return e;
	if (cJSON_GetArraySize(names) > 0) {
		/* all or nothing: check every reference before converting */
		cJSON_ArrayForEach(n, names)
			if (!tr_ts_is_deferred(n->valuestring) ||
			    find_first(tools, n->valuestring) == NULL) {
				/* best effort: GW_EINVAL whatever it says */
				if (errmsg != NULL)
					GW_IGNORE(buf_printf(errmsg,
					    "Tool reference '%s' has no "
					    "corresponding deferred tool "
					    "definition", n->valuestring));
				e = GW_EINVAL;
				goto out;
			}
		cJSON_ArrayForEach(n, names)
			if ((e = add_namespace(dst,
			    find_first(tools, n->valuestring))) != GW_OK)
				goto out;
		goto out;
	}
	cJSON_Delete(names);
	names = NULL;
	e = content_sentinel(content, &names);
	if (e == GW_ENOTFOUND) {
		e = GW_OK;
		goto out;
	}
	if (e != GW_OK || (e = tr_ts_select_deferred(names, tools, &sel)) != GW_OK)
		goto out;
	cJSON_ArrayForEach(t, sel)
		if ((e = add_namespace(dst, t)) != GW_OK)
			goto out;
out:
	cJSON_Delete(sel);
	cJSON_Delete(names);
	return e;
}

enum gw_err
tr_ts_output_item(const cJSON *tool_result, const cJSON *tools, cJSON **out,
    struct buf *errmsg)
{
	cJSON *it = cJSON_CreateObject(), *arr;
	const char *id = json_str(tool_result, "tool_use_id");
	enum gw_err e = GW_ENOMEM;

	if (it == NULL ||
	    cJSON_AddStringToObject(it, "type", "tool_search_output") == NULL ||
	    cJSON_AddStringToObject(it, "call_id", id ? id : "") == NULL ||
	    (arr = cJSON_AddArrayToObject(it, "tools")) == NULL)
		goto fail;
	if ((e = loaded_namespaces(cJSON_GetObjectItemCaseSensitive(tool_result,
	    "content"), tools, arr, errmsg)) != GW_OK)
		goto fail;
	e = GW_ENOMEM;
	if (cJSON_AddStringToObject(it, "execution", "client") == NULL ||
	    cJSON_AddStringToObject(it, "status",
	    json_bool(tool_result, "is_error", 0) ? "incomplete" :
	    "completed") == NULL)
		goto fail;
	*out = it;
	return GW_OK;
fail:
	cJSON_Delete(it);
	return e;
}

enum gw_err
tr_ts_anthropic_input(const cJSON *arguments, cJSON **out)
{
	cJSON *names = NULL, *in = cJSON_CreateObject();
	struct buf joined = BUF_INIT;
	const cJSON *n;
	enum gw_err e;

	if (in == NULL)
		return GW_ENOMEM;
	if ((e = tr_ts_args_names(arguments, &names)) != GW_OK)
		goto out;
	if (cJSON_GetArraySize(names) > 0) {
		e = GW_ENOMEM;
		cJSON_ArrayForEach(n, names)
			if (buf_printf(&joined, "%s%s", joined.len ? "," : "",
			    n->valuestring) != GW_OK)
				goto out;
		if (cJSON_AddStringToObject(in, "names", buf_cstr(&joined)) == NULL)
			goto out;
	}
	*out = in;
	in = NULL;
	e = GW_OK;
out:
	buf_free(&joined);
	cJSON_Delete(names);
	cJSON_Delete(in);
	return e;
}

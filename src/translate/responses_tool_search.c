/*
 * The deferred-tool search bridge on POST /v1/responses: the request
 * rewrite, the item mapping and its stream wrapper.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/responses_passthrough.h"
#include "translate/responses_tool_search.h"
#include "translate/tool_search.h"

/* A client function tool's name; NULL for any other kind of tool. */
static const char *
function_name(const cJSON *tool)
{
	if (!util_streq(json_str(tool, "type"), "function"))
		return NULL;
	return json_str(tool, "name");
}

int
tr_rts_enabled(const cJSON *body)
{
	return tr_ts_enabled_in(json_str(body,
	    "model"), json_arr(body, "tools"),
	    function_name);
}

const char *
tr_rts_bridge_name(const cJSON *body)
{
	return tr_ts_bridge_in(json_arr(body, "tools"), function_name);
}

/* The deferred function tools (later definitions of a name win when
 * selected) and their unique names, in request order.  Borrowed copies. */
static GW_MUST_CHECK enum gw_err
deferred_tools(const cJSON *tools, cJSON **defs, cJSON **names)
{
	const cJSON *t, *s;
	int seen;

	if ((*defs = cJSON_CreateArray()) == NULL ||
	    (*names = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(t, tools) {
		const char *n = function_name(t);

		if (!tr_ts_is_deferred(n))
			continue;
		if (json_push(*defs, cJSON_Duplicate(t, 1)) != GW_OK)
			return GW_ENOMEM;
		seen = 0;
		cJSON_ArrayForEach(s, *names)
			seen |= strcmp(s->valuestring, n) == 0;
		if (!seen && json_push(*names, cJSON_CreateString(n)) != GW_OK)
			return GW_ENOMEM;
	}
	return GW_OK;
}

/* A client function tool as its own namespace, the function marked
 * defer_loading (the Messages path's shape, the client's definition). */
static GW_MUST_CHECK enum gw_err
namespace_of(const cJSON *fn, cJSON **out)
{
	cJSON *ns = cJSON_CreateObject(), *copy = cJSON_Duplicate(fn, 1), *arr;
	const char *desc = json_str(fn, "description");

	if (ns == NULL || copy == NULL ||
	    json_set(copy, "defer_loading", cJSON_CreateTrue()) != GW_OK)
		goto fail;
	if (json_add_str(ns, "type", "namespace") != GW_OK ||
	    json_add_str(ns, "name", json_str(fn, "name")) != GW_OK ||
	    (desc != NULL && *desc != '\0' &&
	    json_add_str(ns, "description", desc) != GW_OK) ||
	    (arr = cJSON_AddArrayToObject(ns, "tools")) == NULL)
		goto fail;
	if (json_push(arr, copy) != GW_OK) {
		copy = NULL;
		goto fail;
	}
	*out = ns;
	return GW_OK;
fail:
	cJSON_Delete(copy);
	cJSON_Delete(ns);
	return GW_ENOMEM;
}

static GW_MUST_CHECK enum gw_err
rewrite_tools(cJSON *body, const cJSON *names)
{
	cJSON *tools = json_arr(body, "tools"), *res = cJSON_CreateArray();
	cJSON *item = NULL;
	const cJSON *t;
	int search_added = 0;
	enum gw_err e = GW_ENOMEM;

	if (res == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(t, tools) {
		const char *n = function_name(t);

		if (tr_ts_is_bridge(n)) {
			if (search_added)
				continue;   /* the bridge is offered once */
			search_added = 1;
			e = tr_ts_search_tool(names, &item);
		} else if (tr_ts_is_deferred(n))
			e = namespace_of(t, &item);
		else
			e = (item = cJSON_Duplicate(t, 1)) != NULL ? GW_OK : GW_ENOMEM;
		if (e != GW_OK || (e = json_push(res, item)) != GW_OK)
			goto fail;
		item = NULL;
	}
	return json_set(body, "tools", res);
fail:
	cJSON_Delete(item);
	cJSON_Delete(res);
	return e;
}

/* tool_choice {"type":"function","name":<bridge>} cannot name a
 * tool_search tool: the model is left to choose. */
static GW_MUST_CHECK enum gw_err
rewrite_choice(cJSON *body)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(body, "tool_choice");

	if (!cJSON_IsObject(c) || !util_streq(json_str(c, "type"), "function") ||
	    !tr_ts_is_bridge(json_str(c, "name")))
		return GW_OK;
	return json_set(body, "tool_choice", cJSON_CreateString("auto"));
}

/* Whether call_id belongs to a bridge call of the history. */
static int
bridge_call(const cJSON *input, const char *call_id)
{
	const cJSON *it;

	if (call_id == NULL)
		return 0;
	cJSON_ArrayForEach(it, input)
		if (util_streq(json_str(it, "type"), "function_call") &&
		    tr_ts_is_bridge(json_str(it, "name")) &&
		    util_streq(json_str(it, "call_id"), call_id))
			return 1;
	return 0;
}

/* The sentinel's names in a function_call_output's output: a string, or
 * the first text part holding one. */
static GW_MUST_CHECK enum gw_err
output_names(const cJSON *output, cJSON **names)
{
	const cJSON *p;
	enum gw_err e;

	if (cJSON_IsString(output))
		return tr_ts_sentinel_parse(output->valuestring, names);
	if (!cJSON_IsArray(output))
		return GW_ENOTFOUND;
	cJSON_ArrayForEach(p, output) {
		const char *text = json_str(p, "text");

		if (text == NULL)
			continue;
		if ((e = tr_ts_sentinel_parse(text, names)) != GW_ENOTFOUND)
			return e;
	}
	return GW_ENOTFOUND;
}

/* A bridge function_call_output -> tool_search_output loading the
 * namespaces of the tools its sentinel names (none when it holds no
 * sentinel, as on the Messages path). */
static GW_MUST_CHECK enum gw_err
search_output(const cJSON *it, const cJSON *defs, cJSON **out)
{
	cJSON *o = cJSON_CreateObject(), *arr, *names = NULL, *sel = NULL, *ns;
	const cJSON *t;
	const char *id = json_str(it, "call_id");
	enum gw_err e = GW_ENOMEM;

	if (o == NULL || json_add_str(o, "type", "tool_search_output") != GW_OK ||
	    json_add_str(o, "call_id", id != NULL ? id : "") != GW_OK ||
	    (arr = cJSON_AddArrayToObject(o, "tools")) == NULL)
		goto out;
	e = output_names(cJSON_GetObjectItemCaseSensitive(it, "output"), &names);
	if (e == GW_OK) {
		if ((e = tr_ts_select_deferred(names, defs, &sel)) != GW_OK)
			goto out;
		cJSON_ArrayForEach(t, sel) {
			if ((e = namespace_of(t, &ns)) != GW_OK ||
			    (e = json_push(arr, ns)) != GW_OK)
				goto out;
		}
	} else if (e != GW_ENOTFOUND)
		goto out;
	e = GW_ENOMEM;
	if (json_add_str(o, "execution", "client") != GW_OK ||
	    json_add_str(o, "status", "completed") != GW_OK)
		goto out;
	*out = o;
	o = NULL;
	e = GW_OK;
out:
	cJSON_Delete(sel);
	cJSON_Delete(names);
	cJSON_Delete(o);
	return e;
}

/* A bridge function_call -> tool_search_call, through the Messages
 * path's converter (arguments read as its tool_use input). */
static GW_MUST_CHECK enum gw_err
search_call(const cJSON *it, cJSON **out)
{
	cJSON *use = cJSON_CreateObject();
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "arguments");
	const char *id = json_str(it, "call_id");
	enum gw_err e = GW_ENOMEM;

	if (use == NULL || json_add_str(use, "id", id != NULL ? id : "") != GW_OK ||
	    (args != NULL && json_add(use, "input",
	    cJSON_Duplicate(args, 1)) != GW_OK))
		goto out;
	e = tr_ts_call_item(use, out);
out:
	cJSON_Delete(use);
	return e;
}

/* One item of the history, replaced or changed in place. */
static GW_MUST_CHECK enum gw_err
rewrite_item(cJSON *input, cJSON *it, const cJSON *defs, int calls)
{
	const char *type = json_str(it, "type"), *name = json_str(it, "name");
	cJSON *rep = NULL;
	enum gw_err e;

	if (!calls && util_streq(type, "function_call_output") &&
	    bridge_call(input, json_str(it, "call_id")))
		e = search_output(it, defs, &rep);
	else if (!calls && util_streq(type, "function_call") &&
	    tr_ts_is_deferred(name) && json_str(it, "namespace") == NULL)
		return json_set(it, "namespace", cJSON_CreateString(name));
	else if (calls && util_streq(type, "function_call") &&
	    tr_ts_is_bridge(name))
		e = search_call(it, &rep);
	else
		return GW_OK;
	if (e != GW_OK)
		return e;
	if (!cJSON_ReplaceItemViaPointer(input, it, rep)) {
		cJSON_Delete(rep);
		return GW_ENOMEM;
	}
	return GW_OK;
}

/* Outputs first, while the bridge calls they answer are still function
 * calls to recognise them by; then the calls. */
static GW_MUST_CHECK enum gw_err
rewrite_input(cJSON *body, const cJSON *defs)
{
	cJSON *input = json_arr(body, "input"), *it, *next;
	enum gw_err e;
	int calls;

	for (calls = 0; calls < 2; calls++)
		for (it = input != NULL ? input->child : NULL; it != NULL;
		    it = next) {
			next = it->next;
			if ((e = rewrite_item(input, it, defs, calls)) != GW_OK)
				return e;
		}
	return GW_OK;
}

enum gw_err
tr_rts_request(cJSON *body)
{
	cJSON *defs = NULL, *names = NULL;
	enum gw_err e;

	if (!tr_rts_enabled(body))
		return GW_OK;
	if ((e = deferred_tools(json_arr(body, "tools"), &defs, &names))
	    != GW_OK)
		goto out;
	/* the input first: bridge_call() reads the client's own items */
	if ((e = rewrite_input(body, defs)) != GW_OK ||
	    (e = rewrite_tools(body, names)) != GW_OK)
		goto out;
	e = rewrite_choice(body);
out:
	cJSON_Delete(defs);
	cJSON_Delete(names);
	return e;
}

/* tool_search_call arguments as the bridge's function arguments text. */
static GW_MUST_CHECK enum gw_err
bridge_arguments(const cJSON *item, char **out)
{
	cJSON *in = NULL;
	enum gw_err e;

	if ((e = tr_ts_anthropic_input(cJSON_GetObjectItemCaseSensitive(item,
	    "arguments"), &in)) != GW_OK)
		return e;
	/* an item still in progress has no names yet: no arguments so far,
	 * as a function_call's added event has them */
	if (cJSON_GetObjectItemCaseSensitive(in, "names") == NULL &&
	    util_streq(json_str(item, "status"), "in_progress"))
		*out = strdup("");
	else
		*out = json_print(in);
	cJSON_Delete(in);
	return *out != NULL ? GW_OK : GW_ENOMEM;
}

/*
 * One output item in place, as the client knows its tools: a
 * tool_search_call becomes a function_call of bridge with arguments
 * {"names":"A,B"} (a JSON string; "" when in progress with no names yet),
 * a namespaced function_call loses its namespace and takes its name.
 * *changed is set when the item was modified.
 */
static GW_MUST_CHECK enum gw_err
tr_rts_map_item(cJSON *item, const char *bridge, int *changed)
{
	const char *type = json_str(item, "type"), *ns;
	char *args = NULL;
	enum gw_err e;

	if (util_streq(type, "tool_search_call")) {
		if ((e = bridge_arguments(item, &args)) != GW_OK)
			return e;
		cJSON_DeleteItemFromObjectCaseSensitive(item, "execution");
		*changed = 1;
		if ((e = json_set(item, "type",
		    cJSON_CreateString("function_call"))) != GW_OK ||
		    (e = json_set(item, "name", cJSON_CreateString(bridge)))
		    != GW_OK ||
		    (e = json_set(item, "arguments", cJSON_CreateString(args)))
		    != GW_OK) {
			free(args);
			return e;
		}
		free(args);
		return GW_OK;
	}
	if (!util_streq(type, "function_call") ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "namespace")))
		return GW_OK;
	ns = json_str(item, "namespace");
	*changed = 1;
	/* each deferred tool is its own namespace, named as the client's tool */
	if (*ns != '\0' &&
	    (e = json_set(item, "name", cJSON_CreateString(ns))) != GW_OK)
		return e;
	cJSON_DeleteItemFromObjectCaseSensitive(item, "namespace");
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
map_output(cJSON *resp, const char *bridge, int *changed)
{
	cJSON *it;
	enum gw_err e;

	cJSON_ArrayForEach(it, json_arr(resp, "output"))
		if ((e = tr_rts_map_item(it, bridge, changed)) != GW_OK)
			return e;
	return GW_OK;
}

enum gw_err
tr_rts_response(const cJSON *upstream, void *bridge, cJSON **out,
    struct buf *errmsg)
{
	cJSON *r = cJSON_Duplicate(upstream, 1);
	int changed = 0;
	enum gw_err e;

	(void)errmsg;
	if (r == NULL)
		return GW_ENOMEM;
	if ((e = map_output(r, bridge != NULL ? bridge : TR_TS_BRIDGE_DEFAULT,
	    &changed)) != GW_OK) {
		cJSON_Delete(r);
		return e;
	}
	*out = r;
	return GW_OK;
}

/* --- stream --- */

/*
 * The mapping runs first and the passthrough last: the passthrough then
 * sees exactly the items the client gets, so its id repair (keyed by
 * output_index, independent of the item's type) and the ids it invents
 * apply to the mapped items, and its usage, terminal-event and error
 * handling stay the single implementation.
 */
struct rts {
	struct tr_wrap w;      /* first: the translator is freed through it */
	char *bridge;
};

/* The event with its items mapped; *changed when it differs. */
static GW_MUST_CHECK enum gw_err
map_event(struct rts *s, cJSON *ev, const char *type, int *changed)
{
	cJSON *item = json_obj(ev, "item");

	if ((util_streq(type, "response.output_item.added") ||
	    util_streq(type, "response.output_item.done")) && item != NULL)
		return tr_rts_map_item(item, s->bridge, changed);
	if (json_obj(ev, "response") != NULL)
		return map_output(json_obj(ev, "response"), s->bridge, changed);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
rts_feed(struct tr_stream *t, const char *name, const char *data,
    size_t len, struct tr_sink *out)
{
	struct rts *s = (struct rts *)t;
	cJSON *ev = len > 0 ? json_parse(data, len, NULL, NULL) : NULL;
	const char *type;
	char *p = NULL;
	int changed = 0;
	enum gw_err e;

	if (!cJSON_IsObject(ev)) {
		e = tr_wrap_feed(t, name, data, len, out);
		goto out;
	}
	type = json_str(ev, "type");
	if ((e = map_event(s, ev, type != NULL ? type : name, &changed))
	    != GW_OK)
		goto out;
	if (!changed)
		e = tr_wrap_feed(t, name, data, len, out);
	else if ((p = json_print(ev)) == NULL)
		e = GW_ENOMEM;
	else
		e = tr_wrap_feed(t, name, p, strlen(p), out);
out:
	cJSON_free(p);
	cJSON_Delete(ev);
	return e;
}

static void
rts_free(struct tr_stream *t)
{
	if (t != NULL)
		free(((struct rts *)t)->bridge);
	tr_wrap_free(t);
}

static const struct tr_stream_ops rts_ops = {
	"responses-tool-search", rts_feed, tr_wrap_ping, tr_wrap_finish,
	rts_free,
};

enum gw_err
tr_rts_stream_new(const char *bridge, struct tr_stream **out)
{
	struct rts *s = calloc(1, sizeof(*s));
	struct tr_stream *inner = NULL;
	enum gw_err e;

	if (s == NULL)
		return GW_ENOMEM;
	tr_wrap_init(&s->w, &rts_ops, NULL);
	s->bridge = strdup(bridge != NULL ? bridge : TR_TS_BRIDGE_DEFAULT);
	if (s->bridge == NULL) {
		rts_free(&s->w.base);
		return GW_ENOMEM;
	}
	if ((e = tr_responses_passthrough_new(&inner)) != GW_OK) {
		rts_free(&s->w.base);
		return e;
	}
	tr_wrap_init(&s->w, &rts_ops, inner);
	*out = &s->w.base;
	return GW_OK;
}

/*
 * The deferred-tool search bridge (translation spec §6.1.1, surface §10).
 *
 * Claude Code loads MCP tools lazily through a bridge tool (our `mcp`
 * command, seen as mcp__tool_search__search).  GPT >= 5.4 on the Responses
 * API has the same idea built in: a client-executed `tool_search` tool and
 * `namespace` tools with defer_loading.  These helpers map one onto the
 * other, both ways.  "ts" stands for tool search.
 */
#ifndef GW_TR_TOOL_SEARCH_H
#define GW_TR_TOOL_SEARCH_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"

#define TR_TS_BRIDGE_DEFAULT "mcp__tool_search__search"
#define TR_TS_SENTINEL_TYPE "copilot_api_tool_search"

/* One of the bridge tool's names (the default and its two aliases). */
int tr_ts_is_bridge(const char *name);
/* Neither the bridge nor always loaded. */
int tr_ts_is_deferred(const char *name);

/* Whether the bridge applies to a request: supported model, the bridge
 * among the Anthropic tools, and at least one deferred tool. */
int tr_ts_enabled(const char *model, const cJSON *anthropic_tools);

/* The bridge's name as the client spelled it in its tools, else the
 * default.  Borrowed from tools (or static). */
const char *tr_ts_bridge_name(const cJSON *anthropic_tools);

/* The two above for any tools array: name reads a tool's name (NULL for
 * a tool that has none), so that the Responses side applies the same
 * rules to its function tools. */
int tr_ts_enabled_in(const char *model, const cJSON *tools,
    const char *(*name)(const cJSON *tool));
const char *tr_ts_bridge_in(const cJSON *tools,
    const char *(*name)(const cJSON *tool));

/*
 * Tool names from a string ("a, b,a") or an array of such strings: split
 * on commas, trimmed, empties dropped, de-duplicated in first-seen order.
 * Anything else gives an empty array.
 */
GW_MUST_CHECK enum gw_err tr_ts_parse_names(const cJSON *v, cJSON **names);

/* The MCP tool's answer: {"type":"copilot_api_tool_search","names":[...]}
 * built from a names value as tr_ts_parse_names() reads it.  Caller frees
 * *out with cJSON_free(). */
GW_MUST_CHECK enum gw_err tr_ts_sentinel_make(const cJSON *names_value, char **out);
/* The names of a sentinel text; GW_ENOTFOUND when text is not one (or
 * names none). */
GW_MUST_CHECK enum gw_err tr_ts_sentinel_parse(const char *text, cJSON **names);

/*
 * The deferred tools of anthropic_tools named in names, in the order of
 * names; unknown and non-deferred names are skipped.  *out is an array of
 * copies of the Anthropic tool definitions.
 */
GW_MUST_CHECK enum gw_err tr_ts_select_deferred(const cJSON *names,
    const cJSON *anthropic_tools, cJSON **out);

/* Anthropic tools -> Responses tools with the bridge active: the bridge
 * becomes one tool_search tool, deferred tools become namespaces, the rest
 * plain functions. */
GW_MUST_CHECK enum gw_err tr_ts_convert_tools(const cJSON *anthropic_tools, cJSON **out);

/* The Responses tool_search tool (client-executed) offering the given
 * deferred names (an array of strings): what the bridge tool becomes. */
GW_MUST_CHECK enum gw_err tr_ts_search_tool(const cJSON *deferred_names, cJSON **out);

/* History: the bridge's tool_use block -> a tool_search_call item. */
GW_MUST_CHECK enum gw_err tr_ts_call_item(const cJSON *tool_use, cJSON **out);

/*
 * History: the bridge's tool_result block -> a tool_search_output item
 * whose tools are the namespaces of the tools it loaded (tool_reference
 * blocks, else the sentinel).  A referenced tool with no deferred
 * definition among anthropic_tools is the client's error: GW_EINVAL with
 * errmsg set.
 */
GW_MUST_CHECK enum gw_err tr_ts_output_item(const cJSON *tool_result,
    const cJSON *anthropic_tools, cJSON **out, struct buf *errmsg);

/* Model output: tool_search_call arguments -> the bridge's Anthropic input,
 * {"names":"a,b"}, or {} when no names. */
GW_MUST_CHECK enum gw_err tr_ts_anthropic_input(const cJSON *arguments, cJSON **out);

#endif

/*
 * Anthropic <-> Responses translators and the tool_search bridge, from
 * the golden files in tests/fixtures/anthropic_responses/ (see its README)
 * and a few direct checks.
 */
#include <string.h>

#include "testutil.h"
#include "core/util.h"
#include "fixture.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/responses.h"
#include "translate/tool_search.c"

#define DIR_REQ "anthropic_responses/request"
#define DIR_RES "anthropic_responses/result"
#define DIR_STREAM "anthropic_responses/stream"

static const char *const err_names[] = {
	"GW_OK", "GW_ENOMEM", "GW_EINVAL", "GW_EIO", "GW_ENOTFOUND",
	"GW_ETOOBIG", "GW_EAUTH", "GW_ECONFIG", "GW_EDB", "GW_EBUSY",
	"GW_ECONNECT", "GW_EUPSTREAM", "GW_ETIMEOUT", "GW_ECLIENTGONE",
	"GW_ECANCELLED", "GW_EINTERNAL", "GW_EDBDOWN",
};

static cJSON *
case_json(const char *dir, const char *name, const char *suffix)
{
	struct buf rel = BUF_INIT;
	cJSON *v = NULL;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s%s", dir, name, suffix), GW_OK);
	if (fx_exists(rel.data))
		v = fx_json(rel.data);
	buf_free(&rel);
	return v;
}

/* Same value and the same key order (the printed forms agree). */
static void
assert_json_exact(const cJSON *got, const cJSON *want, const char *what)
{
	char *g, *w;

	fx_assert_json_eq(got, want, what);
	g = json_print(got);
	w = json_print(want);
	ck_assert_msg(strcmp(g, w) == 0, "%s: key order differs\n--- got:\n%s\n"
	    "--- want:\n%s", what, g, w);
	cJSON_free(g);
	cJSON_free(w);
}

/* Expected failure of a case: <case>.error.json {"code", "message"}. */
static void
check_error(const cJSON *want, enum gw_err got, const struct buf *msg,
    const char *name)
{
	ck_assert_msg(got != GW_OK, "%s: expected an error", name);
	ck_assert_msg((size_t)got < ARRAY_LEN(err_names) &&
	    strcmp(err_names[got], json_str(want, "code")) == 0,
	    "%s: got %s, want %s", name, (size_t)got < ARRAY_LEN(err_names) ?
	    err_names[got] : "?", json_str(want, "code"));
	ck_assert_str_eq(buf_cstr(msg), json_str(want, "message"));
}

START_TEST(request_fixtures)
{
	char **cases = fx_cases(DIR_REQ, ".in.json");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++) {
		cJSON *in = case_json(DIR_REQ, cases[i], ".in.json");
		cJSON *opts = case_json(DIR_REQ, cases[i], ".opts.json");
		cJSON *want = case_json(DIR_REQ, cases[i], ".out.json");
		cJSON *werr = case_json(DIR_REQ, cases[i], ".error.json");
		struct tr_resp_opts o = { 0 };
		struct tr_resp_compact c = { 0 };
		struct buf msg = BUF_INIT;
		cJSON *got = NULL;
		enum gw_err e;

		ck_assert_msg(want != NULL || werr != NULL, "%s: no expectation",
		    cases[i]);
		o.model = json_obj(opts, "model");
		o.reasoning_effort = json_str(opts, "reasoning_effort");
		o.extra_prompt = json_str(opts, "extra_prompt");
		c.enabled = json_bool(opts, "context_management", 0);
		c.threshold = json_num(opts, "compact_threshold", 0);
		c.ratio = TR_RESP_COMPACT_RATIO_MESSAGES;
		o.compact = &c;
		o.prompt_cache_key = json_str(opts, "prompt_cache_key");
		o.subagent_agent_id = json_str(opts, "subagent_agent_id");
		e = tr_anthropic_to_responses(in, &o, &got, &msg);
		if (werr != NULL)
			check_error(werr, e, &msg, cases[i]);
		else {
			ck_assert_msg(e == GW_OK, "%s: %s", cases[i], buf_cstr(&msg));
			assert_json_exact(got, want, cases[i]);
		}
		cJSON_Delete(got);
		cJSON_Delete(in);
		cJSON_Delete(opts);
		cJSON_Delete(want);
		cJSON_Delete(werr);
		buf_free(&msg);
	}
	fx_free_list(cases);
}
END_TEST

START_TEST(result_fixtures)
{
	char **cases = fx_cases(DIR_RES, ".in.json");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++) {
		cJSON *in = case_json(DIR_RES, cases[i], ".in.json");
		cJSON *opts = case_json(DIR_RES, cases[i], ".opts.json");
		cJSON *want = case_json(DIR_RES, cases[i], ".out.json");
		cJSON *werr = case_json(DIR_RES, cases[i], ".error.json");
		struct tr_resp_result_opts o = { 0 };
		struct buf msg = BUF_INIT;
		cJSON *got = NULL;
		enum gw_err e;

		ck_assert_msg(want != NULL || werr != NULL, "%s: no expectation",
		    cases[i]);
		o.model = json_str(opts, "model");
		o.tool_search_name = json_str(opts, "tool_search_name");
		o.has_tool_call = json_bool(opts, "has_tool_call", 0);
		e = tr_responses_to_anthropic(in, &o, &got, &msg);
		if (werr != NULL)
			check_error(werr, e, &msg, cases[i]);
		else {
			ck_assert_msg(e == GW_OK, "%s: %s", cases[i], buf_cstr(&msg));
			assert_json_exact(got, want, cases[i]);
		}
		cJSON_Delete(got);
		cJSON_Delete(in);
		cJSON_Delete(opts);
		cJSON_Delete(want);
		cJSON_Delete(werr);
		buf_free(&msg);
	}
	fx_free_list(cases);
}
END_TEST

static struct tr_stream *
make_stream(const char *dir, const char *name)
{
	cJSON *opts = case_json(dir, name, ".opts.json");
	struct tr_stream *t = NULL;

	ck_assert_int_eq(tr_responses_stream_new(json_str(opts, "model") ?
	    json_str(opts, "model") : "gpt-5.4",
	    json_str(opts, "tool_search_name"), &t), GW_OK);
	cJSON_Delete(opts);
	return t;
}

START_TEST(stream_fixtures)
{
	char **cases = fx_cases(DIR_STREAM, ".in.sse");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++)
		fx_check_stream(DIR_STREAM, cases[i], make_stream);
	fx_free_list(cases);
}
END_TEST

/* Feeds one case whole and returns the stream (caller frees). */
static struct tr_stream *
run_case(const char *name, struct buf *out)
{
	struct buf rel = BUF_INIT;
	struct tr_stream *t = make_stream(DIR_STREAM, name);
	size_t n;
	char *in;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s.in.sse", DIR_STREAM, name),
	    GW_OK);
	in = fx_read(rel.data, &n);
	fx_feed(t, in, n, FX_WHOLE, 0, out);
	free(in);
	buf_free(&rel);
	return t;
}

START_TEST(stream_usage_and_done)
{
	struct buf out = BUF_INIT;
	struct tr_stream *t = run_case("copilot_full", &out);

	ck_assert(t->done);
	/* the usage row keeps the cached tokens inside input_tokens */
	ck_assert_int_eq(t->usage.input_tokens, 2310);
	ck_assert_int_eq(t->usage.cache_read_tokens, 1920);
	ck_assert_int_eq(t->usage.output_tokens, 164);
	ck_assert_int_eq(t->usage.total_tokens, 2474);
	ck_assert_str_eq(t->usage.model, "gpt-5.4");
	tr_stream_free(t);
	buf_free(&out);

	/* done means the upstream finished; finish() reporting it does not */
	t = run_case("no_completion", &out);
	ck_assert(!t->done);
	ck_assert_int_eq(t->usage.input_tokens, -1);
	tr_stream_free(t);
	buf_free(&out);

	t = run_case("failed", &out);
	ck_assert_int_eq(t->usage.input_tokens, 41);
	ck_assert_int_eq(t->usage.output_tokens, 3);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(stream_ping_and_finish)
{
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;

	ck_assert_int_eq(tr_responses_stream_new("gpt-5.4", NULL, &t), GW_OK);
	ck_assert_int_eq(t->ops->ping(t, &sink), GW_OK);
	ck_assert_str_eq(buf_cstr(&out),
	    "event: ping\ndata: {\"type\":\"ping\"}\n\n");
	buf_reset(&out);
	/* a clean close without a completion event is still an error */
	ck_assert_int_eq(t->ops->finish(t, GW_OK, NULL, &sink), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), "event: error\ndata: {\"type\":\"error\","
	    "\"error\":{\"type\":\"api_error\",\"message\":\"Responses stream "
	    "ended without completion\"}}\n\n");
	buf_reset(&out);
	/* and only once */
	ck_assert_int_eq(t->ops->finish(t, GW_EUPSTREAM, "x", &sink), GW_OK);
	ck_assert_uint_eq(out.len, 0);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

/* With neither response.created nor in_progress, the client still gets a
 * message_start (made-up id) before the first block. */
START_TEST(stream_synthesizes_message_start)
{
	static const char d[] = "{\"type\":\"response.output_text.delta\","
	    "\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}";
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;
	const char *p;

	ck_assert_int_eq(tr_responses_stream_new("gpt-5-mini", NULL, &t), GW_OK);
	ck_assert_int_eq(t->ops->feed(t, "response.output_text.delta", d,
	    sizeof(d) - 1, &sink), GW_OK);
	p = buf_cstr(&out);
	ck_assert_msg(strncmp(p, "event: message_start\ndata: {\"type\":"
	    "\"message_start\",\"message\":{\"id\":\"msg_", 67) == 0, "%s", p);
	ck_assert_ptr_nonnull(strstr(p, "\"model\":\"gpt-5-mini\""));
	ck_assert_ptr_nonnull(strstr(p, "event: content_block_start\n"));
	ck_assert_ptr_nonnull(strstr(p, "\"text_delta\",\"text\":\"Hi\""));
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(tool_search_eligibility)
{
	static const struct { const char *model, *tools; int want; } v[] = {
		{ "gpt-5.4", "[{\"name\":\"mcp__tool_search__search\"},"
		    "{\"name\":\"mcp__fetch__fetch\"}]", 1 },
		{ "gpt-5.4", "[{\"name\":\"tool_search_search\"},"
		    "{\"name\":\"mcp__fetch__fetch\"}]", 1 },
		{ "gpt-5", "[{\"name\":\"mcp__tool_search__search\"},"
		    "{\"name\":\"mcp__fetch__fetch\"}]", 0 },
		{ "gpt-5.4", "[{\"name\":\"mcp__fetch__fetch\"}]", 0 },
		{ "gpt-5.4", "[{\"name\":\"mcp__tool_search__search\"}]", 0 },
		{ "gpt-5.4", "[{\"name\":\"mcp__tool_search__search\"},"
		    "{\"name\":\"TaskCreate\"}]", 1 },
		{ "gpt-5.4", "[{\"name\":\"mcp__tool_search__search\"},"
		    "{\"name\":\"chrome-devtools_click\"}]", 1 },
		{ "gpt-5.4", "[{\"name\":\"mcp__tool_search__search\"},"
		    "{\"name\":\"bash\"}]", 0 },
		{ "gpt-5.4", "[{\"name\":\"mcp__tool_search__search\"},"
		    "{\"name\":\"Read\"},{\"name\":\"Bash\"},{\"name\":\"todowrite\"}]",
		    0 },
		{ "gpt-5.5", "[{\"name\":\"mcp__plugin_tool-search_tool_search__"
		    "search\"},{\"name\":\"x\"}]", 1 },
		{ "GPT-6", "[{\"name\":\"tool_search_search\"},{\"name\":\"x\"}]", 1 },
		{ "gpt-5.3-codex", "[{\"name\":\"tool_search_search\"},"
		    "{\"name\":\"x\"}]", 0 },
		{ "gpt-5.4-mini", "[{\"name\":\"tool_search_search\"},"
		    "{\"name\":\"x\"}]", 1 },
		{ "gpt-4o", "[{\"name\":\"tool_search_search\"},"
		    "{\"name\":\"x\"}]", 0 },
		{ "claude-gpt-5.4", "[{\"name\":\"tool_search_search\"},"
		    "{\"name\":\"x\"}]", 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++) {
		cJSON *tools = cJSON_Parse(v[i].tools);

		ck_assert_msg(tr_ts_enabled(v[i].model, tools) == v[i].want,
		    "case %zu (%s %s)", i, v[i].model, v[i].tools);
		cJSON_Delete(tools);
	}
	ck_assert(!tr_ts_enabled("gpt-5.4", NULL));
	ck_assert(tr_ts_model_supported("gpt-10"));
	ck_assert(!tr_ts_model_supported("gpt-"));
	ck_assert(!tr_ts_model_supported(NULL));
}
END_TEST

START_TEST(tool_search_sentinel_round_trip)
{
	cJSON *in = cJSON_CreateString("mcp__fetch__fetch, TaskList, TaskList");
	cJSON *names = NULL, *arr;
	char *s = NULL, *p;

	ck_assert_int_eq(tr_ts_sentinel_make(in, &s), GW_OK);
	ck_assert_str_eq(s, "{\"type\":\"copilot_api_tool_search\",\"names\":"
	    "[\"mcp__fetch__fetch\",\"TaskList\"]}");
	ck_assert_int_eq(tr_ts_sentinel_parse(s, &names), GW_OK);
	p = json_print(names);
	ck_assert_str_eq(p, "[\"mcp__fetch__fetch\",\"TaskList\"]");
	cJSON_free(p);
	cJSON_free(s);
	cJSON_Delete(names);
	cJSON_Delete(in);
	/* not sentinels */
	ck_assert_int_eq(tr_ts_sentinel_parse("hello", &names), GW_ENOTFOUND);
	ck_assert_int_eq(tr_ts_sentinel_parse("{\"type\":\"other\","
	    "\"names\":[\"a\"]}", &names), GW_ENOTFOUND);
	ck_assert_int_eq(tr_ts_sentinel_parse("{\"type\":\"copilot_api_tool_"
	    "search\",\"names\":[]}", &names), GW_ENOTFOUND);
	/* query as a fallback key; arrays of comma lists */
	ck_assert_int_eq(tr_ts_sentinel_parse("{\"type\":\"copilot_api_tool_"
	    "search\",\"query\":[\"a,b\",\" c \",7,\"a\"]}", &names), GW_OK);
	p = json_print(names);
	ck_assert_str_eq(p, "[\"a\",\"b\",\"c\"]");
	cJSON_free(p);
	cJSON_Delete(names);
	arr = cJSON_Parse("{\"names\":\" , ,\"}");
	ck_assert_int_eq(tr_ts_args_names(arr, &names), GW_OK);
	ck_assert_int_eq(cJSON_GetArraySize(names), 0);
	cJSON_Delete(names);
	cJSON_Delete(arr);
}
END_TEST

START_TEST(tool_search_bridge_name_and_select)
{
	cJSON *tools = cJSON_Parse("[{\"name\":\"Read\"},"
	    "{\"name\":\"tool_search_search\"},{\"name\":\"mcp__b\"},"
	    "{\"name\":\"mcp__a\",\"description\":\"A\"}]");
	cJSON *names = cJSON_Parse("[\"mcp__a\",\"Read\",\"nope\",\"mcp__b\"]");
	cJSON *sel = NULL;
	char *p;

	ck_assert_str_eq(tr_ts_bridge_name(tools), "tool_search_search");
	ck_assert_str_eq(tr_ts_bridge_name(NULL), TR_TS_BRIDGE_DEFAULT);
	cJSON_DeleteItemFromArray(tools, 1);
	ck_assert_str_eq(tr_ts_bridge_name(tools), "mcp__tool_search__search");
	/* the order of the names asked for; always-loaded and unknown skipped */
	ck_assert_int_eq(tr_ts_select_deferred(names, tools, &sel), GW_OK);
	p = json_print(sel);
	ck_assert_str_eq(p, "[{\"name\":\"mcp__a\",\"description\":\"A\"},"
	    "{\"name\":\"mcp__b\"}]");
	cJSON_free(p);
	cJSON_Delete(sel);
	cJSON_Delete(names);
	cJSON_Delete(tools);
}
END_TEST

/* A tool_reference to an always-loaded tool is not a deferred tool. */
START_TEST(tool_search_reference_must_be_deferred)
{
	cJSON *tools = cJSON_Parse("[{\"name\":\"mcp__tool_search__search\"},"
	    "{\"name\":\"Read\"},{\"name\":\"mcp__x\"}]");
	cJSON *res = cJSON_Parse("{\"type\":\"tool_result\",\"tool_use_id\":\"c\","
	    "\"content\":[{\"type\":\"tool_reference\",\"tool_name\":\"Read\"}]}");
	struct buf msg = BUF_INIT;
	cJSON *out = NULL;

	ck_assert_int_eq(tr_ts_output_item(res, tools, &out, &msg), GW_EINVAL);
	ck_assert_str_eq(buf_cstr(&msg), "Tool reference 'Read' has no "
	    "corresponding deferred tool definition");
	ck_assert_ptr_null(out);
	buf_free(&msg);
	cJSON_Delete(res);
	cJSON_Delete(tools);
}
END_TEST

START_TEST(tool_choice_variants)
{
	static const struct { const char *choice, *want; } v[] = {
		{ "null", "\"auto\"" },
		{ "{\"type\":\"auto\"}", "\"auto\"" },
		{ "{\"type\":\"any\"}", "\"required\"" },
		{ "{\"type\":\"none\"}", "\"none\"" },
		{ "{\"type\":\"tool\"}", "\"auto\"" },
		{ "{\"type\":\"tool\",\"name\":\"\"}", "\"auto\"" },
		{ "{\"type\":\"tool\",\"name\":\"Read\"}",
		    "{\"type\":\"function\",\"name\":\"Read\"}" },
		{ "{\"type\":\"whatever\"}", "\"auto\"" },
		/* the bridge tool is forced only through tool search: auto */
		{ "{\"type\":\"tool\",\"name\":\"mcp__tool_search__search\"}",
		    "\"auto\"" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++) {
		struct buf b = BUF_INIT;
		cJSON *req, *out = NULL;
		char *p;

		ck_assert_int_eq(buf_printf(&b,
		    "{\"model\":\"gpt-5.4\",\"max_tokens\":1,"
		    "\"messages\":[],\"tools\":[{\"name\":\"Read\"},"
		    "{\"name\":\"mcp__tool_search__search\"},{\"name\":\"mcp__x\"}],"
		    "\"tool_choice\":%s}", v[i].choice), GW_OK);
		req = cJSON_Parse(b.data);
		ck_assert_int_eq(tr_anthropic_to_responses(req, NULL, &out, NULL),
		    GW_OK);
		p = json_print(cJSON_GetObjectItem(out, "tool_choice"));
		ck_assert_msg(strcmp(p, v[i].want) == 0, "%s -> %s", v[i].choice, p);
		cJSON_free(p);
		cJSON_Delete(out);
		cJSON_Delete(req);
		buf_free(&b);
	}
}
END_TEST

START_TEST(request_rejects_non_requests)
{
	struct buf msg = BUF_INIT;
	cJSON *v = cJSON_Parse("{\"model\":\"gpt-5\",\"messages\":\"hi\"}");
	cJSON *out = NULL;

	ck_assert_int_eq(tr_anthropic_to_responses(v, NULL, &out, &msg),
	    GW_EINVAL);
	ck_assert_str_eq(buf_cstr(&msg), "messages: an array is required");
	ck_assert_int_eq(tr_anthropic_to_responses(NULL, NULL, &out, NULL),
	    GW_EINVAL);
	ck_assert_ptr_null(out);
	cJSON_Delete(v);
	buf_free(&msg);
}
END_TEST

/* tr_responses_context_management on the /v1/responses shape: p's input
 * after the call, and its context_management threshold (0 for none). */
static void
check_compact(const char *model_id, const char *extra, const cJSON *model,
    const struct tr_resp_compact *c, const char *want_input, long want_th)
{
	char *src, *s;
	cJSON *p;

	ck_assert_int_gt(asprintf(&src, "{\"model\":\"%s\",\"input\":["
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":\"a\"},"
	    "{\"type\":\"compaction\",\"id\":\"c1\"},{\"type\":\"message\","
	    "\"role\":\"user\",\"content\":\"b\"}%s]}", model_id, extra), 0);
	ck_assert_ptr_nonnull(p = cJSON_Parse(src));
	free(src);
	ck_assert_int_eq(tr_responses_context_management(p, model, c), GW_OK);
	s = json_print(json_arr(p, "input"));
	ck_assert_str_eq(s, want_input);
	cJSON_free(s);
	ck_assert_int_eq((long)json_num(cJSON_GetArrayItem(json_arr(p,
	    "context_management"), 0), "compact_threshold", 0), want_th);
	cJSON_Delete(p);
}

START_TEST(context_management_rules)
{
	cJSON *model = cJSON_Parse("{\"capabilities\":{\"limits\":"
	    "{\"max_prompt_tokens\":128001}}}");
	struct tr_resp_compact on = { 1, 0, TR_RESP_COMPACT_RATIO_RESPONSES };
	struct tr_resp_compact off = { 0, 0, TR_RESP_COMPACT_RATIO_RESPONSES };
	struct tr_resp_compact set = { 1, 217600, TR_RESP_COMPACT_RATIO_MESSAGES };
	const char *whole = "[{\"type\":\"message\",\"role\":\"user\","
	    "\"content\":\"a\"},{\"type\":\"compaction\",\"id\":\"c1\"},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":\"b\"}]";
	const char *trimmed = "[{\"type\":\"compaction\",\"id\":\"c1\"},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":\"b\"}]";
	const char *trig = ",{\"type\":\"compaction_trigger\"}";
	const char *client = "],\"context_management\":[{\"type\":\"compaction\","
	    "\"compact_threshold\":5}";

	/* enabled: floor(max_prompt_tokens x ratio), the input trimmed */
	check_compact("gpt-5.4", "", model, &on, trimmed, 102400);
	/* the configured threshold wins; 200000 x ratio without a model */
	check_compact("gpt-5.4", "", model, &set, trimmed, 217600);
	check_compact("gpt-5.4", "", NULL, &on, trimmed, 160000);
	/* disabled: nothing, not even the trimming */
	check_compact("gpt-5.4", "", model, &off, whole, 0);
	check_compact("gpt-5.4", "", model, NULL, whole, 0);
	/* the client's own context_management is kept and trims, enabled or not */
	check_compact("gpt-5.4", client, model, &off, trimmed, 5);
	/* a final compaction_trigger: trimmed when enabled, nothing added */
	check_compact("gpt-5.4", trig, model, &on, "[{\"type\":\"compaction\","
	    "\"id\":\"c1\"},{\"type\":\"message\",\"role\":\"user\",\"content\":"
	    "\"b\"},{\"type\":\"compaction_trigger\"}]", 0);
	check_compact("gpt-5.4", trig, model, &off, "[{\"type\":\"message\","
	    "\"role\":\"user\",\"content\":\"a\"},{\"type\":\"compaction\",\"id\":"
	    "\"c1\"},{\"type\":\"message\",\"role\":\"user\",\"content\":\"b\"},"
	    "{\"type\":\"compaction_trigger\"}]", 0);
	/* gpt-5.6 onwards: never, whatever the config or the client says */
	check_compact("gpt-5.6-sol", "", model, &set, whole, 0);
	check_compact("gpt-6", client, model, &on, whole, 5);
	/* gpt-5.5-mini and gpt-5 are below 5.6 */
	check_compact("gpt-5.5-mini", "", model, &on, trimmed, 102400);
	check_compact("gpt-5", "", model, &on, trimmed, 102400);
	cJSON_Delete(model);
}
END_TEST

START_TEST(route_helpers)
{
	cJSON *p = cJSON_Parse("{\"input\":[{\"type\":\"message\",\"role\":"
	    "\"user\",\"content\":\"a\"},{\"type\":\"compaction\",\"id\":\"c1\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"x\",\"output\":"
	    "[{\"type\":\"input_image\",\"image_url\":\"data:\"}]},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":\"b\"}]}");

	ck_assert(tr_responses_has_image(p));
	ck_assert(!tr_responses_agent_initiated(p));
	cJSON_DeleteItemFromArray(json_arr(p, "input"), 2);
	ck_assert(!tr_responses_has_image(p));
	cJSON_AddItemToArray(json_arr(p, "input"), cJSON_Parse(
	    "{\"type\":\"function_call_output\",\"call_id\":\"x\",\"output\":\"\"}"));
	ck_assert(tr_responses_agent_initiated(p));
	cJSON_Delete(p);
	p = cJSON_Parse("{\"input\":\"just text\"}");
	ck_assert(!tr_responses_agent_initiated(p));
	ck_assert(!tr_responses_has_image(p));
	cJSON_Delete(p);
}
END_TEST

/* in (JSON) through tr_responses_system_to_instructions gives want. */
static void
check_instructions(const char *in, const char *want)
{
	cJSON *p = cJSON_Parse(in);
	char *s;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(tr_responses_system_to_instructions(p), GW_OK);
	s = json_print(p);
	ck_assert_str_eq(s, want);
	cJSON_free(s);
	cJSON_Delete(p);
}

START_TEST(codex_system_to_instructions)
{
	/* two system messages (string, text parts) become instructions */
	check_instructions("{\"input\":[{\"role\":\"system\",\"content\":\"A\"},"
	    "{\"type\":\"message\",\"role\":\"system\",\"content\":[{\"type\":"
	    "\"input_text\",\"text\":\"B\"},{\"type\":\"input_text\",\"text\":\"\"},"
	    "{\"text\":\"C\"}]},{\"role\":\"user\",\"content\":\"hi\"}]}",
	    "{\"input\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	    "\"instructions\":\"A\\n\\nB\\n\\nC\"}");
	/* the client's instructions win: nothing moves */
	check_instructions("{\"instructions\":\"mine\",\"input\":[{\"role\":"
	    "\"system\",\"content\":\"A\"}]}",
	    "{\"instructions\":\"mine\",\"input\":[{\"role\":\"system\","
	    "\"content\":\"A\"}]}");
	/* only the first three messages count; an image keeps its message;
	 * a blank system message goes without text; non-message items do
	 * not count */
	check_instructions("{\"instructions\":\" \",\"input\":[{\"type\":"
	    "\"function_call_output\",\"call_id\":\"c\",\"output\":\"x\"},"
	    "{\"role\":\"system\",\"content\":\"  \"},{\"role\":\"system\","
	    "\"content\":[{\"type\":\"input_image\",\"image_url\":\"data:\"}]},"
	    "{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"system\","
	    "\"content\":\"late\"}]}",
	    "{\"instructions\":\" \",\"input\":[{\"type\":\"function_call_output\","
	    "\"call_id\":\"c\",\"output\":\"x\"},{\"role\":\"system\",\"content\":"
	    "[{\"type\":\"input_image\",\"image_url\":\"data:\"}]},{\"role\":"
	    "\"user\",\"content\":\"u\"},{\"role\":\"system\",\"content\":"
	    "\"late\"}]}");
	/* an input left empty goes */
	check_instructions("{\"model\":\"m\",\"input\":[{\"role\":\"system\","
	    "\"content\":\"S\"}]}", "{\"model\":\"m\",\"instructions\":\"S\"}");
	/* a string input is left alone */
	check_instructions("{\"input\":\"hi\"}", "{\"input\":\"hi\"}");
}
/* The response.create frames of the Responses WebSocket: Copilot's
 * (initiator, stream/background/service_tier dropped) and the Codex
 * backend's ("type" first, only stream dropped). */
START_TEST(websocket_frames)
{
	cJSON *p = cJSON_Parse("{\"model\":\"gpt-5.4\",\"stream\":true,"
	    "\"background\":false,\"service_tier\":\"flex\",\"input\":\"hi\"}");
	char *f = NULL;

	ck_assert_int_eq(tr_responses_ws_frame(p, "agent", &f), GW_OK);
	ck_assert_str_eq(f, "{\"model\":\"gpt-5.4\",\"input\":\"hi\","
	    "\"type\":\"response.create\",\"initiator\":\"agent\"}");
	cJSON_free(f);
	ck_assert_int_eq(tr_responses_ws_frame(p, NULL, &f), GW_OK);
	ck_assert_str_eq(f, "{\"type\":\"response.create\",\"model\":\"gpt-5.4\","
	    "\"background\":false,\"service_tier\":\"flex\",\"input\":\"hi\"}");
	cJSON_free(f);
	/* the payload is left as it was */
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "stream")));
	cJSON_Delete(p);
}
END_TEST

static Suite *
anthropic_responses_suite(void)
{
	Suite *s = suite_create("anthropic_responses");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, request_fixtures);
	tcase_add_test(tc, result_fixtures);
	tcase_add_test(tc, stream_fixtures);
	tcase_add_test(tc, stream_usage_and_done);
	tcase_add_test(tc, stream_ping_and_finish);
	tcase_add_test(tc, stream_synthesizes_message_start);
	tcase_add_test(tc, tool_search_eligibility);
	tcase_add_test(tc, tool_search_sentinel_round_trip);
	tcase_add_test(tc, tool_search_bridge_name_and_select);
	tcase_add_test(tc, tool_search_reference_must_be_deferred);
	tcase_add_test(tc, tool_choice_variants);
	tcase_add_test(tc, request_rejects_non_requests);
	tcase_add_test(tc, route_helpers);
	tcase_add_test(tc, context_management_rules);
	tcase_add_test(tc, codex_system_to_instructions);
	tcase_add_test(tc, websocket_frames);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(anthropic_responses_suite());
}

/*
 * The tool_search bridge on /v1/responses: request rewrite, non-stream and
 * stream answer mapping, from tests/fixtures/responses_tool_search/ and a
 * few direct checks.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "translate/responses_tool_search.c"
#include "translate/tool_search.h"

#define DIR "responses_tool_search"

static cJSON *
parse(const char *s)
{
	cJSON *v = json_parse(s, strlen(s), NULL, NULL);

	ck_assert_ptr_nonnull(v);
	return v;
}

static cJSON *
case_json(const char *sub, const char *name, const char *suffix)
{
	struct buf rel = BUF_INIT;
	cJSON *v;

	ck_assert_int_eq(buf_printf(&rel, DIR "/%s/%s%s", sub, name, suffix),
	    GW_OK);
	v = fx_exists(rel.data) ? fx_json(rel.data) : NULL;
	buf_free(&rel);
	return v;
}

START_TEST(request_golden)
{
	char **cases = fx_cases(DIR "/request", ".in.json");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++) {
		cJSON *in = case_json("request", cases[i], ".in.json");
		cJSON *want = case_json("request", cases[i], ".out.json");

		ck_assert_msg(want != NULL, "%s has no .out.json", cases[i]);
		ck_assert_int_eq(tr_rts_request(in), GW_OK);
		fx_assert_json_eq(in, want, cases[i]);
		cJSON_Delete(in);
		cJSON_Delete(want);
	}
	fx_free_list(cases);
}
END_TEST

/* The cases named unchanged_* are the proof that requests without the
 * bridge go out exactly as the client sent them: same bytes once
 * serialised, not just an equal JSON value. */
START_TEST(request_unchanged_bytes)
{
	char **cases = fx_cases(DIR "/request", ".in.json");
	size_t i, n = 0;

	for (i = 0; cases[i] != NULL; i++) {
		cJSON *in;
		char *before, *after;

		if (strncmp(cases[i], "unchanged_", 10) != 0)
			continue;
		n++;
		in = case_json("request", cases[i], ".in.json");
		ck_assert_int_eq(tr_rts_enabled(in), 0);
		before = json_print(in);
		ck_assert_int_eq(tr_rts_request(in), GW_OK);
		after = json_print(in);
		ck_assert_str_eq(before, after);
		cJSON_free(before);
		cJSON_free(after);
		cJSON_Delete(in);
	}
	ck_assert_uint_ge(n, 3);
	fx_free_list(cases);
}
END_TEST

START_TEST(result_golden)
{
	char **cases = fx_cases(DIR "/result", ".in.json");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++) {
		cJSON *in = case_json("result", cases[i], ".in.json");
		cJSON *want = case_json("result", cases[i], ".out.json");
		cJSON *opts = case_json("result", cases[i], ".opts.json");
		cJSON *got = NULL;
		struct buf err = BUF_INIT;
		const char *bridge = json_str(opts, "bridge");

		ck_assert_msg(want != NULL, "%s has no .out.json", cases[i]);
		ck_assert_int_eq(tr_rts_response(in, (void *)bridge, &got, &err),
		    GW_OK);
		fx_assert_json_eq(got, want, cases[i]);
		cJSON_Delete(got);
		cJSON_Delete(in);
		cJSON_Delete(want);
		cJSON_Delete(opts);
		buf_free(&err);
	}
	fx_free_list(cases);
}
END_TEST

static struct tr_stream *
make(const char *dir, const char *name)
{
	struct tr_stream *t = NULL;

	(void)dir;
	(void)name;
	ck_assert_int_eq(tr_rts_stream_new(NULL, &t), GW_OK);
	return t;
}

START_TEST(stream_golden)
{
	char **cases = fx_cases(DIR "/stream", ".in.sse");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++)
		fx_check_stream(DIR "/stream", cases[i], make);
	fx_free_list(cases);
}
END_TEST

/* Streams without bridge items come out exactly as the passthrough alone
 * gives them: its own golden files, through the wrapper. */
START_TEST(stream_passthrough_unchanged)
{
	char **cases = fx_cases("responses_passthrough", ".in.sse");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++)
		fx_check_stream("responses_passthrough", cases[i], make);
	fx_free_list(cases);
}
END_TEST

START_TEST(stream_state)
{
	struct tr_stream *t = make(NULL, NULL);
	struct buf out = BUF_INIT;
	const char *in;
	char *file;
	size_t n;

	in = file = fx_read(DIR "/stream/search_then_call.in.sse", &n);
	fx_feed(t, in, n, FX_WHOLE, 0, &out);
	ck_assert(t->done);
	ck_assert_int_eq(t->usage.input_tokens, 30);
	ck_assert_int_eq(t->usage.cache_read_tokens, 4);
	ck_assert_int_eq(t->usage.output_tokens, 8);
	ck_assert_str_eq(t->usage.model, "gpt-5.4");
	ck_assert_ptr_null(strstr(buf_cstr(&out), "tool_search_call"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "namespace"));
	free(file);
	tr_stream_free(t);
	buf_free(&out);

	/* a cut stream ends with the passthrough's error event */
	t = make(NULL, NULL);
	in = "event: response.created\ndata: {\"type\":\"response.created\","
	    "\"sequence_number\":0,\"response\":{\"output\":[]}}\n\n";
	fx_feed(t, in, strlen(in), FX_WHOLE, 0, &out);
	ck_assert(!t->done);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "event: error\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\"sequence_number\":1"));
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(enabled)
{
	cJSON *b = parse("{\"model\":\"gpt-5.4\",\"tools\":["
	    "{\"type\":\"function\",\"name\":\"mcp__plugin_tool-search_tool_search__search\"},"
	    "{\"type\":\"function\",\"name\":\"mcp__x__y\"}]}");
	cJSON *t;

	ck_assert_ptr_nonnull(b);
	ck_assert(tr_rts_enabled(b));
	ck_assert_str_eq(tr_rts_bridge_name(b),
	    "mcp__plugin_tool-search_tool_search__search");
	ck_assert_int_eq(json_set(b, "model", cJSON_CreateString("GPT-5.10")),
	    GW_OK);
	ck_assert(tr_rts_enabled(b));
	ck_assert_int_eq(json_set(b, "model",
	    cJSON_CreateString("gpt-5.3-codex")), GW_OK);
	ck_assert(!tr_rts_enabled(b));
	ck_assert_int_eq(json_set(b, "model", cJSON_CreateString("gpt-6")),
	    GW_OK);
	ck_assert(tr_rts_enabled(b));
	/* a bridge that is not a function tool is not the bridge */
	t = cJSON_GetArrayItem(json_arr(b, "tools"), 0);
	ck_assert_int_eq(json_set(t, "type", cJSON_CreateString("custom")),
	    GW_OK);
	ck_assert(!tr_rts_enabled(b));
	ck_assert_str_eq(tr_rts_bridge_name(b), TR_TS_BRIDGE_DEFAULT);
	cJSON_Delete(b);
}
END_TEST

START_TEST(map_item_direct)
{
	cJSON *it = parse("{\"type\":\"tool_search_call\",\"call_id\":\"c\","
	    "\"arguments\":{},\"execution\":\"client\",\"status\":\"in_progress\"}");
	int changed = 0;

	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(tr_rts_map_item(it, "tool_search_search", &changed),
	    GW_OK);
	ck_assert(changed);
	ck_assert_str_eq(json_str(it, "type"), "function_call");
	ck_assert_str_eq(json_str(it, "name"), "tool_search_search");
	ck_assert_str_eq(json_str(it, "arguments"), "");
	ck_assert_ptr_null(cJSON_GetObjectItem(it, "execution"));
	cJSON_Delete(it);

	/* names given as a comma string are normalised too */
	it = parse("{\"type\":\"tool_search_call\",\"arguments\":"
	    "{\"names\":\" b, a,b \"},\"status\":\"completed\"}");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(tr_rts_map_item(it, "x", &changed), GW_OK);
	ck_assert_str_eq(json_str(it, "arguments"), "{\"names\":\"b,a\"}");
	cJSON_Delete(it);

	/* anything else is left alone */
	it = parse("{\"type\":\"function_call\",\"name\":\"Read\"}");
	changed = 0;
	ck_assert_int_eq(tr_rts_map_item(it, "x", &changed), GW_OK);
	ck_assert(!changed);
	cJSON_Delete(it);
}
END_TEST

static Suite *
responses_tool_search_suite(void)
{
	Suite *s = suite_create("responses_tool_search");
	TCase *tc = tcase_create("responses_tool_search");

	tcase_add_test(tc, request_golden);
	tcase_add_test(tc, request_unchanged_bytes);
	tcase_add_test(tc, result_golden);
	tcase_add_test(tc, stream_golden);
	tcase_add_test(tc, stream_passthrough_unchanged);
	tcase_add_test(tc, stream_state);
	tcase_add_test(tc, enabled);
	tcase_add_test(tc, map_item_direct);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(responses_tool_search_suite());
}

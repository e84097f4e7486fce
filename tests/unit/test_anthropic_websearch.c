/*
 * Claude Code's web search through a Responses model
 * (translate/anthropic_websearch.h): the classification, the request, the
 * rebuilt message and the collecting stream, from the golden files in
 * tests/fixtures/anthropic_websearch/.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "fixture.h"
/* the static pieces (the rebuilt message) are tested directly */
#include "translate/anthropic_websearch.c"

#define DIR "anthropic_websearch"

static const struct tr_ws_opts OPTS = { "claude-sonnet-4.6",
	"srvtoolu_0f9c7b1e-2d4a-4c8e-9b1a-3e5f7a9c1d2b",
	"0f9c7b1e-2d4a-4c8e-9b1a-3e5f7a9c1d2b" };

static cJSON *
parse(const char *s)
{
	cJSON *v = cJSON_Parse(s);

	ck_assert_ptr_nonnull(v);
	return v;
}

START_TEST(classify)
{
	static const struct {
		const char *body;
		enum tr_ws_kind want;
	} t[] = {
		{ "{}", TR_WS_NONE },
		{ "{\"tools\":[]}", TR_WS_NONE },
		{ "{\"tools\":{\"type\":\"web_search_20250305\"}}", TR_WS_NONE },
		{ "{\"tools\":[{\"name\":\"f\",\"input_schema\":{}}]}", TR_WS_NONE },
		/* a client tool that only calls itself web_search */
		{ "{\"tools\":[{\"type\":\"web_search_x\",\"name\":\"w\","
		  "\"input_schema\":{}}]}", TR_WS_NONE },
		{ "{\"tools\":[{\"type\":\"web_search_20250305\",\"name\":"
		  "\"web_search\"}]}", TR_WS_ONLY },
		{ "{\"tools\":[{\"type\":\"web_search_20250305\"},{\"type\":"
		  "\"web_search_20260209\"}]}", TR_WS_ONLY },
		{ "{\"tools\":[{\"type\":\"web_search_20250305\"},{\"name\":"
		  "\"f\",\"input_schema\":{}}]}", TR_WS_MIXED },
		{ "{\"tools\":[{\"type\":\"web_search_20250305\"},{\"type\":"
		  "\"bash_20250124\",\"name\":\"bash\"}]}", TR_WS_MIXED },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *v = parse(t[i].body);

		ck_assert_msg(tr_ws_classify(v) == t[i].want, "case %zu", i);
		cJSON_Delete(v);
	}
}
END_TEST

START_TEST(strip)
{
	cJSON *v = parse("{\"tools\":[{\"type\":\"web_search_20250305\"},"
	    "{\"name\":\"f\",\"input_schema\":{}},{\"type\":\"web_search_2\"}]}");
	cJSON *w = parse("{\"tools\":[{\"type\":\"web_search_20250305\"}]}");
	char *s;

	tr_ws_strip(v);
	s = cJSON_PrintUnformatted(v);
	ck_assert_str_eq(s, "{\"tools\":[{\"name\":\"f\",\"input_schema\":{}}]}");
	cJSON_free(s);
	tr_ws_strip(w);                /* an emptied list stays a list */
	s = cJSON_PrintUnformatted(w);
	ck_assert_str_eq(s, "{\"tools\":[]}");
	cJSON_free(s);
	cJSON_Delete(v);
	cJSON_Delete(w);
}
END_TEST

/* <sub>/<case>.in.json -> .out.json through fn, for every case. */
static void
golden_json(const char *sub, int request)
{
	struct buf rel = BUF_INIT, err = BUF_INIT;
	char **cases;
	size_t i;

	buf_reset(&rel);
	ck_assert_int_eq(buf_printf(&rel, DIR "/%s", sub), GW_OK);
	cases = fx_cases(rel.data, ".in.json");
	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++) {
		cJSON *in, *want, *got = NULL;

		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, DIR "/%s/%s.in.json", sub,
		    cases[i]), GW_OK);
		in = fx_json(rel.data);
		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, DIR "/%s/%s.out.json", sub,
		    cases[i]), GW_OK);
		want = fx_json(rel.data);
		if (request)
			ck_assert_int_eq(tr_ws_to_responses(in, NULL, &got, &err),
			    GW_OK);
		else
			ck_assert_int_eq(tr_ws_to_anthropic(in, &OPTS, &got),
			    GW_OK);
		fx_assert_json_eq(got, want, cases[i]);
		cJSON_Delete(in);
		cJSON_Delete(want);
		cJSON_Delete(got);
	}
	fx_free_list(cases);
	buf_free(&rel);
	buf_free(&err);
}

START_TEST(request)
{
	golden_json("request", 1);
}
END_TEST

START_TEST(result)
{
	golden_json("result", 0);
}
END_TEST

static struct tr_stream *
make_stream(const char *dir, const char *name)
{
	struct tr_stream *t = NULL;

	(void)dir;
	(void)name;
	ck_assert_int_eq(tr_ws_stream_new(&OPTS, 1, &t), GW_OK);
	return t;
}

/* Every stream case, streamed to the client: the synthetic events, or
 * nothing at all when the search failed. */
START_TEST(stream)
{
	char **cases = fx_cases(DIR "/stream", ".in.sse");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++)
		fx_check_stream(DIR "/stream", cases[i], make_stream);
	fx_free_list(cases);
}
END_TEST

/* One case fed whole to a collector for a JSON client (emits nothing). */
static struct tr_stream *
collect(const char *name)
{
	struct buf rel = BUF_INIT, out = BUF_INIT;
	struct tr_stream *t = NULL;
	size_t n;
	char *in;

	ck_assert_int_eq(buf_printf(&rel, DIR "/stream/%s.in.sse", name), GW_OK);
	in = fx_read(rel.data, &n);
	ck_assert_int_eq(tr_ws_stream_new(&OPTS, 0, &t), GW_OK);
	fx_feed(t, in, n, FX_WHOLE, 0, &out);
	ck_assert_uint_eq(out.len, 0);
	free(in);
	buf_free(&rel);
	buf_free(&out);
	return t;
}

START_TEST(collect_json)
{
	struct tr_stream *t = collect("search");
	const cJSON *m = tr_ws_message(t), *c = json_arr(m, "content");

	ck_assert_ptr_null(tr_ws_error(t));
	ck_assert_int_eq(cJSON_GetArraySize(c), 3);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(c, 0), "type"),
	    "server_tool_use");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(c, 1), "type"),
	    "web_search_tool_result");
	ck_assert_str_eq(json_str(m, "model"), "claude-sonnet-4.6");
	/* the row: the search's own usage */
	ck_assert_int_gt(t->usage.input_tokens, 0);
	ck_assert_int_gt(t->usage.output_tokens, 0);
	tr_stream_free(t);
}
END_TEST

START_TEST(collect_failures)
{
	static const struct {
		const char *name, *error;
	} t[] = {
		{ "failed", "The search backend is unavailable." },
		{ "error-event", "Search stream broke." },
		{ "empty", TR_WS_EMPTY },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct tr_stream *s = collect(t[i].name);

		ck_assert_ptr_null(tr_ws_message(s));
		ck_assert_str_eq(tr_ws_error(s), t[i].error);
		tr_stream_free(s);
	}
	/* no terminal event: neither; the route says so */
	{
		struct tr_stream *s = collect("no-terminal");

		ck_assert_ptr_null(tr_ws_message(s));
		ck_assert_ptr_null(tr_ws_error(s));
		tr_stream_free(s);
	}
}
END_TEST

/* An upstream that answered JSON: the whole result taken as the end. */
START_TEST(take_result)
{
	cJSON *in = fx_json(DIR "/result/search.in.json");
	cJSON *want = fx_json(DIR "/result/search.out.json");
	cJSON *empty = cJSON_Parse("{\"output\":[]}");
	struct tr_stream *t = NULL;

	ck_assert_int_eq(tr_ws_stream_new(&OPTS, 0, &t), GW_OK);
	ck_assert_int_eq(tr_ws_take_result(t, in), GW_OK);
	fx_assert_json_eq(tr_ws_message(t), want, "take_result");
	ck_assert_int_eq(t->done, 1);
	ck_assert_int_gt(t->usage.output_tokens, 0);
	/* once ended, a second result changes nothing */
	ck_assert_int_eq(tr_ws_take_result(t, empty), GW_OK);
	fx_assert_json_eq(tr_ws_message(t), want, "take_result again");
	tr_stream_free(t);
	ck_assert_int_eq(tr_ws_stream_new(&OPTS, 0, &t), GW_OK);
	ck_assert_int_eq(tr_ws_take_result(t, empty), GW_OK);
	ck_assert_ptr_null(tr_ws_message(t));
	ck_assert_str_eq(tr_ws_error(t), TR_WS_EMPTY);
	tr_stream_free(t);
	cJSON_Delete(in);
	cJSON_Delete(want);
	cJSON_Delete(empty);
}
END_TEST

/* Copilot's charge (copilot_usage.total_nano_aiu) reaches the row as on
 * every other Copilot call: beside the terminal event's response, or at
 * the top of a JSON result. */
START_TEST(copilot_charge)
{
	static const char ev[] = "event: response.completed\ndata: {\"type\":"
	    "\"response.completed\",\"response\":{\"id\":\"r1\",\"model\":"
	    "\"gpt-5-mini\",\"status\":\"completed\",\"output\":[{\"type\":"
	    "\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
	    "\"output_text\",\"text\":\"found\"}]}],\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":2}},\"copilot_usage\":{\"total_nano_aiu\":1234}}\n\n";
	cJSON *in = fx_json(DIR "/result/search.in.json");
	struct tr_stream *t = NULL;
	struct buf out = BUF_INIT;

	ck_assert_int_eq(tr_ws_stream_new(&OPTS, 0, &t), GW_OK);
	fx_feed(t, ev, sizeof(ev) - 1, FX_WHOLE, 0, &out);
	ck_assert_ptr_nonnull(tr_ws_message(t));
	ck_assert_int_eq(t->usage.nano_aiu, 1234);
	ck_assert_int_eq(t->usage.output_tokens, 2);
	tr_stream_free(t);
	/* none reported: none recorded */
	t = collect("search");
	ck_assert_int_eq(t->usage.nano_aiu, -1);
	tr_stream_free(t);
	ck_assert_ptr_nonnull(cJSON_AddObjectToObject(in, "copilot_usage"));
	ck_assert_ptr_nonnull(cJSON_AddNumberToObject(json_obj(in,
	    "copilot_usage"), "total_nano_aiu", 99));
	ck_assert_int_eq(tr_ws_stream_new(&OPTS, 0, &t), GW_OK);
	ck_assert_int_eq(tr_ws_take_result(t, in), GW_OK);
	ck_assert_int_eq(t->usage.nano_aiu, 99);
	tr_stream_free(t);
	cJSON_Delete(in);
	buf_free(&out);
}
END_TEST

static Suite *
anthropic_websearch_suite(void)
{
	Suite *s = suite_create("anthropic_websearch");
	TCase *tc = tcase_create("anthropic_websearch");

	tcase_add_test(tc, classify);
	tcase_add_test(tc, strip);
	tcase_add_test(tc, request);
	tcase_add_test(tc, result);
	tcase_add_test(tc, stream);
	tcase_add_test(tc, collect_json);
	tcase_add_test(tc, collect_failures);
	tcase_add_test(tc, take_result);
	tcase_add_test(tc, copilot_charge);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(anthropic_websearch_suite());
}

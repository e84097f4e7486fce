/*
 * The Anthropic <-> Chat Completions translators, from the golden files in
 * tests/fixtures/anthropic_chat/ (see the README there), plus what golden
 * files cannot show: random ids, pings, usage rows, limits, finish modes.
 */
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "../fuzz/fuzz_anthropic_chat.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_chat_stream.h"

#define REQ_DIR    "anthropic_chat/request"
#define RESP_DIR   "anthropic_chat/response"
#define STREAM_DIR "anthropic_chat/stream"

/* Number of cases in dir, counted before Check runs (no ck_assert here). */
static int
count_cases(const char *dir, const char *suffix)
{
	char *p = fx_path(dir);
	DIR *d = opendir(p);
	struct dirent *de;
	size_t sl = strlen(suffix), l;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		n += l > sl && strcmp(de->d_name + l - sl, suffix) == 0;
	}
	if (d != NULL)
		closedir(d);
	free(p);
	return n;
}

/* The name of case i (sorted), copied into name. */
static void
case_name(const char *dir, const char *suffix, int i, char *name, size_t sz)
{
	char **v = fx_cases(dir, suffix);
	int n = 0;

	while (v[n] != NULL)
		n++;
	ck_assert_msg(i < n, "%s: case %d of %d", dir, i, n);
	snprintf(name, sz, "%s", v[i]);
	fx_free_list(v);
}

/* <dir>/<name>.opts.json, or NULL when the case has none. */
static cJSON *
case_opts(const char *dir, const char *name)
{
	struct buf rel = BUF_INIT;
	cJSON *v = NULL;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s.opts.json", dir, name), GW_OK);
	if (fx_exists(rel.data))
		v = fx_json(rel.data);
	buf_free(&rel);
	return v;
}

static cJSON *
case_json(const char *dir, const char *name, const char *suffix)
{
	struct buf rel = BUF_INIT;
	cJSON *v;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s%s", dir, name, suffix), GW_OK);
	v = fx_json(rel.data);
	buf_free(&rel);
	return v;
}

/* Failures are compared as {"error": gw_strerror(e), "message": errmsg}. */
static cJSON *
error_doc(enum gw_err e, const struct buf *msg)
{
	cJSON *v = cJSON_CreateObject();

	cJSON_AddStringToObject(v, "error", gw_strerror(e));
	cJSON_AddStringToObject(v, "message", buf_cstr(msg));
	return v;
}

/* Defaults are the Copilot tool-content capabilities and nothing else. */
static void
request_opts(const cJSON *j, struct tr_chat_opts *o)
{
	const cJSON *tc = cJSON_GetObjectItemCaseSensitive(j, "tool_content"), *s;

	memset(o, 0, sizeof(*o));
	o->tool_content = TR_TOOL_ARRAY | TR_TOOL_IMAGE;
	if (j == NULL)
		return;
	o->copilot = json_bool(j, "copilot", 0);
	o->support_pdf = json_bool(j, "support_pdf", 0);
	o->model = json_obj(j, "model_info");
	if (tc == NULL)
		return;
	o->tool_content = 0;
	cJSON_ArrayForEach(s, tc) {
		ck_assert_msg(cJSON_IsString(s), "tool_content: strings only");
		if (strcmp(s->valuestring, "array") == 0)
			o->tool_content |= TR_TOOL_ARRAY;
		else if (strcmp(s->valuestring, "image") == 0)
			o->tool_content |= TR_TOOL_IMAGE;
		else if (strcmp(s->valuestring, "pdf") == 0)
			o->tool_content |= TR_TOOL_PDF;
		else
			ck_abort_msg("unknown tool_content %s", s->valuestring);
	}
}

START_TEST(request_fixture)
{
	char name[256];
	cJSON *in, *want, *oj, *copy, *got = NULL;
	struct tr_chat_opts o;
	struct buf err = BUF_INIT;
	enum gw_err e;

	case_name(REQ_DIR, ".in.json", _i, name, sizeof(name));
	in = case_json(REQ_DIR, name, ".in.json");
	want = case_json(REQ_DIR, name, ".out.json");
	oj = case_opts(REQ_DIR, name);
	copy = cJSON_Duplicate(in, 1);

	request_opts(oj, &o);
	e = tr_anthropic_to_chat(in, &o, &got, &err);
	if (e != GW_OK) {
		ck_assert_ptr_null(got);
		ck_assert_msg(err.len > 0, "%s: error without a message", name);
		got = error_doc(e, &err);
	}
	fx_assert_json_eq(got, want, name);
	ck_assert_msg(cJSON_Compare(in, copy, 1), "%s: input was modified", name);
	cJSON_Delete(in);
	cJSON_Delete(want);
	cJSON_Delete(oj);
	cJSON_Delete(copy);
	cJSON_Delete(got);
	buf_free(&err);
}
END_TEST

START_TEST(response_fixture)
{
	char name[256];
	cJSON *in, *want, *oj, *copy, *got = NULL;
	struct buf err = BUF_INIT;
	enum gw_err e;

	case_name(RESP_DIR, ".in.json", _i, name, sizeof(name));
	in = case_json(RESP_DIR, name, ".in.json");
	want = case_json(RESP_DIR, name, ".out.json");
	oj = case_opts(RESP_DIR, name);
	copy = cJSON_Duplicate(in, 1);

	e = tr_chat_to_anthropic(in, json_str(oj, "request_model"), &got, &err);
	if (e != GW_OK) {
		ck_assert_ptr_null(got);
		got = error_doc(e, &err);
	}
	fx_assert_json_eq(got, want, name);
	ck_assert_msg(cJSON_Compare(in, copy, 1), "%s: input was modified", name);
	cJSON_Delete(in);
	cJSON_Delete(want);
	cJSON_Delete(oj);
	cJSON_Delete(copy);
	cJSON_Delete(got);
	buf_free(&err);
}
END_TEST

static struct tr_stream *
make_stream(const char *dir, const char *name)
{
	cJSON *oj = case_opts(dir, name);
	struct tr_stream *t = NULL;

	ck_assert_int_eq(tr_chat_stream_new(json_str(oj, "model"), &t), GW_OK);
	cJSON_Delete(oj);
	return t;
}

START_TEST(stream_fixture)
{
	char name[256];
	struct buf rel = BUF_INIT, got = BUF_INIT;
	struct tr_stream *t;
	char msg[512], *in;
	size_t n;

	case_name(STREAM_DIR, ".in.sse", _i, name, sizeof(name));
	fx_check_stream(STREAM_DIR, name, make_stream);
	/* and the expected output keeps every guarantee */
	ck_assert_int_eq(buf_printf(&rel, "%s/%s.in.sse", STREAM_DIR, name),
	    GW_OK);
	in = fx_read(rel.data, &n);
	t = make_stream(STREAM_DIR, name);
	fx_feed(t, in, n, FX_WHOLE, 0, &got);
	ck_assert_msg(ac_check_stream(got.data, got.len, msg, sizeof(msg)) == 0,
	    "%s: %s", name, msg);
	tr_stream_free(t);
	free(in);
	buf_free(&rel);
	buf_free(&got);
}
END_TEST

/* ---- what the golden files cannot show ---- */

static struct tr_stream *
feed_case(const char *name, struct buf *out)
{
	struct buf rel = BUF_INIT;
	struct tr_stream *t = NULL;
	size_t n;
	char *in;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s.in.sse", STREAM_DIR, name),
	    GW_OK);
	in = fx_read(rel.data, &n);
	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	fx_feed(t, in, n, FX_WHOLE, 0, out);
	free(in);
	buf_free(&rel);
	return t;
}

START_TEST(stream_usage_row)
{
	struct buf out = BUF_INIT;
	struct tr_stream *t = feed_case("item08_usage_only_final_chunk", &out);

	ck_assert_int_eq(t->done, 1);
	ck_assert_int_eq(t->usage.input_tokens, 100);   /* cached included */
	ck_assert_int_eq(t->usage.output_tokens, 20);
	ck_assert_int_eq(t->usage.cache_read_tokens, 12);
	ck_assert_int_eq(t->usage.cache_creation_tokens, 3);
	ck_assert_int_eq(t->usage.total_tokens, 120);
	ck_assert_str_eq(t->usage.model, "gpt-4o-2024-11-20");
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(stream_done_flag)
{
	static const struct { const char *name; int done; } cases[] = {
		{ "item05_text", 1 },                  /* finish + [DONE] */
		{ "finish_with_usage_without_done", 1 }, /* message_stop sent */
		{ "finish_without_done", 1 },          /* completed by finish() */
		{ "done_without_finish", 0 },
		{ "drop_mid_text", 0 },
		{ "upstream_error_chunk", 0 },
	};
	struct buf out = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tr_stream *t;

		buf_reset(&out);
		t = feed_case(cases[i].name, &out);
		ck_assert_msg(t->done == cases[i].done, "%s: done=%d",
		    cases[i].name, t->done);
		tr_stream_free(t);
	}
	buf_free(&out);
}
END_TEST

static void
feed_str(struct tr_stream *t, const char *data, struct buf *out)
{
	struct tr_sink s = { out, fx_emit, fx_comment };

	ck_assert_int_eq(t->ops->feed(t, NULL, data, strlen(data), &s), GW_OK);
}

START_TEST(stream_ping)
{
	struct buf out = BUF_INIT;
	struct tr_sink s = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;

	ck_assert_int_eq(tr_chat_stream_new("m", &t), GW_OK);
	ck_assert_int_eq(t->ops->ping(t, &s), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
	feed_str(t, "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":"
	    "{\"content\":\"a\"},\"finish_reason\":\"stop\"}],"
	    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}", &out);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\"model\":\"m\""));
	buf_reset(&out);
	/* after message_stop: nothing more, not even a ping */
	ck_assert_int_eq(t->ops->ping(t, &s), GW_OK);
	ck_assert_int_eq(t->ops->finish(t, GW_EUPSTREAM, "late", &s), GW_OK);
	ck_assert_uint_eq(out.len, 0);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(stream_finish_statuses)
{
	static const char chunk[] = "{\"id\":\"x\",\"model\":\"m\",\"choices\":"
	    "[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}";
	struct buf out = BUF_INIT;
	struct tr_sink s = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;
	char msg[256];

	/* a stall: timeout_error */
	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	feed_str(t, chunk, &out);
	ck_assert_int_eq(t->ops->finish(t, GW_ETIMEOUT, "upstream stalled for 120 s", &s), GW_OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "event: error\ndata: {\"type\":"
	    "\"error\",\"error\":{\"type\":\"timeout_error\",\"message\":"
	    "\"upstream stalled for 120 s\"}}\n\n"));
	ck_assert_int_eq(ac_check_stream(out.data, out.len, msg, sizeof(msg)), 0);
	tr_stream_free(t);

	/* closed "normally" without a finish_reason: still an error */
	buf_reset(&out);
	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	feed_str(t, chunk, &out);
	ck_assert_int_eq(t->ops->finish(t, GW_OK, NULL, &s), GW_OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\"type\":\"api_error\","
	    "\"message\":\"upstream stream ended before the answer was finished\""));
	tr_stream_free(t);

	/* the client is gone: nobody to tell */
	buf_reset(&out);
	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	feed_str(t, chunk, &out);
	buf_reset(&out);
	ck_assert_int_eq(t->ops->finish(t, GW_ECLIENTGONE, NULL, &s), GW_OK);
	ck_assert_uint_eq(out.len, 0);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(stream_tool_without_id)
{
	struct buf out = BUF_INIT;
	struct tr_sink s = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;
	const char *p;
	char msg[256];
	size_t i;

	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	feed_str(t, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":"
	    "[{\"index\":0,\"function\":{\"name\":\"ls\",\"arguments\":\"{}\"}}]}}]}",
	    &out);
	feed_str(t, "{\"choices\":[{\"index\":0,\"delta\":{},"
	    "\"finish_reason\":\"tool_calls\"}]}", &out);
	feed_str(t, "[DONE]", &out);
	ck_assert_int_eq(t->ops->finish(t, GW_OK, NULL, &s), GW_OK);
	ck_assert_int_eq(ac_check_stream(out.data, out.len, msg, sizeof(msg)), 0);
	/* no upstream id: a random msg_ id and toolu_ id */
	p = strstr(buf_cstr(&out), "\"message\":{\"id\":\"msg_");
	ck_assert_ptr_nonnull(p);
	p = strstr(buf_cstr(&out), "\"type\":\"tool_use\",\"id\":\"toolu_");
	ck_assert_ptr_nonnull(p);
	p += strlen("\"type\":\"tool_use\",\"id\":\"toolu_");
	for (i = 0; i < 24; i++)
		ck_assert_msg(strchr("0123456789abcdef", p[i]) != NULL, "id: %.30s", p);
	ck_assert_int_eq(p[24], '"');
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

/* An upstream that repeats one id for two calls: tool_results are matched
 * by id, so the second gets its own. */
START_TEST(stream_tool_duplicate_id)
{
	struct buf out = BUF_INIT;
	struct tr_sink s = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;
	char msg[256];

	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	feed_str(t, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":["
	    "{\"index\":0,\"id\":\"call_same\",\"function\":{\"name\":\"a\","
	    "\"arguments\":\"{}\"}},{\"index\":1,\"id\":\"call_same\","
	    "\"function\":{\"name\":\"b\",\"arguments\":\"{}\"}}]}}]}", &out);
	feed_str(t, "{\"choices\":[{\"index\":0,\"delta\":{},"
	    "\"finish_reason\":\"tool_calls\"}]}", &out);
	feed_str(t, "[DONE]", &out);
	ck_assert_int_eq(t->ops->finish(t, GW_OK, NULL, &s), GW_OK);
	ck_assert_msg(ac_check_stream(out.data, out.len, msg, sizeof(msg)) == 0,
	    "%s", msg);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\"id\":\"call_same\",\"name\":\"a\""));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\"id\":\"toolu_"));
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(stream_limits)
{
	struct buf out = BUF_INIT, chunk = BUF_INIT;
	struct tr_sink s = { &out, fx_emit, fx_comment };
	struct tr_stream *t = NULL;
	enum gw_err e = GW_OK;
	char msg[256];
	int i;

	ck_assert_int_eq(tr_chat_stream_new(NULL, &t), GW_OK);
	for (i = 0; i < 300 && e == GW_OK; i++) {
		buf_reset(&chunk);
		ck_assert_int_eq(buf_printf(&chunk,
		    "{\"choices\":[{\"index\":0,\"delta\":"
		    "{\"tool_calls\":[{\"index\":%d,\"id\":\"c%d\",\"function\":"
		    "{\"name\":\"f\",\"arguments\":\"{}\"}}]}}]}", i, i),
		    GW_OK);
		e = t->ops->feed(t, NULL, chunk.data, chunk.len, &s);
	}
	ck_assert_int_eq(e, GW_ETOOBIG);
	ck_assert_int_eq(i, 257);
	/* the relay then finishes with the error: the client is told */
	ck_assert_int_eq(t->ops->finish(t, e, "too many tool calls", &s), GW_OK);
	ck_assert_int_eq(ac_check_stream(out.data, out.len, msg, sizeof(msg)), 0);
	tr_stream_free(t);
	buf_free(&out);
	buf_free(&chunk);
}
END_TEST

START_TEST(response_random_id)
{
	cJSON *in = cJSON_Parse("{\"choices\":[{\"message\":{\"content\":\"x\"},"
	    "\"finish_reason\":\"stop\"}]}"), *out = NULL;
	const char *id;

	ck_assert_int_eq(tr_chat_to_anthropic(in, NULL, &out, NULL), GW_OK);
	id = json_str(out, "id");
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(strncmp(id, "msg_", 4), 0);
	ck_assert_uint_eq(strlen(id), 28);
	ck_assert_str_eq(json_str(out, "model"), "");
	cJSON_Delete(in);
	cJSON_Delete(out);
}
END_TEST

START_TEST(request_null_opts)
{
	cJSON *in = cJSON_Parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\","
	    "\"text\":\"b\"}]}]}],\"thinking\":{\"type\":\"enabled\"}}");
	cJSON *out = NULL;

	/* all zero: no array support, so texts are joined; no budget */
	ck_assert_int_eq(tr_anthropic_to_chat(in, NULL, &out, NULL), GW_OK);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(json_arr(out, "messages"), 0),
	    "content"), "a\nb");
	ck_assert_ptr_null(cJSON_GetObjectItem(out, "thinking_budget"));
	cJSON_Delete(in);
	cJSON_Delete(out);
}
END_TEST

START_TEST(stop_reason_map)
{
	ck_assert_ptr_null(tr_chat_stop_reason(NULL, 0));
	ck_assert_str_eq(tr_chat_stop_reason("stop", 0), "end_turn");
	ck_assert_str_eq(tr_chat_stop_reason("content_filter", 0), "end_turn");
	ck_assert_str_eq(tr_chat_stop_reason("length", 0), "max_tokens");
	ck_assert_str_eq(tr_chat_stop_reason("tool_calls", 0), "tool_use");
	ck_assert_str_eq(tr_chat_stop_reason("function_call", 0), "tool_use");
	ck_assert_str_eq(tr_chat_stop_reason("something_new", 0), "end_turn");
	ck_assert_str_eq(tr_chat_stop_reason("stop", 1), "refusal");
	ck_assert_str_eq(tr_chat_stop_reason("content_filter", 1),
	    "refusal");
	ck_assert_str_eq(tr_chat_stop_reason("length", 1), "max_tokens");
	ck_assert_str_eq(tr_chat_stop_reason("tool_calls", 1), "tool_use");
	ck_assert_ptr_null(tr_chat_stop_reason(NULL, 1));
}
END_TEST

START_TEST(usage_formula)
{
	cJSON *u = cJSON_Parse("{\"prompt_tokens\":10,\"completion_tokens\":-3,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":8,"
	    "\"cache_creation_input_tokens\":5}}");
	struct tr_anthropic_usage au;

	/* never negative */
	tr_chat_usage_to_anthropic(u, &au);
	ck_assert_int_eq(au.input_tokens, 0);
	ck_assert_int_eq(au.output_tokens, 0);
	ck_assert_int_eq(au.cache_read_input_tokens, 8);
	ck_assert_int_eq(au.cache_creation_input_tokens, 5);
	tr_chat_usage_to_anthropic(NULL, &au);
	ck_assert_int_eq(au.input_tokens, 0);
	ck_assert_int_eq(au.cache_read_input_tokens, -1);
	ck_assert_int_eq(au.cache_creation_input_tokens, -1);
	cJSON_Delete(u);
}
END_TEST

static Suite *
anthropic_chat_suite(void)
{
	Suite *s = suite_create("anthropic_chat");
	TCase *fx = tcase_create("fixtures"), *tc = tcase_create("units");

	tcase_add_loop_test(fx, request_fixture, 0,
	    count_cases(REQ_DIR, ".in.json"));
	tcase_add_loop_test(fx, response_fixture, 0,
	    count_cases(RESP_DIR, ".in.json"));
	tcase_add_loop_test(fx, stream_fixture, 0,
	    count_cases(STREAM_DIR, ".in.sse"));
	tcase_add_test(tc, stream_usage_row);
	tcase_add_test(tc, stream_done_flag);
	tcase_add_test(tc, stream_ping);
	tcase_add_test(tc, stream_finish_statuses);
	tcase_add_test(tc, stream_tool_without_id);
	tcase_add_test(tc, stream_tool_duplicate_id);
	tcase_add_test(tc, stream_limits);
	tcase_add_test(tc, response_random_id);
	tcase_add_test(tc, request_null_opts);
	tcase_add_test(tc, stop_reason_map);
	tcase_add_test(tc, usage_formula);
	suite_add_tcase(s, fx);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(anthropic_chat_suite());
}

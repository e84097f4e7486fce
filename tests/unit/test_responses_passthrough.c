/*
 * The /v1/responses passthrough: id repair, usage, terminal events, from
 * tests/fixtures/responses_passthrough/ and a few direct checks.
 */
#include <ctype.h>
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "translate/anthropic_responses.h"
#include "translate/responses_passthrough.h"

#define DIR "responses_passthrough"

static struct tr_stream *
make(const char *dir, const char *name)
{
	struct tr_stream *t = NULL;

	(void)dir;
	(void)name;
	ck_assert_int_eq(tr_responses_passthrough_new(&t), GW_OK);
	return t;
}

START_TEST(fixtures)
{
	char **cases = fx_cases(DIR, ".in.sse");
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++)
		fx_check_stream(DIR, cases[i], make);
	fx_free_list(cases);
}
END_TEST

static struct tr_stream *
run_case(const char *name, struct buf *out)
{
	struct buf rel = BUF_INIT;
	struct tr_stream *t = make(DIR, name);
	size_t n;
	char *in;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s.in.sse", DIR, name), GW_OK);
	in = fx_read(rel.data, &n);
	fx_feed(t, in, n, FX_WHOLE, 0, out);
	free(in);
	buf_free(&rel);
	return t;
}

START_TEST(usage_and_done)
{
	struct buf out = BUF_INIT;
	struct tr_stream *t = run_case("copilot_id_rotation", &out);

	ck_assert(t->done);
	ck_assert_int_eq(t->usage.input_tokens, 19);
	ck_assert_int_eq(t->usage.output_tokens, 105);
	ck_assert_int_eq(t->usage.cache_read_tokens, 0);
	ck_assert_int_eq(t->usage.total_tokens, 124);
	ck_assert_str_eq(t->usage.model, "gpt-5.4");
	tr_stream_free(t);
	buf_free(&out);

	/* a failed response still reports what it used */
	t = run_case("failed", &out);
	ck_assert(t->done);
	ck_assert_int_eq(t->usage.input_tokens, 5);
	ck_assert_int_eq(t->usage.cache_read_tokens, 1);
	ck_assert_int_eq(t->usage.output_tokens, 2);
	tr_stream_free(t);
	buf_free(&out);

	t = run_case("upstream_error", &out);
	ck_assert(t->done);
	ck_assert_int_eq(t->usage.input_tokens, -1);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

/* An added item without an id gets oi_<index>_<16 base-36>, and later
 * events of that item the same id. */
START_TEST(invents_missing_ids)
{
	static const char added[] = "{\"type\":\"response.output_item.added\","
	    "\"output_index\":3,\"item\":{\"type\":\"message\"}}";
	static const char delta[] = "{\"type\":\"response.output_text.delta\","
	    "\"output_index\":3,\"content_index\":0,\"delta\":\"x\"}";
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };
	struct tr_stream *t = make(NULL, NULL);
	char id[40];
	const char *p, *q;
	size_t i;

	ck_assert_int_eq(t->ops->feed(t, "response.output_item.added", added,
	    sizeof(added) - 1, &sink), GW_OK);
	p = strstr(buf_cstr(&out), "\"id\":\"oi_3_");
	ck_assert_ptr_nonnull(p);
	p += 6;
	q = strchr(p, '"');
	ck_assert_uint_eq((size_t)(q - p), 21);
	for (i = 5; i < 21; i++)
		ck_assert(isdigit((unsigned char)p[i]) || islower((unsigned char)p[i]));
	memcpy(id, p, 21);
	id[21] = '\0';
	buf_reset(&out);
	ck_assert_int_eq(t->ops->feed(t, NULL, delta, sizeof(delta) - 1, &sink),
	    GW_OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), id));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out),
	    "event: response.output_text.delta\n"));
	ck_assert(!t->done);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

START_TEST(ping_and_finish)
{
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };
	struct tr_stream *t = make(NULL, NULL);

	ck_assert_int_eq(t->ops->ping(t, &sink), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), ": keep-alive\n\n");
	buf_reset(&out);
	/* a stall: the code says so; nothing was seen, so sequence 0 */
	ck_assert_int_eq(t->ops->finish(t, GW_ETIMEOUT, "upstream stalled",
	    &sink), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), "event: error\ndata: {\"type\":\"error\","
	    "\"code\":\"timeout_error\",\"message\":\"upstream stalled\","
	    "\"param\":null,\"sequence_number\":0,\"error\":{\"type\":"
	    "\"timeout_error\",\"code\":\"timeout_error\",\"message\":"
	    "\"upstream stalled\",\"param\":null}}\n\n");
	ck_assert(!t->done);
	buf_reset(&out);
	ck_assert_int_eq(t->ops->finish(t, GW_EUPSTREAM, "again", &sink), GW_OK);
	ck_assert_uint_eq(out.len, 0);
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

/* 1.14.7 (141f86f): a first `error` event is held back, not streamed;
 * any other first event, or a ping first, lets everything through. */
START_TEST(first_error_held)
{
	static const char err[] = "{\"type\":\"error\",\"status_code\":429,"
	    "\"error\":{\"type\":\"usage_limit_reached\",\"message\":\"limit\"}}";
	static const char created[] = "{\"type\":\"response.created\","
	    "\"sequence_number\":0,\"response\":{\"id\":\"resp_1\"}}";
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };
	struct tr_stream *t = make(NULL, NULL);
	const cJSON *held;

	ck_assert_int_eq(tr_responses_first_error_new(t, &t), GW_OK);
	ck_assert_int_eq(t->ops->feed(t, "error", err, strlen(err), &sink),
	    GW_EUPSTREAM);
	ck_assert_int_eq(t->ops->finish(t, GW_EUPSTREAM, "x", &sink), GW_OK);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_ptr_nonnull(held = tr_responses_first_error(t));
	ck_assert_int_eq(cJSON_GetObjectItem(held, "status_code")->valueint, 429);
	tr_stream_free(t);

	/* a first ordinary event: the error after it is streamed */
	t = make(NULL, NULL);
	ck_assert_int_eq(tr_responses_first_error_new(t, &t), GW_OK);
	ck_assert_int_eq(t->ops->feed(t, "response.created", created,
	    strlen(created), &sink), GW_OK);
	ck_assert_int_eq(t->ops->feed(t, "error", err, strlen(err), &sink), GW_OK);
	ck_assert_ptr_null(tr_responses_first_error(t));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "event: error\n"));
	ck_assert(t->done);
	tr_stream_free(t);

	/* a ping first: the client stream has started */
	buf_reset(&out);
	t = make(NULL, NULL);
	ck_assert_int_eq(tr_responses_first_error_new(t, &t), GW_OK);
	ck_assert_int_eq(t->ops->ping(t, &sink), GW_OK);
	ck_assert_int_eq(t->ops->feed(t, "error", err, strlen(err), &sink), GW_OK);
	ck_assert_ptr_null(tr_responses_first_error(t));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "usage_limit_reached"));
	ck_assert_ptr_null(tr_responses_first_error(NULL));
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

static Suite *
responses_passthrough_suite(void)
{
	Suite *s = suite_create("responses_passthrough");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fixtures);
	tcase_add_test(tc, usage_and_done);
	tcase_add_test(tc, invents_missing_ids);
	tcase_add_test(tc, ping_and_finish);
	tcase_add_test(tc, first_error_held);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(responses_passthrough_suite());
}

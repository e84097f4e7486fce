#include <stdlib.h>

#include "testutil.h"
#include "fixture.h"
#include "translate/responses_prepare.h"

#define DIR "responses_prepare"

START_TEST(golden)
{
	char **cases = fx_cases(DIR, ".in.json");
	struct buf rel = BUF_INIT;
	size_t i;

	ck_assert_ptr_nonnull(cases[0]);
	for (i = 0; cases[i] != NULL; i++) {
		struct tr_responses_prepare_opts o = { 0 };
		cJSON *in, *opts, *want;

		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, DIR "/%s.in.json", cases[i]),
		    GW_OK);
		in = fx_json(rel.data);
		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, DIR "/%s.opts.json",
		    cases[i]), GW_OK);
		opts = fx_json(rel.data);
		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, DIR "/%s.out.json", cases[i]),
		    GW_OK);
		want = fx_json(rel.data);
		o.model = json_obj(opts, "model");
		o.keep_web_search = json_bool(opts, "keep_web_search", 0);
		o.compact.enabled = json_bool(opts, "context_management", 0);
		o.compact.threshold = json_num(opts, "compact_threshold", 0);
		o.compact.ratio = TR_RESP_COMPACT_RATIO_RESPONSES;
		ck_assert_int_eq(tr_responses_prepare(in, &o), GW_OK);
		fx_assert_json_eq(in, want, cases[i]);
		cJSON_Delete(in);
		cJSON_Delete(opts);
		cJSON_Delete(want);
	}
	fx_free_list(cases);
	buf_free(&rel);
}
END_TEST

static Suite *
responses_prepare_suite(void)
{
	Suite *s = suite_create("responses_prepare");
	TCase *tc = tcase_create("responses_prepare");

	tcase_add_test(tc, golden);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(responses_prepare_suite());
}

/*
 * Native Copilot /v1/messages rewrites, from tests/fixtures/native_messages
 * (conventions in its README.md), plus the anthropic-beta table.
 */
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "core/util.h"
#include "translate/native_messages.c"

static cJSON *
load_opt(const char *name, const char *suffix)
{
	struct buf rel = BUF_INIT;
	cJSON *v = NULL;

	ck_assert_int_eq(buf_printf(&rel, "native_messages/%s%s", name, suffix),
	    GW_OK);
	if (fx_exists(rel.data))
		v = fx_json(rel.data);
	buf_free(&rel);
	return v;
}

static void
check_str(const char *what, const char *got, const cJSON *w)
{
	if (w == NULL)
		return;
	if (cJSON_IsNull(w)) {
		ck_assert_msg(got == NULL, "%s: want null, got \"%s\"", what, got);
		return;
	}
	ck_assert_msg(got != NULL && strcmp(got, w->valuestring) == 0,
	    "%s: want \"%s\", got \"%s\"", what, w->valuestring,
	    got != NULL ? got : "(null)");
}

/* Returns 0 when an error was expected (the payload is not compared). */
static int
run_case(const char *name, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	struct nm_opts o = {
		.model = json_obj(opts, "model"),
		.reasoning_effort = json_str(opts, "reasoning_effort"),
		.opencode = json_bool(opts, "opencode", 0),
	};
	const cJSON *w;
	struct nm_result r;
	struct buf err = BUF_INIT;
	enum gw_err e;

	e = nm_prepare(p, json_str(opts, "anthropic_beta"), &o, &r, &err);
	if ((w = cJSON_GetObjectItemCaseSensitive(expect, "error")) != NULL) {
		ck_assert_msg(e == GW_EINVAL, "%s: want EINVAL, got %d", name, e);
		check_str(name, buf_cstr(&err), w);
		nm_result_free(&r);
		buf_free(&err);
		return 0;
	}
	ck_assert_msg(e == GW_OK, "%s: failed %d", name, e);
	check_str(name, r.anthropic_beta,
	    cJSON_GetObjectItemCaseSensitive(expect, "anthropic_beta"));
	if ((w = cJSON_GetObjectItemCaseSensitive(expect, "messages_proxy")) != NULL)
		ck_assert_msg(!r.messages_proxy == !cJSON_IsTrue(w),
		    "%s: messages_proxy %d", name, r.messages_proxy);
	nm_result_free(&r);
	buf_free(&err);
	return 1;
}

START_TEST(fixtures)
{
	char **names = fx_cases("native_messages", ".in.json");
	size_t i;

	ck_assert_msg(names[0] != NULL, "no native_messages cases");
	for (i = 0; names[i] != NULL; i++) {
		cJSON *in = load_opt(names[i], ".in.json");
		cJSON *out = load_opt(names[i], ".out.json");
		cJSON *opts = load_opt(names[i], ".opts.json");
		cJSON *expect = load_opt(names[i], ".expect.json");
		cJSON *orig = cJSON_Duplicate(in, 1);

		if (run_case(names[i], in, opts, expect))
			fx_assert_json_eq(in, out != NULL ? out : orig, names[i]);
		cJSON_Delete(in);
		cJSON_Delete(out);
		cJSON_Delete(opts);
		cJSON_Delete(expect);
		cJSON_Delete(orig);
	}
	fx_free_list(names);
}
END_TEST

static const struct {
	const char *client, *thinking, *want;
} beta_cases[] = {
	{ "interleaved-thinking-2025-05-14", NULL, "interleaved-thinking-2025-05-14" },
	{ "context-management-2025-06-27,interleaved-thinking-2025-05-14", NULL,
	  "context-management-2025-06-27,interleaved-thinking-2025-05-14" },
	{ "\tadvanced-tool-use-2025-11-20\t", NULL, "advanced-tool-use-2025-11-20" },
	{ ",,,", NULL, NULL },
	{ "INTERLEAVED-THINKING-2025-05-14", NULL, NULL },
	{ "interleaved-thinking-2025-05-14x", NULL, NULL },
	{ "extended-cache-ttl-2025-04-11", "{\"type\":\"enabled\",\"budget_tokens\":1}", NULL },
	/* no client header: budgeted, non-adaptive thinking opts in */
	{ NULL, "{\"type\":\"enabled\",\"budget_tokens\":1024}", "interleaved-thinking-2025-05-14" },
	{ "", "{\"type\":\"enabled\",\"budget_tokens\":1024}", "interleaved-thinking-2025-05-14" },
	{ NULL, "{\"budget_tokens\":\"1024\"}", "interleaved-thinking-2025-05-14" },
	{ NULL, "{\"type\":\"enabled\",\"budget_tokens\":0}", NULL },
	{ NULL, "{\"type\":\"enabled\"}", NULL },
	{ NULL, "{\"type\":\"adaptive\",\"budget_tokens\":1024}", NULL },
	{ NULL, NULL, NULL },
};

START_TEST(anthropic_beta_table)
{
	char *got;

	for (size_t i = 0; i < ARRAY_LEN(beta_cases); i++) {
		cJSON *th = beta_cases[i].thinking != NULL ?
		    json_parse(beta_cases[i].thinking, strlen(beta_cases[i].thinking),
		    NULL, NULL) : NULL;

		ck_assert_int_eq(nm_anthropic_beta(beta_cases[i].client, th, &got), GW_OK);
		if (beta_cases[i].want == NULL)
			ck_assert_msg(got == NULL, "case %zu: got %s", i, got);
		else
			ck_assert_msg(got != NULL && strcmp(got, beta_cases[i].want) == 0,
			    "case %zu: got %s", i, got != NULL ? got : "(null)");
		free(got);
		cJSON_Delete(th);
	}
}
END_TEST

START_TEST(steps_alone)
{
	const char *s = "{\"model\":\"claude-opus-4.7\",\"messages\":[],"
	    "\"system\":[{\"type\":\"text\",\"text\":\"x\",\"cache_control\":"
	    "{\"scope\":\"user\"}},\"not a block\"]}";
	cJSON *p = json_parse(s, strlen(s), NULL, NULL);
	struct nm_result r;

	ck_assert_ptr_nonnull(p);
	nm_strip_system_cache_scope(p);
	ck_assert_ptr_null(cJSON_GetObjectItem(json_obj(cJSON_GetArrayItem(
	    json_arr(p, "system"), 0), "cache_control"), "scope"));
	nm_filter_thinking(p);
	/* no model entry: nothing about thinking changes */
	ck_assert_int_eq(nm_apply_adaptive_thinking(p, NULL, "high"), GW_OK);
	ck_assert_ptr_null(cJSON_GetObjectItem(p, "thinking"));
	ck_assert(!nm_messages_proxy(p, 0));
	ck_assert_int_eq(nm_prepare(p, NULL, NULL, &r, NULL), GW_OK);
	ck_assert_ptr_null(r.anthropic_beta);
	nm_result_free(&r);
	nm_result_free(NULL);
	ck_assert_int_eq(nm_prepare(NULL, NULL, NULL, &r, NULL), GW_EINVAL);
	nm_result_free(&r);
	cJSON_Delete(p);
}
END_TEST

static Suite *
native_messages_suite(void)
{
	Suite *s = suite_create("native_messages");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fixtures);
	tcase_add_test(tc, anthropic_beta_table);
	tcase_add_test(tc, steps_alone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(native_messages_suite());
}

#include <string.h>

#include "testutil.h"
#include "core/json.h"
#include "core/util.h"
#include "translate/model_id.c"

/* want NULL: the id is not recognised. */
static const struct {
	const char *id, *want;
} norm_cases[] = {
	/* the spec's examples (§3.1) */
	{ "claude-sonnet-4-20250514", "claude-sonnet-4" },
	{ "claude-opus-4-6", "claude-opus-4.6" },
	{ "claude-opus-4-5-20251101", "claude-opus-4.5" },
	{ "claude-3-5-sonnet-20241022", "claude-sonnet-3.5" },
	{ "claude-haiku-4.5", "claude-haiku-4.5" },
	/* what Claude Code sends (environment notes §5) */
	{ "claude-opus-4-7-20250514", "claude-opus-4.7" },
	{ "claude-opus-4-8", "claude-opus-4.8" },
	{ "claude-sonnet-4-5", "claude-sonnet-4.5" },
	{ "claude-opus-4-6-20250820", "claude-opus-4.6" },
	{ "claude-haiku-3-5-20250514", "claude-haiku-3.5" },
	/* pattern 5, upper case, two-digit minors */
	{ "claude-3-opus", "claude-opus-3" },
	{ "claude-3-opus-20240229", "claude-opus-3" },
	{ "Claude-Opus-4-7", "claude-opus-4.7" },
	{ "claude-opus-4-10", "claude-opus-4.10" },
	{ "claude-opus-4.10-20260101", "claude-opus-4.10" },
	/* \w takes digits and '_' too: pattern 2 wins over pattern 3 */
	{ "claude-3-5-7", "claude-3-5.7" },
	{ "claude-my_family-2", "claude-my_family-2" },
	/* a date needs exactly 8 digits after a dash */
	{ "claude-sonnet-4-2025051", "claude-sonnet-4.2025051" },
	{ "claude-sonnet-4-202505140", "claude-sonnet-4.202505140" },
	/* not recognised */
	{ "claude-opus-4-6[1m]", NULL },
	{ "claude-opus-4.6-1m", NULL },
	{ "claude-opus-4-6-1-2", NULL },
	{ "claude-opus", NULL },
	{ "claude-", NULL },
	{ "claude", NULL },
	{ "claude-20250514", NULL },
	{ "claude--4", NULL },
	{ "claude-opus-4.", NULL },
	{ "claude-opus-.5", NULL },
	{ "claude-opus-4.5.1", NULL },
	{ "gpt-5.4", NULL },
	{ "gpt-5-mini", NULL },
	{ "gpt-4o-2024-08-06", NULL },
	{ "o3-mini", NULL },
	{ "", NULL },
	{ "xclaude-opus-4", NULL },
};

START_TEST(normalize_table)
{
	char out[64];

	for (size_t i = 0; i < ARRAY_LEN(norm_cases); i++) {
		int ok = tr_model_normalize(norm_cases[i].id, out, sizeof(out));

		if (norm_cases[i].want == NULL) {
			ck_assert_msg(!ok, "%s: recognised as %s", norm_cases[i].id, out);
			ck_assert_str_eq(out, "");
		} else {
			ck_assert_msg(ok, "%s: not recognised", norm_cases[i].id);
			ck_assert_str_eq(out, norm_cases[i].want);
		}
	}
}
END_TEST

/* "claude-aaa…a-4", len bytes long */
static void
long_id(char *buf, size_t len)
{
	memset(buf, 'a', len);
	memcpy(buf, "claude-", 7);
	memcpy(buf + len - 2, "-4", 2);
	buf[len] = '\0';
}

START_TEST(normalize_limits)
{
	char small[8], id[TR_MODEL_ID_MAX + 2], out[TR_MODEL_ID_MAX + 16];

	/* the output does not fit: refused, never truncated */
	ck_assert(!tr_model_normalize("claude-opus-4-7", small, sizeof(small)));
	ck_assert_str_eq(small, "");
	ck_assert(!tr_model_normalize(NULL, small, sizeof(small)));
	/* ids up to TR_MODEL_ID_MAX bytes are looked at, longer ones never */
	long_id(id, TR_MODEL_ID_MAX);
	ck_assert(tr_model_normalize(id, out, sizeof(out)));
	ck_assert_str_eq(out, id);
	long_id(id, TR_MODEL_ID_MAX + 1);
	ck_assert(!tr_model_normalize(id, out, sizeof(out)));
}
END_TEST

/* 1.14.7's toClientModelId: Claude ids hyphenated, the rest as is. */
START_TEST(client_ids)
{
	static const char *const cases[][2] = {
		{ "claude-sonnet-4.6", "claude-sonnet-4-6" },
		{ "claude-opus-4.7", "claude-opus-4-7" },
		{ "claude-opus-4-5-20251101", "claude-opus-4-5" },
		{ "claude-3-5-sonnet-20241022", "claude-sonnet-3-5" },
		{ "claude-sonnet-4", "claude-sonnet-4" },
		{ "Claude-Haiku-4.5", "claude-haiku-4-5" },
		{ "claude-opus-4.7[1m]", "claude-opus-4.7[1m]" },
		{ "gpt-5.4", "gpt-5.4" },
		{ "gemini-2.5-pro", "gemini-2.5-pro" },
	};
	char out[64], small[6];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tr_model_client_id(cases[i][0], out, sizeof(out));
		ck_assert_str_eq(out, cases[i][1]);
	}
	tr_model_client_id("gpt-5.4-mini", small, sizeof(small));
	ck_assert_str_eq(small, "gpt-5");
	tr_model_client_id(NULL, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(version_checks)
{
	long ma = -1, mi = -1;

	ck_assert(tr_model_claude_version("claude-sonnet-4-20250514", &ma, &mi));
	ck_assert_int_eq(ma, 4);
	ck_assert_int_eq(mi, 0);
	ck_assert(tr_model_claude_version("claude-3-5-sonnet", &ma, &mi));
	ck_assert_int_eq(ma, 3);
	ck_assert_int_eq(mi, 5);
	ck_assert(!tr_model_claude_version("gpt-5.4", &ma, &mi));
	ck_assert(tr_model_claude_version("claude-opus-99999999999999999999999-1",
	    &ma, &mi));
	ck_assert(ma > 1000000L);

	/* §14.1 messages-preprocess 19/20: display "summarized" from 4.7 up */
	ck_assert(tr_model_version_at_least("claude-opus-4.7", 4, 7));
	ck_assert(tr_model_version_at_least("claude-opus-4.8", 4, 7));
	ck_assert(tr_model_version_at_least("claude-opus-4.10", 4, 7));
	ck_assert(tr_model_version_at_least("claude-opus-4-7-20260101", 4, 7));
	ck_assert(tr_model_version_at_least("claude-sonnet-4.7", 4, 7));
	ck_assert(tr_model_version_at_least("claude-opus-5", 4, 7));
	ck_assert(!tr_model_version_at_least("claude-opus-4.6", 4, 7));
	ck_assert(!tr_model_version_at_least("claude-sonnet-4", 4, 7));
	ck_assert(!tr_model_version_at_least("claude-3-7-sonnet", 4, 7));
	ck_assert(!tr_model_version_at_least("gpt-5.4", 4, 7));
	ck_assert(!tr_model_version_at_least(NULL, 4, 7));
}
END_TEST

static const char models_doc[] =
    "{\"object\":\"list\",\"data\":["
    "{\"id\":\"claude-sonnet-4\"},"
    "{\"id\":\"claude-opus-4.6\",\"supported_endpoints\":[\"/v1/messages\"],"
    "\"capabilities\":{\"limits\":{\"max_context_window_tokens\":1000000}}},"
    "{\"id\":\"claude-opus-4-6\",\"note\":\"exact wins\","
    "\"capabilities\":{\"limits\":{\"max_context_window_tokens\":1000000}}},"
    "{\"id\":\"claude-sonnet-3.5\"},"
    "{\"id\":\"claude-haiku-4.5\"},"
    "{\"id\":\"gpt-5-mini\"},"
    "{\"name\":\"no id\"},"
    "42]}";

static const char *
resolved(const cJSON *models, const char *id)
{
	return json_str(tr_model_resolve(models, id), "id");
}

START_TEST(resolve)
{
	cJSON *doc = json_parse(models_doc, strlen(models_doc), NULL, NULL);
	const cJSON *arr = json_arr(doc, "data");

	ck_assert_ptr_nonnull(doc);
	/* exact id first, even when it also normalises to another entry */
	ck_assert_str_eq(resolved(arr, "claude-opus-4-6"), "claude-opus-4-6");
	ck_assert_str_eq(resolved(arr, "claude-opus-4-6-20250820"), "claude-opus-4.6");
	ck_assert_str_eq(resolved(arr, "claude-sonnet-4-20250514"), "claude-sonnet-4");
	ck_assert_str_eq(resolved(arr, "claude-3-5-sonnet-20241022"), "claude-sonnet-3.5");
	ck_assert_str_eq(resolved(arr, "claude-haiku-4.5"), "claude-haiku-4.5");
	ck_assert_str_eq(resolved(arr, "gpt-5-mini"), "gpt-5-mini");
	/* the whole /models document works too */
	ck_assert_str_eq(resolved(doc, "claude-opus-4-6-20250820"), "claude-opus-4.6");
	/* the "[1m]" ids /v1/models lists come back as the model itself
	 * (the reference forwards them unresolved; we do better), but only
	 * for a model with a 1M-token window */
	ck_assert_str_eq(resolved(arr, "claude-opus-4-6[1m]"), "claude-opus-4-6");
	ck_assert_str_eq(resolved(arr, "claude-opus-4-6-20250820[1m]"), "claude-opus-4.6");
	ck_assert_ptr_null(tr_model_resolve(arr, "[1m]"));
	ck_assert_ptr_null(tr_model_resolve(arr, "claude-sonnet-4[1m]"));
	ck_assert_ptr_null(tr_model_resolve(arr, "claude-sonnet-4-20250514[1m]"));
	/* ... whose base entry is still found, to say why */
	ck_assert_str_eq(json_str(tr_model_1m_base(arr, "claude-sonnet-4[1m]"),
	    "id"), "claude-sonnet-4");
	ck_assert_int_eq(tr_model_context_window(tr_model_1m_base(arr,
	    "claude-opus-4-6[1m]")), 1000000);
	ck_assert_int_eq(tr_model_context_window(tr_model_1m_base(arr,
	    "claude-sonnet-4[1m]")), 0);
	ck_assert_ptr_null(tr_model_1m_base(arr, "claude-sonnet-4"));
	ck_assert_ptr_null(tr_model_1m_base(arr, "unknown[1m]"));
	/* misses: unknown, case-sensitive exact ids, no list */
	ck_assert_ptr_null(tr_model_resolve(arr, "claude-opus-4-7-20250514"));
	ck_assert_ptr_null(tr_model_resolve(arr, "GPT-5-MINI"));
	ck_assert_ptr_null(tr_model_resolve(arr, "no id"));
	ck_assert_ptr_null(tr_model_resolve(NULL, "gpt-5-mini"));
	ck_assert_ptr_null(tr_model_resolve(arr, NULL));
	cJSON_Delete(doc);
}
END_TEST

static Suite *
model_id_suite(void)
{
	Suite *s = suite_create("model_id");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, normalize_table);
	tcase_add_test(tc, normalize_limits);
	tcase_add_test(tc, client_ids);
	tcase_add_test(tc, version_checks);
	tcase_add_test(tc, resolve);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(model_id_suite());
}

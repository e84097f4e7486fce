/*
 * The /v1/messages preprocessing pipeline, from the golden files in
 * tests/fixtures/preprocess (conventions in its README.md), plus tables
 * for the small parsers.
 */
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "core/util.h"
#include "translate/preprocess.c"

/* <dir>/<name><suffix>, or NULL when that optional file does not exist. */
static cJSON *
load_opt(const char *dir, const char *name, const char *suffix)
{
	struct buf rel = BUF_INIT;
	cJSON *v = NULL;

	ck_assert_int_eq(buf_printf(&rel, "%s/%s%s", dir, name, suffix), GW_OK);
	if (fx_exists(rel.data))
		v = fx_json(rel.data);
	buf_free(&rel);
	return v;
}

static const char *
opt_str(const cJSON *o, const char *key)
{
	return json_str(o, key);
}

static int
opt_bool(const cJSON *o, const char *key, int def)
{
	return json_bool(o, key, def);
}

/* expect[key] is present (null included). */
static const cJSON *
want(const cJSON *expect, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(expect, key);
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
	ck_assert_msg(cJSON_IsString(w), "%s: bad expectation", what);
	ck_assert_msg(got != NULL, "%s: want \"%s\", got null", what, w->valuestring);
	ck_assert_msg(strcmp(got, w->valuestring) == 0, "%s: want \"%s\", got \"%s\"",
	    what, w->valuestring, got);
}

static void
check_bool(const char *what, int got, const cJSON *w)
{
	if (w != NULL)
		ck_assert_msg(!got == !cJSON_IsTrue(w), "%s: got %d", what, got);
}

/* getUUID(w) when w is a string expectation. */
static void
check_uuid_of(const char *what, const char *got, const cJSON *w)
{
	char u[37];

	if (w == NULL)
		return;
	ck_assert_msg(cJSON_IsString(w), "%s: bad expectation", what);
	util_uuid_from_string(w->valuestring, strlen(w->valuestring), u);
	ck_assert_msg(got != NULL && strcmp(got, u) == 0,
	    "%s: want getUUID(\"%s\") = %s, got %s", what, w->valuestring, u,
	    got != NULL ? got : "(null)");
}

static void
check_uuid_shape(const char *what, const char *u)
{
	ck_assert_msg(u != NULL && strlen(u) == 36 && u[8] == '-' && u[13] == '-' &&
	    u[14] == '4' && u[18] == '-' && u[23] == '-' &&
	    strchr("89ab", u[19]) != NULL, "%s: not a v4 uuid: %s", what,
	    u != NULL ? u : "(null)");
}

static void
check_subagent(const char *what, const struct pp_subagent *s, const cJSON *w)
{
	if (w == NULL)
		return;
	if (cJSON_IsNull(w)) {
		ck_assert_msg(s->session_id == NULL && s->agent_id == NULL &&
		    s->agent_type == NULL, "%s: want no marker, got agent %s", what,
		    s->agent_id);
		return;
	}
	check_str(what, s->session_id, want(w, "session_id"));
	check_str(what, s->agent_id, want(w, "agent_id"));
	check_str(what, s->agent_type, want(w, "agent_type"));
}

/* Runs payload through one function; returns 0 when the payload is not to
 * be compared (an expected error). */
typedef int (*case_fn)(const char *what, cJSON *payload, const cJSON *opts,
    const cJSON *expect);

static void
run_dir(const char *dir, case_fn fn)
{
	char **names = fx_cases(dir, ".in.json");
	struct buf what = BUF_INIT;
	size_t i;

	ck_assert_msg(names[0] != NULL, "no cases in %s", dir);
	for (i = 0; names[i] != NULL; i++) {
		cJSON *in = load_opt(dir, names[i], ".in.json");
		cJSON *out = load_opt(dir, names[i], ".out.json");
		cJSON *opts = load_opt(dir, names[i], ".opts.json");
		cJSON *expect = load_opt(dir, names[i], ".expect.json");
		cJSON *orig = cJSON_Duplicate(in, 1);

		buf_reset(&what);
		ck_assert_int_eq(buf_printf(&what, "%s/%s", dir, names[i]),
		    GW_OK);
		if (fn(what.data, in, opts, expect))
			fx_assert_json_eq(in, out != NULL ? out : orig, what.data);
		cJSON_Delete(in);
		cJSON_Delete(out);
		cJSON_Delete(opts);
		cJSON_Delete(expect);
		cJSON_Delete(orig);
	}
	buf_free(&what);
	fx_free_list(names);
}

static int
case_system(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	ck_assert_msg(pp_normalize_system(p) == GW_OK, "%s", what);
	return 1;
}

static int
case_tools(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	ck_assert_msg(pp_sanitize_ide_tools(p) == GW_OK, "%s", what);
	return 1;
}

static int
case_merge(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	if (opt_bool(opts, "strip", 1))
		pp_strip_tool_reference_boundary(p);
	if (opt_bool(opts, "merge", 1))
		ck_assert_msg(pp_merge_tool_results(p, opt_bool(opts, "skip_last",
		    0)) == GW_OK, "%s", what);
	return 1;
}

static int
case_cache(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	cJSON *cc = NULL;

	ck_assert_int_eq(pp_capture_cache_control(p, &cc), GW_OK);
	pp_strip_tool_reference_boundary(p);
	ck_assert_int_eq(pp_merge_tool_results(p, 0), GW_OK);
	ck_assert_int_eq(pp_apply_cache_control(p, cc), GW_OK);
	cJSON_Delete(cc);
	return 1;
}

static int
case_compact(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	int w = (int)json_num(expect, "compact", -1);

	ck_assert_msg(w >= 0, "%s: no expectation", what);
	ck_assert_msg((int)pp_compact_type(p) == w, "%s: want %d, got %d", what, w,
	    (int)pp_compact_type(p));
	return 1;
}

static int
case_marker(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	struct pp_subagent s;

	ck_assert_msg(want(expect, "subagent") != NULL, "%s: no expectation", what);
	ck_assert_int_eq(pp_parse_subagent_marker(p, &s), GW_OK);
	check_subagent(what, &s, want(expect, "subagent"));
	pp_subagent_free(&s);
	return 1;
}

static int
case_pipeline(const char *what, cJSON *p, const cJSON *opts, const cJSON *expect)
{
	struct pp_opts o = {
		.model_mapping = opt_str(opts, "model_mapping"),
		.small_model = opt_str(opts, "small_model"),
		.anthropic_beta_present = opt_bool(opts, "anthropic_beta", 0),
		.x_session_id = opt_str(opts, "x_session_id"),
		.machine_id = opt_str(opts, "machine_id"),
		.token_based_billing = opt_bool(opts, "token_based_billing", 0),
	};
	struct pp_result r;
	struct buf err = BUF_INIT;
	const cJSON *w;
	enum gw_err e = pp_messages(p, &o, &r, &err);

	if ((w = want(expect, "error")) != NULL) {
		ck_assert_msg(e == GW_EINVAL, "%s: want EINVAL, got %d", what, e);
		check_str(what, buf_cstr(&err), w);
		pp_result_free(&r);
		buf_free(&err);
		return 0;
	}
	ck_assert_msg(e == GW_OK, "%s: failed %d: %s", what, e, buf_cstr(&err));
	check_str("provider", r.provider, want(expect, "provider"));
	if ((w = want(expect, "compact")) != NULL)
		ck_assert_msg((int)r.compact == w->valueint, "%s: compact %d", what,
		    (int)r.compact);
	check_subagent(what, &r.subagent, want(expect, "subagent"));
	check_str("session_id", r.session_id, want(expect, "session_id"));
	check_uuid_of("session_id", r.session_id, want(expect, "session_id_of"));
	check_str("raw_session_id", r.raw_session_id, want(expect, "raw_session_id"));
	check_uuid_of("request_id", r.request_id, want(expect, "request_id_of"));
	if ((w = want(expect, "request_id")) != NULL) {
		if (cJSON_IsNull(w))
			ck_assert_ptr_null(r.request_id);
		else
			check_uuid_shape(what, r.request_id);
	}
	check_bool("warmup", r.warmup, want(expect, "warmup"));
	check_bool("has_images", r.has_images, want(expect, "has_images"));
	check_str("initiator", r.initiator, want(expect, "initiator"));
	if ((w = want(expect, "final_initiator")) != NULL)
		check_str("final_initiator", pp_final_initiator(r.initiator, &r), w);
	pp_result_free(&r);
	buf_free(&err);
	return 1;
}

START_TEST(fixtures_system) { run_dir("preprocess/system", case_system); }
END_TEST
START_TEST(fixtures_tools) { run_dir("preprocess/tools", case_tools); }
END_TEST
START_TEST(fixtures_merge) { run_dir("preprocess/merge", case_merge); }
END_TEST
START_TEST(fixtures_cache) { run_dir("preprocess/cache", case_cache); }
END_TEST
START_TEST(fixtures_compact) { run_dir("preprocess/compact", case_compact); }
END_TEST
START_TEST(fixtures_marker) { run_dir("preprocess/marker", case_marker); }
END_TEST
START_TEST(fixtures_pipeline) { run_dir("preprocess/pipeline", case_pipeline); }
END_TEST

static const struct {
	const char *in, *safety, *session;
} user_id_cases[] = {
	/* Claude Code: a JSON string (environment notes §5) */
	{ "{\"device_id\":\"dev\",\"account_uuid\":\"\",\"session_id\":\"s-1\"}",
	  "dev", "s-1" },
	{ "{\"device_id\":\"\",\"account_uuid\":\"acct\",\"session_id\":\"s-1\"}",
	  "acct", "s-1" },
	{ "{\"session_id\":\"s-1\"}", NULL, "s-1" },
	{ "{\"device_id\":\"dev\",\"session_id\":\"\"}", "dev", NULL },
	{ "{\"device_id\":5,\"session_id\":[\"s\"]}", NULL, NULL },
	{ "[\"device_id\"]", NULL, NULL },
	{ "not json", NULL, NULL },
	{ "", NULL, NULL },
	/* legacy: user_<X>_account…_session_<Y> */
	{ "user_abc123_account_def_session_7d0e2f61", "abc123", "7d0e2f61" },
	{ "user_a_session_x", NULL, "x" },
	{ "user_a_b_account_session_x", NULL, "x" },
	{ "xuser_abc_account__session_", "abc", NULL },
	{ "user_abc_account_session_a\nb", "abc", NULL },
	{ "user_abc_account_session_a\xe2\x80\xa8" "b", "abc", NULL },
	{ "user_abc_account_session_a\nb_session_c", "abc", "c" },
	{ "user_abc_account_session_a_session_b", "abc", "a_session_b" },
	{ "user__account_user_z_account_session_s", "z", "s" },
	/* legacy parts win over the JSON fields */
	{ "{\"device_id\":\"user_x_account\",\"session_id\":\"s\"}", "x", "s" },
};

START_TEST(parse_user_id)
{
	char *a, *b;

	for (size_t i = 0; i < ARRAY_LEN(user_id_cases); i++) {
		ck_assert_int_eq(pp_parse_user_id(user_id_cases[i].in, &a, &b), GW_OK);
		if (user_id_cases[i].safety == NULL)
			ck_assert_msg(a == NULL, "case %zu: safety %s", i, a);
		else
			ck_assert_msg(a != NULL && strcmp(a, user_id_cases[i].safety) == 0,
			    "case %zu: safety %s", i, a ? a : "(null)");
		if (user_id_cases[i].session == NULL)
			ck_assert_msg(b == NULL, "case %zu: session %s", i, b);
		else
			ck_assert_msg(b != NULL && strcmp(b, user_id_cases[i].session) == 0,
			    "case %zu: session %s", i, b ? b : "(null)");
		free(a);
		free(b);
	}
	ck_assert_int_eq(pp_parse_user_id(NULL, &a, &b), GW_OK);
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(b);
	/* either output may be skipped */
	ck_assert_int_eq(pp_parse_user_id("user_q_account_session_r", NULL, &b), GW_OK);
	ck_assert_str_eq(b, "r");
	free(b);
}
END_TEST

static const struct {
	const char *in, *provider, *model;
} alias_cases[] = {
	{ "dash/qwen-plus", "dash", "qwen-plus" },
	{ " dash / qwen-plus ", "dash", "qwen-plus" },
	{ "or/meta/llama-3", "or", "meta/llama-3" },
	{ "\xc2\xa0p\xe3\x80\x80/m", "p", "m" },
	{ "/qwen", NULL, NULL },
	{ "dash/", NULL, NULL },
	{ " /qwen", NULL, NULL },
	{ "dash/ ", NULL, NULL },
	{ "claude-opus-4-7", NULL, NULL },
	{ "", NULL, NULL },
};

START_TEST(provider_alias)
{
	char *p, *m;

	for (size_t i = 0; i < ARRAY_LEN(alias_cases); i++) {
		ck_assert_int_eq(pp_provider_alias(alias_cases[i].in, &p, &m), GW_OK);
		if (alias_cases[i].provider == NULL) {
			ck_assert_msg(p == NULL && m == NULL, "%s: alias %s", alias_cases[i].in, p);
			continue;
		}
		ck_assert_msg(p != NULL && m != NULL, "%s: not an alias", alias_cases[i].in);
		ck_assert_str_eq(p, alias_cases[i].provider);
		ck_assert_str_eq(m, alias_cases[i].model);
		free(p);
		free(m);
	}
	ck_assert_int_eq(pp_provider_alias(NULL, &p, &m), GW_OK);
	ck_assert_ptr_null(p);
}
END_TEST

static cJSON *
parse(const char *s)
{
	cJSON *v = json_parse(s, strlen(s), NULL, NULL);

	ck_assert_ptr_nonnull(v);
	return v;
}

START_TEST(request_id_stability)
{
	cJSON *a = parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"hi\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]}");
	cJSON *b = parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"hi\"}]}]}");
	cJSON *none = parse("{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}");
	char u1[37], u2[37], u3[37];

	/* identical retries get identical ids; cache_control does not count */
	ck_assert_int_eq(pp_request_id(a, "s", "m", u1), GW_OK);
	ck_assert_int_eq(pp_request_id(b, "s", "m", u2), GW_OK);
	ck_assert_str_eq(u1, u2);
	{
		const char *key = "sm[{\"type\":\"text\",\"text\":\"hi\"}]";

		util_uuid_from_string(key, strlen(key), u3);
	}
	ck_assert_str_eq(u1, u3);
	ck_assert_int_eq(pp_request_id(b, NULL, "m", u2), GW_OK);
	ck_assert_str_ne(u1, u2);
	/* nothing to hash: random each time */
	ck_assert_int_eq(pp_request_id(none, "s", "m", u1), GW_OK);
	ck_assert_int_eq(pp_request_id(none, "s", "m", u2), GW_OK);
	check_uuid_shape("random", u1);
	ck_assert_str_ne(u1, u2);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(none);
}
END_TEST

START_TEST(session_id_sources)
{
	cJSON *p = parse("{\"messages\":[]}");
	cJSON *q = parse("{\"metadata\":{\"user_id\":\"\"},\"messages\":[]}");
	char *s;

	ck_assert_int_eq(pp_session_id(p, "hello world", &s), GW_OK);
	ck_assert_str_eq(s, "b94d27b9-934d-4e08-a52e-52d7da7dabfa");
	free(s);
	ck_assert_int_eq(pp_session_id(p, "", &s), GW_OK);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(pp_session_id(p, NULL, &s), GW_OK);
	ck_assert_ptr_null(s);
	/* an empty user_id is as good as none: the header is used */
	ck_assert_int_eq(pp_session_id(q, "hello world", &s), GW_OK);
	ck_assert_str_eq(s, "b94d27b9-934d-4e08-a52e-52d7da7dabfa");
	free(s);
	cJSON_Delete(p);
	cJSON_Delete(q);
}
END_TEST

START_TEST(facts_and_overrides)
{
	cJSON *empty = parse("{\"messages\":[]}");
	cJSON *doc = parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"document\",\"source\":{}},{\"type\":\"tool_result\",\"content\":"
	    "[{\"type\":\"document\"}]}]}]}");
	struct pp_result r;

	ck_assert_str_eq(pp_native_initiator(empty), "agent");
	ck_assert_str_eq(pp_native_initiator(doc), "user");
	ck_assert(!pp_messages_has_images(doc));
	ck_assert(!pp_messages_has_images(empty));
	memset(&r, 0, sizeof(r));
	ck_assert_str_eq(pp_final_initiator("user", &r), "user");
	r.compact = PP_COMPACT_CONTINUE;
	ck_assert_str_eq(pp_final_initiator("user", &r), "agent");
	r.compact = PP_COMPACT_NONE;
	r.subagent.agent_id = (char *)"a";
	ck_assert_str_eq(pp_final_initiator("user", &r), "agent");
	pp_result_free(NULL);
	pp_subagent_free(NULL);
	cJSON_Delete(empty);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(pipeline_without_opts)
{
	cJSON *p = parse("{\"model\":\"claude-opus-4-7\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"hi\"}]}");
	struct pp_result r;

	/* no opts and no error buffer: defaults, no warm-up */
	ck_assert_int_eq(pp_messages(p, NULL, &r, NULL), GW_OK);
	ck_assert(!r.warmup);
	ck_assert_str_eq(json_str(p, "model"), "claude-opus-4-7");
	ck_assert_str_eq(r.initiator, "user");
	pp_result_free(&r);
	ck_assert_ptr_null(r.request_id);
	ck_assert_int_eq(pp_messages(NULL, NULL, &r, NULL), GW_EINVAL);
	pp_result_free(&r);
	cJSON_Delete(p);
}
END_TEST

static Suite *
preprocess_suite(void)
{
	Suite *s = suite_create("preprocess");
	TCase *tc = tcase_create("fixtures");
	TCase *tu = tcase_create("units");

	tcase_add_test(tc, fixtures_system);
	tcase_add_test(tc, fixtures_tools);
	tcase_add_test(tc, fixtures_merge);
	tcase_add_test(tc, fixtures_cache);
	tcase_add_test(tc, fixtures_compact);
	tcase_add_test(tc, fixtures_marker);
	tcase_add_test(tc, fixtures_pipeline);
	suite_add_tcase(s, tc);
	tcase_add_test(tu, parse_user_id);
	tcase_add_test(tu, provider_alias);
	tcase_add_test(tu, request_id_stability);
	tcase_add_test(tu, session_id_sources);
	tcase_add_test(tu, facts_and_overrides);
	tcase_add_test(tu, pipeline_without_opts);
	suite_add_tcase(s, tu);
	return s;
}

int
main(void)
{
	return run_suite(preprocess_suite());
}

/*
 * Third-party providers: headers, per-model options, the openai-compatible
 * payload (tests/fixtures/provider/chat), count_tokens, and the provider
 * stream translators (tests/fixtures/provider/stream, see its README.md).
 */
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "state/config.h"
#include "tokenize/count.h"
#include "translate/anthropic_chat.h"
#include "translate/anthropic_responses.h"
#include "translate/anthropic_responses_stream.h"
#include "translate/preprocess.h"
#include "translate/provider.c"
#include "upstream/provider.h"

/* A provider parsed the way config.json would give it. */
static struct cfg *
load_cfg(const char *providers_json)
{
	struct buf doc = BUF_INIT, err = BUF_INIT;
	struct cfg *cfg = NULL;
	cJSON *root;

	ck_assert_int_eq(buf_printf(&doc, "{\"providers\":%s}", providers_json),
	    GW_OK);
	root = json_parse(doc.data, doc.len, NULL, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(cfg_from_json(root, "test", &cfg, &err), GW_OK);
	cJSON_Delete(root);
	buf_free(&doc);
	buf_free(&err);
	return cfg;
}

/* The header list joined with "|", for one comparison. */
static char *
joined(const struct strlist *h)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < h->n; i++)
		ck_assert_int_eq(buf_printf(&b, "%s%s", i ? "|" : "", h->v[i]),
		    GW_OK);
	return buf_detach(&b);
}

static void
check_headers(const char *providers, const char *name,
    const struct prov_inbound *in, enum gw_err want_e, const char *want)
{
	struct cfg *cfg = load_cfg(providers);
	const struct cfg_provider *p = cfg_provider_find(cfg, name);
	struct strlist h = STRLIST_INIT;
	struct buf err = BUF_INIT;
	enum gw_err e;
	char *got;

	ck_assert_ptr_nonnull(p);
	e = prov_headers(p, in, &h, &err);
	ck_assert_msg(e == want_e, "%s: want %d, got %d (%s)", name, want_e, e,
	    buf_cstr(&err));
	if (e == GW_OK) {
		got = joined(&h);
		ck_assert_str_eq(got, want);
		free(got);
	} else
		ck_assert_msg(err.len > 0, "%s: no reason given", name);
	strlist_free(&h);
	buf_free(&err);
	cfg_free(cfg);
}

START_TEST(headers_anthropic_x_api_key)
{
	struct prov_inbound in = { NULL, NULL, "2023-06-01", NULL };

	check_headers("{\"a\":{\"baseUrl\":\"http://h/\",\"apiKey\":\" k1 \"}}",
	    "a", &in, GW_OK, "content-type: application/json|accept: "
	    "application/json|x-api-key: k1|anthropic-version: 2023-06-01");
}
END_TEST

START_TEST(headers_anthropic_bearer_forwards_client_headers)
{
	struct prov_inbound in = { "text/event-stream", "claude-cli/2.1",
	    "2023-06-01", "interleaved-thinking-2025-05-14" };

	check_headers("{\"a\":{\"baseUrl\":\"http://h\",\"apiKey\":\"k1\","
	    "\"authType\":\"authorization\"}}", "a", &in, GW_OK,
	    "content-type: application/json|accept: text/event-stream|"
	    "authorization: Bearer k1|user-agent: claude-cli/2.1|"
	    "anthropic-version: 2023-06-01|"
	    "anthropic-beta: interleaved-thinking-2025-05-14");
}
END_TEST

START_TEST(headers_openai_types_drop_anthropic_headers)
{
	struct prov_inbound in = { NULL, "ua/1", "2023-06-01", "beta-x" };

	check_headers("{\"d\":{\"type\":\"openai-compatible\",\"baseUrl\":"
	    "\"http://h\",\"apiKey\":\"provider-key\"}}", "d", &in, GW_OK,
	    "content-type: application/json|accept: application/json|"
	    "authorization: Bearer provider-key|user-agent: ua/1");
	check_headers("{\"r\":{\"type\":\"openai-responses\",\"baseUrl\":"
	    "\"http://h\",\"apiKey\":\"k\",\"authType\":\"x-api-key\"}}", "r",
	    &in, GW_OK, "content-type: application/json|accept: "
	    "application/json|x-api-key: k|user-agent: ua/1");
}
END_TEST

/* Invalid authType falls back to the type's default; oauth2 is codex's. */
START_TEST(headers_auth_type_fallbacks)
{
	check_headers("{\"d\":{\"type\":\"openai-compatible\",\"baseUrl\":"
	    "\"http://h\",\"apiKey\":\"k\",\"authType\":\"basic\"}}", "d", NULL,
	    GW_OK, "content-type: application/json|accept: application/json|"
	    "authorization: Bearer k");
	check_headers("{\"a\":{\"baseUrl\":\"http://h\",\"apiKey\":\"k\","
	    "\"authType\":\"basic\"}}", "a", NULL, GW_OK,
	    "content-type: application/json|accept: application/json|"
	    "x-api-key: k");
	check_headers("{\"d\":{\"type\":\"openai-compatible\",\"baseUrl\":"
	    "\"http://h\",\"apiKey\":\"k\",\"authType\":\"oauth2\"}}", "d", NULL,
	    GW_OK, "content-type: application/json|accept: application/json|"
	    "authorization: Bearer k");
}
END_TEST

START_TEST(headers_refuse_line_breaks_and_missing_keys)
{
	struct prov_inbound bad = { NULL, "ua\r\nx-api-key: stolen", NULL, NULL };
	struct prov_inbound beta = { NULL, NULL, NULL, "a\nb" };

	check_headers("{\"a\":{\"baseUrl\":\"http://h\",\"apiKey\":"
	    "\"k\\r\\nx-evil: 1\"}}", "a", NULL, GW_ECONFIG, NULL);
	check_headers("{\"a\":{\"baseUrl\":\"http://h\",\"apiKey\":\"k\"}}", "a",
	    &bad, GW_EINVAL, NULL);
	check_headers("{\"a\":{\"baseUrl\":\"http://h\",\"apiKey\":\"k\"}}", "a",
	    &beta, GW_EINVAL, NULL);
	/* codex signs in with OAuth: no key to send. */
	check_headers("{\"codex\":{\"type\":\"openai-responses\",\"baseUrl\":"
	    "\"http://h\",\"authType\":\"oauth2\"}}", "codex", NULL, GW_ECONFIG,
	    NULL);
}
END_TEST

START_TEST(url_and_model_options)
{
	struct cfg *cfg = load_cfg("{\"d\":{\"type\":\"openai-compatible\","
	    "\"baseUrl\":\" https://dashscope.example/compatible-mode// \","
	    "\"apiKey\":\"k\",\"models\":{\"qwen-plus\":{\"topK\":5},"
	    "\"odd\":3}}}");
	const struct cfg_provider *p = cfg_provider_find(cfg, " d ");
	struct buf url = BUF_INIT;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(prov_url(p, "/v1/chat/completions", &url), GW_OK);
	ck_assert_str_eq(url.data,
	    "https://dashscope.example/compatible-mode/v1/chat/completions");
	ck_assert_ptr_nonnull(prov_model_options(p, "qwen-plus"));
	ck_assert_ptr_null(prov_model_options(p, "odd"));
	ck_assert_ptr_null(prov_model_options(p, "missing"));
	ck_assert_ptr_null(prov_model_options(p, NULL));
	buf_free(&url);
	cfg_free(cfg);
}
END_TEST

static cJSON *
parse(const char *s)
{
	cJSON *v = json_parse(s, strlen(s), NULL, NULL);

	ck_assert_ptr_nonnull(v);
	return v;
}

static void
assert_json(const cJSON *got, const char *want)
{
	cJSON *w = parse(want);

	fx_assert_json_eq(got, w, want);
	cJSON_Delete(w);
}

START_TEST(tool_content_flags)
{
	cJSON *m = parse("{\"toolContentSupportType\":[\"array\",\"pdf\",7,"
	    "\"video\"],\"supportPdf\":true}");

	ck_assert_uint_eq(prov_tool_content(m), TR_TOOL_ARRAY | TR_TOOL_PDF);
	ck_assert_int_eq(prov_support_pdf(m), 1);
	ck_assert_uint_eq(prov_tool_content(NULL), 0);
	ck_assert_int_eq(prov_support_pdf(NULL), 0);
	cJSON_Delete(m);
}
END_TEST

START_TEST(anthropic_payload_defaults_and_extra_body)
{
	cJSON *a = parse("{\"model\":\"m\",\"temperature\":0.4,\"metadata\":"
	    "{\"user_id\":\"u\"}}");
	cJSON *m = parse("{\"temperature\":0.2,\"topP\":0.8,\"topK\":\"x\","
	    "\"extraBody\":{\"metadata\":{\"user_id\":\"extra\"},"
	    "\"service_tier\":\"auto\"}}");

	ck_assert_int_eq(prov_apply_model_defaults(a, m), GW_OK);
	ck_assert_int_eq(prov_anthropic_payload(a, m), GW_OK);
	assert_json(a, "{\"model\":\"m\",\"temperature\":0.4,\"metadata\":"
	    "{\"user_id\":\"u\"},\"top_p\":0.8,\"service_tier\":\"auto\"}");
	cJSON_Delete(a);
	cJSON_Delete(m);
}
END_TEST

/* The openai-compatible chat alias (1.14.7): defaults, extraBody,
 * include_usage, and DashScope's preserve_thinking and cache markers. */
START_TEST(chat_passthrough)
{
	cJSON *c = parse("{\"model\":\"q\",\"stream\":true,\"top_p\":0.1,"
	    "\"stream_options\":{\"x\":1},\"messages\":["
	    "{\"role\":\"system\",\"content\":\"s1\"},"
	    "{\"role\":\"user\",\"content\":\"u1\"},"
	    "{\"role\":\"assistant\",\"content\":\"\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"u2\"}]},"
	    "{\"role\":\"assistant\",\"content\":\"\"}]}");
	cJSON *m = parse("{\"temperature\":0.2,\"topP\":0.8,"
	    "\"extraBody\":{\"enable_thinking\":true,\"top_p\":0.9}}");
	cJSON *plain = parse("{\"model\":\"q\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"u\"}]}");
	cJSON *on = parse("{\"contextCache\":true}");
	cJSON *off = parse("{\"contextCache\":false}");
	cJSON *d = parse("{\"model\":\"q\",\"preserve_thinking\":false,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"u\"}]}");
	struct cfg *cfg = load_cfg("{\"dashscope\":{\"type\":\"openai-compatible\","
	    "\"baseUrl\":\"https://x.example\",\"apiKey\":\"k\"},"
	    "\"ali\":{\"type\":\"openai-compatible\",\"baseUrl\":"
	    "\"https://dashscope.aliyuncs.com/compatible-mode\",\"apiKey\":\"k\"},"
	    "\"other\":{\"type\":\"openai-compatible\",\"baseUrl\":"
	    "\"https://dash.example\",\"apiKey\":\"k\"}}");

	ck_assert(prov_is_dashscope("dashscope",
	    cfg_provider_find(cfg, "dashscope")->base_url));
	ck_assert(prov_is_dashscope("ali",
	    cfg_provider_find(cfg, "ali")->base_url));
	ck_assert(!prov_is_dashscope("other",
	    cfg_provider_find(cfg, "other")->base_url));
	/* DashScope: markers on the first system and the last other message
	 * with content, preserve_thinking added */
	ck_assert_int_eq(prov_chat_passthrough(c, m, 1), GW_OK);
	assert_json(c, "{\"model\":\"q\",\"stream\":true,\"top_p\":0.1,"
	    "\"temperature\":0.2,\"enable_thinking\":true,"
	    "\"stream_options\":{\"x\":1,\"include_usage\":true},"
	    "\"preserve_thinking\":true,\"messages\":["
	    "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"s1\","
	    "\"cache_control\":{\"type\":\"ephemeral\"}}]},"
	    "{\"role\":\"user\",\"content\":\"u1\"},"
	    "{\"role\":\"assistant\",\"content\":\"\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"u2\","
	    "\"cache_control\":{\"type\":\"ephemeral\"}}]},"
	    "{\"role\":\"assistant\",\"content\":\"\"}]}");
	/* elsewhere: nothing unless contextCache is true */
	ck_assert_int_eq(prov_chat_passthrough(plain, NULL, 0), GW_OK);
	assert_json(plain, "{\"model\":\"q\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"u\"}]}");
	ck_assert_int_eq(prov_chat_passthrough(plain, on, 0), GW_OK);
	assert_json(plain, "{\"model\":\"q\",\"messages\":[{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"u\",\"cache_control\":"
	    "{\"type\":\"ephemeral\"}}]}]}");
	/* contextCache false wins on DashScope; the client's preserve_thinking
	 * stays */
	ck_assert_int_eq(prov_chat_passthrough(d, off, 1), GW_OK);
	assert_json(d, "{\"model\":\"q\",\"preserve_thinking\":false,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"u\"}]}");
	cJSON_Delete(c);
	cJSON_Delete(m);
	cJSON_Delete(plain);
	cJSON_Delete(on);
	cJSON_Delete(off);
	cJSON_Delete(d);
	cfg_free(cfg);
}
END_TEST

START_TEST(adjust_input_tokens)
{
	cJSON *u = parse("{\"input_tokens\":100,\"cache_read_input_tokens\":30,"
	    "\"cache_creation_input_tokens\":20,\"output_tokens\":3}");
	cJSON *neg = parse("{\"input_tokens\":10,\"cache_read_input_tokens\":30}");
	cJSON *none = parse("{\"output_tokens\":3,\"cache_read_input_tokens\":30}");

	tr_adjust_input_tokens(u);
	tr_adjust_input_tokens(neg);
	tr_adjust_input_tokens(none);
	tr_adjust_input_tokens(NULL);
	assert_json(u, "{\"input_tokens\":50,\"cache_read_input_tokens\":30,"
	    "\"cache_creation_input_tokens\":20,\"output_tokens\":3}");
	assert_json(neg, "{\"input_tokens\":0,\"cache_read_input_tokens\":30}");
	assert_json(none, "{\"output_tokens\":3,\"cache_read_input_tokens\":30}");
	cJSON_Delete(u);
	cJSON_Delete(neg);
	cJSON_Delete(none);
}
END_TEST

/* The route's preparation of an openai-compatible request: fold system
 * messages, model defaults, then the payload. */
START_TEST(chat_payload_fixtures)
{
	char **names = fx_cases("provider/chat", ".in.json");
	struct buf rel = BUF_INIT, err = BUF_INIT;
	size_t i;

	ck_assert_ptr_nonnull(names[0]);
	for (i = 0; names[i] != NULL; i++) {
		cJSON *in, *mopts = NULL, *want, *got = NULL, *prov = NULL;
		int dashscope = 1;     /* the reference's tests use DashScope */

		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, "provider/chat/%s.in.json",
		    names[i]), GW_OK);
		in = fx_json(rel.data);
		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, "provider/chat/%s.model.json",
		    names[i]), GW_OK);
		if (fx_exists(rel.data))
			mopts = fx_json(rel.data);
		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, "provider/chat/%s.provider.json",
		    names[i]), GW_OK);
		if (fx_exists(rel.data)) {
			prov = fx_json(rel.data);
			dashscope = prov_is_dashscope(json_str(prov, "name"),
			    json_str(prov, "baseUrl"));
			cJSON_Delete(prov);
		}
		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, "provider/chat/%s.out.json",
		    names[i]), GW_OK);
		want = fx_json(rel.data);
		buf_reset(&err);
		ck_assert_int_eq(pp_normalize_system(in), GW_OK);
		ck_assert_int_eq(prov_apply_model_defaults(in, mopts), GW_OK);
		ck_assert_msg(prov_chat_payload(in, mopts, dashscope, &got,
		    &err) == GW_OK,
		    "%s: %s", names[i], buf_cstr(&err));
		fx_assert_json_eq(got, want, names[i]);
		cJSON_Delete(got);
		cJSON_Delete(want);
		cJSON_Delete(mopts);
		cJSON_Delete(in);
	}
	fx_free_list(names);
	buf_free(&rel);
	buf_free(&err);
}
END_TEST

START_TEST(chat_payload_refuses_bad_requests)
{
	cJSON *a = parse("{\"model\":\"m\",\"messages\":[]}"), *out = NULL;
	struct buf err = BUF_INIT;

	ck_assert_int_eq(prov_chat_payload(a, NULL, 1, &out, &err), GW_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_uint_gt(err.len, 0);
	cJSON_Delete(a);
	buf_free(&err);
}
END_TEST

/* o200k, input + output, no multiplier and no tool overhead: a claude
 * model counts the same as any other, and below the Copilot estimate. */
START_TEST(count_tokens_local)
{
	struct cfg *cfg = load_cfg("{\"a\":{\"baseUrl\":\"http://h\","
	    "\"apiKey\":\"k\"}}");
	const struct cfg_provider *p = cfg_provider_find(cfg, "a");
	static const char req[] = "{\"model\":\"%s\",\"max_tokens\":9,"
	    "\"tools\":[{\"name\":\"get_weather\",\"input_schema\":{\"type\":"
	    "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}],"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather "
	    "in Paris today?\"},{\"role\":\"assistant\",\"content\":\"Sunny and "
	    "warm, about 24 degrees.\"}]}";
	const char *const tool[] = { "get_weather" };
	struct buf s = BUF_INIT, err = BUF_INIT;
	cJSON *claude, *qwen, *chat = NULL;
	long n_claude = 0, n_qwen = 0, in = 0, out = 0, est = 0;

	ck_assert_int_eq(buf_printf(&s, req, "claude-sonnet-4.6"), GW_OK);
	claude = parse(s.data);
	buf_reset(&s);
	ck_assert_int_eq(buf_printf(&s, req, "qwen-plus"), GW_OK);
	qwen = parse(s.data);
	ck_assert_int_eq(prov_count_tokens(claude, prov_model_options(p,
	    json_str(claude, "model")), &n_claude, &err), GW_OK);
	ck_assert_int_eq(prov_count_tokens(qwen, prov_model_options(p,
	    json_str(qwen, "model")), &n_qwen, &err), GW_OK);
	ck_assert_int_eq(tr_anthropic_to_chat(qwen, NULL, &chat, &err), GW_OK);
	ck_assert_int_eq(tok_count_chat_model(chat, "qwen-plus", TOK_O200K, &in,
	    &out), GW_OK);
	ck_assert_int_gt(out, 0);                 /* the assistant turn counts */
	ck_assert_int_eq(n_qwen, in + out);
	ck_assert_int_eq(n_claude, n_qwen);
	ck_assert_int_eq(tok_estimate(chat, "claude-sonnet-4.6", NULL, 1, tool, 1,
	    1.15, &est), GW_OK);
	ck_assert_int_gt(est, n_claude + 346);
	cJSON_Delete(chat);
	cJSON_Delete(claude);
	cJSON_Delete(qwen);
	buf_free(&s);
	buf_free(&err);
	cfg_free(cfg);
}
END_TEST

/* ---- stream translators ---- */

static struct tr_stream *
make_stream(const char *dir, const char *name)
{
	struct tr_stream *t = NULL, *inner = NULL;

	(void)dir;
	if (strncmp(name, "adjust_", 7) == 0)
		ck_assert_int_eq(tr_provider_anthropic_new(1, &t), GW_OK);
	else if (strncmp(name, "plain_", 6) == 0)
		ck_assert_int_eq(tr_provider_anthropic_new(0, &t), GW_OK);
	else {
		ck_assert_int_eq(tr_responses_stream_new("gpt-5.4", NULL, &inner),
		    GW_OK);
		ck_assert_int_eq(tr_provider_named_new(inner, "resp", &t), GW_OK);
	}
	return t;
}

START_TEST(stream_fixtures)
{
	char **names = fx_cases("provider/stream", ".in.sse");
	size_t i;

	ck_assert_ptr_nonnull(names[0]);
	for (i = 0; names[i] != NULL; i++)
		fx_check_stream("provider/stream", names[i], make_stream);
	fx_free_list(names);
}
END_TEST

static void
feed_case(const char *name, int adjust, struct tr_usage *u, int *done)
{
	struct buf rel = BUF_INIT, out = BUF_INIT;
	struct tr_stream *t = NULL;
	char *in;
	size_t n;

	ck_assert_int_eq(buf_printf(&rel, "provider/stream/%s.in.sse", name),
	    GW_OK);
	in = fx_read(rel.data, &n);
	ck_assert_int_eq(tr_provider_anthropic_new(adjust, &t), GW_OK);
	fx_feed(t, in, n, FX_WHOLE, 0, &out);
	*u = t->usage;
	*done = t->done;
	tr_stream_free(t);
	free(in);
	buf_free(&rel);
	buf_free(&out);
}

/* The usage row sees what the client saw: merged, adjusted. */
START_TEST(stream_usage)
{
	struct tr_usage u;
	int done;

	feed_case("adjust_full", 1, &u, &done);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(u.input_tokens, 50);
	ck_assert_int_eq(u.output_tokens, 5);
	ck_assert_int_eq(u.cache_read_tokens, 30);
	ck_assert_int_eq(u.cache_creation_tokens, 20);
	ck_assert_str_eq(u.model, "prov-claude");
	feed_case("plain_full", 0, &u, &done);
	ck_assert_int_eq(u.input_tokens, 100);
	/* message_delta with output_tokens only keeps message_start's input */
	feed_case("adjust_bare_cut", 1, &u, &done);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(u.input_tokens, 50);
	ck_assert_int_eq(u.output_tokens, 5);
}
END_TEST

/* A stall is not "ended without completion": its own message stays. */
START_TEST(named_keeps_other_failures)
{
	struct tr_stream *inner = NULL, *t = NULL;
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };

	ck_assert_int_eq(tr_responses_stream_new("m", NULL, &inner), GW_OK);
	ck_assert_int_eq(tr_provider_named_new(inner, "resp", &t), GW_OK);
	ck_assert_int_eq(t->ops->finish(t, GW_ETIMEOUT, "upstream stalled", &sink),
	    GW_OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "upstream stalled"));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "completion event"));
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

static Suite *
provider_suite(void)
{
	Suite *s = suite_create("provider");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, headers_anthropic_x_api_key);
	tcase_add_test(tc, headers_anthropic_bearer_forwards_client_headers);
	tcase_add_test(tc, headers_openai_types_drop_anthropic_headers);
	tcase_add_test(tc, headers_auth_type_fallbacks);
	tcase_add_test(tc, headers_refuse_line_breaks_and_missing_keys);
	tcase_add_test(tc, url_and_model_options);
	tcase_add_test(tc, tool_content_flags);
	tcase_add_test(tc, anthropic_payload_defaults_and_extra_body);
	tcase_add_test(tc, adjust_input_tokens);
	tcase_add_test(tc, chat_passthrough);
	tcase_add_test(tc, chat_payload_fixtures);
	tcase_add_test(tc, chat_payload_refuses_bad_requests);
	tcase_add_test(tc, count_tokens_local);
	tcase_add_test(tc, stream_fixtures);
	tcase_add_test(tc, stream_usage);
	tcase_add_test(tc, named_keeps_other_failures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(provider_suite());
}

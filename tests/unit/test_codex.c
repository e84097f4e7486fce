/*
 * The codex provider's pieces without a network: PKCE (S256 against a
 * digest computed elsewhere), the authorize URL, what a pasted redirect
 * may look like, the account id of a JWT, the backend URL and headers, the credentials in the
 * database, and the stream filter (response.done, codex.rate_limits).
 */
#include <string.h>

#include "testutil.h"
#include "fixture.h"
#include "state/db.h"
#include "translate/codex_stream.c"
#include "translate/responses_passthrough.h"
#include "upstream/codex.c"

/* The expected challenge was computed with Python's hashlib and base64. */
START_TEST(pkce_is_s256_and_fresh)
{
	static const char verifier[] = "dBjftJeZ4CVP-mJ92K9CMbiMDT9kUyEEaXNxRN8jfQI";
	uint8_t d[SHA256_LEN];
	char challenge[44];
	struct codex_pkce a, b;

	util_sha256(verifier, strlen(verifier), d);
	b64url_encode(d, sizeof(d), challenge);
	ck_assert_str_eq(challenge, "b7xZEtrUWGPrz-sRgPyNo1SHj81Te2E1ie_nhkia_Lc");
	ck_assert_int_eq(codex_pkce_new(&a), GW_OK);
	ck_assert_int_eq(codex_pkce_new(&b), GW_OK);
	ck_assert_uint_eq(strlen(a.verifier), 43);
	ck_assert_uint_eq(strlen(a.state), 32);
	ck_assert_str_ne(a.verifier, b.verifier);
	util_sha256(a.verifier, strlen(a.verifier), d);
	b64url_encode(d, sizeof(d), challenge);
	ck_assert_str_eq(challenge, a.challenge);
}
END_TEST

START_TEST(authorize_url_has_the_reference_parameters)
{
	struct codex_pkce p;
	struct buf u = BUF_INIT;

	memset(&p, 0, sizeof(p));
	strcpy(p.challenge, "CH");
	strcpy(p.state, "ST");
	ck_assert_int_eq(codex_authorize_url(NULL, &p, &u), GW_OK);
	ck_assert_str_eq(u.data, "https://auth.openai.com/oauth/authorize?"
	    "response_type=code&client_id=app_EMoamEEZ73f0CkXaXp7hrann&"
	    "redirect_uri=http%3A%2F%2Flocalhost%3A1455%2Fauth%2Fcallback&"
	    "scope=openid%20profile%20email%20offline_access&code_challenge=CH&"
	    "code_challenge_method=S256&state=ST&id_token_add_organizations=true&"
	    "codex_cli_simplified_flow=true&originator=copilot-api");
	buf_reset(&u);
	ck_assert_int_eq(codex_authorize_url("http://127.0.0.1:9", &p, &u), GW_OK);
	ck_assert(util_has_prefix(u.data, "http://127.0.0.1:9/oauth/authorize?"));
	buf_free(&u);
}
END_TEST

static void
check_input(const char *in, const char *code, const char *state)
{
	char *c, *s;

	ck_assert_int_eq(codex_parse_input(in, &c, &s), GW_OK);
	if (code == NULL)
		ck_assert_ptr_null(c);
	else
		ck_assert_str_eq(c, code);
	if (state == NULL)
		ck_assert_ptr_null(s);
	else
		ck_assert_str_eq(s, state);
	free(c);
	free(s);
}

START_TEST(pasted_input_forms)
{
	check_input("  http://localhost:1455/auth/callback?code=ab%2Bc&scope=x"
	    "&state=S1#frag \n", "ab+c", "S1");
	check_input("http://localhost:1455/auth/callback", NULL, NULL);
	check_input("CODE#STATE", "CODE", "STATE");
	check_input("code=C2&state=S2", "C2", "S2");
	check_input("  bare-code \n", "bare-code", NULL);
	check_input("   ", NULL, NULL);
}
END_TEST

/* A JWT with the payload json (header and signature are not checked). */
static char *
jwt(const char *json)
{
	char *p = malloc(4 * strlen(json) / 3 + 8), *out;

	b64url_encode((const uint8_t *)json, strlen(json), p);
	out = buf_strdupf("eyJhbGciOiJIUzI1NiJ9.%s.c2ln", p);
	free(p);
	return out;
}

START_TEST(account_id_from_the_claim)
{
	char *t, *id;

	t = jwt("{\"https://api.openai.com/auth\":{\"chatgpt_account_id\":"
	    "\"acct-1\"},\"exp\":1}");
	ck_assert_int_eq(codex_account_id(t, &id), GW_OK);
	ck_assert_str_eq(id, "acct-1");
	free(id);
	free(t);
	t = jwt("{\"https://api.openai.com/auth\":{\"chatgpt_account_id\":\"\"}}");
	ck_assert_int_eq(codex_account_id(t, &id), GW_ENOTFOUND);
	free(t);
	t = jwt("{\"sub\":\"x\"}");
	ck_assert_int_eq(codex_account_id(t, &id), GW_ENOTFOUND);
	free(t);
	ck_assert_int_eq(codex_account_id("not-a-jwt", &id), GW_ENOTFOUND);
	ck_assert_int_eq(codex_account_id("a.!!!.b", &id), GW_ENOTFOUND);
}
END_TEST

START_TEST(responses_url_forms)
{
	static const char *const cases[][2] = {
		{ NULL, "https://chatgpt.com/backend-api/codex/responses" },
		{ "http://h/backend-api/", "http://h/backend-api/codex/responses" },
		{ "http://h/x/codex", "http://h/x/codex/responses" },
		{ "http://h/x/codex/responses//", "http://h/x/codex/responses" },
	};
	struct buf u = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&u);
		ck_assert_int_eq(codex_responses_url(cases[i][0], &u), GW_OK);
		ck_assert_str_eq(u.data, cases[i][1]);
	}
	buf_free(&u);
}
END_TEST

/* The headers as one line: a Responses call (images 0), or an Images one
 * (1: JSON, 2: an upload). */
#define header_line(client, n, session) headers_of(client, n, session, 0)
#define images_line(client, n, json) headers_of(client, n, NULL, (json) ? 1 : 2)

static char *
headers_of(const char *const *client, size_t n, const char *session,
    int images)
{
	struct codex_creds c = { "AT", "RT", "ACC", 0 };
	struct strlist h = STRLIST_INIT;
	struct buf err = BUF_INIT, all = BUF_INIT;
	size_t i;

	ck_assert_int_eq(images ? codex_images_headers(&c, client, n, session,
	    images == 1, &h, &err) : codex_headers(&c, client, n, session, &h,
	    &err), GW_OK);
	for (i = 0; i < h.n; i++)
		ck_assert_int_eq(buf_printf(&all, "%s%s", i ? "|" : "",
		    h.v[i]), GW_OK);
	strlist_free(&h);
	buf_free(&err);
	return buf_detach(&all);
}

START_TEST(headers_as_the_reference_sends_them)
{
	static const char *const client[] = {
		"authorization", "Bearer client-key", "x-api-key", "k",
		"host", "gw", "content-length", "12", "accept-encoding", "gzip",
		"user-agent", "claude-cli/2.0", "anthropic-version", "2023-06-01",
		"content-type", "application/json",
		"CF-Connecting-IP", "1.2.3.4", "cdn-loop", "cloudflare",
		"true-client-ip", "1.2.3.4", "X-Forwarded-For", "1.2.3.4",
		"x-forwarded-proto", "https", "traceparent", "00-ab-cd-01",
		"x-b3-TraceId", "ab",
	};
	static const char *const opencode[] = {
		"user-agent", "opencode/1.0", "originator", "mine",
		"accept", "*/*", "session-id", "theirs", "session_id", "old",
	};
	static const char *const bad[] = { "x-note", "a\r\nb: c" };
	struct codex_creds c = { "AT", "RT", "ACC", 0 };
	struct strlist h = STRLIST_INIT;
	struct buf err = BUF_INIT;
	char *got;

	got = header_line(client, 15, NULL);
	ck_assert_str_eq(got, "user-agent: claude-cli/2.0|anthropic-version: "
	    "2023-06-01|content-type: application/json|accept: text/event-stream|"
	    "authorization: Bearer AT|chatgpt-account-id: ACC|"
	    "originator: copilot-api");
	free(got);
	got = header_line(NULL, 0, NULL);
	ck_assert_str_eq(got, "accept: text/event-stream|authorization: Bearer AT|"
	    "chatgpt-account-id: ACC|content-type: application/json|"
	    "originator: copilot-api|user-agent: copilot-api");
	free(got);
	got = header_line(opencode, 5, "sess-1");
	ck_assert_str_eq(got, "user-agent: opencode/1.0|session_id: old|"
	    "accept: text/event-stream|authorization: Bearer AT|"
	    "chatgpt-account-id: ACC|content-type: application/json|"
	    "originator: opencode|session-id: sess-1");
	free(got);
	/* without a session the client's session-id stays */
	got = header_line(opencode, 5, NULL);
	ck_assert_str_eq(got, "user-agent: opencode/1.0|session-id: theirs|"
	    "session_id: old|accept: text/event-stream|authorization: Bearer AT|"
	    "chatgpt-account-id: ACC|content-type: application/json|"
	    "originator: opencode");
	free(got);
	ck_assert_int_eq(codex_headers(&c, bad, 1, NULL, &h, &err), GW_EINVAL);
	ck_assert_str_eq(err.data, "the x-note header holds a line break");
	strlist_free(&h);
	buf_free(&err);
}
END_TEST

/* The Images backend: {base}/codex/images/<op>, the client's query kept. */
START_TEST(images_url_forms)
{
	static const char *const cases[][4] = {
		{ NULL, "generations", NULL,
		  "https://chatgpt.com/backend-api/codex/images/generations" },
		{ "http://h/backend-api/", "edits", "",
		  "http://h/backend-api/codex/images/edits" },
		{ "http://h/x/codex", "edits", "a=1&b",
		  "http://h/x/codex/images/edits?a=1&b" },
		{ "http://h/x/codex/responses/", "generations", NULL,
		  "http://h/x/codex/images/generations" },
	};
	struct buf u = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&u);
		ck_assert_int_eq(codex_images_url(cases[i][0], cases[i][1],
		    cases[i][2], &u), GW_OK);
		ck_assert_str_eq(u.data, cases[i][3]);
	}
	buf_free(&u);
}
END_TEST

/* Alpha search (1.14.7, a23edf6): the query kept, every base form. */
START_TEST(alpha_search_url_forms)
{
	static const char *const cases[][3] = {
		{ NULL, "q=bun&page=2",
		  "https://chatgpt.com/backend-api/codex/alpha/search?q=bun&page=2" },
		{ "", NULL, "https://chatgpt.com/backend-api/codex/alpha/search" },
		{ "http://h/backend-api//", "", "http://h/backend-api/codex/alpha/search" },
		{ "http://h/x/codex/responses", "limit=5",
		  "http://h/x/codex/alpha/search?limit=5" },
	};
	struct buf u = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&u);
		ck_assert_int_eq(codex_alpha_search_url(cases[i][0], cases[i][1],
		    &u), GW_OK);
		ck_assert_str_eq(u.data, cases[i][2]);
	}
	buf_free(&u);
}
END_TEST

/* Images: the client's accept and upload type kept, JSON and accept as
 * defaults, no OpenAI-Beta; an upload without a type gets none (libcurl
 * would call it a form). */
START_TEST(images_headers_as_the_reference_sends_them)
{
	static const char *const upload[] = {
		"authorization", "Bearer client-key", "accept", "*/*",
		"content-type", "multipart/form-data; boundary=b1",
		"user-agent", "sdk/1",
	};
	char *got;

	got = images_line(upload, 4, 0);
	ck_assert_str_eq(got, "accept: */*|content-type: multipart/form-data; "
	    "boundary=b1|user-agent: sdk/1|authorization: Bearer AT|"
	    "chatgpt-account-id: ACC|originator: copilot-api");
	free(got);
	got = images_line(NULL, 0, 1);
	ck_assert_str_eq(got, "accept: application/json|authorization: Bearer AT|"
	    "chatgpt-account-id: ACC|content-type: application/json|originator: "
	    "copilot-api|user-agent: copilot-api");
	free(got);
	got = images_line(NULL, 0, 0);
	ck_assert_str_eq(got, "accept: application/json|authorization: Bearer AT|"
	    "chatgpt-account-id: ACC|originator: copilot-api|user-agent: "
	    "copilot-api|content-type:");
	free(got);
}
END_TEST

START_TEST(credentials_round_trip_in_the_database)
{
	char home[512], path[600];
	struct codex_creds in = { "AT", "RT", "ACC", 1234567890123LL }, out;
	struct db *db;

	test_tmpdir(home, sizeof(home), "gw-codex");
	snprintf(path, sizeof(path), "%s/%s", home, DB_FILE_NAME);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(codex_creds_load(db, &out), GW_ENOTFOUND);
	ck_assert_int_eq(codex_creds_store(db, &in), GW_OK);
	ck_assert_int_eq(codex_creds_load(db, &out), GW_OK);
	ck_assert_str_eq(out.access_token, "AT");
	ck_assert_str_eq(out.refresh_token, "RT");
	ck_assert_str_eq(out.account_id, "ACC");
	ck_assert(out.expires_at_ms == 1234567890123LL);
	codex_creds_free(&out);
	ck_assert_int_eq(db_kv_set(db, "codex_credentials", "{\"accessToken\":1}"),
	    GW_OK);
	ck_assert_int_eq(codex_creds_load(db, &out), GW_EDB);
	db_close(db);
	test_rmdir(home);
}
END_TEST

START_TEST(rate_limit_lines)
{
	static const char doc[] = "{\"type\":\"codex.rate_limits\",\"plan_type\":"
	    "\"plus\",\"rate_limits\":{\"allowed\":true,\"limit_reached\":false,"
	    "\"primary\":{\"used_percent\":42.5,\"window_minutes\":300,"
	    "\"reset_after_seconds\":60,\"reset_at\":0},\"secondary\":"
	    "{\"used_percent\":1}}}";
	cJSON *ev = json_parse(doc, strlen(doc), NULL, NULL);
	struct buf line = BUF_INIT;

	ck_assert_ptr_nonnull(ev);
	rate_limit_line(ev, "primary", &line);
	ck_assert_str_eq(buf_cstr(&line), "Codex primary rate limit (plus): "
	    "allowed=true, limit_reached=false, used=42.5%, window=300m, "
	    "reset_at=1970-01-01T00:00:00Z");
	buf_reset(&line);
	rate_limit_line(ev, "secondary", &line);   /* incomplete: no line */
	ck_assert_uint_eq(line.len, 0);
	buf_free(&line);
	cJSON_Delete(ev);
}
END_TEST

START_TEST(stream_filter_renames_response_done)
{
	static const char *const events[][2] = {
		{ "codex.rate_limits", "{\"type\":\"codex.rate_limits\","
		    "\"rate_limits\":{}}" },
		{ "response.created", "{\"type\":\"response.created\",\"response\":"
		    "{\"id\":\"r1\",\"status\":\"in_progress\",\"output\":[]}}" },
		{ "response.done", "{\"type\":\"response.done\",\"response\":{\"id\":"
		    "\"r1\",\"status\":\"completed\",\"output\":[],\"usage\":"
		    "{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":10}}}" },
	};
	struct tr_stream *inner = NULL, *t = NULL;
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };
	size_t i;

	ck_assert_int_eq(tr_responses_passthrough_new(&inner), GW_OK);
	ck_assert_int_eq(tr_codex_stream_new(inner, &t), GW_OK);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(t->ops->feed(t, events[i][0], events[i][1],
		    strlen(events[i][1]), &sink), GW_OK);
	ck_assert_int_eq(t->ops->finish(t, GW_OK, NULL, &sink), GW_OK);
	ck_assert_int_eq(t->done, 1);
	ck_assert_int_eq(t->usage.input_tokens, 7);
	ck_assert_int_eq(t->usage.output_tokens, 3);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "event: response.completed\n"
	    "data: {\"type\":\"response.completed\""));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "response.done"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "event: codex.rate_limits"));
	tr_stream_free(t);
	buf_free(&out);
}
END_TEST

/* A JSON client's stream: the response object of the terminal event (its
 * response.done renamed by the filter in front), or the error's message. */
START_TEST(collector_keeps_the_response_or_the_error)
{
	static const char done[] = "{\"type\":\"response.done\",\"response\":"
	    "{\"id\":\"r1\",\"status\":\"completed\",\"output\":[],\"usage\":"
	    "{\"input_tokens\":5,\"output_tokens\":2,\"total_tokens\":7}}}";
	static const char delta[] = "{\"type\":\"response.output_text.delta\","
	    "\"delta\":\"x\"}";
	static const char err[] = "{\"type\":\"error\",\"code\":\"server_error\","
	    "\"message\":\"boom\"}";
	struct tr_stream *col = NULL, *t = NULL;
	struct buf out = BUF_INIT;
	struct tr_sink sink = { &out, fx_emit, fx_comment };

	ck_assert_int_eq(tr_codex_collect_new(&col), GW_OK);
	ck_assert_int_eq(tr_codex_stream_new(col, &t), GW_OK);
	ck_assert_int_eq(t->ops->feed(t, NULL, delta, strlen(delta), &sink), GW_OK);
	ck_assert_ptr_null(tr_codex_collected(col));
	ck_assert_int_eq(t->ops->feed(t, "response.done", done, strlen(done),
	    &sink), GW_OK);
	ck_assert_int_eq(t->ops->ping(t, &sink), GW_OK);
	ck_assert_int_eq(t->ops->finish(t, GW_OK, NULL, &sink), GW_OK);
	ck_assert_str_eq(tr_codex_collected(col), "{\"id\":\"r1\",\"status\":"
	    "\"completed\",\"output\":[],\"usage\":{\"input_tokens\":5,"
	    "\"output_tokens\":2,\"total_tokens\":7}}");
	ck_assert_int_eq(t->done, 1);
	ck_assert_int_eq(t->usage.output_tokens, 2);
	ck_assert_uint_eq(out.len, 0);          /* nothing for the client */
	tr_stream_free(t);
	ck_assert_int_eq(tr_codex_collect_new(&col), GW_OK);
	ck_assert_int_eq(col->ops->feed(col, "error", err, strlen(err), &sink),
	    GW_OK);
	ck_assert_str_eq(tr_codex_collect_error(col), "boom");
	ck_assert_ptr_null(tr_codex_collected(col));
	tr_stream_free(col);
	buf_free(&out);
}
END_TEST

static Suite *
codex_suite(void)
{
	Suite *s = suite_create("codex");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pkce_is_s256_and_fresh);
	tcase_add_test(tc, authorize_url_has_the_reference_parameters);
	tcase_add_test(tc, pasted_input_forms);
	tcase_add_test(tc, account_id_from_the_claim);
	tcase_add_test(tc, responses_url_forms);
	tcase_add_test(tc, headers_as_the_reference_sends_them);
	tcase_add_test(tc, images_url_forms);
	tcase_add_test(tc, alpha_search_url_forms);
	tcase_add_test(tc, images_headers_as_the_reference_sends_them);
	tcase_add_test(tc, credentials_round_trip_in_the_database);
	tcase_add_test(tc, rate_limit_lines);
	tcase_add_test(tc, stream_filter_renames_response_done);
	tcase_add_test(tc, collector_keeps_the_response_or_the_error);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(codex_suite());
}

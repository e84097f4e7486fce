/*
 * The route handlers in process: requests go through http_server_serve()
 * and routes_handle() over the in-memory transport, the way the responder
 * serves them, against the mock upstream (GitHub and Copilot on one port).
 * Each test gets a private COPILOT_API_HOME with a config.json pointing at
 * the mock and a database holding a signed-in GitHub account, a fresh
 * Copilot token and the cached model list, so a request costs exactly the
 * upstream calls it makes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>


#include "testutil.h"
#include "mockserver.h"
#include "models_fixture.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/server.h"
#include "app/app.h"           /* struct app, struct worker */
#include "routes/routes.h"     /* routes_handle */
#include "state/config.h"
#include "state/db.h"
#include "state/metrics.h"
#include "upstream/client.h"

#define API_KEY "sk-routes-test"
#define ADMIN_KEY "sk-routes-admin"
#define GOOD_TOKEN "tid=good"
#define FRESH_TOKEN_JSON "{\"token\":\"tid=fresh\",\"refresh_in\":1500}"

#define LINE_MESSAGES "POST /v1/messages HTTP/1.1\n"
#define LINE_RESPONSES "POST /responses HTTP/1.1\n"
#define LINE_CHAT "POST /chat/completions HTTP/1.1\n"
#define LINE_TOKEN "GET /copilot_internal/v2/token HTTP/1.1\n"

/* The cached /models list: one model per /v1/messages flow. */
static const char models_json[] = MODELS_FIXTURE_JSON;

/* Upstream answers. */
#define JSON_HDR "Content-Type: application/json\r\n"
#define SSE_HDR "Content-Type: text/event-stream\r\n"

static const char native_answer[] =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
    "\"model\":\"claude-sonnet-4\",\"content\":[{\"type\":\"text\","
    "\"text\":\"native hi\"}],\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":2}}";

static const char responses_answer[] =
    "{\"id\":\"resp_01\",\"object\":\"response\",\"status\":\"completed\","
    "\"model\":\"gpt-5\",\"output\":[{\"type\":\"message\",\"id\":\"msg_r\","
    "\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{"
    "\"type\":\"output_text\",\"text\":\"from responses\",\"annotations\":[]}]}],"
    "\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":10}}";

static const char chat_answer[] =
    "{\"id\":\"chatcmpl-01\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"from chat\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1,\"total_tokens\":5}}";

#define CHUNK(delta, tail) "data: {\"id\":\"chatcmpl-s\",\"model\":\"gpt-4o\"," \
    "\"choices\":[{\"index\":0,\"delta\":" delta tail "}]}\n\n"

static const struct mock_response chat_stream_answer = {
	.headers = SSE_HDR, .chunked = 1, .pieces = {
		{ 0, CHUNK("{\"role\":\"assistant\",\"content\":\"Hel\"}", "") },
		{ 0, CHUNK("{\"content\":\"lo\"}", "") },
		{ 0, CHUNK("{}", ",\"finish_reason\":\"stop\"") },
		{ 0, "data: {\"id\":\"chatcmpl-s\",\"model\":\"gpt-4o\",\"choices\":[],"
		    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
		    "\"total_tokens\":11}}\n\n" },
		{ 0, "data: [DONE]\n\n" },
	},
};

static const struct mock_response answer_401 = { .status = 401,
	.headers = JSON_HDR,
	.pieces = { { 0, "{\"error\":{\"message\":\"token expired\"}}" } } };
static const struct mock_response answer_token = { .headers = JSON_HDR,
	.pieces = { { 0, FRESH_TOKEN_JSON } } };
static const struct mock_response answer_chat = { .headers = JSON_HDR,
	.pieces = { { 0, chat_answer } } };

/* ---- the gateway under test ---- */

static struct {
	char home[512];
	struct mock_server *m;
	struct app app;
	struct worker w;         /* app and w are zero until gw_start */
} g;

/* The environment overrides app_init and the routes read, so a developer's
 * shell cannot change what the tests see. */
static const char *const env_overrides[] = {
	"COPILOT_API_ACCOUNT_TYPE", "COPILOT_API_ENTERPRISE_URL",
	"COPILOT_API_GITHUB_TOKEN", "COPILOT_API_OAUTH_APP",
	"COPILOT_API_RATE_LIMIT", "COPILOT_API_RATE_LIMIT_WAIT",
	"COPILOT_API_MANUAL_APPROVAL",
};

static void
setup(void)
{
	size_t i;

	memset(&g, 0, sizeof(g));
	test_tmpdir(g.home, sizeof(g.home), "gw-routes");
	for (i = 0; i < ARRAY_LEN(env_overrides); i++)
		ck_assert_int_eq(unsetenv(env_overrides[i]), 0);
	ck_assert_int_eq(setenv("COPILOT_API_HOME", g.home, 1), 0);
	log_set_level(LOG_WARN);     /* the failures tested are warnings */
	ck_assert_int_eq(up_global_init(), GW_OK);
}

static void
teardown(void)
{
	worker_free(&g.w);
	app_free(&g.app);
	mock_stop(g.m);
	up_global_cleanup();
	test_rmdir(g.home);
}

static void
write_config(const char *extra, int copilot_port)
{
	struct buf cfg = BUF_INIT, path = BUF_INIT;
	char url[64], copilot[64];
	FILE *f;

	mock_url(g.m, "", url, sizeof(url));
	snprintf(copilot, sizeof(copilot), "http://127.0.0.1:%d", copilot_port);
	ck_assert_int_eq(buf_printf(&cfg,
	    "{\"auth\":{\"apiKeys\":[\"" API_KEY "\"],"
	    "\"adminApiKey\":\"" ADMIN_KEY "\"},"
	    "\"upstream\":{\"githubUrl\":\"%s\",\"githubApiUrl\":\"%s\","
	    "\"copilotApiUrl\":\"%s\",\"anthropicApiUrl\":\"%s\"},"
	    "\"useMessagesApi\":true%s%s}", url, url, copilot, url,
	    extra != NULL ? "," : "", extra != NULL ? extra : ""), GW_OK);
	ck_assert_int_eq(buf_printf(&path, "%s/config.json", g.home), GW_OK);
	ck_assert_ptr_nonnull(f = fopen(path.data, "w"));
	ck_assert_uint_eq(fwrite(cfg.data, 1, cfg.len, f), cfg.len);
	ck_assert_int_eq(fclose(f), 0);
	buf_free(&cfg);
	buf_free(&path);
}

/* A signed-in account with a fresh Copilot token and the model list. */
static void
seed_db(struct db *db)
{
	struct db_copilot_token t;
	int64_t now = util_now_ms() / 1000;

	memset(&t, 0, sizeof(t));
	t.token = GOOD_TOKEN;
	t.fetched_at = now;
	t.refresh_in = 1500;
	t.expires_at = now + 1800;
	ck_assert_int_eq(db_kv_set(db, "github_token", "gho_routes"), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "github_login", "octocat"), GW_OK);
	ck_assert_int_eq(db_copilot_token_put(db, &t), GW_OK);
	ck_assert_int_eq(db_models_put(db, models_json, util_now_ms()), GW_OK);
}

/*
 * Starts the mock with script, writes config.json (extra: more top-level
 * members, or NULL; copilot_port: where Copilot is, 0 for the mock) and
 * brings up the app and one worker.
 */
static void
gw_start(const struct mock_response *script, size_t n, const char *extra,
    int copilot_port)
{
	struct buf err = BUF_INIT;

	ck_assert_ptr_nonnull(g.m = mock_start(script, n));
	write_config(extra, copilot_port > 0 ? copilot_port : g.m->port);
	ck_assert_msg(app_init(&g.app, 0, &err) == GW_OK, "app_init: %s",
	    buf_cstr(&err));
	ck_assert_msg(worker_init(&g.w, &g.app, &err) == GW_OK,
	    "worker_init: %s", buf_cstr(&err));
	seed_db(g.w.db);
	buf_free(&err);
}

/* One answered request, as the web server would see it. */
struct reply {
	char *raw;               /* everything written */
	int status;
	const char *body;        /* into raw */
	cJSON *json;             /* body parsed, or NULL */
};

static void
reply_free(struct reply *r)
{
	cJSON_Delete(r->json);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* A response header's value (copied into out), or NULL. */
static const char *
reply_header(const struct reply *r, const char *name, char *out, size_t n)
{
	struct buf key = BUF_INIT;
	const char *p;
	size_t len;

	ck_assert_int_eq(buf_printf(&key, "\r\n%s: ", name), GW_OK);
	p = strcasestr(r->raw, key.data);
	if (p == NULL || p > r->body) {
		buf_free(&key);
		return NULL;
	}
	p += key.len;
	len = strcspn(p, "\r\n");
	snprintf(out, n, "%.*s", (int)len, p);
	buf_free(&key);
	return out;
}

static void
serve_len_on(struct worker *w, const char *method, const char *uri,
    const char *body, size_t blen, const char *auth, const char *extra,
    struct reply *out);

/* One request served by worker w with the given Authorization header
 * value and one more header, extra ("HTTP_NAME=value"), or NULL. */
static void
serve_on(struct worker *w, const char *method, const char *uri,
    const char *body, const char *auth, const char *extra, struct reply *out)
{
	serve_len_on(w, method, uri, body, body != NULL ? strlen(body) : 0, auth,
	    extra, out);
}

/* serve_on with a body of blen bytes, NULs and all. */
static void
serve_len_on(struct worker *w, const char *method, const char *uri,
    const char *body, size_t blen, const char *auth, const char *extra,
    struct reply *out)
{
	struct http_server_opts o;
	struct http_mem_io mio;
	struct http_io io;
	char m[64], u[256], cl[64], a[128];
	char *env[] = { m, u, "CONTENT_TYPE=application/json", cl, a,
		(char *)extra, NULL };
	const char *sep;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", blen);
	snprintf(a, sizeof(a), "HTTP_AUTHORIZATION=%s", auth);
	memset(&o, 0, sizeof(o));
	o.handle = routes_handle;
	o.limits.max_body = (size_t)g.app.cfg->max_body_bytes;
	http_mem_io_init(&mio, body, blen, env);
	http_io_mem(&io, &mio);
	http_server_serve(&o, w, &io);
	memset(out, 0, sizeof(*out));
	out->raw = strdup(buf_cstr(&mio.out));
	http_mem_io_free(&mio);
	ck_assert_ptr_nonnull(out->raw);
	ck_assert_msg(strncmp(out->raw, "Status: ", 8) == 0, "%s", out->raw);
	out->status = (int)strtol(out->raw + 8, NULL, 10);
	ck_assert_ptr_nonnull(sep = strstr(out->raw, "\r\n\r\n"));
	out->body = sep + 4;
	out->json = json_parse(out->body, strlen(out->body), NULL, NULL);
}

static void
serve_len(const char *method, const char *uri, const char *body, size_t blen,
    const char *auth, const char *extra, struct reply *out)
{
	serve_len_on(&g.w, method, uri, body, blen, auth, extra, out);
}

static void
serve_env(const char *method, const char *uri, const char *body,
    const char *auth, const char *extra, struct reply *out)
{
	serve_on(&g.w, method, uri, body, auth, extra, out);
}

static void
serve_key(const char *method, const char *uri, const char *body,
    const char *auth, struct reply *out)
{
	serve_env(method, uri, body, auth, NULL, out);
}

static void
serve(const char *method, const char *uri, const char *body,
    struct reply *out)
{
	serve_key(method, uri, body, "Bearer " API_KEY, out);
}

/* POST /v1/messages with one user turn. */
static void
messages(const char *model, int stream, struct reply *out)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(buf_printf(&b,
	    "{\"model\":\"%s\",\"max_tokens\":100,%s"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", model,
	    stream ? "\"stream\":true," : ""), GW_OK);
	serve("POST", "/v1/messages", b.data, out);
	buf_free(&b);
}

/* The upstream calls made so far, one request line each. */
static void
assert_calls(const char *want)
{
	char *got = mock_request_lines(g.m);

	ck_assert_str_eq(got, want);
	free(got);
}

/*
 * The usage rows, oldest first, one line each:
 * "status endpoint model user stream=S in=I out=O error".
 */
static char *
usage_rows(void)
{
	static const char sql[] = "SELECT status, endpoint, model, user_id, "
	    "stream, input_tokens, output_tokens, coalesce(error, '-') "
	    "FROM token_usage_events ORDER BY id";
	struct db_stmt *st;
	struct buf out = BUF_INIT;
	enum gw_err e;

	ck_assert_int_eq(db_prepare(g.w.db, sql, &st), GW_OK);
	while ((e = db_step(st)) == GW_OK)
		ck_assert_int_eq(buf_printf(&out,
		    "%d %s %s %s stream=%d in=%lld out=%lld %s\n",
		    (int)db_column_int64(st, 0), db_column_text(st, 1),
		    db_column_text(st, 2), db_column_text(st, 3),
		    (int)db_column_int64(st, 4),
		    (long long)db_column_int64(st, 5),
		    (long long)db_column_int64(st, 6),
		    db_column_text(st, 7)), GW_OK);
	ck_assert_int_eq(e, GW_ENOTFOUND);
	db_done(g.w.db, st);
	return buf_detach(&out);
}

static void
assert_rows(const char *want)
{
	char *got = usage_rows();

	ck_assert_str_eq(got != NULL ? got : "", want);
	free(got);
}

/* Exactly one usage row, starting with prefix and ending with suffix (the
 * parts between, such as an error text, vary). */
static void
assert_one_row(const char *prefix, const char *suffix)
{
	char *got = usage_rows();
	size_t n = got != NULL ? strlen(got) : 0;

	ck_assert_msg(got != NULL && util_has_prefix(got, prefix) &&
	    n >= strlen(suffix) && strcmp(got + n - strlen(suffix), suffix) == 0 &&
	    strchr(got, '\n') == got + n - 1, "rows: %s", got ? got : "(none)");
	free(got);
}

/* An Anthropic message answer: its text, stop reason and usage. */
static void
assert_message(const struct reply *r, const char *text, long in, long out)
{
	const cJSON *c = cJSON_GetArrayItem(json_arr(r->json, "content"), 0);

	ck_assert_msg(r->status == 200, "%d %s", r->status, r->body);
	ck_assert_str_eq(json_str(r->json, "type"), "message");
	ck_assert_str_eq(json_str(r->json, "role"), "assistant");
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(r->json, "content")), 1);
	ck_assert_str_eq(json_str(c, "type"), "text");
	ck_assert_str_eq(json_str(c, "text"), text);
	ck_assert_str_eq(json_str(r->json, "stop_reason"), "end_turn");
	ck_assert_int_eq(json_long(json_obj(r->json, "usage"), "input_tokens", -1),
	    in);
	ck_assert_int_eq(json_long(json_obj(r->json, "usage"), "output_tokens", -1),
	    out);
}

/* An error answer in the Anthropic envelope, message containing msg. */
static void
assert_anthropic_error(const struct reply *r, int status, const char *type,
    const char *msg)
{
	const cJSON *e = json_obj(r->json, "error");

	ck_assert_msg(r->status == status, "%d %s", r->status, r->body);
	ck_assert_str_eq(json_str(r->json, "type"), "error");
	ck_assert_str_eq(json_str(e, "type"), type);
	ck_assert_msg(strstr(json_str(e, "message"), msg) != NULL,
	    "message: %s", json_str(e, "message"));
}

/* ---- a. the three /v1/messages flows ---- */

START_TEST(claude_goes_native)
{
	static const struct mock_response s[] = { { .headers = JSON_HDR,
		.pieces = { { 0, native_answer } } } };
	struct reply r;
	char *req;

	gw_start(s, 1, NULL, 0);
	messages("claude-sonnet-4", 0, &r);
	assert_calls(LINE_MESSAGES);
	/* the native answer is relayed byte for byte */
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, native_answer);
	req = mock_last_request(g.m);
	ck_assert_ptr_nonnull(strcasestr(req, "\r\nauthorization: Bearer "
	    GOOD_TOKEN "\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "\"model\":\"claude-sonnet-4\""));
	free(req);
	assert_rows("200 messages claude-sonnet-4 octocat stream=0 in=5 out=2 -\n");
	reply_free(&r);
}
END_TEST

START_TEST(gpt_with_responses_goes_to_responses)
{
	static const struct mock_response s[] = { { .headers = JSON_HDR,
		.pieces = { { 0, responses_answer } } } };
	struct reply r;
	char *req;

	gw_start(s, 1, NULL, 0);
	messages("gpt-5", 0, &r);
	assert_calls(LINE_RESPONSES);
	assert_message(&r, "from responses", 7, 3);
	ck_assert_str_eq(json_str(r.json, "model"), "gpt-5");
	req = mock_last_request(g.m);
	ck_assert_ptr_nonnull(strstr(req, "\"input\":["));
	free(req);
	assert_rows("200 responses gpt-5 octocat stream=0 in=7 out=3 -\n");
	reply_free(&r);
}
END_TEST

START_TEST(other_model_goes_to_chat)
{
	struct reply r;
	char *req;

	gw_start(&answer_chat, 1, NULL, 0);
	messages("gpt-4o", 0, &r);
	assert_calls(LINE_CHAT);
	assert_message(&r, "from chat", 4, 1);
	req = mock_last_request(g.m);
	ck_assert_ptr_nonnull(strstr(req, "\"messages\":["));
	free(req);
	assert_rows("200 chat_completions gpt-4o octocat stream=0 in=4 out=1 -\n");
	reply_free(&r);
}
END_TEST

/* The event names of an SSE body, space separated. */
static void
sse_event_names(const char *body, struct buf *out)
{
	const char *p = body;

	while ((p = strstr(p, "event: ")) != NULL) {
		p += 7;
		if (out->len > 0)
			ck_assert_int_eq(buf_puts(out, " "), GW_OK);
		ck_assert_int_eq(buf_append(out, p, strcspn(p, "\n")), GW_OK);
	}
}

START_TEST(chat_stream_becomes_anthropic_events)
{
	struct buf names = BUF_INIT;
	struct reply r;
	char ct[64];

	gw_start(&chat_stream_answer, 1, NULL, 0);
	messages("gpt-4o", 1, &r);
	assert_calls(LINE_CHAT);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(reply_header(&r, "Content-Type", ct, sizeof(ct)),
	    "text/event-stream");
	sse_event_names(r.body, &names);
	ck_assert_str_eq(names.data, "message_start content_block_start "
	    "content_block_delta content_block_delta content_block_stop "
	    "message_delta message_stop");
	ck_assert_ptr_nonnull(strstr(r.body, "event: content_block_delta\ndata: "
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"Hel\"}}\n\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"delta\":{\"stop_reason\":"
	    "\"end_turn\""));
	ck_assert_str_eq(strstr(r.body, "event: message_stop\n"),
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
	assert_rows("200 chat_completions gpt-4o octocat stream=1 in=9 out=2 -\n");
	buf_free(&names);
	reply_free(&r);
}
END_TEST

/* The native stream is relayed event for event. */
START_TEST(claude_stream_is_relayed)
{
	static const char events[] =
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
	    "{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":\"claude-sonnet-4\",\"content\":[],\"stop_reason\":null,"
	    "\"usage\":{\"input_tokens\":6,\"output_tokens\":0}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\","
	    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
	    "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
	    "\"index\":0}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
	    "{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	static const struct mock_response s[] = { { .headers = SSE_HDR,
		.chunked = 1, .pieces = { { 0, events } } } };
	struct reply r;

	gw_start(s, 1, NULL, 0);
	messages("claude-sonnet-4", 1, &r);
	assert_calls(LINE_MESSAGES);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, events);
	/* message_start's input_tokens and message_delta's output_tokens,
	 * merged (surface.md §8.3): the later event reports no input count */
	assert_rows("200 messages claude-sonnet-4 octocat stream=1 in=6 out=3 "
	    "-\n");
	reply_free(&r);
}
END_TEST

/* ---- b. 401 -> refresh once -> retry once ---- */

START_TEST(unauthorized_refreshes_and_retries_once)
{
	const struct mock_response s[] = { answer_401, answer_token, answer_chat };
	struct reply r;
	char *req;

	gw_start(s, 3, NULL, 0);
	messages("gpt-4o", 0, &r);
	assert_calls(LINE_CHAT LINE_TOKEN LINE_CHAT);
	assert_message(&r, "from chat", 4, 1);
	req = mock_last_request(g.m);
	ck_assert_ptr_nonnull(strcasestr(req, "\r\nauthorization: Bearer "
	    "tid=fresh\r\n"));
	free(req);
	assert_rows("200 chat_completions gpt-4o octocat stream=0 in=4 out=1 -\n");
	reply_free(&r);
}
END_TEST

START_TEST(second_unauthorized_reaches_the_client)
{
	const struct mock_response s[] = { answer_401, answer_token, answer_401,
		answer_chat };
	struct reply r;

	gw_start(s, 4, NULL, 0);
	messages("gpt-4o", 0, &r);
	assert_calls(LINE_CHAT LINE_TOKEN LINE_CHAT);
	assert_anthropic_error(&r, 401, "authentication_error", "token expired");
	assert_rows("401 chat_completions gpt-4o octocat stream=0 in=0 out=0 "
	    "token expired\n");
	reply_free(&r);
}
END_TEST

/* ---- c. which requests write a usage row ---- */

START_TEST(rejects_before_upstream_write_no_row)
{
	static const char *const bodies[] = {
		"{\"model\":", "", "[1,2]", "\"text\"",
	};
	struct reply r;
	size_t i;

	gw_start(&answer_chat, 1, NULL, 0);
	for (i = 0; i < ARRAY_LEN(bodies); i++) {
		serve("POST", "/v1/messages", bodies[i], &r);
		ck_assert_msg(r.status == 400, "%s: %d", bodies[i], r.status);
		ck_assert_str_eq(json_str(r.json, "type"), "error");
		ck_assert_str_eq(json_str(json_obj(r.json, "error"), "type"),
		    "invalid_request_error");
		reply_free(&r);
	}
	serve_key("POST", "/v1/messages", "{}", "Bearer sk-wrong", &r);
	ck_assert_int_eq(r.status, 401);
	reply_free(&r);
	serve("POST", "/v1/nowhere", "{}", &r);
	ck_assert_int_eq(r.status, 404);
	reply_free(&r);
	assert_calls("");
	assert_rows("");
}
END_TEST

/* A body that parses but fails validation (no model), the gateway's own
 * rate limit and an unknown provider are rejects too: no row, no call. */
START_TEST(validation_rate_limit_and_unknown_provider_write_no_row)
{
	struct reply r;
	char v[16];

	gw_start(&answer_chat, 1, "\"rateLimit\":{\"seconds\":60}", 0);
	serve("POST", "/v1/messages", "{\"max_tokens\":5,\"messages\":[]}", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "message"),
	    "model: must be a non-empty string");
	reply_free(&r);
	messages("nope/gpt-4o", 0, &r);
	assert_anthropic_error(&r, 404, "invalid_request_error",
	    "Provider 'nope' not found or disabled");
	reply_free(&r);
	/* the chat and Responses aliases and the Responses route (1.14.7) */
	serve("POST", "/v1/chat/completions", "{\"model\":\"nope/m\","
	    "\"messages\":[]}", &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "message"),
	    "Provider 'nope' does not support the /v1/chat/completions endpoint");
	reply_free(&r);
	serve("POST", "/nope/v1/responses", "{\"model\":\"m\",\"input\":\"x\"}",
	    &r);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "message"),
	    "Provider 'nope' does not support the /v1/responses endpoint");
	reply_free(&r);
	assert_calls("");
	assert_rows("");
	/* the first model call takes the slot and writes its row ... */
	messages("gpt-4o", 0, &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	/* ... the next one inside the gap is refused without one */
	messages("gpt-4o", 0, &r);
	assert_anthropic_error(&r, 429, "rate_limit_error",
	    "Rate limit exceeded");
	ck_assert_ptr_nonnull(reply_header(&r, "Retry-After", v, sizeof(v)));
	ck_assert_int_gt(strtol(v, NULL, 10), 0);
	reply_free(&r);
	assert_calls(LINE_CHAT);
	assert_rows("200 chat_completions gpt-4o octocat stream=0 in=4 out=1 -\n");
}
END_TEST

START_TEST(upstream_failure_writes_one_row)
{
	static const struct mock_response s[] = { { .status = 500,
		.headers = JSON_HDR,
		.pieces = { { 0, "{\"error\":{\"message\":\"boom\"}}" } } } };
	struct reply r;

	gw_start(s, 1, NULL, 0);
	messages("gpt-4o", 0, &r);
	assert_calls(LINE_CHAT);
	assert_anthropic_error(&r, 500, "api_error", "boom");
	assert_rows("500 chat_completions gpt-4o octocat stream=0 in=0 out=0 boom\n");
	reply_free(&r);
}
END_TEST

/* ---- d. gateway failures and upstream errors as HTTP statuses ---- */

START_TEST(unreachable_upstream_is_502)
{
	struct reply r;

	gw_start(&answer_chat, 1, NULL, mock_closed_port());
	messages("gpt-4o", 0, &r);
	ck_assert_msg(r.status == 502, "%d %s", r.status, r.body);
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "type"), "api_error");
	assert_calls("");
	assert_one_row("502 chat_completions gpt-4o octocat stream=0 in=0 out=0 ",
	    "\n");
	reply_free(&r);
}
END_TEST

START_TEST(stalled_upstream_is_504)
{
	static const struct mock_response s[] = { { .header_delay_ms = 5000,
		.pieces = { { 0, "{}" } } } };
	struct reply r;
	int64_t t0;

	gw_start(s, 1, "\"timeouts\":{\"stallSeconds\":1}", 0);
	t0 = util_mono_ms();
	messages("gpt-4o", 0, &r);
	ck_assert_int_lt(util_mono_ms() - t0, 4000);
	assert_anthropic_error(&r, 504, "timeout_error", "");
	assert_calls(LINE_CHAT);
	assert_one_row("504 chat_completions gpt-4o octocat stream=0 in=0 out=0 ",
	    "\n");
	reply_free(&r);
}
END_TEST

/* A stream that stalls after it started: the client already has its 200,
 * so the failure is an error event, and the row says 504. */
START_TEST(stalled_stream_ends_with_an_error_event)
{
	static const struct mock_response s[] = { { .headers = SSE_HDR,
		.chunked = 1, .end = MOCK_END_HOLD, .pieces = {
		{ 0, CHUNK("{\"role\":\"assistant\",\"content\":\"Hel\"}", "") },
	} } };
	struct buf names = BUF_INIT;
	struct reply r;

	gw_start(s, 1, "\"timeouts\":{\"stallSeconds\":1,\"pingSeconds\":60}", 0);
	messages("gpt-4o", 1, &r);
	ck_assert_int_eq(r.status, 200);
	sse_event_names(r.body, &names);
	ck_assert_str_eq(names.data, "message_start content_block_start "
	    "content_block_delta error");
	ck_assert_str_eq(strstr(r.body, "event: error\n"), "event: error\n"
	    "data: {\"type\":\"error\",\"error\":{\"type\":\"timeout_error\","
	    "\"message\":\"upstream sent nothing for 1 s\"}}\n\n");
	assert_one_row("504 chat_completions gpt-4o octocat stream=1 ", "\n");
	buf_free(&names);
	reply_free(&r);
}
END_TEST

START_TEST(rate_limit_passes_retry_after)
{
	static const struct mock_response s[] = { { .status = 429,
		.headers = JSON_HDR "Retry-After: 7\r\nx-ratelimit-remaining: 0\r\n",
		.pieces = { { 0, "{\"error\":{\"message\":\"slow down\","
		    "\"type\":\"rate_limit\"}}" } } } };
	struct reply r;
	char v[32];

	gw_start(s, 1, NULL, 0);
	messages("gpt-4o", 0, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(reply_header(&r, "Retry-After", v, sizeof(v)), "7");
	ck_assert_str_eq(reply_header(&r, "x-ratelimit-remaining", v,
	    sizeof(v)), "0");
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "message"),
	    "slow down");
	assert_calls(LINE_CHAT);     /* never retried */
	assert_rows("429 chat_completions gpt-4o octocat stream=0 in=0 out=0 "
	    "slow down\n");
	reply_free(&r);
}
END_TEST

START_TEST(upstream_5xx_is_passed_through)
{
	static const struct mock_response s[] = { { .status = 503,
		.pieces = { { 0, "service unavailable" } } } };
	struct reply r;

	gw_start(s, 1, NULL, 0);
	messages("gpt-4o", 0, &r);
	assert_anthropic_error(&r, 503, "api_error", "service unavailable");
	assert_calls(LINE_CHAT);
	assert_rows("503 chat_completions gpt-4o octocat stream=0 in=0 out=0 "
	    "service unavailable\n");
	reply_free(&r);
}
END_TEST

START_TEST(body_too_large_is_413)
{
	struct buf b = BUF_INIT;
	struct reply r;

	gw_start(&answer_chat, 1, "\"limits\":{\"maxBodyBytes\":1024}", 0);
	ck_assert_int_eq(buf_puts(&b,
	    "{\"model\":\"gpt-4o\",\"max_tokens\":10,\"messages\":"
	    "[{\"role\":\"user\",\"content\":\""), GW_OK);
	while (b.len < 2000)
		ck_assert_int_eq(buf_puts(&b, "xxxxxxxxxxxxxxxx"), GW_OK);
	ck_assert_int_eq(buf_puts(&b, "\"}]}"), GW_OK);
	serve("POST", "/v1/messages", b.data, &r);
	ck_assert_int_eq(r.status, 413);
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "message"),
	    "Request body too large: limit is 1024 bytes");
	assert_calls("");
	assert_rows("");
	buf_free(&b);
	reply_free(&r);
}
END_TEST

/* issue 12: the 413 comes in the dialect of the path it was sent to */
START_TEST(body_too_large_in_the_paths_dialect)
{
	const char *paths[] = { "/v1/messages", "/acme/v1/messages/count_tokens",
	    "/v1/chat/completions", "/v1/nowhere" };
	struct buf b = BUF_INIT;
	struct reply r;
	size_t i;

	gw_start(&answer_chat, 1, "\"limits\":{\"maxBodyBytes\":1024}", 0);
	while (b.len < 2000)
		ck_assert_int_eq(buf_puts(&b, "xxxxxxxxxxxxxxxx"), GW_OK);
	for (i = 0; i < ARRAY_LEN(paths); i++) {
		serve("POST", paths[i], b.data, &r);
		ck_assert_int_eq(r.status, 413);
		ck_assert_str_eq(json_str(json_obj(r.json, "error"), "type"),
		    "request_too_large");
		if (i < 2)
			ck_assert_str_eq(json_str(r.json, "type"), "error");
		else
			ck_assert_ptr_null(json_obj(r.json, "type"));
		reply_free(&r);
	}
	buf_free(&b);
}
END_TEST

/* issue 12: U+0000 in any string of any route's body, raw or escaped, is
 * a 400 in the route's dialect: cJSON would cut the string there. */
static const struct {
	const char *path;
	const char *body;
	int anthropic;
} nul_routes[] = {
	{ "/v1/chat/completions", "{\"model\":\"gpt-4o\",\"user\":\"u\","
	  "\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":"
	  "\"user\",\"name\":\"n\",\"content\":[{\"type\":\"text\",\"text\":"
	  "\"hi\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:x\"}}]},"
	  "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
	  "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	  "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}],"
	  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
	  "\"description\":\"d\",\"parameters\":{\"type\":\"object\"}}}],"
	  "\"tool_choice\":\"auto\",\"stop\":[\"x\"]}", 0 },
	{ "/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":"
	  "\"user\",\"content\":\"hi\"}]}", 0 },
	{ "/v1/embeddings", "{\"model\":\"e\",\"input\":[\"a\",\"b\"],"
	  "\"encoding_format\":\"float\"}", 0 },
	{ "/embeddings", "{\"model\":\"e\",\"input\":\"a\"}", 0 },
	{ "/v1/responses", "{\"model\":\"gpt-5\",\"instructions\":\"i\","
	  "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\","
	  "\"text\":\"hi\"}]},{\"type\":\"function_call_output\",\"call_id\":"
	  "\"c\",\"output\":\"o\"}],\"tools\":[{\"type\":\"function\",\"name\":"
	  "\"f\",\"description\":\"d\"}],\"previous_response_id\":\"p\"}", 0 },
	{ "/responses", "{\"model\":\"gpt-5\",\"input\":\"hi\"}", 0 },
	{ "/v1/messages", "{\"model\":\"claude-sonnet-4\",\"max_tokens\":5,"
	  "\"system\":[{\"type\":\"text\",\"text\":\"s\"}],\"metadata\":"
	  "{\"user_id\":\"u\"},\"messages\":[{\"role\":\"user\",\"content\":"
	  "[{\"type\":\"text\",\"text\":\"hi\"},{\"type\":\"image\",\"source\":"
	  "{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"AA==\"}}]},"
	  "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	  "\"thinking\":\"t\",\"signature\":\"g\"},{\"type\":\"tool_use\",\"id\":"
	  "\"t\",\"name\":\"f\",\"input\":{\"q\":\"v\"}}]},{\"role\":\"user\","
	  "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\","
	  "\"content\":\"r\"}]}],\"tools\":[{\"name\":\"f\",\"description\":\"d\","
	  "\"input_schema\":{\"type\":\"object\"}}],\"tool_choice\":{\"type\":"
	  "\"tool\",\"name\":\"f\"},\"stop_sequences\":[\"x\"]}", 1 },
	{ "/v1/messages/count_tokens", "{\"model\":\"claude-sonnet-4\",\"system\":"
	  "\"s\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 1 },
	{ "/acme/v1/messages", "{\"model\":\"m\",\"max_tokens\":5,\"messages\":"
	  "[{\"role\":\"user\",\"content\":\"hi\"}]}", 1 },
	{ "/acme/v1/messages/count_tokens", "{\"model\":\"m\",\"messages\":"
	  "[{\"role\":\"user\",\"content\":\"hi\"}]}", 1 },
};

/* Every string node (value and member name) of v, in tree order. */
static void
collect_strings(cJSON *v, cJSON **out, size_t *n, size_t cap)
{
	cJSON *c;

	if (v->string != NULL || cJSON_IsString(v))
		ck_assert_uint_lt(*n, cap);
	if (v->string != NULL || cJSON_IsString(v))
		out[(*n)++] = v;
	for (c = v->child; c != NULL; c = c->next)
		collect_strings(c, out, n, cap);
}

/* The body with node k's value (name when name is set) replaced by nul. */
static void
body_with(const char *tmpl, size_t k, int name, const char *nul, size_t nlen,
    struct buf *out)
{
	cJSON *doc = cJSON_Parse(tmpl), *nodes[128];
	size_t n = 0;
	char *s, *at;

	ck_assert_ptr_nonnull(doc);
	collect_strings(doc, nodes, &n, ARRAY_LEN(nodes));
	ck_assert_uint_lt(k, n);
	if (name) {
		free(nodes[k]->string);
		nodes[k]->string = strdup("@NUL@");
	} else {
		ck_assert_ptr_nonnull(cJSON_SetValuestring(nodes[k], "@NUL@"));
	}
	s = cJSON_PrintUnformatted(doc);
	ck_assert_ptr_nonnull(at = strstr(s, "@NUL@"));
	buf_reset(out);
	ck_assert_int_eq(buf_append(out, s, (size_t)(at - s)), GW_OK);
	ck_assert_int_eq(buf_append(out, nul, nlen), GW_OK);
	ck_assert_int_eq(buf_puts(out, at + 5), GW_OK);
	free(s);
	cJSON_Delete(doc);
}

START_TEST(nul_in_any_string_is_400)
{
	static const struct {
		const char *text;
		size_t len;
		const char *says;
	} nuls[] = {
		{ "h\\u0000i", 8, "Unsupported \\u0000 (U+0000)" },
		{ "h\0i", 3, "a raw NUL byte" },
	};
	struct buf b = BUF_INIT;
	struct reply r;
	cJSON *doc, *nodes[128];
	size_t i, k, j, n, sent = 0;
	int name;

	gw_start(&answer_chat, 1, NULL, 0);
	for (i = 0; i < ARRAY_LEN(nul_routes); i++) {
		doc = cJSON_Parse(nul_routes[i].body);
		n = 0;
		collect_strings(doc, nodes, &n, ARRAY_LEN(nodes));
		for (k = 0; k < n; k++)
		for (name = 0; name < 2; name++)
		for (j = 0; j < ARRAY_LEN(nuls); j++) {
			if ((name && nodes[k]->string == NULL) ||
			    (!name && !cJSON_IsString(nodes[k])))
				continue;
			body_with(nul_routes[i].body, k, name, nuls[j].text,
			    nuls[j].len, &b);
			serve_len("POST", nul_routes[i].path, b.data, b.len,
			    "Bearer " API_KEY, NULL, &r);
			ck_assert_msg(r.status == 400, "%s %zu/%d: %d %s",
			    nul_routes[i].path, k, name, r.status, r.body);
			ck_assert_str_eq(json_str(json_obj(r.json, "error"), "type"),
			    "invalid_request_error");
			ck_assert_ptr_nonnull(strstr(json_str(json_obj(r.json,
			    "error"), "message"), nuls[j].says));
			if (nul_routes[i].anthropic)
				ck_assert_str_eq(json_str(r.json, "type"), "error");
			else
				ck_assert_ptr_null(json_obj(r.json, "type"));
			reply_free(&r);
			sent++;
		}
		cJSON_Delete(doc);
	}
	ck_assert_uint_gt(sent, 150);
	assert_calls("");
	assert_rows("");
	buf_free(&b);
}
END_TEST

/* ---- issue 9: GitHub headers, usage rows by flow, [1m] ids ---- */

/* GET /usage calls copilot_internal/user with the headers the reference
 * sends there (observed: authorization, user-agent, x-github-api-version
 * 2025-04-01, x-vscode-user-agent-library-version; no editor ids, no
 * Accept of its own). */
START_TEST(usage_sends_the_reference_github_headers)
{
	static const struct mock_response s[] = { { .headers = JSON_HDR,
		.pieces = { { 0, "{\"login\":\"octocat\",\"copilot_plan\":"
		"\"individual\"}" } } } };
	struct reply r;
	char *req;

	gw_start(s, 1, NULL, 0);
	serve("GET", "/usage", NULL, &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_str_eq(json_str(r.json, "login"), "octocat");
	assert_calls("GET /copilot_internal/user HTTP/1.1\n");
	req = mock_last_request(g.m);
	ck_assert_ptr_nonnull(strcasestr(req, "\r\nauthorization: token gho_routes\r\n"));
	ck_assert_ptr_nonnull(strcasestr(req, "\r\nuser-agent: GitHubCopilotChat/"));
	ck_assert_ptr_nonnull(strcasestr(req, "\r\nx-github-api-version: 2025-04-01\r\n"));
	ck_assert_ptr_nonnull(strcasestr(req,
	    "\r\nx-vscode-user-agent-library-version: electron-fetch\r\n"));
	ck_assert_ptr_null(strcasestr(req, "\r\neditor-version:"));
	ck_assert_ptr_null(strcasestr(req, "\r\neditor-plugin-version:"));
	ck_assert_ptr_null(strcasestr(req, "\r\naccept: application/json"));
	free(req);
	reply_free(&r);
}
END_TEST

/* Found by fuzz_gateway: a 2xx from GitHub that is not JSON was relayed
 * as a 200 application/json; it is a 502 that says why. */
START_TEST(usage_garbage_from_github_is_502)
{
	static const struct mock_response s[] = { { .headers = JSON_HDR,
		.pieces = { { 0, "{\"copilot_plan\":\"individual\",\"x:\"1}" } } } };
	struct reply r;

	gw_start(s, 1, NULL, 0);
	serve("GET", "/usage", NULL, &r);
	ck_assert_msg(r.status == 502, "%d %s", r.status, r.body);
	ck_assert_ptr_nonnull(r.json);
	ck_assert_ptr_nonnull(strstr(r.body, "not JSON"));
	reply_free(&r);
}
END_TEST

/* A request with the affinity header: its session id comes first. */
static void
messages_affinity(const char *model, struct reply *out)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"model\":\"%s\",\"max_tokens\":100,"
	    "\"metadata\":{\"user_id\":\"user_abc_account__session_"
	    "11111111-2222-3333-4444-555555555555\"},"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", model);
	serve_env("POST", "/v1/messages", body, "Bearer " API_KEY,
	    "HTTP_X_SESSION_AFFINITY=aff-1", out);
}

static char *
row_field(const char *col)
{
	struct db_stmt *st;
	struct buf sql = BUF_INIT, out = BUF_INIT;

	ck_assert_int_eq(buf_printf(&sql, "SELECT %s FROM token_usage_events "
	    "ORDER BY id", col), GW_OK);
	ck_assert_int_eq(db_prepare(g.w.db, sql.data, &st), GW_OK);
	while (db_step(st) == GW_OK)
		ck_assert_int_eq(buf_printf(&out, "%s\n",
		    db_column_text(st, 0)), GW_OK);
	db_done(g.w.db, st);
	buf_free(&sql);
	return buf_detach(&out);
}

/* The reference records the flow that served /v1/messages (chat_completions,
 * responses or messages) and takes x-session-affinity first for the
 * session id. */
START_TEST(messages_rows_name_the_flow_and_affinity_session)
{
	static const struct mock_response s[] = {
		{ .headers = JSON_HDR, .pieces = { { 0, native_answer } } },
		{ .headers = JSON_HDR, .pieces = { { 0, responses_answer } } },
		{ .headers = JSON_HDR, .pieces = { { 0, chat_answer } } },
	};
	struct reply r;
	char *got;

	gw_start(s, 3, NULL, 0);
	messages_affinity("claude-sonnet-4", &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	messages_affinity("gpt-5", &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	messages_affinity("gpt-4o", &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	assert_rows("200 messages claude-sonnet-4 octocat stream=0 in=5 out=2 -\n"
	    "200 responses gpt-5 octocat stream=0 in=7 out=3 -\n"
	    "200 chat_completions gpt-4o octocat stream=0 in=4 out=1 -\n");
	got = row_field("session_id");
	ck_assert_str_eq(got, "aff-1\naff-1\naff-1\n");
	free(got);
}
END_TEST

/* The model list of the [1m] tests: one 1M-context model, one not. */
static const char models_1m_json[] = "["
    "{\"id\":\"claude-opus-4.7\",\"vendor\":\"Anthropic\","
    "\"capabilities\":{\"type\":\"chat\",\"family\":\"claude-opus-4.7\","
    "\"limits\":{\"max_context_window_tokens\":1000000,"
    "\"max_output_tokens\":64000},\"supports\":{\"streaming\":true}},"
    "\"supported_endpoints\":[\"/chat/completions\",\"/v1/messages\"]},"
    "{\"id\":\"claude-sonnet-4\",\"vendor\":\"Anthropic\","
    "\"capabilities\":{\"type\":\"chat\",\"family\":\"claude-sonnet-4\","
    "\"limits\":{\"max_context_window_tokens\":200000,"
    "\"max_output_tokens\":16000},\"supports\":{\"streaming\":true}},"
    "\"supported_endpoints\":[\"/chat/completions\",\"/v1/messages\"]}"
    "]";

/* "[1m]" names the base model only when its context window is 1M tokens;
 * otherwise a 400 that says why, in the client's dialect, and no call. */
START_TEST(one_m_suffix_needs_a_one_m_window)
{
	static const struct mock_response s[] = { { .headers = JSON_HDR,
		.pieces = { { 0, native_answer } } } };
	struct reply r;
	char *req;

	gw_start(s, 1, NULL, 0);
	ck_assert_int_eq(db_models_put(g.w.db, models_1m_json, util_now_ms()),
	    GW_OK);
	messages("claude-opus-4.7[1m]", 0, &r);
	ck_assert_int_eq(r.status, 200);
	assert_calls(LINE_MESSAGES);
	req = mock_last_request(g.m);
	ck_assert_ptr_nonnull(strstr(req, "\"model\":\"claude-opus-4.7\""));
	free(req);
	reply_free(&r);

	messages("claude-sonnet-4[1m]", 0, &r);
	assert_anthropic_error(&r, 400, "invalid_request_error",
	    "1M-token context window");
	ck_assert_msg(strstr(json_str(json_obj(r.json, "error"), "message"),
	    "200000") != NULL, "%s", r.body);
	assert_calls(LINE_MESSAGES);          /* no second call */
	reply_free(&r);

	/* count_tokens, like the reference, counts an unknown model: the
	 * refused id is one */
	serve("POST", "/v1/messages/count_tokens",
	    "{\"model\":\"claude-sonnet-4[1m]\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"Hi\"}]}", &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	ck_assert_int_gt(json_long(r.json, "input_tokens", 0), 0);
	reply_free(&r);
	assert_calls(LINE_MESSAGES);
}
END_TEST

/* /token-usage/events reads page and page_size as parseInt does ("10abc"
 * is 10, " 7" is 7), positive or the default, page_size at most 100. */
START_TEST(token_usage_query_reads_like_parse_int)
{
	static const struct { const char *q; long page, size; } cases[] = {
		{ "page_size=10abc", 1, 10 },
		{ "page_size=500", 1, 100 },
		{ "page_size=0", 1, 20 },
		{ "page_size=-3", 1, 20 },
		{ "page_size=abc", 1, 20 },
		{ "page_size=", 1, 20 },
		{ "page_size=%207", 1, 7 },
		{ "page_size=+5&page=2x", 2, 5 },
		{ "page=0&page_size=1e3", 1, 1 },
	};
	struct buf uri = BUF_INIT;
	struct reply r;
	size_t i;

	gw_start(&answer_chat, 1, NULL, 0);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		buf_reset(&uri);
		ck_assert_int_eq(buf_printf(&uri, "/token-usage/events?%s",
		    cases[i].q), GW_OK);
		serve("GET", uri.data, NULL, &r);
		ck_assert_msg(r.status == 200, "%s: %d", cases[i].q, r.status);
		ck_assert_msg(json_long(r.json, "page", -1) == cases[i].page &&
		    json_long(r.json, "page_size", -1) == cases[i].size,
		    "%s: %s", cases[i].q, r.body);
		reply_free(&r);
	}
	buf_free(&uri);
}
END_TEST

/* ---- health, readiness, metrics ---- */

/* A string member, "" when absent. */
static const char *
jstr(const cJSON *obj, const char *key)
{
	const char *v = json_str(obj, key);

	return v != NULL ? v : "";
}

START_TEST(healthz_answers_without_a_key)
{
	struct reply r;

	gw_start(&answer_chat, 1, NULL, 0);
	serve_key("GET", "/healthz", NULL, "", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	reply_free(&r);
	assert_calls("");
}
END_TEST

/* Token valid and model list cached: ready, with no upstream call. */
START_TEST(readyz_ready_says_what_is_ready)
{
	struct reply r;

	gw_start(&answer_chat, 1, NULL, 0);
	serve_key("GET", "/readyz", NULL, "", &r);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_str_eq(jstr(r.json, "status"), "ready");
	ck_assert_int_eq(json_long(cJSON_GetObjectItem(r.json, "models"),
	    "count", -1), 3);
	ck_assert_int_gt(json_long(cJSON_GetObjectItem(r.json,
	    "copilot_token"), "expires_at", -1), util_now_ms() / 1000);
	/* nothing else in flight while a GET with no body is served */
	ck_assert_int_eq(json_long(r.json, "body_bytes_in_flight", -1), 0);
	reply_free(&r);
	assert_calls("");
}
END_TEST

static void
expire_token(void)
{
	struct db_copilot_token t;

	memset(&t, 0, sizeof(t));
	t.token = GOOD_TOKEN;
	t.fetched_at = util_now_ms() / 1000 - 3600;
	t.expires_at = t.fetched_at + 1800;
	t.refresh_in = 1500;
	ck_assert_int_eq(db_copilot_token_put(g.w.db, &t), GW_OK);
}

/* The token is expired and GitHub refuses a new one: 503 with why. */
START_TEST(readyz_without_a_token_is_503)
{
	struct reply r;

	gw_start(&answer_401, 1, NULL, 0);
	expire_token();
	serve_key("GET", "/readyz", NULL, "", &r);
	ck_assert_msg(r.status == 503, "%s", r.body);
	ck_assert_str_eq(jstr(r.json, "status"), "not ready");
	ck_assert_msg(strncmp(jstr(r.json, "reason"),
	    "Copilot token: ", 15) == 0, "%s", r.body);
	reply_free(&r);
	assert_calls(LINE_TOKEN);
}
END_TEST

/* A valid token but no model list, and Copilot fails to give one. */
START_TEST(readyz_without_models_is_503_then_ready)
{
	static const struct mock_response script[] = {
		{ .status = 500, .headers = JSON_HDR,
		  .pieces = { { 0, "{\"error\":\"down\"}" } } },
		{ .headers = JSON_HDR, .pieces = { { 0, "{\"data\":[{\"id\":"
		    "\"gpt-4o\",\"model_picker_enabled\":true,\"capabilities\":"
		    "{\"type\":\"chat\"}}]}" } } },
	};
	struct db_stmt *st;
	struct reply r;

	gw_start(script, ARRAY_LEN(script), NULL, 0);
	ck_assert_int_eq(db_prepare(g.w.db, "DELETE FROM models_cache", &st),
	    GW_OK);
	ck_assert_int_eq(db_step(st), GW_ENOTFOUND);
	db_done(g.w.db, st);
	serve_key("GET", "/readyz", NULL, "", &r);
	ck_assert_msg(r.status == 503, "%s", r.body);
	ck_assert_str_eq(jstr(r.json, "status"), "not ready");
	ck_assert_msg(strncmp(jstr(r.json, "reason"), "model list: ",
	    12) == 0, "%s", r.body);
	reply_free(&r);
	serve_key("GET", "/readyz", NULL, "", &r);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_int_eq(json_long(cJSON_GetObjectItem(r.json, "models"),
	    "count", -1), 1);
	reply_free(&r);
}
END_TEST

/* /metrics takes only the admin key, and counts what was served. */
START_TEST(metrics_needs_the_admin_key)
{
	struct reply r;
	char ct[128];

	gw_start(&answer_chat, 1, NULL, 0);
	serve_key("GET", "/metrics", NULL, "", &r);
	ck_assert_int_eq(r.status, 401);
	reply_free(&r);
	serve("GET", "/metrics", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	reply_free(&r);
	serve("POST", "/v1/chat/completions", "{\"model\":\"gpt-4o\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	serve_key("GET", "/metrics", NULL, "Bearer " ADMIN_KEY, &r);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_str_eq(reply_header(&r, "Content-Type", ct, sizeof(ct)),
	    "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_msg(strstr(r.body, "copilot_api_requests_total{route=\"none\","
	    "status=\"401\",model=\"\"} 2\n") != NULL, "%s", r.body);
	ck_assert_msg(strstr(r.body, "copilot_api_requests_total{route=\"/v1/"
	    "chat/completions\",status=\"200\",model=\"gpt-4o\"} 1\n") != NULL,
	    "%s", r.body);
	ck_assert_ptr_nonnull(strstr(r.body,
	    "copilot_api_upstream_duration_seconds_count 1\n"));
	reply_free(&r);
}
END_TEST

START_TEST(metrics_public_needs_no_key)
{
	struct reply r;

	gw_start(&answer_chat, 1, "\"metrics\":{\"public\":true}", 0);
	serve_key("GET", "/metrics", NULL, "", &r);
	ck_assert_msg(r.status == 200, "%s", r.body);
	ck_assert_ptr_nonnull(strstr(r.body,
	    "# TYPE copilot_api_requests_total counter\n"));
	reply_free(&r);
	/* the admin routes stay closed */
	serve_key("GET", "/token", NULL, "", &r);
	ck_assert_int_eq(r.status, 401);
	reply_free(&r);
}
END_TEST

/* A process that could not map the file says so instead of an empty set. */
START_TEST(metrics_unavailable_is_503)
{
	struct reply r;

	gw_start(&answer_chat, 1, NULL, 0);
	metrics_close();
	serve_key("GET", "/metrics", NULL, "Bearer " ADMIN_KEY, &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(strstr(jstr(cJSON_GetObjectItem(r.json,
	    "error"), "message"), "metrics are unavailable"));
	reply_free(&r);
}
END_TEST

/* ---- manual approval ---- */

/* A request served on its own thread while the test decides it. */
struct held {
	const char *uri;
	const char *body;
	struct reply r;
	pthread_t t;
};

static void *
held_run(void *arg)
{
	struct held *h = arg;

	serve("POST", h->uri, h->body, &h->r);
	return NULL;
}

static void
held_start(struct held *h, const char *uri, const char *body)
{
	memset(h, 0, sizeof(*h));
	h->uri = uri;
	h->body = body;
	ck_assert_int_eq(pthread_create(&h->t, NULL, held_run, h), 0);
}

/* Waits (through GET /admin/approvals on w) for one pending request and
 * returns its listing entry (the caller's). */
static cJSON *
pending_one(struct worker *w)
{
	struct reply r;
	cJSON *e = NULL;
	int i;

	for (i = 0; i < 100 && e == NULL; i++) {
		serve_on(w, "GET", "/admin/approvals", NULL, "Bearer " ADMIN_KEY,
		    NULL, &r);
		ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
		if (cJSON_GetArraySize(json_arr(r.json, "data")) == 1)
			e = cJSON_DetachItemFromArray(json_arr(r.json, "data"), 0);
		reply_free(&r);
		if (e == NULL)
			util_sleep_ms(50);
	}
	ck_assert_msg(e != NULL, "no pending request appeared");
	return e;
}

static void
decide(struct worker *w, const char *id, const char *body, int want)
{
	struct buf uri = BUF_INIT;
	struct reply r;

	ck_assert_int_eq(buf_printf(&uri, "/admin/approvals/%s", id), GW_OK);
	serve_on(w, "POST", uri.data, body, "Bearer " ADMIN_KEY, NULL, &r);
	ck_assert_msg(r.status == want, "%d %s", r.status, r.body);
	reply_free(&r);
	buf_free(&uri);
}

static void
second_worker(struct worker *w)
{
	struct buf err = BUF_INIT;

	memset(w, 0, sizeof(*w));
	ck_assert_msg(worker_init(w, &g.app, &err) == GW_OK, "%s",
	    buf_cstr(&err));
	buf_free(&err);
}

/* A held request proceeds once another worker approves it; the listing
 * shows what it is. */
START_TEST(approved_request_proceeds)
{
	struct worker w2;
	struct held h;
	cJSON *e;

	gw_start(&answer_chat, 1, "\"manualApproval\":true", 0);
	second_worker(&w2);
	held_start(&h, "/v1/messages", "{\"model\":\"gpt-4o\",\"max_tokens\":9,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"first\"},"
	    "{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"  please   summarise "
	    "one two three four five six seven eight nine ten eleven\"}]}]}");
	e = pending_one(&w2);
	assert_calls("");
	ck_assert_str_eq(json_str(e, "route"), "/v1/messages");
	ck_assert_str_eq(json_str(e, "model"), "gpt-4o");
	ck_assert_str_eq(json_str(e, "preview"), "please summarise one two three "
	    "four five six seven eight nine ten");
	ck_assert_int_ge(json_long(e, "age_seconds", -1), 0);
	decide(&w2, json_str(e, "id"), "{\"approve\":\"yes\"}", 400);
	decide(&w2, json_str(e, "id"), "{\"approve\":true}", 200);
	decide(&w2, json_str(e, "id"), "{\"approve\":false}", 404);
	ck_assert_int_eq(pthread_join(h.t, NULL), 0);
	ck_assert_msg(h.r.status == 200, "%d %s", h.r.status, h.r.body);
	assert_calls(LINE_CHAT);
	assert_one_row("200 chat_completions gpt-4o", "-\n");
	/* the entry went with its request */
	reply_free(&h.r);
	serve_on(&w2, "GET", "/admin/approvals", NULL, "Bearer " ADMIN_KEY, NULL,
	    &h.r);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(h.r.json, "data")), 0);
	reply_free(&h.r);
	cJSON_Delete(e);
	worker_free(&w2);
}
END_TEST

/* A rejection is a 403 in each dialect, before any upstream work: no
 * call, no row. */
START_TEST(rejected_request_is_403_per_dialect)
{
	struct worker w2;
	struct held h;
	cJSON *e;

	gw_start(&answer_chat, 1, NULL, 0);
	ck_assert_int_eq(setenv("COPILOT_API_MANUAL_APPROVAL", "1", 1), 0);
	second_worker(&w2);
	held_start(&h, "/v1/messages", "{\"model\":\"gpt-4o\",\"max_tokens\":9,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
	e = pending_one(&w2);
	decide(&w2, json_str(e, "id"), "{\"approve\":false}", 200);
	ck_assert_int_eq(pthread_join(h.t, NULL), 0);
	assert_anthropic_error(&h.r, 403, "permission_error", "Request rejected");
	reply_free(&h.r);
	cJSON_Delete(e);
	held_start(&h, "/v1/chat/completions", "{\"model\":\"gpt-4o\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi there\"}]}");
	e = pending_one(&w2);
	ck_assert_str_eq(json_str(e, "preview"), "Hi there");
	decide(&w2, json_str(e, "id"), "{\"approve\":false}", 200);
	ck_assert_int_eq(pthread_join(h.t, NULL), 0);
	ck_assert_int_eq(h.r.status, 403);
	ck_assert_ptr_null(json_str(h.r.json, "type"));
	ck_assert_str_eq(json_str(json_obj(h.r.json, "error"), "type"),
	    "permission_error");
	ck_assert_str_eq(json_str(json_obj(h.r.json, "error"), "message"),
	    "Request rejected");
	reply_free(&h.r);
	cJSON_Delete(e);
	assert_calls("");
	assert_rows("");
	worker_free(&w2);
}
END_TEST

/* Nobody decides: 403 after the timeout, the entry removed, no row; the
 * admin routes want the admin key. */
START_TEST(undecided_request_times_out)
{
	struct reply r;
	int64_t t0;

	gw_start(&answer_chat, 1, "\"manualApproval\":true,"
	    "\"manualApprovalTimeoutSeconds\":1", 0);
	t0 = util_mono_ms();
	serve("POST", "/v1/responses", "{\"model\":\"gpt-4o\",\"input\":\"Hi\"}",
	    &r);
	ck_assert_int_ge(util_mono_ms() - t0, 1000);
	ck_assert_msg(r.status == 403, "%d %s", r.status, r.body);
	ck_assert_str_eq(json_str(json_obj(r.json, "error"), "message"),
	    "Request rejected: not approved within 1 seconds");
	reply_free(&r);
	serve_key("GET", "/admin/approvals", NULL, "Bearer " ADMIN_KEY, &r);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(r.json, "data")), 0);
	reply_free(&r);
	serve("GET", "/admin/approvals", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	reply_free(&r);
	serve_key("POST", "/admin/approvals/nope", "{\"approve\":true}",
	    "Bearer " ADMIN_KEY, &r);
	ck_assert_int_eq(r.status, 404);
	reply_free(&r);
	assert_calls("");
	assert_rows("");
}
END_TEST

/* The client hangs up while it waits: the entry goes, nothing is written,
 * no row (the transport's hangup is what the FastCGI socket's poll is in
 * the gateway). */
struct gone_ctx {
	struct http_mem_io mio;
	struct http_io io;
	pthread_t t;
};

static void *
gone_run(void *arg)
{
	struct gone_ctx *gc = arg;
	struct http_server_opts o;

	memset(&o, 0, sizeof(o));
	o.handle = routes_handle;
	o.limits.max_body = (size_t)g.app.cfg->max_body_bytes;
	http_server_serve(&o, &g.w, &gc->io);
	return NULL;
}

START_TEST(client_that_hangs_up_frees_its_entry)
{
	static const char body[] = "{\"model\":\"gpt-4o\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"bye\"}]}";
	char cl[64];
	char *env[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/v1/chat/completions",
		"CONTENT_TYPE=application/json", cl,
		"HTTP_AUTHORIZATION=Bearer " API_KEY, NULL };
	struct gone_ctx gc;
	struct worker w2;
	struct reply r;
	cJSON *e;

	gw_start(&answer_chat, 1, "\"manualApproval\":true", 0);
	second_worker(&w2);
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", strlen(body));
	http_mem_io_init(&gc.mio, body, strlen(body), env);
	http_io_mem(&gc.io, &gc.mio);
	ck_assert_int_eq(pthread_create(&gc.t, NULL, gone_run, &gc), 0);
	e = pending_one(&w2);
	gc.mio.hung_up = 1;
	ck_assert_int_eq(pthread_join(gc.t, NULL), 0);
	ck_assert_uint_eq(gc.mio.out.len, 0);
	serve_on(&w2, "GET", "/admin/approvals", NULL, "Bearer " ADMIN_KEY, NULL,
	    &r);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(r.json, "data")), 0);
	reply_free(&r);
	decide(&w2, json_str(e, "id"), "{\"approve\":true}", 404);
	assert_calls("");
	assert_rows("");
	cJSON_Delete(e);
	http_mem_io_free(&gc.mio);
	worker_free(&w2);
}
END_TEST

static TCase *
add_case(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *
routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc;

	tc = add_case(s, "messages_flows");
	tcase_add_test(tc, claude_goes_native);
	tcase_add_test(tc, gpt_with_responses_goes_to_responses);
	tcase_add_test(tc, other_model_goes_to_chat);
	tcase_add_test(tc, chat_stream_becomes_anthropic_events);
	tcase_add_test(tc, claude_stream_is_relayed);
	tc = add_case(s, "token_retry");
	tcase_add_test(tc, unauthorized_refreshes_and_retries_once);
	tcase_add_test(tc, second_unauthorized_reaches_the_client);
	tc = add_case(s, "usage_rows");
	tcase_add_test(tc, rejects_before_upstream_write_no_row);
	tcase_add_test(tc, validation_rate_limit_and_unknown_provider_write_no_row);
	tcase_add_test(tc, upstream_failure_writes_one_row);
	tc = add_case(s, "error_status");
	tcase_add_test(tc, unreachable_upstream_is_502);
	tcase_add_test(tc, stalled_upstream_is_504);
	tcase_add_test(tc, stalled_stream_ends_with_an_error_event);
	tcase_add_test(tc, rate_limit_passes_retry_after);
	tcase_add_test(tc, upstream_5xx_is_passed_through);
	tcase_add_test(tc, body_too_large_is_413);
	tcase_add_test(tc, body_too_large_in_the_paths_dialect);
	tcase_add_test(tc, nul_in_any_string_is_400);
	tc = add_case(s, "issue9");
	tcase_add_test(tc, usage_sends_the_reference_github_headers);
	tcase_add_test(tc, usage_garbage_from_github_is_502);
	tcase_add_test(tc, messages_rows_name_the_flow_and_affinity_session);
	tcase_add_test(tc, one_m_suffix_needs_a_one_m_window);
	tcase_add_test(tc, token_usage_query_reads_like_parse_int);
	tc = add_case(s, "health");
	tcase_add_test(tc, healthz_answers_without_a_key);
	tcase_add_test(tc, readyz_ready_says_what_is_ready);
	tcase_add_test(tc, readyz_without_a_token_is_503);
	tcase_add_test(tc, readyz_without_models_is_503_then_ready);
	tcase_add_test(tc, metrics_needs_the_admin_key);
	tcase_add_test(tc, metrics_public_needs_no_key);
	tcase_add_test(tc, metrics_unavailable_is_503);
	tc = add_case(s, "manual_approval");
	tcase_add_test(tc, approved_request_proceeds);
	tcase_add_test(tc, rejected_request_is_403_per_dialect);
	tcase_add_test(tc, undecided_request_times_out);
	tcase_add_test(tc, client_that_hangs_up_frees_its_entry);
	return s;
}

int
main(void)
{
	return run_suite(routes_suite());
}

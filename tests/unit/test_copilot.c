#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strlist.c"
#include "core/util.h"
#include "upstream/copilot.c"

static struct copilot_ident
ident(int opencode)
{
	struct copilot_ident id;

	memset(&id, 0, sizeof(id));
	snprintf(id.device_id, sizeof(id.device_id), "dev-1");
	snprintf(id.machine_id, sizeof(id.machine_id), "%064d", 7);
	id.opencode = opencode;
	return id;
}

static cJSON *
parse(const char *s)
{
	cJSON *v = json_parse(s, strlen(s), NULL, NULL);

	ck_assert_ptr_nonnull(v);
	return v;
}

/* An agent turn with a JSON body. */
static struct copilot_call
agent_call(void)
{
	struct copilot_call c;

	memset(&c, 0, sizeof(c));
	c.token = "tid=abc";
	c.request_id = "req-1";
	c.interaction_id = "sess-1";
	c.initiator = "agent";
	c.json_body = 1;
	return c;
}

START_TEST(base_header_set)
{
	struct copilot_ident id = ident(0);
	struct copilot_call c = agent_call();
	struct strlist h = STRLIST_INIT;

	ck_assert_int_eq(copilot_headers(&id, &c, &h), GW_OK);
	ck_assert_str_eq(strlist_header(&h, "Authorization"), "Bearer tid=abc");
	ck_assert_str_eq(strlist_header(&h, "content-type"), "application/json");
	ck_assert_str_eq(strlist_header(&h, "copilot-integration-id"), "vscode-chat");
	ck_assert_str_eq(strlist_header(&h, "editor-device-id"), "dev-1");
	ck_assert_str_eq(strlist_header(&h, "editor-version"), "vscode/" COPILOT_VSCODE_VERSION);
	ck_assert_str_eq(strlist_header(&h, "user-agent"), COPILOT_USER_AGENT);
	ck_assert_str_eq(strlist_header(&h, "openai-intent"), "conversation-agent");
	ck_assert_str_eq(strlist_header(&h, "x-interaction-type"), "conversation-agent");
	ck_assert_str_eq(strlist_header(&h, "x-github-api-version"), COPILOT_API_VERSION);
	ck_assert_str_eq(strlist_header(&h, "x-request-id"), "req-1");
	ck_assert_str_eq(strlist_header(&h, "x-agent-task-id"), "req-1");
	ck_assert_str_eq(strlist_header(&h, "x-interaction-id"), "sess-1");
	ck_assert_str_eq(strlist_header(&h, "x-initiator"), "agent");
	ck_assert_ptr_null(strlist_header(&h, "copilot-vision-request"));
	ck_assert_uint_eq(strlen(strlist_header(&h, "vscode-machineid")), 64);
	/* uuid (36) + ms timestamp */
	ck_assert_uint_ge(strlen(strlist_header(&h, "vscode-sessionid")), 36 + 13);
	strlist_free(&h);
}
END_TEST

START_TEST(model_access_and_vision)
{
	struct copilot_ident id = ident(0);
	struct copilot_call c;
	struct strlist h = STRLIST_INIT;

	memset(&c, 0, sizeof(c));
	c.token = "t";
	c.interaction_type = "model-access";
	c.intent = "model-access";
	c.vision = 1;
	ck_assert_int_eq(copilot_headers(&id, &c, &h), GW_OK);
	ck_assert_str_eq(strlist_header(&h, "x-interaction-type"), "model-access");
	ck_assert_str_eq(strlist_header(&h, "openai-intent"), "model-access");
	ck_assert_str_eq(strlist_header(&h, "copilot-vision-request"), "true");
	ck_assert_ptr_null(strlist_header(&h, "content-type"));
	ck_assert_ptr_null(strlist_header(&h, "x-initiator"));
	ck_assert_ptr_null(strlist_header(&h, "x-interaction-id"));
	strlist_free(&h);
}
END_TEST

START_TEST(opencode_header_set)
{
	struct copilot_ident id = ident(1);
	struct copilot_call c;
	struct strlist h = STRLIST_INIT;

	memset(&c, 0, sizeof(c));
	c.token = "gho_x";
	c.initiator = "user";
	c.vision = 1;
	c.json_body = 1;
	ck_assert_int_eq(copilot_headers(&id, &c, &h), GW_OK);
	ck_assert_str_eq(strlist_header(&h, "Authorization"), "Bearer gho_x");
	ck_assert_str_eq(strlist_header(&h, "Openai-Intent"), "conversation-edits");
	ck_assert(util_has_prefix(strlist_header(&h, "User-Agent"), "opencode/"));
	ck_assert_str_eq(strlist_header(&h, "Copilot-Vision-Request"), "true");
	ck_assert_ptr_null(strlist_header(&h, "copilot-integration-id"));
	ck_assert_ptr_null(strlist_header(&h, "vscode-machineid"));
	strlist_free(&h);
}
END_TEST

START_TEST(session_id_rotates_only_when_due)
{
	struct copilot_ident id = ident(0);
	char first[64];

	copilot_ident_tick(&id);
	snprintf(first, sizeof(first), "%s", id.session_id);
	copilot_ident_tick(&id);
	ck_assert_str_eq(id.session_id, first);
	ck_assert_int_ge(id.session_expires_ms - util_now_ms(), 3600000 - 5000);
	ck_assert_int_le(id.session_expires_ms - util_now_ms(), 4800000);
	id.session_expires_ms = 0;
	copilot_ident_tick(&id);
	ck_assert_str_ne(id.session_id, first);
}
END_TEST

START_TEST(chat_initiator_by_last_role)
{
	cJSON *p;

	p = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	ck_assert_str_eq(copilot_chat_initiator(p), "user");
	cJSON_Delete(p);
	p = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
	    "{\"role\":\"assistant\",\"content\":\"x\"}]}");
	ck_assert_str_eq(copilot_chat_initiator(p), "agent");
	cJSON_Delete(p);
	p = parse("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}");
	ck_assert_str_eq(copilot_chat_initiator(p), "agent");
	cJSON_Delete(p);
	p = parse("{\"messages\":[]}");
	ck_assert_str_eq(copilot_chat_initiator(p), "user");
	cJSON_Delete(p);
}
END_TEST

START_TEST(chat_images_detected_only_in_parts)
{
	cJSON *p;

	p = parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"image_url\"}]}]}");
	ck_assert_int_eq(copilot_chat_has_images(p), 0);
	cJSON_Delete(p);
	p = parse("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"data:x\"}}]}]}");
	ck_assert_int_eq(copilot_chat_has_images(p), 1);
	cJSON_Delete(p);
}
END_TEST

START_TEST(request_id_is_deterministic_hash)
{
	cJSON *m = parse("[{\"role\":\"user\",\"content\":\"hello\"},"
	    "{\"role\":\"assistant\",\"content\":\"hi\"}]");
	cJSON *blocks = parse("[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"a\",\"cache_control\":{\"type\":\"ephemeral\"}},"
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"r\"}]}]");
	cJSON *empty = parse("[{\"role\":\"assistant\",\"content\":\"x\"}]");
	char a[37], b[37], want[37];

	ck_assert_int_eq(copilot_request_id(m, "S", "M", a), GW_OK);
	util_uuid_from_string("SMhello", 7, want);
	ck_assert_str_eq(a, want);
	ck_assert_int_eq(copilot_request_id(m, NULL, "M", b), GW_OK);
	util_uuid_from_string("Mhello", 6, want);
	ck_assert_str_eq(b, want);
	/* blocks: tool_result dropped, cache_control removed, compact JSON */
	ck_assert_int_eq(copilot_request_id(blocks, NULL, NULL, a), GW_OK);
	util_uuid_from_string("[{\"type\":\"text\",\"text\":\"a\"}]", 28, want);
	ck_assert_str_eq(a, want);
	/* no user content: a random id, different each time */
	ck_assert_int_eq(copilot_request_id(empty, NULL, NULL, a), GW_OK);
	ck_assert_int_eq(copilot_request_id(empty, NULL, NULL, b), GW_OK);
	ck_assert_str_ne(a, b);
	cJSON_Delete(m);
	cJSON_Delete(blocks);
	cJSON_Delete(empty);
}
END_TEST

/* The Responses WebSocket upgrade: the identity without the body's
 * headers, x-initiator (it goes in the frame) and the electron version;
 * user-agent node (opencode keeps its own). */
START_TEST(websocket_header_set)
{
	struct copilot_ident id = ident(0);
	struct copilot_call c = agent_call();
	struct strlist h = STRLIST_INIT;

	c.accept = "text/event-stream";
	c.vision = 1;
	ck_assert_int_eq(copilot_ws_headers(&id, &c, &h), GW_OK);
	ck_assert_str_eq(strlist_header(&h, "Authorization"), "Bearer tid=abc");
	ck_assert_str_eq(strlist_header(&h, "user-agent"), "node");
	ck_assert_str_eq(strlist_header(&h, "x-request-id"), "req-1");
	ck_assert_str_eq(strlist_header(&h, "x-interaction-id"), "sess-1");
	ck_assert_str_eq(strlist_header(&h, "copilot-vision-request"), "true");
	ck_assert_ptr_null(strlist_header(&h, "x-initiator"));
	ck_assert_ptr_null(strlist_header(&h, "content-type"));
	ck_assert_ptr_null(strlist_header(&h, "accept"));
	ck_assert_ptr_null(strlist_header(&h, "x-vscode-user-agent-library-version"));
	strlist_free(&h);
	id = ident(1);
	ck_assert_int_eq(copilot_ws_headers(&id, &c, &h), GW_OK);
	ck_assert_ptr_null(strlist_header(&h, "x-initiator"));
	ck_assert_str_eq(strlist_header(&h, "Openai-Intent"), "conversation-edits");
	ck_assert_int_ne(strcmp(strlist_header(&h, "User-Agent"), "node"), 0);
	strlist_free(&h);
}
END_TEST

START_TEST(strlist_headers)
{
	struct strlist l = STRLIST_INIT;

	ck_assert_ptr_null(strlist_view(&l)[0]);
	ck_assert_int_eq(strlist_add(&l, "A: 1"), GW_OK);
	ck_assert_int_eq(strlist_addf(&l, "x-Thing: %d", 2), GW_OK);
	ck_assert_int_eq(strlist_add(&l, "a: 3"), GW_OK);
	ck_assert_str_eq(strlist_header(&l, "X-THING"), "2");
	ck_assert_str_eq(strlist_header(&l, "a"), "1");
	strlist_remove_header(&l, "A");
	ck_assert_uint_eq(l.n, 1);
	ck_assert_ptr_null(strlist_header(&l, "a"));
	ck_assert_ptr_null(strlist_view(&l)[1]);
	strlist_free(&l);
}
END_TEST

START_TEST(rate_limit_header_described)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(copilot_rate_limit_describe("session",
	    "ent=0&ov=0.0&ovPerm=false&rem=87.5&rst=2026-12-08T00%3A00%3A00Z", &b),
	    GW_OK);
	ck_assert_str_eq(b.data, "Copilot session quota remaining: 87.5, "
	    "resets at: 2026-12-08T00:00:00Z");
	/* '+' is a space, control characters never reach the log */
	ck_assert_int_eq(copilot_rate_limit_describe("weekly",
	    "rst=next+week%0Aforged&rem=3", &b), GW_OK);
	ck_assert_str_eq(b.data,
	    "Copilot weekly quota remaining: 3, resets at: next weekforged");
	/* both are needed, and non-empty */
	ck_assert_int_eq(copilot_rate_limit_describe("session", "rem=5", &b),
	    GW_ENOTFOUND);
	ck_assert_int_eq(copilot_rate_limit_describe("session", "rem=&rst=1", &b),
	    GW_ENOTFOUND);
	ck_assert_int_eq(copilot_rate_limit_describe("session", "xrem=5&rst=1",
	    &b), GW_ENOTFOUND);
	buf_free(&b);
}
END_TEST

static int
count_of(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)) != NULL; s++)
		n++;
	return n;
}

/* What f() logs at info level. */
static char *
logged(void (*f)(const void *), const void *arg)
{
	FILE *tmp = tmpfile();
	int saved;
	long n;
	char *s;

	ck_assert_ptr_nonnull(tmp);
	log_set_level(LOG_INFO);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	f(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = ftell(tmp);
	ck_assert_int_ge(n, 0);
	s = calloc(1, (size_t)n + 1);
	rewind(tmp);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return s;
}

static void
log_headers(const void *arg)
{
	static char *h[] = { "Retry-After: 5", "X-Usage-RateLimit-Weekly: rem=40&rst=W",
	    "x-usage-ratelimit-session: rem=90&rst=S", "x-usage-ratelimit-sessionx: rem=1&rst=1" };

	(void)arg;
	copilot_log_rate_limits(h, ARRAY_LEN(h));
	copilot_log_rate_limits(h, 1);
}

static void
log_snapshots(const void *arg)
{
	copilot_log_quota_snapshots(arg);
}

START_TEST(rate_limits_logged)
{
	cJSON *v = cJSON_Parse("{"
	    "\"5Hour-Session-RateLimits\":{\"entitlement\":\"x\",\"percent_remaining\":62.5,"
	    "\"overage_permitted\":false,\"overage_count\":0,\"reset_date\":\"R1\"},"
	    "\"Weekly-Session-RateLimits\":{\"entitlement\":\"x\",\"percent_remaining\":7,"
	    "\"overage_permitted\":\"no\",\"overage_count\":0,\"reset_date\":\"R2\"}}");
	char *s = logged(log_headers, NULL);

	/* session first, then weekly, as the reference; nothing else */
	ck_assert_ptr_nonnull(strstr(s, "Copilot session quota remaining: 90, "
	    "resets at: S\n"));
	ck_assert_ptr_nonnull(strstr(strstr(s, "session quota"),
	    "Copilot weekly quota remaining: 40, resets at: W\n"));
	ck_assert_ptr_null(strstr(s, "remaining: 1,"));
	ck_assert_int_eq(count_of(s, "quota remaining"), 2);
	free(s);
	/* a snapshot the reference would not take (a string where a
	 * boolean goes) is not logged */
	s = logged(log_snapshots, v);
	ck_assert_ptr_nonnull(strstr(s, "Copilot session quota remaining: 62.5, "
	    "resets at: R1\n"));
	ck_assert_int_eq(count_of(s, "quota remaining"), 1);
	free(s);
	s = logged(log_snapshots, NULL);
	ck_assert_str_eq(s, "");
	free(s);
	cJSON_Delete(v);
}
END_TEST

static Suite *
copilot_suite(void)
{
	Suite *s = suite_create("copilot");
	TCase *tc = tcase_create("copilot");

	tcase_add_test(tc, base_header_set);
	tcase_add_test(tc, model_access_and_vision);
	tcase_add_test(tc, opencode_header_set);
	tcase_add_test(tc, session_id_rotates_only_when_due);
	tcase_add_test(tc, chat_initiator_by_last_role);
	tcase_add_test(tc, chat_images_detected_only_in_parts);
	tcase_add_test(tc, request_id_is_deterministic_hash);
	tcase_add_test(tc, strlist_headers);
	tcase_add_test(tc, websocket_header_set);
	tcase_add_test(tc, rate_limit_header_described);
	tcase_add_test(tc, rate_limits_logged);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(copilot_suite());
}

/*
 * The Copilot token manager (src/upstream/auth.c) against the mock GitHub
 * token endpoint: a fresh stored token is used as is, a stale one is
 * exchanged exactly once however many threads ask at the same moment, and a
 * failed exchange reports an error and keeps the stored row.
 */
#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "mockserver.h"
#include "core/log.h"
#include "core/util.h"
#include "state/db.h"
#include "upstream/auth.h"
#include "upstream/client.h"
#include "upstream/github.h"

#define NTHREADS 2
#define FRESH_TOKEN_JSON "{\"token\":\"tid=fresh\",\"refresh_in\":1500}"
#define TOKEN_PATH "GET /copilot_internal/v2/token HTTP/1.1\n"

static char home[512];
static char db_path[600];
static char lock_path[600];

static void
setup(void)
{
	struct db *db;

	test_tmpdir(home, sizeof(home), "gw-auth");
	snprintf(db_path, sizeof(db_path), "%s/%s", home, DB_FILE_NAME);
	snprintf(lock_path, sizeof(lock_path), "%s/copilot-token.lock", home);
	log_set_level(LOG_WARN);     /* the failures tested are warnings */
	ck_assert_int_eq(up_global_init(), GW_OK);
	ck_assert_int_eq(db_open(db_path, &db), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "github_token", "gho_test"), GW_OK);
	db_close(db);
}

static void
teardown(void)
{
	up_global_cleanup();
	test_rmdir(home);
}

/* Stores a token fetched age_s ago that expires in expires_in_s. */
static void
store_token(const char *token, int64_t age_s, int64_t expires_in_s)
{
	struct db_copilot_token t;
	struct db *db;
	int64_t now = util_now_ms() / 1000;

	memset(&t, 0, sizeof(t));
	t.token = (char *)token;
	t.fetched_at = now - age_s;
	t.refresh_in = 1500;
	t.expires_at = now + expires_in_s;
	ck_assert_int_eq(db_open(db_path, &db), GW_OK);
	ck_assert_int_eq(db_copilot_token_put(db, &t), GW_OK);
	db_close(db);
}

static char *
stored_token(void)
{
	struct db_copilot_token t;
	struct db *db;
	char *s;

	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(db_open(db_path, &db), GW_OK);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_OK);
	db_close(db);
	s = t.token;
	t.token = NULL;
	db_copilot_token_free(&t);
	return s;
}

/* What one worker thread owns: its connection, its client, its view. */
struct asker {
	struct mock_server *m;
	pthread_barrier_t *start;
	struct db *db;
	struct up_client *client;
	struct gh gh;
	struct auth_env env;
	char url[64];
	/* results */
	enum gw_err e;
	char *token;
	struct buf err;
};

static void
asker_init(struct asker *a, struct mock_server *m)
{
	memset(a, 0, sizeof(*a));
	a->m = m;
	mock_url(m, "", a->url, sizeof(a->url));
	ck_assert_int_eq(db_open(db_path, &a->db), GW_OK);
	ck_assert_int_eq(up_client_new(&a->client), GW_OK);
	a->gh.client = a->client;
	a->gh.github_url = a->url;
	a->gh.api_url = a->url;
	a->gh.connect_timeout_s = 5;
	a->env.db = a->db;
	a->env.gh = &a->gh;
	a->env.lock_path = lock_path;
}

static void
asker_free(struct asker *a)
{
	free(a->token);
	buf_free(&a->err);
	up_client_free(a->client);
	db_close(a->db);
}

static void *
asker_run(void *arg)
{
	struct asker *a = arg;
	struct db_copilot_token t;

	if (a->start != NULL)
		pthread_barrier_wait(a->start);
	a->e = auth_copilot_token(&a->env, NULL, 0, &t, &a->err);
	if (a->e == GW_OK) {
		a->token = t.token;
		t.token = NULL;
	}
	db_copilot_token_free(&t);
	return NULL;
}

/* How many times the mock's token endpoint was called. */
static int
token_calls(struct mock_server *m)
{
	char *lines = mock_request_lines(m), *p = lines;
	int n = 0;

	while ((p = strstr(p, TOKEN_PATH)) != NULL) {
		n++;
		p += strlen(TOKEN_PATH);
	}
	ck_assert_int_eq(n, mock_get(m, &m->requests));
	free(lines);
	return n;
}

/*
 * One thread asks once with token stored (fetched age_s ago, expiring in
 * expires_in_s) while the mock plays r; checks the outcome, the number of
 * exchanges and the row left in the database.
 */
static void
ask_once(const struct mock_response *r, const char *token, int64_t age_s,
    int64_t expires_in_s, enum gw_err want_e, const char *want_token,
    int want_calls)
{
	struct mock_server *m = mock_start(r, 1);
	struct asker a;
	char *row;

	ck_assert_ptr_nonnull(m);
	store_token(token, age_s, expires_in_s);
	asker_init(&a, m);
	asker_run(&a);
	ck_assert_msg(a.e == want_e, "got %s: %s", gw_strerror(a.e),
	    buf_cstr(&a.err));
	if (want_token != NULL)
		ck_assert_str_eq(a.token, want_token);
	else
		ck_assert_ptr_null(a.token);
	ck_assert_int_eq(token_calls(m), want_calls);
	row = stored_token();
	ck_assert_str_eq(row, want_token != NULL ? want_token : token);
	free(row);
	asker_free(&a);
	mock_stop(m);
}

START_TEST(fresh_token_needs_no_exchange)
{
	static const struct mock_response r = { .status = 500,
		.pieces = { { 0, "{}" } } };

	ask_once(&r, "tid=current", 10, 1790, GW_OK, "tid=current", 0);
}
END_TEST

START_TEST(due_token_is_exchanged)
{
	static const struct mock_response r = {
		.pieces = { { 0, FRESH_TOKEN_JSON } } };

	ask_once(&r, "tid=due", 1490, 90, GW_OK, "tid=fresh", 1);
}
END_TEST

/* Two threads find the same expired token at once: one exchanges (slowly,
 * so the other is surely waiting on the lock), the other re-reads. */
START_TEST(stale_token_is_exchanged_once)
{
	static const struct mock_response script[] = {
		{ .header_delay_ms = 300, .pieces = { { 0, FRESH_TOKEN_JSON } } },
		{ .status = 500, .pieces = { { 0, "{\"error\":\"second exchange\"}" } } },
	};
	struct mock_server *m = mock_start(script, 2);
	struct asker a[NTHREADS];
	pthread_t th[NTHREADS];
	pthread_barrier_t start;
	char *row;
	int i;

	ck_assert_ptr_nonnull(m);
	store_token("tid=stale", 2000, -200);
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		asker_init(&a[i], m);
		a[i].start = &start;
		ck_assert_int_eq(pthread_create(&th[i], NULL, asker_run, &a[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_msg(a[i].e == GW_OK, "thread %d: %s", i,
		    buf_cstr(&a[i].err));
		ck_assert_str_eq(a[i].token, "tid=fresh");
		asker_free(&a[i]);
	}
	ck_assert_int_eq(token_calls(m), 1);
	row = stored_token();
	ck_assert_str_eq(row, "tid=fresh");
	free(row);
	pthread_barrier_destroy(&start);
	mock_stop(m);
}
END_TEST

START_TEST(failed_exchange_keeps_the_row)
{
	static const struct mock_response r = { .status = 500,
		.pieces = { { 0, "{\"message\":\"down\"}" } } };

	ask_once(&r, "tid=expired", 2000, -200, GW_EUPSTREAM, NULL, 1);
}
END_TEST

/* Due for a refresh but not yet expired: a failed exchange serves the
 * current token rather than failing the request. */
START_TEST(failed_exchange_serves_a_valid_token)
{
	static const struct mock_response r = { .status = 502,
		.pieces = { { 0, "bad gateway" } } };

	ask_once(&r, "tid=due", 1490, 90, GW_OK, "tid=due", 1);
}
END_TEST

/* A 401 on the current token forces one exchange even though it is fresh. */
START_TEST(rejected_token_is_replaced)
{
	static const struct mock_response script[] = {
		{ .pieces = { { 0, FRESH_TOKEN_JSON } } },
	};
	struct mock_server *m = mock_start(script, 1);
	struct db_copilot_token t;
	struct asker a;

	ck_assert_ptr_nonnull(m);
	store_token("tid=rejected", 10, 1790);
	asker_init(&a, m);
	ck_assert_int_eq(auth_copilot_token(&a.env, "tid=rejected", 0, &t,
	    &a.err), GW_OK);
	ck_assert_str_eq(t.token, "tid=fresh");
	db_copilot_token_free(&t);
	/* another worker that saw the same 401 now finds the new token */
	ck_assert_int_eq(auth_copilot_token(&a.env, "tid=rejected", 0, &t,
	    &a.err), GW_OK);
	ck_assert_str_eq(t.token, "tid=fresh");
	db_copilot_token_free(&t);
	ck_assert_int_eq(token_calls(m), 1);
	asker_free(&a);
	mock_stop(m);
}
END_TEST

/* Each (OAuth app, enterprise domain) has its own GitHub token: another
 * account's stored token is not this one's. */
START_TEST(github_token_is_per_account)
{
	struct auth_env env;
	struct db *db;
	char *tok = NULL;

	ck_assert_int_eq(db_open(db_path, &db), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "github_token:opencode", "gho_oc"), GW_OK);
	memset(&env, 0, sizeof(env));
	env.db = db;
	ck_assert_int_eq(auth_github_token(&env, &tok), GW_OK);
	ck_assert_str_eq(tok, "gho_test");
	free(tok);
	env.account = "opencode";
	ck_assert_int_eq(auth_github_token(&env, &tok), GW_OK);
	ck_assert_str_eq(tok, "gho_oc");
	free(tok);
	env.account = "@ghe.example.com";
	ck_assert_int_eq(auth_github_token(&env, &tok), GW_ENOTFOUND);
	ck_assert_ptr_null(tok);
	env.account = "opencode@ghe.example.com";
	ck_assert_int_eq(auth_github_token(&env, &tok), GW_ENOTFOUND);
	db_close(db);
}
END_TEST

/* A fresh Copilot token stored for the default account is not served to
 * an enterprise account: that one exchanges its own GitHub token, and the
 * row then says whose it is. */
START_TEST(copilot_token_of_another_account_is_not_served)
{
	static const struct mock_response script[] = {
		{ .pieces = { { 0, FRESH_TOKEN_JSON } } },
		{ .pieces = { { 0, "{\"token\":\"tid=default-again\","
		    "\"refresh_in\":1500}" } } },
	};
	struct mock_server *m = mock_start(script, 2);
	struct db_copilot_token t;
	struct asker a;

	ck_assert_ptr_nonnull(m);
	store_token("tid=default-account", 10, 1790);
	asker_init(&a, m);
	ck_assert_int_eq(db_kv_set(a.db, "github_token:@ghe.example.com",
	    "gho_ent"), GW_OK);
	a.env.account = "@ghe.example.com";
	asker_run(&a);
	ck_assert_msg(a.e == GW_OK, "%s", buf_cstr(&a.err));
	ck_assert_str_eq(a.token, "tid=fresh");
	ck_assert_int_eq(token_calls(m), 1);
	ck_assert_int_eq(db_copilot_token_get(a.db, &t), GW_OK);
	ck_assert_str_eq(t.account, "@ghe.example.com");
	db_copilot_token_free(&t);
	/* back on the default account: the enterprise token is not its own */
	free(a.token);
	a.token = NULL;
	a.env.account = NULL;
	asker_run(&a);
	ck_assert_msg(a.e == GW_OK, "%s", buf_cstr(&a.err));
	ck_assert_str_eq(a.token, "tid=default-again");
	ck_assert_int_eq(token_calls(m), 2);
	asker_free(&a);
	mock_stop(m);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("copilot_token");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, fresh_token_needs_no_exchange);
	tcase_add_test(tc, due_token_is_exchanged);
	tcase_add_test(tc, stale_token_is_exchanged_once);
	tcase_add_test(tc, failed_exchange_keeps_the_row);
	tcase_add_test(tc, failed_exchange_serves_a_valid_token);
	tcase_add_test(tc, rejected_token_is_replaced);
	tcase_add_test(tc, github_token_is_per_account);
	tcase_add_test(tc, copilot_token_of_another_account_is_not_served);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(auth_suite());
}

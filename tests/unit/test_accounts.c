/* state/accounts.c: named accounts, their tokens and model lists, the
 * state every account keeps, sessions; and the upgrade to schema 5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "testutil.h"
#include "state/accounts.h"
#include "state/db.c"

static char dir[256];
static char path[512];
static struct db *db, *db2;     /* two connections: two processes */

static void
setup(void)
{
	test_tmpdir(dir, sizeof(dir), "gw-accounts");
	snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE_NAME);
}

static void
open_both(void)
{
	ck_assert_int_eq(db_open(path, &db), GW_OK);
	ck_assert_int_eq(db_open(path, &db2), GW_OK);
}

static void
teardown(void)
{
	db_close(db);
	db_close(db2);
	db = db2 = NULL;
	test_rmdir(dir);
}

START_TEST(names)
{
	ck_assert(accounts_name_valid("work"));
	ck_assert(accounts_name_valid("a"));
	ck_assert(accounts_name_valid("team-2_b"));
	ck_assert(accounts_name_valid("0x"));
	ck_assert(accounts_name_valid("abcdefghijabcdefghijabcdefghij12"));  /* 32 */
	ck_assert(!accounts_name_valid("abcdefghijabcdefghijabcdefghij123"));
	ck_assert(!accounts_name_valid(""));
	ck_assert(!accounts_name_valid(NULL));
	ck_assert(!accounts_name_valid("-x"));
	ck_assert(!accounts_name_valid("Work"));
	ck_assert(!accounts_name_valid("a b"));
	ck_assert(!accounts_name_valid("a:b"));
	/* the OAuth-app/domain account names of db_account, and ours */
	ck_assert(!accounts_name_valid("default"));
	ck_assert(!accounts_name_valid("opencode"));
	ck_assert(!accounts_name_valid("@ghe.example.com"));
	ck_assert(!accounts_name_valid("opencode@ghe.example.com"));
}
END_TEST

START_TEST(add_list_remove)
{
	struct accounts_row *rows;
	size_t n;
	long c;
	char *tok;

	open_both();
	ck_assert_int_eq(accounts_list(db, &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(accounts_add(db, "default", "gho_x", "x", 1), GW_EINVAL);
	ck_assert_int_eq(accounts_add(db, "work", "gho_w", "alice", 10), GW_OK);
	ck_assert_int_eq(accounts_add(db, "home", "gho_h", "bob", 20), GW_OK);
	ck_assert_int_eq(accounts_count(db2, &c), GW_OK);
	ck_assert_int_eq(c, 2);
	ck_assert_int_eq(accounts_github_token(db2, "home", &tok), GW_OK);
	ck_assert_str_eq(tok, "gho_h");
	free(tok);
	ck_assert_int_eq(accounts_github_token(db2, "nope", &tok), GW_ENOTFOUND);
	/* the default's state row comes first, then the named in order */
	ck_assert_int_eq(accounts_cooldown(db, ACCOUNTS_DEFAULT, 5000, "rate"),
	    GW_OK);
	ck_assert_int_eq(accounts_list(db2, &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(rows[0].name, "default");
	ck_assert_int_eq(rows[0].named, 0);
	ck_assert_int_eq(rows[0].cooldown_until_ms, 5000);
	ck_assert_str_eq(rows[0].cooldown_reason, "rate");
	ck_assert_str_eq(rows[1].name, "work");
	ck_assert_str_eq(rows[1].login, "alice");
	ck_assert_int_eq(rows[1].named, 1);
	ck_assert_int_eq(rows[1].has_quota, 0);
	ck_assert_str_eq(rows[2].name, "home");
	accounts_rows_free(rows, n);
	/* the default's state row is not an account */
	ck_assert_int_eq(accounts_count(db2, &c), GW_OK);
	ck_assert_int_eq(c, 2);
	ck_assert_int_eq(accounts_remove(db2, "work"), GW_OK);
	ck_assert_int_eq(accounts_remove(db2, "work"), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_remove(db2, "default"), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_count(db, &c), GW_OK);
	ck_assert_int_eq(c, 1);
}
END_TEST

START_TEST(tokens_models_and_a_new_sign_in)
{
	struct db_copilot_token t = { 0 }, got;
	struct accounts_row *rows;
	size_t n;
	char *json;
	int64_t at;

	open_both();
	ck_assert_int_eq(accounts_add(db, "work", "gho_w", "alice", 10), GW_OK);
	ck_assert_int_eq(accounts_token_get(db, "work", &got), GW_ENOTFOUND);
	t.token = "tid=w";
	t.expires_at = 100;
	t.refresh_in = 50;
	t.fetched_at = 40;
	t.api_url = "https://api.example";
	ck_assert_int_eq(accounts_token_put(db, "work", &t), GW_OK);
	ck_assert_int_eq(accounts_token_get(db2, "work", &got), GW_OK);
	ck_assert_str_eq(got.token, "tid=w");
	ck_assert_str_eq(got.account, "work");
	ck_assert_str_eq(got.api_url, "https://api.example");
	ck_assert_int_eq(got.expires_at, 100);
	ck_assert_int_eq(got.refresh_in, 50);
	ck_assert_int_eq(got.fetched_at, 40);
	db_copilot_token_free(&got);
	/* the default's single row is another thing */
	ck_assert_int_eq(db_copilot_token_get(db, &got), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_models_put(db, "work", "[1]", 7), GW_OK);
	ck_assert_int_eq(accounts_models_put(db, "work", "[2]", 8), GW_OK);
	ck_assert_int_eq(accounts_models_get(db2, "work", &json, &at), GW_OK);
	ck_assert_str_eq(json, "[2]");
	ck_assert_int_eq(at, 8);
	free(json);
	ck_assert_int_eq(accounts_models_get(db2, "home", NULL, &at),
	    GW_ENOTFOUND);
	ck_assert_int_eq(db_models_get(db, NULL, &at), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_quota_put(db, "work", "business", 0, 9, 300,
	    1000), GW_OK);
	ck_assert_int_eq(accounts_cooldown(db, "work", 9000, "429"), GW_OK);
	/* a new sign-in forgets the old token, list, quota and cool-down */
	ck_assert_int_eq(accounts_add(db, "work", "gho_w2", "carol", 99), GW_OK);
	ck_assert_int_eq(accounts_token_get(db2, "work", &got), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_models_get(db2, "work", NULL, &at),
	    GW_ENOTFOUND);
	ck_assert_int_eq(accounts_list(db2, &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].login, "carol");
	ck_assert_int_eq(rows[0].has_quota, 0);
	ck_assert_int_eq(rows[0].cooldown_until_ms, 0);
	ck_assert_int_eq(rows[0].created_at_ms, 10);
	accounts_rows_free(rows, n);
	/* removing takes its token along */
	t.token = "tid=w2";
	ck_assert_int_eq(accounts_token_put(db, "work", &t), GW_OK);
	ck_assert_int_eq(accounts_remove(db, "work"), GW_OK);
	ck_assert_int_eq(accounts_token_get(db2, "work", &got), GW_ENOTFOUND);
}
END_TEST

START_TEST(state_rows_and_sessions)
{
	struct accounts_row *rows;
	size_t n;
	int64_t at = 0;
	int claimed = -1;
	char *a;

	open_both();
	ck_assert_int_eq(accounts_add(db, "work", "gho_w", "alice", 10), GW_OK);
	ck_assert_int_eq(accounts_quota_put(db, "work", "business", 0, 9, 300,
	    1000), GW_OK);
	ck_assert_int_eq(accounts_quota_put(db, ACCOUNTS_DEFAULT, NULL, 1, 0, 0,
	    2000), GW_OK);
	ck_assert_int_eq(accounts_picked(db, "work", 3000), GW_OK);
	ck_assert_int_eq(accounts_list(db2, &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(rows[0].premium_unlimited, 1);
	ck_assert_int_eq(rows[0].has_quota, 1);
	ck_assert_ptr_null(rows[0].plan);
	ck_assert_str_eq(rows[1].plan, "business");
	ck_assert_int_eq(rows[1].premium_remaining, 9);
	ck_assert_int_eq(rows[1].premium_entitlement, 300);
	ck_assert_int_eq(rows[1].quota_at_ms, 1000);
	ck_assert_int_eq(rows[1].last_pick_ms, 3000);
	accounts_rows_free(rows, n);

	/* one claim of an old snapshot; none of a fresh or never-read one */
	ck_assert_int_eq(accounts_quota_claim(db, "work", 1500, 5000, &claimed),
	    GW_OK);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(accounts_quota_claim(db2, "work", 1500, 5000, &claimed),
	    GW_OK);
	ck_assert_int_eq(claimed, 0);
	ck_assert_int_eq(accounts_add(db, "new", "gho_n", "n", 1), GW_OK);
	ck_assert_int_eq(accounts_quota_claim(db, "new", 1500, 5000, &claimed),
	    GW_OK);
	ck_assert_int_eq(claimed, 0);
	ck_assert_int_eq(accounts_remove(db, "new"), GW_OK);

	ck_assert_int_eq(accounts_session_get(db, "s1", &a, NULL), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_session_put(db, "s1", "work", 100), GW_OK);
	ck_assert_int_eq(accounts_session_put(db, "s2", "default", 200), GW_OK);
	ck_assert_int_eq(accounts_session_get(db2, "s1", &a, &at), GW_OK);
	ck_assert_str_eq(a, "work");
	ck_assert_int_eq(at, 100);
	free(a);
	/* moved, and used again */
	ck_assert_int_eq(accounts_session_put(db, "s1", "default", 300), GW_OK);
	ck_assert_int_eq(accounts_session_prune(db2, 250), GW_OK);
	ck_assert_int_eq(accounts_session_get(db2, "s2", &a, NULL), GW_ENOTFOUND);
	ck_assert_int_eq(accounts_session_get(db2, "s1", &a, &at), GW_OK);
	ck_assert_int_eq(at, 300);
	ck_assert_str_eq(a, "default");
	free(a);
	/* the state of an account removed meanwhile makes no row */
	ck_assert_int_eq(accounts_add(db, "gone", "gho_g", "g", 1), GW_OK);
	ck_assert_int_eq(accounts_remove(db, "gone"), GW_OK);
	ck_assert_int_eq(accounts_cooldown(db2, "gone", 9, "429"), GW_OK);
	ck_assert_int_eq(accounts_picked(db2, "gone", 9), GW_OK);
	ck_assert_int_eq(accounts_quota_put(db2, "gone", "x", 0, 1, 2, 9), GW_OK);
	ck_assert_int_eq(accounts_list(db, &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 2);                 /* default and work */
	accounts_rows_free(rows, n);
	/* removing an account forgets its sessions */
	ck_assert_int_eq(accounts_session_put(db, "s3", "work", 400), GW_OK);
	ck_assert_int_eq(accounts_remove(db, "work"), GW_OK);
	ck_assert_int_eq(accounts_session_get(db2, "s3", &a, NULL), GW_ENOTFOUND);
}
END_TEST

/* An install of before (schema 4: one account, its tokens, a usage row)
 * loses nothing when it meets schema 5. */
START_TEST(upgrade_keeps_the_default_account)
{
	struct db_copilot_token t;
	sqlite3 *h;
	sqlite3_stmt *st;
	char *v = NULL;
	long c;
	int i;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	/* steps 1-4 as the sqlite driver runs them, and the version they
	 * leave (state/db_sqlite.c: user_version) */
	for (i = 0; i < 4; i++) {
		const char *m = migration_sql[i], *at = strstr(m, "{serial}");
		struct buf b = BUF_INIT;

		if (at != NULL) {
			ck_assert_int_eq(buf_append(&b, m, (size_t)(at - m)), GW_OK);
			ck_assert_int_eq(buf_puts(&b, db_driver_sqlite.serial_pk),
			    GW_OK);
			ck_assert_int_eq(buf_puts(&b, at + 8), GW_OK);
			m = b.data;
		}
		ck_assert_int_eq(sqlite3_exec(h, m, NULL, NULL, NULL), SQLITE_OK);
		buf_free(&b);
	}
	ck_assert_int_eq(sqlite3_exec(h, "PRAGMA user_version = 4", NULL, NULL,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h,
	    "INSERT INTO kv VALUES ('github_token', 'gho_d', 1),"
	    " ('github_login', 'octo', 1);"
	    "INSERT INTO copilot_token VALUES (1, 'tid=d', 2, 3, 4, NULL, '');"
	    "INSERT INTO models_cache VALUES (1, '[]', 5);"
	    "INSERT INTO token_usage_events (created_at_ms, created_at_utc, "
	    "source, endpoint, model) VALUES (1, 'x', 'copilot', 'e', 'm');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	open_both();
	ck_assert_int_eq(db_schema_version(db), db_schema_latest());
	ck_assert_int_eq(db_kv_get(db, "github_token", &v), GW_OK);
	ck_assert_str_eq(v, "gho_d");
	free(v);
	ck_assert_int_eq(db_kv_get(db, "github_login", &v), GW_OK);
	ck_assert_str_eq(v, "octo");
	free(v);
	ck_assert_int_eq(db_copilot_token_get(db, &t), GW_OK);
	ck_assert_str_eq(t.token, "tid=d");
	ck_assert_str_eq(t.account, "");
	db_copilot_token_free(&t);
	ck_assert_int_eq(db_models_get(db, &v, NULL), GW_OK);
	ck_assert_str_eq(v, "[]");
	free(v);
	ck_assert_int_eq(accounts_count(db, &c), GW_OK);
	ck_assert_int_eq(c, 0);
	/* the old usage row is there, with no account */
	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM "
	    "token_usage_events WHERE account IS NULL AND row_key IS NULL", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
}
END_TEST

static Suite *
accounts_suite(void)
{
	Suite *s = suite_create("accounts");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, names);
	tcase_add_test(tc, add_list_remove);
	tcase_add_test(tc, tokens_models_and_a_new_sign_in);
	tcase_add_test(tc, state_rows_and_sessions);
	tcase_add_test(tc, upgrade_keeps_the_default_account);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(accounts_suite());
}

/*
 * The one-time import of the reference gateway's files (src/state/import.c)
 * on a data directory laid out as the reference v1.10.10 leaves it: its
 * token-usage database (the schema and rows below are what it wrote after
 * four requests through tests/fake, observed with sqlite3) and its GitHub
 * token file (the token, no newline).  The rows arrive once, the token only
 * when this account has none, and nothing is created or changed next to
 * their files.
 */
#include <sys/stat.h>

#include <sqlite3.h>

#include "testutil.h"
#include "core/log.h"
#include "state/db.h"
#include "state/import.h"

/* As the reference created it (CREATE TABLE + indexes, journal_mode WAL). */
static const char ref_schema[] =
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE IF NOT EXISTS token_usage_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  created_at_ms INTEGER NOT NULL,"
    "  created_at_utc TEXT NOT NULL,"
    "  trace_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  user_id TEXT NOT NULL DEFAULT '',"
    "  source TEXT NOT NULL,"
    "  endpoint TEXT NOT NULL,"
    "  provider_name TEXT,"
    "  model TEXT NOT NULL,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  total_tokens INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS idx_token_usage_events_created_at_ms"
    "  ON token_usage_events(created_at_ms);"
    "CREATE INDEX IF NOT EXISTS idx_token_usage_events_session_id"
    "  ON token_usage_events(session_id);";

static const char ref_rows[] =
    "INSERT INTO token_usage_events (created_at_ms, created_at_utc, trace_id,"
    " session_id, user_id, source, endpoint, provider_name, model,"
    " input_tokens, output_tokens, cache_read_input_tokens,"
    " cache_creation_input_tokens, total_tokens) VALUES"
    " (1796662819445, '2026-12-07T17:00:19.445Z', 'mxdinjw0-jtl4gy',"
    "  '03f3b60e-6edf-47d8-a928-8c9b1c0efdaa', 'fake-user', 'copilot',"
    "  'chat_completions', NULL, 'gpt-4.1', 8, 8, 0, 0, 16),"
    " (1796662819470, '2026-12-07T17:00:19.470Z', 'mxdinjwp-zdpyot',"
    "  '03f3b60e-6edf-47d8-a928-8c9b1c0efdaa', 'fake-user', 'copilot',"
    "  'chat_completions', NULL, 'claude-sonnet-4.6', 8, 8, 0, 0, 16),"
    " (1796662819487, '2026-12-07T17:00:19.487Z', 'mxdinjx7-e7zufk',"
    "  'sess-1', 'fake-user', 'copilot', 'messages', NULL,"
    "  'claude-sonnet-4.6', 11, 11, 0, 0, 22),"
    " (1796662819504, '2026-12-07T17:00:19.504Z', 'mxdinjxo-74bsi6',"
    "  '03f3b60e-6edf-47d8-a928-8c9b1c0efdaa', 'fake-user', 'copilot',"
    "  'responses', NULL, 'gpt-5.4', 4, 40, 0, 0, 44);";

/* The reference's token file as written: the token, no newline. */
#define REF_TOKEN "ghu_refseed0000000000000000000000000000"

static char home[512];
static char ref_db[600];
static char our_db[600];

static void
setup(void)
{
	test_tmpdir(home, sizeof(home), "gw-import");
	snprintf(ref_db, sizeof(ref_db), "%s/%s", home, IMPORT_REF_DB_NAME);
	snprintf(our_db, sizeof(our_db), "%s/%s", home, DB_FILE_NAME);
	log_set_level(LOG_WARN);
}

static void
teardown(void)
{
	char sub[700];

	snprintf(sub, sizeof(sub), "%s/opencode", home);
	test_rmdir(sub);
	test_rmdir(home);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char p[800];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

/* Their database, closed (the reference stopped: no -wal, no -shm left),
 * or left open with its rows still in the -wal (the reference running). */
static sqlite3 *
make_ref_db(int keep_open)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(ref_db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, ref_schema, NULL, NULL, NULL), SQLITE_OK);
	if (keep_open)
		ck_assert_int_eq(sqlite3_exec(h, "PRAGMA wal_autocheckpoint = 0",
		    NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, ref_rows, NULL, NULL, NULL), SQLITE_OK);
	if (keep_open)
		return h;
	ck_assert_int_eq(sqlite3_close(h), SQLITE_OK);
	return NULL;
}

/* What is next to their database: which of -wal / -shm exist, and the
 * file's size and change time. */
struct ref_state {
	int wal, shm;
	off_t size;
	struct timespec mtime, ctime;
};

static void
ref_state(struct ref_state *s)
{
	char p[700];
	struct stat st;

	memset(s, 0, sizeof(*s));
	snprintf(p, sizeof(p), "%s-wal", ref_db);
	s->wal = access(p, F_OK) == 0;
	snprintf(p, sizeof(p), "%s-shm", ref_db);
	s->shm = access(p, F_OK) == 0;
	ck_assert_int_eq(stat(ref_db, &st), 0);
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	s->ctime = st.st_ctim;
}

static void
ck_same_state(const struct ref_state *a, const struct ref_state *b)
{
	ck_assert_int_eq(a->wal, b->wal);
	ck_assert_int_eq(a->shm, b->shm);
	ck_assert_int_eq(a->size, b->size);
	ck_assert(a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec);
	ck_assert(a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec);
}

static void
run_import(const char *account, const char *app, int enterprise)
{
	struct import_ref r;
	struct db *db;

	memset(&r, 0, sizeof(r));
	r.home = home;
	r.oauth_app = app;
	r.enterprise = enterprise;
	r.account = account;
	ck_assert_int_eq(db_open(our_db, &db), GW_OK);
	ck_assert_int_eq(import_reference(db, &r), GW_OK);
	db_close(db);
}

/* One column of our rows, joined with '|' in id order. */
static void
ck_column(const char *col, const char *want)
{
	char sql[256], got[1024] = "";
	sqlite3_stmt *st;
	sqlite3 *h;
	const unsigned char *v;

	ck_assert_int_eq(sqlite3_open_v2(our_db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT coalesce(%s, 'NULL') FROM "
	    "token_usage_events ORDER BY id", col);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_text(st, 0);
		if (got[0] != '\0')
			strncat(got, "|", sizeof(got) - strlen(got) - 1);
		strncat(got, (const char *)v, sizeof(got) - strlen(got) - 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
	ck_assert_str_eq(got, want);
}

static char *
kv(const char *key)
{
	struct db *db;
	char *v = NULL;

	ck_assert_int_eq(db_open(our_db, &db), GW_OK);
	if (db_kv_get(db, key, &v) != GW_OK)
		v = NULL;
	db_close(db);
	return v;
}

static void
ck_kv(const char *key, const char *want)
{
	char *v = kv(key);

	if (want == NULL)
		ck_assert_ptr_null(v);
	else
		ck_assert_str_eq(v != NULL ? v : "(none)", want);
	free(v);
}

START_TEST(usage_rows_are_imported_once)
{
	struct ref_state before, after;

	make_ref_db(0);
	ref_state(&before);
	ck_assert(!before.wal && !before.shm);
	run_import("", "", 0);
	ck_column("endpoint", "chat_completions|chat_completions|messages|"
	    "responses");
	ck_column("session_id", "03f3b60e-6edf-47d8-a928-8c9b1c0efdaa|"
	    "03f3b60e-6edf-47d8-a928-8c9b1c0efdaa|sess-1|"
	    "03f3b60e-6edf-47d8-a928-8c9b1c0efdaa");
	ck_column("model", "gpt-4.1|claude-sonnet-4.6|claude-sonnet-4.6|gpt-5.4");
	ck_column("created_at_ms", "1796662819445|1796662819470|1796662819487|"
	    "1796662819504");
	ck_column("total_tokens", "16|16|22|44");
	ck_column("output_tokens", "8|8|11|40");
	ck_column("user_id", "fake-user|fake-user|fake-user|fake-user");
	ck_column("provider_name", "NULL|NULL|NULL|NULL");
	ck_column("status", "NULL|NULL|NULL|NULL");
	ck_column("stream", "0|0|0|0");
	ck_column("cost_currency", "NULL|NULL|NULL|NULL");   /* 1.10.10: none */
	ck_column("total_nano_aiu", "NULL|NULL|NULL|NULL");
	ck_kv("import.reference.usage", "4");
	/* the next start (another process, the same file) adds nothing */
	run_import("", "", 0);
	ck_column("total_tokens", "16|16|22|44");
	ref_state(&after);
	ck_same_state(&before, &after);
}
END_TEST

/* The reference still running: its new rows are in the -wal; they are
 * read through it, and nothing is checkpointed into their file. */
START_TEST(usage_rows_are_read_through_a_live_wal)
{
	struct ref_state before, after;
	sqlite3 *h = make_ref_db(1);

	ref_state(&before);
	ck_assert(before.wal && before.shm);
	run_import("", "", 0);
	ck_column("trace_id", "mxdinjw0-jtl4gy|mxdinjwp-zdpyot|mxdinjx7-e7zufk|"
	    "mxdinjxo-74bsi6");
	ref_state(&after);
	ck_same_state(&before, &after);
	sqlite3_close(h);
}
END_TEST

/* An older database of theirs, before user_id and total_tokens. */
START_TEST(old_usage_schema_gets_defaults)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(ref_db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, "CREATE TABLE token_usage_events ("
	    "id INTEGER PRIMARY KEY AUTOINCREMENT, created_at_ms INTEGER NOT NULL,"
	    "created_at_utc TEXT NOT NULL, trace_id TEXT NOT NULL,"
	    "session_id TEXT NOT NULL DEFAULT '', source TEXT NOT NULL,"
	    "endpoint TEXT NOT NULL, provider_name TEXT, model TEXT NOT NULL,"
	    "input_tokens INTEGER NOT NULL DEFAULT 0,"
	    "output_tokens INTEGER NOT NULL DEFAULT 0,"
	    "cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,"
	    "cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0);"
	    "INSERT INTO token_usage_events (created_at_ms, created_at_utc,"
	    " trace_id, source, endpoint, model, input_tokens, output_tokens,"
	    " cache_read_input_tokens) VALUES (1, 'x', 't', 'copilot',"
	    " 'messages', 'm', 3, 4, 5);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	run_import("", "", 0);
	ck_column("user_id", "");
	ck_column("total_tokens", "12");
}
END_TEST

/* 1.14.7's database: its cost columns come along. */
START_TEST(cost_columns_of_1_14_7_are_imported)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(ref_db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, ref_schema, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h,
	    "ALTER TABLE token_usage_events ADD COLUMN total_nano_aiu INTEGER;"
	    "ALTER TABLE token_usage_events ADD COLUMN cost_currency TEXT;"
	    "ALTER TABLE token_usage_events ADD COLUMN total_cost_nanos INTEGER;"
	    "ALTER TABLE token_usage_events ADD COLUMN cost_source TEXT;"
	    "INSERT INTO token_usage_events (created_at_ms, created_at_utc,"
	    " trace_id, source, endpoint, model, input_tokens, total_nano_aiu,"
	    " cost_currency, total_cost_nanos, cost_source) VALUES"
	    " (1, 'x', 't1', 'copilot', 'messages', 'm', 3, 150000000, 'USD',"
	    " 1500000, 'copilot_aiu'),"
	    " (2, 'y', 't2', 'provider', 'messages', 'q', 4, NULL, 'CNY', 7,"
	    " 'builtin'),"
	    " (3, 'z', 't3', 'copilot', 'messages', 'm', 5, NULL, NULL, NULL,"
	    " NULL);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	run_import("", "", 0);
	ck_column("total_nano_aiu", "150000000|NULL|NULL");
	ck_column("cost_currency", "USD|CNY|NULL");
	ck_column("total_cost_nanos", "1500000|7|NULL");
	ck_column("cost_source", "copilot_aiu|builtin|NULL");
}
END_TEST

START_TEST(no_reference_files_nothing_marked)
{
	run_import("", "", 0);
	ck_kv("import.reference.usage", NULL);
	ck_kv("github_token", NULL);
	ck_assert_int_ne(access(ref_db, F_OK), 0);
}
END_TEST

START_TEST(token_is_imported_for_its_account_only)
{
	char sub[700], *mark;

	write_file(home, "github_token", REF_TOKEN);
	write_file(home, "ent_github_token", "ghu_enterprise\n");
	snprintf(sub, sizeof(sub), "%s/opencode", home);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_file(sub, "github_token", "");
	run_import("", "", 0);
	ck_kv("github_token", REF_TOKEN);
	mark = kv("import.reference.github_token");
	ck_assert_ptr_nonnull(mark);
	free(mark);
	/* an enterprise account takes ent_github_token, trimmed */
	run_import("@ghe.example.com", "", 1);
	ck_kv("github_token:@ghe.example.com", "ghu_enterprise");
	/* opencode's file is empty: nothing, and looked at again next time */
	run_import("opencode", "opencode", 0);
	ck_kv("github_token:opencode", NULL);
	ck_kv("import.reference.github_token:opencode", NULL);
	write_file(sub, "github_token", "gho_opencode");
	run_import("opencode", "opencode", 0);
	ck_kv("github_token:opencode", "gho_opencode");
}
END_TEST

/* Our own login wins, and an imported token is never imported again (a
 * `logout` stays a logout). */
START_TEST(token_is_imported_once_and_never_over_ours)
{
	struct db *db;
	char *mark;

	write_file(home, "github_token", REF_TOKEN);
	ck_assert_int_eq(db_open(our_db, &db), GW_OK);
	ck_assert_int_eq(db_kv_set(db, "github_token", "gho_ours"), GW_OK);
	db_close(db);
	run_import("", "", 0);
	ck_kv("github_token", "gho_ours");
	ck_kv("import.reference.github_token", NULL);

	ck_assert_int_eq(db_open(our_db, &db), GW_OK);
	/* another account's token does not count as this one's */
	ck_assert_int_eq(db_kv_set(db, "github_token:@ghe.example.com", "x"),
	    GW_OK);
	db_close(db);
	write_file(home, "ent_github_token", "ghu_ent");
	run_import("opencode@ghe.example.com", "", 1);
	mark = kv("import.reference.github_token:opencode@ghe.example.com");
	ck_assert_ptr_nonnull(mark);
	ck_assert_ptr_nonnull(strstr(mark, "ent_github_token"));
	free(mark);
	ck_kv("github_token:opencode@ghe.example.com", "ghu_ent");
	/* gone from our side (signed out): not imported again */
	{
		sqlite3 *h;

		ck_assert_int_eq(sqlite3_open(our_db, &h), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(h, "DELETE FROM kv WHERE key = "
		    "'github_token:opencode@ghe.example.com'", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(h);
	}
	run_import("opencode@ghe.example.com", "", 1);
	ck_kv("github_token:opencode@ghe.example.com", NULL);
}
END_TEST

static Suite *
import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("reference");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, usage_rows_are_imported_once);
	tcase_add_test(tc, usage_rows_are_read_through_a_live_wal);
	tcase_add_test(tc, old_usage_schema_gets_defaults);
	tcase_add_test(tc, cost_columns_of_1_14_7_are_imported);
	tcase_add_test(tc, no_reference_files_nothing_marked);
	tcase_add_test(tc, token_is_imported_for_its_account_only);
	tcase_add_test(tc, token_is_imported_once_and_never_over_ours);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(import_suite());
}

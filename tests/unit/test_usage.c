#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "testutil.h"
#include "core/json.h"
#include "core/util.h"
#include "state/db.h"
#include "state/usage.h"

/*
 * Fixed clock: 2024-03-12 15:00 in US Eastern time (EDT, UTC-4), written as
 * a POSIX TZ rule so no tzdata is needed.  2024-03-10 is the 23-hour day
 * when DST starts.  All constants are UTC epoch milliseconds.
 */
#define TZ_EASTERN   "EST5EDT,M3.2.0,M11.1.0"
#define NOW          1710270000000LL /* 2024-03-12T19:00:00Z */
#define DAY_START    1710216000000LL /* 2024-03-12 00:00 EDT */
#define DAY_END      1710302400000LL /* 2024-03-13 00:00 EDT */
#define WEEK_START   1709701200000LL /* 2024-03-06 00:00 EST */
#define DST_START    1710046800000LL /* 2024-03-10 00:00 EST */
#define DST_END      1710129600000LL /* 2024-03-11 00:00 EDT */
#define MONTH_START  1707714000000LL /* 2024-02-12 00:00 EST */
#define T_10H        1710252000000LL /* today 10:00 */
#define T_11H        1710255600000LL /* today 11:00 */
#define T_12H        1710259200000LL /* today 12:00 */
#define T_DST_NOON   1710086400000LL /* 2024-03-10 12:00 EDT */
#define T_FEB_1      1706788800000LL /* 2024-02-01, outside a month */

static char dir[512];
static char path[600];
static struct db *db;

static void
setup(void)
{
	setenv("TZ", TZ_EASTERN, 1);
	tzset();
	test_tmpdir(dir, sizeof(dir), "gw-usage");
	snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE_NAME);
	ck_assert_int_eq(db_open(path, &db), GW_OK);
}

/* The same documents from PostgreSQL (state/db.h: the SQL is written once
 * for both): the cluster `make unit` starts for this suite
 * (tests/pg/cluster.sh run, GW_TEST_PG_URL), emptied before each test. */
static void
setup_pg(void)
{
	struct db_stmt *st;

	setenv("TZ", TZ_EASTERN, 1);
	tzset();
	dir[0] = '\0';
	ck_assert_int_eq(db_open_target("postgresql", getenv("GW_TEST_PG_URL"),
	    &db), GW_OK);
	ck_assert_int_eq(db_prepare(db, "DELETE FROM token_usage_events", &st),
	    GW_OK);
	ck_assert_int_eq(db_step(st), GW_ENOTFOUND);
	db_done(db, st);
}

static void
teardown(void)
{
	db_close(db);
	db = NULL;
	if (dir[0] != '\0')
		test_rmdir(dir);
}

static long long
raw_int(const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* A row of model at `at` with counts and, when cur is given, a cost of
 * nanos in it; aiu < 0: no Copilot charge. */
static void
record_full(int64_t at, const char *model, const long counts[5],
    const char *cur, int64_t nanos, int64_t aiu)
{
	struct usage_event ev = { 0 };

	ev.created_at_ms = at;
	ev.trace_id = "t";
	ev.source = "copilot";
	ev.endpoint = "messages";
	ev.model = model;
	ev.status = 200;
	ev.input_tokens = counts[0];
	ev.output_tokens = counts[1];
	ev.cache_read_input_tokens = counts[2];
	ev.cache_creation_input_tokens = counts[3];
	ev.total_tokens = counts[4];
	ev.latency_ms = -1;
	ev.has_nano_aiu = aiu >= 0;
	ev.total_nano_aiu = aiu;
	ev.cost_currency = cur;
	ev.total_cost_nanos = nanos;
	ev.cost_source = cur != NULL ? "builtin" : NULL;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
}

static void
record(int64_t at, const char *model, long in, long out, long cr, long cc,
    long total)
{
	const long counts[5] = { in, out, cr, cc, total };

	record_full(at, model, counts, NULL, 0, -1);
}

/* The fixture rows; comments give each row's name used below. */
static void
fill(void)
{
	struct usage_event ev = { 0 };

	/* A: today 10:00, streamed, with identity fields */
	ev.created_at_ms = T_10H;
	ev.trace_id = "t-a";
	ev.session_id = "s1";
	ev.user_id = "octocat";
	ev.source = "copilot";
	ev.endpoint = "messages";
	ev.model = "gpt-4o";
	ev.status = 200;
	ev.stream = 1;
	ev.input_tokens = 100;
	ev.output_tokens = 50;
	ev.cache_read_input_tokens = 10;
	ev.total_tokens = -1;
	ev.latency_ms = 1234;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	/* B: today 11:00 */
	record(T_11H, "claude", 300, 20, 0, 0, -1);
	/* C: same millisecond as B, a provider row with negative counts */
	memset(&ev, 0, sizeof(ev));
	ev.created_at_ms = T_11H;
	ev.trace_id = "t-c";
	ev.user_id = "acme";
	ev.source = "provider";
	ev.endpoint = "provider_messages";
	ev.provider_name = "acme";
	ev.model = "a-model";
	ev.status = 200;
	ev.input_tokens = -5;
	ev.output_tokens = 160;
	ev.cache_read_input_tokens = -1;
	ev.cache_creation_input_tokens = -3;
	ev.total_tokens = -1;
	ev.latency_ms = 80;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	/* D: today 12:00, a failure: no tokens, status and reason kept */
	memset(&ev, 0, sizeof(ev));
	ev.created_at_ms = T_12H;
	ev.trace_id = "t-d";
	ev.source = "copilot";
	ev.endpoint = "chat_completions";
	ev.model = "claude";
	ev.status = 502;
	ev.error = "upstream 502: bad gateway";
	ev.total_tokens = -1;
	ev.latency_ms = -1;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	/* E: the DST day, explicit upstream total wins over the sum */
	record(T_DST_NOON, "gpt-4o", 1, 1, 0, 0, 1000);
	/* F: exactly at the start of the week window */
	record(WEEK_START, "gpt-4o", 7, 0, 0, 0, -1);
	/* G: one millisecond before the week window */
	record(WEEK_START - 1, "claude", 11, 0, 0, 0, -1);
	/* H: at the end of today: outside every window */
	record(DAY_END, "gpt-4o", 5, 0, 0, 0, -1);
	/* I: more than 30 days ago */
	record(T_FEB_1, "gpt-4o", 13, 0, 0, 0, -1);
}

static cJSON *
item_at(const cJSON *arr, int i)
{
	cJSON *it = cJSON_GetArrayItem(arr, i);

	ck_assert_ptr_nonnull(it);
	return it;
}

static int64_t
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", key);
	return (int64_t)v->valuedouble;
}

static const char *
str(const cJSON *o, const char *key)
{
	const char *s = json_str(o, key);

	ck_assert_msg(s != NULL, "%s is not a string", key);
	return s;
}

START_TEST(one_row_per_request)
{
	fill();
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM token_usage_events"), 9);
	/* the failure is a row of its own */
	ck_assert_int_eq(raw_int("SELECT status FROM token_usage_events "
	    "WHERE trace_id = 't-d' AND error = 'upstream 502: bad gateway' "
	    "AND total_tokens = 0 AND latency_ms IS NULL"), 502);
	/* negatives stored as 0, total computed from the clamped counts */
	ck_assert_int_eq(raw_int("SELECT input_tokens + cache_read_input_tokens + "
	    "cache_creation_input_tokens FROM token_usage_events "
	    "WHERE trace_id = 't-c'"), 0);
	ck_assert_int_eq(raw_int("SELECT total_tokens FROM token_usage_events "
	    "WHERE trace_id = 't-c'"), 160);
	ck_assert_int_eq(raw_int("SELECT total_tokens FROM token_usage_events "
	    "WHERE trace_id = 't-a'"), 160);
	ck_assert_int_eq(raw_int("SELECT total_tokens FROM token_usage_events "
	    "WHERE created_at_ms = " "1710086400000"), 1000);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM token_usage_events WHERE "
	    "trace_id = 't-a' AND created_at_utc = '2024-03-12T14:00:00.000Z' "
	    "AND stream = 1 AND latency_ms = 1234 AND provider_name IS NULL"), 1);
}
END_TEST

START_TEST(record_defaults)
{
	struct usage_event ev = { 0 };
	char err[1500];
	int64_t before = util_now_ms(), after;
	size_t i;

	/* all-zero event: now, '' strings, model "unknown", unknown status */
	ev.total_tokens = -1;
	ev.latency_ms = -1;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	after = util_now_ms();
	ck_assert_int_ge(raw_int("SELECT created_at_ms FROM token_usage_events"), before);
	ck_assert_int_le(raw_int("SELECT created_at_ms FROM token_usage_events"), after);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM token_usage_events WHERE "
	    "model = 'unknown' AND trace_id = '' AND source = '' AND status IS NULL "
	    "AND error IS NULL AND total_tokens = 0 AND length(created_at_utc) = 24"), 1);

	/* a long reason is cut on a UTF-8 boundary: "a" then 700 × "é" */
	err[0] = 'a';
	for (i = 0; i < 700; i++) {
		err[1 + 2 * i] = (char)0xc3;
		err[2 + 2 * i] = (char)0xa9;
	}
	err[1401] = '\0';
	ev.error = err;
	ev.status = 500;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	ck_assert_int_eq(raw_int("SELECT length(CAST(error AS BLOB)) FROM "
	    "token_usage_events WHERE status = 500"), 511);
	ck_assert_int_eq(raw_int("SELECT length(error) FROM "
	    "token_usage_events WHERE status = 500"), 1 + 255);
}
END_TEST

START_TEST(summary_day_exact)
{
	static const char want[] =
	    /* A and B, Copilot rows without an account (as before schema
	     * 5): the default's; C, a provider row, has none */
	    "{\"byAccount\":["
	    "{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":10,"
	    "\"costs\":[],"
	    "\"input_tokens\":400,\"output_tokens\":70,\"request_count\":2,"
	    "\"total_nano_aiu\":null,"
	    "\"total_tokens\":480,\"account\":\"default\"}],"
	    "\"byModel\":["
	    "{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
	    "\"costs\":[],"
	    "\"input_tokens\":300,\"output_tokens\":20,\"request_count\":1,"
	    "\"total_nano_aiu\":null,"
	    "\"total_tokens\":320,\"model\":\"claude\"},"
	    "{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
	    "\"costs\":[],"
	    "\"input_tokens\":0,\"output_tokens\":160,\"request_count\":1,"
	    "\"total_nano_aiu\":null,"
	    "\"total_tokens\":160,\"model\":\"a-model\"},"
	    "{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":10,"
	    "\"costs\":[],"
	    "\"input_tokens\":100,\"output_tokens\":50,\"request_count\":1,"
	    "\"total_nano_aiu\":null,"
	    "\"total_tokens\":160,\"model\":\"gpt-4o\"}],"
	    "\"period\":\"day\","
	    "\"range\":{\"end_ms\":1710302400000,\"end_utc\":\"2024-03-13T04:00:00.000Z\","
	    "\"start_ms\":1710216000000,\"start_utc\":\"2024-03-12T04:00:00.000Z\"},"
	    "\"totals\":{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":10,"
	    "\"costs\":[],"
	    "\"input_tokens\":400,\"output_tokens\":230,\"request_count\":3,"
	    "\"total_nano_aiu\":null,"
	    "\"total_tokens\":640}}";
	cJSON *doc;
	char *s;

	fill();
	ck_assert_int_eq(usage_summary_json(db, "day", NULL, NOW, &doc), GW_OK);
	s = json_print(doc);
	ck_assert_str_eq(s, want);
	free(s);
	cJSON_Delete(doc);
	/* an unknown period means day */
	ck_assert_int_eq(usage_summary_json(db, "year", NULL, NOW, &doc), GW_OK);
	s = json_print(doc);
	ck_assert_str_eq(s, want);
	free(s);
	cJSON_Delete(doc);
	ck_assert_int_eq(usage_summary_json(db, NULL, NULL, NOW, &doc), GW_OK);
	ck_assert_str_eq(str(doc, "period"), "day");
	cJSON_Delete(doc);
}
END_TEST

START_TEST(summary_week_and_month)
{
	cJSON *doc, *by, *totals, *range;

	fill();
	ck_assert_int_eq(usage_summary_json(db, "week", NULL, NOW, &doc), GW_OK);
	ck_assert_str_eq(str(doc, "period"), "week");
	range = json_obj(doc, "range");
	ck_assert_int_eq(num(range, "start_ms"), WEEK_START);
	ck_assert_str_eq(str(range, "start_utc"), "2024-03-06T05:00:00.000Z");
	ck_assert_int_eq(num(range, "end_ms"), DAY_END);
	by = json_arr(doc, "byModel");
	ck_assert_int_eq(cJSON_GetArraySize(by), 3);
	ck_assert_str_eq(str(item_at(by, 0), "model"), "gpt-4o");
	ck_assert_int_eq(num(item_at(by, 0), "total_tokens"), 160 + 1000 + 7);
	ck_assert_int_eq(num(item_at(by, 0), "request_count"), 3);
	ck_assert_str_eq(str(item_at(by, 1), "model"), "claude");
	ck_assert_str_eq(str(item_at(by, 2), "model"), "a-model");
	totals = json_obj(doc, "totals");
	ck_assert_int_eq(num(totals, "request_count"), 5);
	ck_assert_int_eq(num(totals, "total_tokens"), 1647);
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_summary_json(db, "month", NULL, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(json_obj(doc, "range"), "start_ms"), MONTH_START);
	totals = json_obj(doc, "totals");
	ck_assert_int_eq(num(totals, "request_count"), 6);
	ck_assert_int_eq(num(totals, "total_tokens"), 1647 + 11);
	ck_assert_int_eq(num(totals, "input_tokens"), 400 + 1 + 7 + 11);
	by = json_arr(doc, "byModel");
	ck_assert_str_eq(str(item_at(by, 1), "model"), "claude");
	ck_assert_int_eq(num(item_at(by, 1), "request_count"), 2);
	ck_assert_int_eq(num(item_at(by, 1), "total_tokens"), 331);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(daily_buckets)
{
	static const char *const dates[] = { "2024-03-06", "2024-03-07",
	    "2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12" };
	cJSON *doc, *days, *d;
	int64_t prev_end = WEEK_START;
	int i;

	fill();
	ck_assert_int_eq(usage_daily_json(db, "week", NULL, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(json_obj(doc, "totals"), "total_tokens"), 1647);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "byModel")), 3);
	days = json_arr(doc, "days");
	ck_assert_int_eq(cJSON_GetArraySize(days), 7);
	for (i = 0; i < 7; i++) {
		d = item_at(days, i);
		ck_assert_str_eq(str(d, "date"), dates[i]);
		ck_assert_int_eq(num(d, "start_ms"), prev_end);
		prev_end = num(d, "end_ms");
	}
	ck_assert_int_eq(prev_end, DAY_END);

	d = item_at(days, 0);
	ck_assert_int_eq(num(json_obj(d, "totals"), "total_tokens"), 7);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(item_at(days, 1), "byModel")), 0);
	ck_assert_int_eq(num(json_obj(item_at(days, 1), "totals"), "request_count"), 0);
	/* the DST day is 23 hours long */
	d = item_at(days, 4);
	ck_assert_int_eq(num(d, "start_ms"), DST_START);
	ck_assert_int_eq(num(d, "end_ms"), DST_END);
	ck_assert_int_eq(DST_END - DST_START, 23 * 3600 * 1000LL);
	ck_assert_int_eq(num(json_obj(d, "totals"), "total_tokens"), 1000);
	ck_assert_str_eq(str(item_at(json_arr(d, "byModel"), 0), "model"), "gpt-4o");
	d = item_at(days, 6);
	ck_assert_int_eq(num(d, "start_ms"), DAY_START);
	ck_assert_int_eq(num(json_obj(d, "totals"), "total_tokens"), 640);
	ck_assert_int_eq(num(json_obj(d, "totals"), "request_count"), 3);
	ck_assert_str_eq(str(item_at(json_arr(d, "byModel"), 1), "model"), "a-model");
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_daily_json(db, "month", NULL, NOW, &doc), GW_OK);
	days = json_arr(doc, "days");
	ck_assert_int_eq(cJSON_GetArraySize(days), 30);
	ck_assert_str_eq(str(item_at(days, 0), "date"), "2024-02-12");
	ck_assert_str_eq(str(item_at(days, 29), "date"), "2024-03-12");
	ck_assert_int_eq(num(json_obj(item_at(days, 22), "totals"), "total_tokens"), 11);
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_daily_json(db, "bogus", NULL, NOW, &doc), GW_OK);
	ck_assert_str_eq(str(doc, "period"), "day");
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "days")), 1);
	cJSON_Delete(doc);
}
END_TEST

/* byModel: total desc, a tie by the model's bytes ("gpt-4.1" before
 * "gpt-4o": '.' < 'o'), whatever order the database returns groups in. */
START_TEST(by_model_order)
{
	static const char *const want[] = { "z-big", "gpt-4.1", "gpt-4o",
	    "gpt-4o-mini", "a-small" };
	cJSON *doc, *by;
	int i;

	record(T_10H, "gpt-4o", 5, 5, 0, 0, -1);
	record(T_10H, "a-small", 1, 0, 0, 0, -1);
	record(T_10H, "gpt-4o-mini", 10, 0, 0, 0, -1);
	record(T_11H, "z-big", 100, 0, 0, 0, -1);
	record(T_11H, "gpt-4.1", 7, 3, 0, 0, -1);
	ck_assert_int_eq(usage_summary_json(db, "day", NULL, NOW, &doc), GW_OK);
	by = json_arr(doc, "byModel");
	ck_assert_int_eq(cJSON_GetArraySize(by), 5);
	for (i = 0; i < 5; i++)
		ck_assert_str_eq(str(item_at(by, i), "model"), want[i]);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(events_paging)
{
	cJSON *doc, *items, *it;

	fill();
	ck_assert_int_eq(usage_events_json(db, "week", NULL, 1, 4, NOW, &doc), GW_OK);
	/* D, the failure without tokens, is no event (the reference never
	 * stores one): A, B, C, E, F */
	ck_assert_int_eq(num(doc, "total"), 5);
	ck_assert_int_eq(num(doc, "total_pages"), 2);
	ck_assert_int_eq(num(doc, "page"), 1);
	ck_assert_int_eq(num(doc, "page_size"), 4);
	ck_assert_str_eq(str(doc, "period"), "week");
	ck_assert_int_eq(num(json_obj(doc, "range"), "start_ms"), WEEK_START);
	items = json_arr(doc, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 4);
	/* newest first; same millisecond: the later row first */
	ck_assert_str_eq(str(item_at(items, 0), "trace_id"), "t-c");
	ck_assert_str_eq(str(item_at(items, 1), "model"), "claude");
	ck_assert_str_eq(str(item_at(items, 2), "trace_id"), "t-a");
	ck_assert_int_eq(num(item_at(items, 3), "created_at_ms"), T_DST_NOON);
	ck_assert_int_gt(num(item_at(items, 0), "id"), num(item_at(items, 1), "id"));

	it = item_at(items, 0);
	ck_assert_str_eq(str(it, "provider_name"), "acme");
	ck_assert_str_eq(str(it, "source"), "provider");
	ck_assert_str_eq(str(it, "endpoint"), "provider_messages");
	ck_assert_int_eq(num(it, "input_tokens"), 0);
	ck_assert_int_eq(num(it, "output_tokens"), 160);
	ck_assert_int_eq(num(it, "cache_creation_input_tokens"), 0);
	ck_assert_str_eq(str(it, "created_at_utc"), "2024-03-12T15:00:00.000Z");
	ck_assert_int_eq(num(it, "created_at_ms"), T_11H);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "error")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(it, "stream")));

	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "account")));

	it = item_at(items, 1);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "latency_ms")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "provider_name")));

	it = item_at(items, 2);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(it, "stream")));
	ck_assert_int_eq(num(it, "latency_ms"), 1234);
	ck_assert_int_eq(num(it, "status"), 200);
	ck_assert_str_eq(str(it, "session_id"), "s1");
	ck_assert_str_eq(str(it, "user_id"), "octocat");
	ck_assert_int_eq(num(it, "cache_read_input_tokens"), 10);
	ck_assert_int_eq(cJSON_GetArraySize(it), 22);   /* + cost, total_nano_aiu, account */
	ck_assert_str_eq(str(it, "account"), "default");   /* NULL, Copilot */
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "cost")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "total_nano_aiu")));
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_events_json(db, "week", NULL, 2, 4, NOW, &doc), GW_OK);
	items = json_arr(doc, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 1);
	ck_assert_int_eq(num(item_at(items, 0), "created_at_ms"), WEEK_START);
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_events_json(db, "week", NULL, 3, 4, NOW, &doc), GW_OK);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "items")), 0);
	ck_assert_int_eq(num(doc, "total"), 5);
	ck_assert_int_eq(num(doc, "total_pages"), 2);
	cJSON_Delete(doc);

	/* clamping: page < 1 → 1, page_size 0 → 20, > 100 → 100 */
	ck_assert_int_eq(usage_events_json(db, "month", NULL, -3, 0, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(doc, "page"), 1);
	ck_assert_int_eq(num(doc, "page_size"), 20);
	ck_assert_int_eq(num(doc, "total"), 6);
	ck_assert_int_eq(num(doc, "total_pages"), 1);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "items")), 6);
	cJSON_Delete(doc);
	ck_assert_int_eq(usage_events_json(db, "day", NULL, 1, 1000, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(doc, "page_size"), 100);
	ck_assert_int_eq(num(doc, "total"), 3);
	cJSON_Delete(doc);
	ck_assert_int_eq(usage_events_json(db, "day", NULL, 1, 1, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(doc, "total_pages"), 3);
	cJSON_Delete(doc);
	ck_assert_int_eq(usage_events_json(db, "day", NULL, 9223372036854775807L, 100,
	    NOW, &doc), GW_OK);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "items")), 0);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(empty_database)
{
	cJSON *doc;

	ck_assert_int_eq(usage_events_json(db, "day", NULL, 1, 20, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(doc, "total"), 0);
	ck_assert_int_eq(num(doc, "total_pages"), 1);
	cJSON_Delete(doc);
	ck_assert_int_eq(usage_summary_json(db, "week", NULL, NOW, &doc), GW_OK);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "byModel")), 0);
	ck_assert_int_eq(num(json_obj(doc, "totals"), "request_count"), 0);
	cJSON_Delete(doc);
}
END_TEST

/* Local days follow the process's TZ: in Tokyo (UTC+9) today began at
 * 15:00 UTC the day before. */
START_TEST(other_timezone)
{
	cJSON *doc, *range;

	setenv("TZ", "JST-9", 1);
	tzset();
	fill();
	ck_assert_int_eq(usage_summary_json(db, "day", NULL, NOW, &doc), GW_OK);
	range = json_obj(doc, "range");
	ck_assert_str_eq(str(range, "start_utc"), "2024-03-12T15:00:00.000Z");
	ck_assert_str_eq(str(range, "end_utc"), "2024-03-13T15:00:00.000Z");
	/* B and C (15:00Z, the first instant), D (16:00Z, no tokens: not
	 * counted) and H (04:00Z the next day) fall in that window; A
	 * (14:00Z) does not */
	ck_assert_int_eq(num(json_obj(doc, "totals"), "request_count"), 3);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(prune)
{
	long n = -1;
	cJSON *doc;

	fill();
	ck_assert_int_eq(db_prune_usage(db, MONTH_START, &n), GW_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(db_prune_usage(db, MONTH_START, &n), GW_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(db_prune_usage(db, DAY_START, &n), GW_OK);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(db_prune_usage(db, DAY_START, NULL), GW_OK);
	ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM token_usage_events"), 5);
	ck_assert_int_eq(usage_events_json(db, "month", NULL, 1, 20, NOW, &doc), GW_OK);
	ck_assert_int_eq(num(doc, "total"), 3);
	cJSON_Delete(doc);
}
END_TEST

/* A charged row: ten tokens of model, a cost in cur (NULL: none). */
static void
record_cost(int64_t at, const char *model, const char *cur, int64_t nanos,
    int64_t aiu)
{
	static const long ten[5] = { 10, 0, 0, 0, -1 };

	record_full(at, model, ten, cur, nanos, aiu);
}

static const char *
cost_str(const cJSON *costs)
{
	static char out[512];
	const cJSON *c;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(c, costs)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s=%lld/%.10g",
		    n > 0 ? "," : "", str(c, "currency"),
		    (long long)num(c, "total_cost_nanos"),
		    json_num(c, "amount", -1));
	return out;
}

/* 1.14.7's costs: summed per model and currency (never converted), totals
 * merged by currency in order, nano-AIU null until a row reports it. */
START_TEST(costs_by_currency)
{
	const cJSON *m, *t, *it;
	cJSON *doc;

	record_cost(T_10H, "gpt-x", "USD", 1500000, 150000000);
	record_cost(T_11H, "gpt-x", "USD", 500000, 50000000);
	record_cost(T_11H, "qwen", "CNY", 2000000000, -1);
	record_cost(T_12H, "qwen", "USD", 7, -1);
	record_cost(T_12H, "free", NULL, 0, 0);
	ck_assert_int_eq(usage_summary_json(db, "day", NULL, NOW, &doc), GW_OK);
	m = json_arr(doc, "byModel");
	ck_assert_str_eq(str(item_at(m, 0), "model"), "gpt-x");
	ck_assert_str_eq(cost_str(json_arr(item_at(m, 0), "costs")),
	    "USD=2000000/0.002");
	ck_assert_int_eq(num(item_at(m, 0), "total_nano_aiu"), 200000000);
	ck_assert_str_eq(str(item_at(m, 1), "model"), "qwen");
	ck_assert_str_eq(cost_str(json_arr(item_at(m, 1), "costs")),
	    "CNY=2000000000/2,USD=7/7e-09");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(item_at(m, 1),
	    "total_nano_aiu")));
	ck_assert_str_eq(str(item_at(m, 2), "model"), "free");
	ck_assert_int_eq(num(item_at(m, 2), "total_nano_aiu"), 0);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(item_at(m, 2), "costs")), 0);
	t = json_obj(doc, "totals");
	ck_assert_str_eq(cost_str(json_arr(t, "costs")),
	    "CNY=2000000000/2,USD=2000007/0.002000007");
	ck_assert_int_eq(num(t, "total_nano_aiu"), 200000000);
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_daily_json(db, "day", NULL, NOW, &doc), GW_OK);
	t = json_obj(item_at(json_arr(doc, "days"), 0), "totals");
	ck_assert_str_eq(cost_str(json_arr(t, "costs")),
	    "CNY=2000000000/2,USD=2000007/0.002000007");
	ck_assert_int_eq(num(t, "total_nano_aiu"), 200000000);
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_events_json(db, "day", NULL, 1, 10, NOW, &doc), GW_OK);
	it = item_at(json_arr(doc, "items"), 0);      /* newest: "free" or qwen */
	if (util_streq(str(it, "model"), "qwen"))
		it = item_at(json_arr(doc, "items"), 1);
	ck_assert_str_eq(str(it, "model"), "free");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(it, "cost")));
	ck_assert_int_eq(num(it, "total_nano_aiu"), 0);
	it = item_at(json_arr(doc, "items"), 4);      /* oldest */
	ck_assert_str_eq(str(json_obj(it, "cost"), "currency"), "USD");
	ck_assert_str_eq(str(json_obj(it, "cost"), "source"), "builtin");
	ck_assert_int_eq(num(json_obj(it, "cost"), "total_cost_nanos"), 1500000);
	ck_assert_int_eq(num(it, "total_nano_aiu"), 150000000);
	cJSON_Delete(doc);
}
END_TEST

/* A Copilot row of account (NULL: none, as before schema 5) with in
 * input tokens and a USD cost of nanos; provider: a provider row. */
static void
record_acct(int64_t at, const char *account, long in, int64_t nanos,
    const char *provider)
{
	struct usage_event ev = { 0 };

	ev.created_at_ms = at;
	ev.trace_id = "t";
	ev.source = provider != NULL ? "provider" : "copilot";
	ev.provider_name = provider;
	ev.endpoint = "messages";
	ev.model = "gpt-x";
	ev.status = 200;
	ev.input_tokens = in;
	ev.total_tokens = -1;
	ev.latency_ms = -1;
	ev.cost_currency = "USD";
	ev.total_cost_nanos = nanos;
	ev.cost_source = "copilot_aiu";
	ev.account = account;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
}

/* "name:requests/tokens/nanos,..." of a byAccount array. */
static const char *
accounts_str(const cJSON *arr)
{
	static char out[512];
	const cJSON *a, *c;
	size_t n = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(a, arr) {
		c = cJSON_GetArrayItem(json_arr(a, "costs"), 0);
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s:%lld/%lld/%lld",
		    n > 0 ? "," : "", str(a, "account"),
		    (long long)num(a, "request_count"),
		    (long long)num(a, "total_tokens"),
		    c != NULL ? (long long)num(c, "total_cost_nanos") : -1LL);
	}
	return out;
}

/* byAccount and ?account=: a Copilot row with no account (NULL or '') is
 * the default's, a provider row is nobody's; every document filters. */
START_TEST(accounts_breakdown_and_filter)
{
	const cJSON *items, *days;
	cJSON *doc;

	record_acct(T_10H, "work", 100, 1000, NULL);
	record_acct(T_11H, "work", 50, 500, NULL);
	record_acct(T_11H, "home", 150, 2000, NULL);   /* ties work on tokens */
	record_acct(T_11H, NULL, 30, 3, NULL);          /* before schema 5 */
	record_acct(T_12H, "", 20, 2, NULL);
	record_acct(T_12H, "default", 10, 1, NULL);
	record_acct(T_12H, NULL, 999, 9, "acme");       /* a provider's row */
	record_acct(DAY_START - 1, "work", 7, 7, NULL); /* yesterday */

	ck_assert_int_eq(usage_summary_json(db, "day", NULL, NOW, &doc), GW_OK);
	/* total desc, then the name by bytes ("home" < "work") */
	ck_assert_str_eq(accounts_str(json_arr(doc, "byAccount")),
	    "home:1/150/2000,work:2/150/1500,default:3/60/6");
	ck_assert_ptr_null(cJSON_GetObjectItem(doc, "account"));
	/* totals still count every row, the provider's included */
	ck_assert_int_eq(num(json_obj(doc, "totals"), "request_count"), 7);
	cJSON_Delete(doc);

	ck_assert_int_eq(usage_summary_json(db, "day", "work", NOW, &doc), GW_OK);
	ck_assert_str_eq(str(doc, "account"), "work");
	ck_assert_str_eq(accounts_str(json_arr(doc, "byAccount")), "work:2/150/1500");
	ck_assert_int_eq(num(json_obj(doc, "totals"), "request_count"), 2);
	ck_assert_int_eq(num(json_obj(doc, "totals"), "input_tokens"), 150);
	ck_assert_int_eq(num(item_at(json_arr(doc, "byModel"), 0), "request_count"), 2);
	cJSON_Delete(doc);

	/* the default's rows: NULL, '' and "default" alike */
	ck_assert_int_eq(usage_summary_json(db, "day", "default", NOW, &doc), GW_OK);
	ck_assert_int_eq(num(json_obj(doc, "totals"), "request_count"), 3);
	ck_assert_int_eq(num(json_obj(doc, "totals"), "input_tokens"), 60);
	cJSON_Delete(doc);

	/* an account with no rows (a removed one, a typo): nothing, no error */
	ck_assert_int_eq(usage_summary_json(db, "day", "nobody", NOW, &doc), GW_OK);
	ck_assert_int_eq(num(json_obj(doc, "totals"), "request_count"), 0);
	ck_assert_int_eq(cJSON_GetArraySize(json_arr(doc, "byAccount")), 0);
	cJSON_Delete(doc);

	/* daily: the week's buckets hold only the account's rows */
	ck_assert_int_eq(usage_daily_json(db, "week", "work", NOW, &doc), GW_OK);
	ck_assert_str_eq(accounts_str(json_arr(doc, "byAccount")), "work:3/157/1507");
	days = json_arr(doc, "days");
	ck_assert_int_eq(cJSON_GetArraySize(days), 7);
	ck_assert_int_eq(num(json_obj(item_at(days, 5), "totals"), "request_count"), 1);
	ck_assert_int_eq(num(json_obj(item_at(days, 6), "totals"), "request_count"), 2);
	cJSON_Delete(doc);

	/* events: each says its account; the filter pages the account's own */
	ck_assert_int_eq(usage_events_json(db, "day", NULL, 1, 20, NOW, &doc), GW_OK);
	items = json_arr(doc, "items");
	ck_assert_int_eq(num(doc, "total"), 7);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(item_at(items, 0), "account")));
	ck_assert_str_eq(str(item_at(items, 1), "account"), "default");
	ck_assert_str_eq(str(item_at(items, 2), "account"), "default");   /* '' */
	ck_assert_str_eq(str(item_at(items, 6), "account"), "work");
	cJSON_Delete(doc);
	ck_assert_int_eq(usage_events_json(db, "week", "work", 2, 2, NOW, &doc), GW_OK);
	ck_assert_str_eq(str(doc, "account"), "work");
	ck_assert_int_eq(num(doc, "total"), 3);
	ck_assert_int_eq(num(doc, "total_pages"), 2);
	items = json_arr(doc, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 1);
	ck_assert_int_eq(num(item_at(items, 0), "created_at_ms"), DAY_START - 1);
	cJSON_Delete(doc);
}
END_TEST

/* The tests that read only through state/usage.h: on either engine. */
/* Rows by the engine's own statements (raw_int reads the sqlite file). */
static long
engine_count(const char *where)
{
	char sql[256];
	struct db_stmt *st;
	long n = -1;

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM token_usage_events "
	    "WHERE %s", where);
	ck_assert_int_eq(db_prepare(db, sql, &st), GW_OK);
	ck_assert_int_eq(db_step(st), GW_OK);
	n = (long)db_column_int64(st, 0);
	db_done(db, st);
	return n;
}

/* A row whose key is stored is not written again (a batch retried after
 * its commit went through unseen); rows without a key always are. */
START_TEST(row_key_writes_a_row_once)
{
	struct usage_event ev = { 0 };

	ev.trace_id = "t-key";
	ev.model = "gpt-4.1";
	ev.input_tokens = 7;
	ev.total_tokens = -1;
	ev.latency_ms = -1;
	ev.row_key = "0123456789abcdef0123456789abcdef";
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	ev.input_tokens = 99;           /* the retry is the same row */
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	ck_assert_int_eq(engine_count("trace_id = 't-key'"), 1);
	ck_assert_int_eq(engine_count("trace_id = 't-key' AND input_tokens = 7 "
	    "AND row_key = '0123456789abcdef0123456789abcdef'"), 1);
	ev.row_key = "another";
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	ev.row_key = NULL;
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	ck_assert_int_eq(usage_record(db, &ev), GW_OK);
	ck_assert_int_eq(engine_count("trace_id = 't-key'"), 4);
	ck_assert_int_eq(engine_count("trace_id = 't-key' AND row_key IS NULL"),
	    2);
}
END_TEST

static void
add_engine_tests(TCase *tc)
{
	tcase_add_test(tc, row_key_writes_a_row_once);
	tcase_add_test(tc, summary_day_exact);
	tcase_add_test(tc, summary_week_and_month);
	tcase_add_test(tc, daily_buckets);
	tcase_add_test(tc, events_paging);
	tcase_add_test(tc, by_model_order);
	tcase_add_test(tc, empty_database);
	tcase_add_test(tc, other_timezone);
	tcase_add_test(tc, costs_by_currency);
	tcase_add_test(tc, accounts_breakdown_and_filter);
}

static Suite *
usage_suite(void)
{
	Suite *s = suite_create("usage");
	TCase *tc = tcase_create("usage");
	const char *pg = getenv("GW_TEST_PG_URL");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, one_row_per_request);
	tcase_add_test(tc, record_defaults);
	tcase_add_test(tc, prune);
	add_engine_tests(tc);
	suite_add_tcase(s, tc);

	/* the same on PostgreSQL, when a cluster is given */
	if (pg == NULL || *pg == '\0') {
		fprintf(stderr, "test_usage: PostgreSQL half SKIPPED: "
		    "GW_TEST_PG_URL is not set\n");
		return s;
	}
	tc = tcase_create("usage_pg");
	tcase_add_checked_fixture(tc, setup_pg, teardown);
	tcase_set_timeout(tc, 60);
	add_engine_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(usage_suite());
}

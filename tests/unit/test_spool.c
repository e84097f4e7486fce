#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "core/buf.h"
#include "state/paths.h"
#include "state/db.c"
#include "state/db_sqlite.c"
#include "state/spool.c"

static char dir[256];
static char dbpath[512], spath[512];

static void
setup(void)
{
	test_tmpdir(dir, sizeof(dir), "gw-spool");
	snprintf(dbpath, sizeof(dbpath), "%s/copilot-api.db", dir);
	snprintf(spath, sizeof(spath), "%s/%s", dir, SPOOL_FILE_NAME);
}

static void
teardown(void)
{
	test_rmdir(dir);
}

static long
raw_count(struct db *db, const char *sql)
{
	struct db_stmt *st;
	long n = -1;

	ck_assert_int_eq(db_prepare(db, sql, &st), GW_OK);
	if (db_step(st) == GW_OK)
		n = (long)db_column_int64(st, 0);
	db_done(db, st);
	return n;
}

static long
rows(struct db *db)
{
	return raw_count(db, "SELECT count(*) FROM token_usage_events");
}

static struct usage_event
event(const char *trace, long status)
{
	struct usage_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.trace_id = trace;
	ev.model = "gpt-4.1";
	ev.endpoint = "chat_completions";
	ev.source = "copilot";
	ev.status = status;
	ev.input_tokens = 10;
	ev.output_tokens = 5;
	ev.cache_read_input_tokens = ev.cache_creation_input_tokens = -1;
	ev.total_tokens = -1;
	ev.latency_ms = 12;
	ev.error = status >= 400 ? "upstream \"quoted\"\nerror" : NULL;
	return ev;
}

START_TEST(append_then_replay)
{
	struct usage_event a = event("t1", 200), b = event("t2", 502);
	struct db *db;
	struct stat st;
	long n = 0;

	a.account = "work";             /* the account goes along (issue 15) */
	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(spool_append(spath, &a), GW_OK);
	ck_assert_int_eq(spool_append(spath, &b), GW_OK);
	ck_assert_int_eq(stat(spath, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(rows(db), 0);
	ck_assert_int_eq(spool_replay(db, spath, &n), GW_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(rows(db), 2);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM token_usage_events "
	    "WHERE trace_id = 't1' AND account = 'work'"), 1);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM token_usage_events "
	    "WHERE trace_id = 't2' AND account IS NULL"), 1);
	ck_assert_int_eq(stat(spath, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	/* replaying an empty spool does nothing */
	ck_assert_int_eq(spool_replay(db, spath, &n), GW_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(rows(db), 2);
	db_close(db);
}
END_TEST

/* A batch whose commit went through although its answer was lost
 * (PostgreSQL gone between COMMIT and the reply): the rows are spilled
 * with their keys, and the replay writes none of them a second time. */
START_TEST(replay_of_a_committed_batch_writes_nothing_twice)
{
	struct usage_event a = event("k1", 200), b = event("k2", 200);
	struct held hr[2];
	struct db *db;
	long n = 0;

	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	/* spool_record gives each row a key of its own */
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	ck_assert_int_eq(raw_count(db, "SELECT count(DISTINCT row_key) FROM "
	    "token_usage_events WHERE trace_id = 'k1' AND length(row_key) = 32"),
	    2);
	a.row_key = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	b.row_key = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	ck_assert_int_eq(held_copy(&hr[0], &a), GW_OK);
	ck_assert_int_eq(held_copy(&hr[1], &b), GW_OK);
	ck_assert_int_eq(write_rows(db, hr, 2), GW_OK);
	ck_assert_int_eq(rows(db), 4);
	/* what record_now does when the commit's answer is lost */
	ck_assert_int_eq(spill(spath, &hr[0].ev, GW_EDBDOWN), GW_OK);
	ck_assert_int_eq(spill(spath, &hr[1].ev, GW_EDBDOWN), GW_OK);
	ck_assert_int_eq(spool_replay(db, spath, &n), GW_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(rows(db), 4);
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM token_usage_events "
	    "WHERE row_key = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' AND "
	    "trace_id = 'k2'"), 1);
	/* and the same rows held in memory (a full disk) come back once */
	ck_assert_int_eq(write_rows(db, hr, 2), GW_OK);
	ck_assert_int_eq(rows(db), 4);
	held_free(&hr[0]);
	held_free(&hr[1]);
	db_close(db);
}
END_TEST

START_TEST(busy_database_spools_and_next_write_replays)
{
	struct usage_event a = event("busy", 200), b = event("free", 200);
	struct db *db, *holder;
	struct stat st;

	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(db_open(dbpath, &holder), GW_OK);
	sq_set_busy_timeout(db, 100);
	ck_assert_int_eq(db_begin_immediate(holder), GW_OK);
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	ck_assert_int_eq(stat(spath, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	ck_assert_int_eq(db_rollback(holder), GW_OK);
	ck_assert_int_eq(rows(db), 0);
	ck_assert_int_eq(spool_record(db, spath, &b), GW_OK);
	ck_assert_int_eq(rows(db), 2);
	ck_assert_int_eq(stat(spath, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	db_close(holder);
	db_close(db);
}
END_TEST

/* A database that fails and a spool that cannot be written (the disk is
 * full): rows are held in memory, up to the bound, and all written by the
 * next successful write; what is past the bound is counted as lost. */
START_TEST(unwritable_spool_holds_rows_in_memory)
{
	struct usage_event a = event("held", 200), b = event("written", 200);
	struct db *db, *holder;
	char nospool[600];
	long held, lost, i;
	int err;

	snprintf(nospool, sizeof(nospool), "%s/no/such/dir/%s", dir,
	    SPOOL_FILE_NAME);
	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(db_open(dbpath, &holder), GW_OK);
	sq_set_busy_timeout(db, 0);
	ck_assert_int_eq(db_begin_immediate(holder), GW_OK);
	a.created_at_ms = 0;
	ck_assert_int_eq(spool_record(db, nospool, &a), GW_OK);
	spool_mem_stats(&held, &lost);
	ck_assert_int_eq(held, 1);
	ck_assert_int_eq(lost, 0);
	/* up to the bound (the log says each one: keep it out of the output) */
	err = dup(2);
	ck_assert_int_ge(err, 0);
	ck_assert_int_eq(dup2(open("/dev/null", O_WRONLY), 2), 2);
	for (i = 1; i < SPOOL_MEM_ROWS; i++)
		ck_assert_int_eq(spool_record(db, nospool, &a), GW_OK);
	ck_assert_int_ne(spool_record(db, nospool, &a), GW_OK);
	dup2(err, 2);
	spool_mem_stats(&held, &lost);
	ck_assert_int_eq(held, SPOOL_MEM_ROWS);
	ck_assert_int_eq(lost, 1);
	ck_assert_int_eq(db_rollback(holder), GW_OK);
	ck_assert_int_eq(rows(db), 0);
	/* space again: the next row takes every held one with it */
	ck_assert_int_eq(spool_record(db, nospool, &b), GW_OK);
	ck_assert_int_eq(rows(db), SPOOL_MEM_ROWS + 1);
	spool_mem_stats(&held, &lost);
	ck_assert_int_eq(held, 0);
	/* held rows keep the time they happened, not the time written */
	ck_assert_int_eq(raw_count(db, "SELECT count(*) FROM token_usage_events "
	    "WHERE trace_id = 'held' AND created_at_ms > 0"), SPOOL_MEM_ROWS);
	db_close(holder);
	db_close(db);
}
END_TEST

START_TEST(replay_skips_a_spool_locked_elsewhere_and_partial_lines)
{
	struct usage_event a = event("x", 200);
	struct db *db;
	long n = -1;
	int fd;

	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(spool_append(spath, &a), GW_OK);
	fd = open(spath, O_RDWR | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(spool_replay(db, spath, &n), GW_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(rows(db), 0);
	flock(fd, LOCK_UN);
	/* a writer that died mid-line leaves a partial line: it is dropped */
	ck_assert_int_eq(write(fd, "{\"trace_id\":\"par", 16), 16);
	close(fd);
	ck_assert_int_eq(spool_replay(db, spath, &n), GW_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(rows(db), 1);
	db_close(db);
}
END_TEST

/* The batcher: rows queue and are written together; spool_sync sees them
 * written; a stop writes what is queued. */
START_TEST(batcher_queues_writes_and_stops_cleanly)
{
	struct usage_event a = event("batched", 200);
	struct db *db;
	size_t queued;
	int i;

	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(spool_batch_start("sqlite", dbpath, spath), GW_OK);
	/* the writer is idle (waiting for a first row) when it comes */
	usleep(100000);
	/* one row waits for company (SPOOL_BATCH_MS), then goes alone */
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	pthread_mutex_lock(&q_mu);
	queued = q_n;
	pthread_mutex_unlock(&q_mu);
	ck_assert_uint_eq(queued, 1);
	for (i = 0; i < 100 && rows(db) < 1; i++)
		usleep(20000);
	ck_assert_int_eq(rows(db), 1);
	/* a burst: queued, then visible after a sync */
	for (i = 0; i < 3 * SPOOL_BATCH_ROWS + 5; i++)
		ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	spool_sync();
	ck_assert_int_eq(rows(db), 3 * SPOOL_BATCH_ROWS + 6);
	/* queued rows are written by a clean stop */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	spool_batch_stop();
	ck_assert_int_eq(rows(db), 3 * SPOOL_BATCH_ROWS + 16);
	/* stopped: a row is written by its own thread again */
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	ck_assert_int_eq(rows(db), 3 * SPOOL_BATCH_ROWS + 17);
	spool_sync();                    /* not running: returns at once */
	db_close(db);
}
END_TEST

/* A batch that meets a locked database goes to the spool file, row by
 * row, and the next good batch replays it. */
START_TEST(batcher_spools_a_batch_the_database_refuses)
{
	struct usage_event a = event("locked", 200), b = event("after", 200);
	struct db *db, *holder;
	struct stat st;

	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(db_open(dbpath, &holder), GW_OK);
	ck_assert_int_eq(spool_batch_start("sqlite", dbpath, spath), GW_OK);
	sq_set_busy_timeout(q_db, 100);
	ck_assert_int_eq(db_begin_immediate(holder), GW_OK);
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	ck_assert_int_eq(spool_record(db, spath, &a), GW_OK);
	spool_sync();
	ck_assert_int_eq(stat(spath, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	ck_assert_int_eq(db_rollback(holder), GW_OK);
	ck_assert_int_eq(rows(db), 0);
	ck_assert_int_eq(spool_record(db, spath, &b), GW_OK);
	spool_sync();
	ck_assert_int_eq(rows(db), 3);
	ck_assert_int_eq(stat(spath, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	spool_batch_stop();
	db_close(holder);
	db_close(db);
}
END_TEST

/* The lock the spool, the config and the token refresh share: a second
 * open of the same file cannot take it while the first holds it. */
START_TEST(paths_lock_excludes_a_second_open)
{
	char lpath[600];
	int a = -1, b = -1;
	struct buf err = BUF_INIT;

	snprintf(lpath, sizeof(lpath), "%s/some.lock", dir);
	ck_assert_int_eq(paths_lock(lpath, PATHS_LOCK_EXISTING, &a, NULL),
	    GW_ENOTFOUND);
	ck_assert_int_eq(a, -1);
	ck_assert_int_eq(paths_lock(lpath, 0, &a, &err), GW_OK);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(paths_lock(lpath, PATHS_LOCK_NB, &b, &err), GW_EBUSY);
	ck_assert_int_eq(b, -1);
	paths_unlock(a);
	ck_assert_int_eq(paths_lock(lpath, PATHS_LOCK_NB | PATHS_LOCK_EXISTING,
	    &b, &err), GW_OK);
	paths_unlock(b);
	paths_unlock(-1);
	snprintf(lpath, sizeof(lpath), "%s/no/such/dir.lock", dir);
	ck_assert_int_eq(paths_lock(lpath, 0, &a, &err), GW_EIO);
	ck_assert(strstr(buf_cstr(&err), "cannot open") != NULL);
	buf_free(&err);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_then_replay);
	tcase_add_test(tc, busy_database_spools_and_next_write_replays);
	tcase_add_test(tc, replay_of_a_committed_batch_writes_nothing_twice);
	tcase_add_test(tc, unwritable_spool_holds_rows_in_memory);
	tcase_add_test(tc, replay_skips_a_spool_locked_elsewhere_and_partial_lines);
	tcase_add_test(tc, paths_lock_excludes_a_second_open);
	tcase_add_test(tc, batcher_queues_writes_and_stops_cleanly);
	tcase_add_test(tc, batcher_spools_a_batch_the_database_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(spool_suite());
}

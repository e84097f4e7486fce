/* state/approval.c: the pending-approval table shared by the pool. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "state/approval.h"
#include "state/db.h"

static char dir[256];
static char dbpath[512];
static struct db *db, *db2;     /* two connections: two processes */

static void
setup(void)
{
	test_tmpdir(dir, sizeof(dir), "gw-approval");
	snprintf(dbpath, sizeof(dbpath), "%s/copilot-api.db", dir);
	ck_assert_int_eq(db_open(dbpath, &db), GW_OK);
	ck_assert_int_eq(db_open(dbpath, &db2), GW_OK);
}

static void
teardown(void)
{
	db_close(db);
	db_close(db2);
	test_rmdir(dir);
}

static enum approval_state
state_of(struct db *d, const char *id)
{
	enum approval_state st = APPROVAL_PENDING;

	ck_assert_int_eq(approval_get(d, id, &st), GW_OK);
	return st;
}

START_TEST(add_list_decide_remove)
{
	struct approval_entry *l;
	enum approval_state st;
	size_t n;

	ck_assert_int_eq(approval_list(db, &l, &n), GW_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(approval_add(db, "b", "/v1/messages", "gpt-4o",
	    "second", 2000), GW_OK);
	ck_assert_int_eq(approval_add(db, "a", "/v1/responses", "o3", "first",
	    1000), GW_OK);
	/* an id is unique */
	ck_assert_int_ne(approval_add(db, "a", "/x", "m", "p", 1), GW_OK);
	ck_assert_int_eq(approval_list(db2, &l, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(l[0].id, "a");            /* oldest first */
	ck_assert_str_eq(l[0].route, "/v1/responses");
	ck_assert_str_eq(l[0].model, "o3");
	ck_assert_str_eq(l[0].preview, "first");
	ck_assert_int_eq(l[0].created_at_ms, 1000);
	ck_assert_str_eq(l[1].id, "b");
	approval_list_free(l, n);
	ck_assert_int_eq(state_of(db, "a"), APPROVAL_PENDING);
	/* decided through the other connection, seen through the first */
	ck_assert_int_eq(approval_decide(db2, "a", 1), GW_OK);
	ck_assert_int_eq(approval_decide(db2, "b", 0), GW_OK);
	ck_assert_int_eq(state_of(db, "a"), APPROVAL_APPROVED);
	ck_assert_int_eq(state_of(db, "b"), APPROVAL_REJECTED);
	/* once decided it is no longer pending: listed no more, not
	 * decided twice */
	ck_assert_int_eq(approval_decide(db2, "a", 0), GW_ENOTFOUND);
	ck_assert_int_eq(state_of(db, "a"), APPROVAL_APPROVED);
	ck_assert_int_eq(approval_list(db2, &l, &n), GW_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(approval_decide(db2, "nope", 1), GW_ENOTFOUND);
	ck_assert_int_eq(approval_remove(db, "a"), GW_OK);
	ck_assert_int_eq(approval_remove(db, "a"), GW_OK);
	ck_assert_int_eq(approval_get(db, "a", &st), GW_ENOTFOUND);
}
END_TEST

START_TEST(prune_removes_what_dead_waiters_left)
{
	struct approval_entry *l;
	enum approval_state st;
	size_t n;
	long removed = -1;

	ck_assert_int_eq(approval_add(db, "old", "/v1/messages", "m", "", 100),
	    GW_OK);
	ck_assert_int_eq(approval_add(db, "new", "/v1/messages", "m", "", 5000),
	    GW_OK);
	ck_assert_int_eq(approval_prune(db2, 5000, &removed), GW_OK);
	ck_assert_int_eq(removed, 1);
	ck_assert_int_eq(approval_get(db, "old", &st), GW_ENOTFOUND);
	ck_assert_int_eq(approval_list(db, &l, &n), GW_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(l[0].id, "new");
	approval_list_free(l, n);
}
END_TEST

static Suite *
approval_suite(void)
{
	Suite *s = suite_create("approval");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, add_list_decide_remove);
	tcase_add_test(tc, prune_removes_what_dead_waiters_left);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(approval_suite());
}

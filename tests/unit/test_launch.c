/*
 * cli/launch.c white-box: finding the programs `copilot-api start` runs
 * (the responder, spawn-fcgi, lighttpd).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "cli/launch.c"

static char dir[256], dir2[256];

static void
setup(void)
{
	test_tmpdir(dir, sizeof(dir), "gw-launch");
	test_tmpdir(dir2, sizeof(dir2), "gw-launch2");
}

static void
teardown(void)
{
	test_rmdir(dir);
	test_rmdir(dir2);
}

static void
make_exec(const char *d, const char *name)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs("#!/bin/sh\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(p, 0755), 0);
}

/* Not beside the test binary, not in libexec: the FIRST $PATH entry is
 * searched too (the libexec attempt once left its path in the buffer,
 * glued to that entry). */
START_TEST(first_path_entry_is_searched_after_libexec)
{
	char want[512], path[600];
	char *got;

	make_exec(dir, "gw-test-prog");
	snprintf(path, sizeof(path), "%s:%s", dir, dir2);
	ck_assert_int_eq(setenv("PATH", path, 1), 0);
	got = find_program("gw-test-prog", 1);
	snprintf(want, sizeof(want), "%s/gw-test-prog", dir);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
}
END_TEST

START_TEST(later_path_entry_and_missing_program)
{
	char want[512], path[600];
	char *got;

	make_exec(dir2, "gw-test-prog");
	snprintf(path, sizeof(path), "%s:%s", dir, dir2);
	ck_assert_int_eq(setenv("PATH", path, 1), 0);
	got = find_program("gw-test-prog", 0);
	snprintf(want, sizeof(want), "%s/gw-test-prog", dir2);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	ck_assert_ptr_null(find_program("gw-no-such-prog", 1));
}
END_TEST

static Suite *
launch_suite(void)
{
	Suite *s = suite_create("launch");
	TCase *tc = tcase_create("find_program");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_path_entry_is_searched_after_libexec);
	tcase_add_test(tc, later_path_entry_and_missing_program);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(launch_suite());
}

/* Shared bits for the Check suites. */
#ifndef GW_TESTUTIL_H
#define GW_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs one suite in fork mode and returns the process exit status. */
static inline int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A fresh private directory under $TMPDIR (or the system's): out gets
 * its path.  name is a short prefix such as "gw-db". */
static inline void
test_tmpdir(char *out, size_t n, const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, n, "%s/%s-XXXXXX", t != NULL && *t ? t : P_tmpdir, name);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

/* Removes a directory made by test_tmpdir and the files in it (it holds
 * no subdirectories). */
static inline void
test_rmdir(const char *dir)
{
	char p[1200];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

#endif

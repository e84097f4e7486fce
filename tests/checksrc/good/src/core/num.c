/* num: doubling, as spec/demo.md §1.2 says (and §2, the same document). */
#include <stdio.h>

#include "core/num.h"

static int
add(int a, int b)
{
	return a + b;
}

/* Reached only by a test that includes this file: static all the same. */
static __attribute__((unused)) int
num_spare(int n)
{
	return n;
}

int
num_twice(int n)
{
	char b[16];

	/* strcpy(b, "x") in a comment and "sprintf(" in a string are no calls */
	snprintf(b, sizeof(b), "%s", "sprintf(");
	return add(n, n);
}

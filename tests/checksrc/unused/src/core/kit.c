/* kit: lonely is called only here; tok_load is on the allowlist. */
#include "core/kit.h"

int
kit_lonely(void)
{
	return 1;
}

int
kit_used(void)
{
	return kit_lonely();
}

int
kit_by_macro(int n)
{
	return n;
}

int
kit_declared_twice(void)
{
	return 2;
}

int
tok_load(void)
{
	return 0;
}

/* calc: one is declared in calc.h, two is not. */
#include "core/calc.h"

static int
calc_three(void)
{
	return 3;
}

int
calc_one(void)
{
	return calc_three() - 2;
}

int
calc_two(void)
{
	return 2;
}

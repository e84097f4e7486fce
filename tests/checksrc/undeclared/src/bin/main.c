/* A main with a helper that should be static. */
#include "core/calc.h"

int calc_two(void);
int solo_value(void);

int
helper(void)
{
	return calc_two() + solo_value();
}

int
main(void)
{
	return calc_one() + helper() == 3 ? 0 : 1;
}

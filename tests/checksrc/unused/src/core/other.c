/* other: used by main. */
#include "core/other.h"

int
other_f(void)
{
	return 0;
}

/* The main of the clean sample. */
#include "state/store.h"

static int
one(void)
{
	return 1;
}

int
main(void)
{
	return store_put(one()) == 4 ? 0 : 1;
}

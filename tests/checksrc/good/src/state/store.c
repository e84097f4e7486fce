/* store: keeps one number. */
#include "core/num.h"
#include "state/store.h"

static int kept;

int
store_put(int n)
{
	kept = NUM_QUAD(n);
	return kept;
}

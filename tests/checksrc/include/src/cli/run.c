/* run: may see routes/routes.h, not the rest of routes/. */
#include "cli/run.h"
#include "routes/routes.h"
#include "routes/inner.h"
#include "extra/odd.h"
#include "gwconfig.h"

int
run_main(void)
{
	return routes_handle() + INNER_ZERO;
}

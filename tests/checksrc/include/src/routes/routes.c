/* routes: the handler. */
#include "routes/routes.h"
#include "routes/inner.h"

int
routes_handle(void)
{
	return INNER_ZERO;
}

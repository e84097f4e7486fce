/* The main of the include sample. */
#include "cli/run.h"

int
main(void)
{
	return run_main();
}

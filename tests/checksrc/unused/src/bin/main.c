/* The main of the unused sample. */
#include "core/kit.h"
#include "core/other.h"

int
main(void)
{
	return kit_used() + KIT_MACRO(other_f());
}

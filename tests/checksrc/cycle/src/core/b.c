/* b: its .c closes the cycle with a. */
#include "core/a.h"
#include "core/b.h"

static struct b b_unused;

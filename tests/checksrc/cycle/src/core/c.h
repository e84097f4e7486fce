/* c: back to b. */
#ifndef C_H
#define C_H

#include "core/b.h"

struct c { int x; };

#endif

/* b: types only. */
#ifndef B_H
#define B_H

#include "core/c.h"

struct b { int x; };

#endif

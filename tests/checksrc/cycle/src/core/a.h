/* a: part of a three-unit cycle. */
#ifndef A_H
#define A_H

#include "core/b.h"

struct a { int x; };

#endif

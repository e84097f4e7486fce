/* base: core may include nothing outside core. */
#ifndef BASE_H
#define BASE_H

#include <stddef.h>

#include "state/conf.h"

struct base { size_t n; };

#endif

/* r: includes p and is not on any cycle. */
#ifndef R_H
#define R_H

#include "state/p.h"

#endif

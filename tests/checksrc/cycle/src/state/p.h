/* p: a two-unit cycle in state, p -> q -> p. */
#ifndef P_H
#define P_H

#include "state/q.h"

#endif

/* q: back to p. */
#ifndef Q_H
#define Q_H

#include "state/p.h"

#endif

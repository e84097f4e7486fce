/* store: keeps one number (demo spec §1). */
#ifndef STORE_H
#define STORE_H

#include "core/types.h"

int store_put(int n);

#endif

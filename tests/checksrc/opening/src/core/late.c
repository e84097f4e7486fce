// a C++ comment does not count
#include "core/late.h"

/* odd: a module the table does not know. */
#ifndef ODD_H
#define ODD_H

#include "core/base.h"

#endif

/* ref: §1 here means demo.md, named last in ref.h; §1.5 is missing. */
#include "core/ref.h"

/* other.md §1 names a document doc/spec does not have; §2 too. */
static struct ref r;

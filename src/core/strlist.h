/* A NULL-terminated, growable list of owned strings (header lists, argv). */
#ifndef GW_STRLIST_H
#define GW_STRLIST_H

#include <stddef.h>

#include "core/err.h"

struct strlist {
	char **v;        /* always NULL-terminated once anything was added */
	size_t n;
	size_t cap;
};

#define STRLIST_INIT { NULL, 0, 0 }

enum gw_err strlist_add(struct strlist *l, const char *s);
enum gw_err strlist_addf(struct strlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A NULL-terminated view that is never NULL itself. */
const char *const *strlist_view(const struct strlist *l);
void strlist_free(struct strlist *l);

#endif

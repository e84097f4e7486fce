/* A NULL-terminated, growable list of owned strings (header lists, argv),
 * and a small key/value list of owned strings.  Not thread-safe to modify;
 * a list nobody modifies may be read by any thread. */
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

GW_MUST_CHECK enum gw_err strlist_add(struct strlist *l, const char *s);
GW_MUST_CHECK enum gw_err strlist_addf(struct strlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* 1 when some entry equals s. */
int strlist_has(const struct strlist *l, const char *s);
/* A NULL-terminated view that is never NULL itself. */
const char *const *strlist_view(const struct strlist *l);
/* Frees the strings and the array, not l itself; l is left empty. */
void strlist_free(struct strlist *l);

/* Key/value pairs in insertion order, keys unique. */
struct strlist_kv {
	char *key;
	char *value;
};

struct strlist_map {
	struct strlist_kv *v;
	size_t n;
	size_t cap;
};

#define STRLIST_MAP_INIT { NULL, 0, 0 }

/* Sets key to a copy of value: an existing key keeps its place. */
GW_MUST_CHECK enum gw_err strlist_map_set(struct strlist_map *m, const char *key,
    const char *value);
/* The value of key, or NULL (also for a NULL key). */
const char *strlist_map_get(const struct strlist_map *m, const char *key);
/* Frees the pairs and the array, not m itself; m is left empty. */
void strlist_map_free(struct strlist_map *m);

#endif

/* Thin helpers over cJSON.  A cJSON tree has one owner; the pointers these
 * return are borrowed from it. */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"

/* Parses p[0..n).  On failure returns NULL and, when the pointers are given,
 * the 1-based line and column of the first bad byte. */
cJSON *json_parse(const char *p, size_t n, int *line, int *col);

/* Borrowed views of obj[key]: NULL / def when absent or of another type. */
const char *json_str(const cJSON *obj, const char *key);
double json_num(const cJSON *obj, const char *key, double def);
int json_bool(const cJSON *obj, const char *key, int def);
cJSON *json_obj(const cJSON *obj, const char *key);
cJSON *json_arr(const cJSON *obj, const char *key);

/* JavaScript truthiness (the reference's checks rely on it): NULL, null,
 * false, 0, NaN and "" are false. */
int json_truthy(const cJSON *v);

/* Compact serialisation appended to b. */
enum gw_err json_append(struct buf *b, const cJSON *v);
/* Compact serialisation as a malloc'd string (NULL on ENOMEM). */
char *json_print(const cJSON *v);

/* Sets obj[key] = item, replacing any existing value; takes item (it is
 * deleted when that fails, and NULL is GW_ENOMEM). */
enum gw_err json_set(cJSON *obj, const char *key, cJSON *item);
/* Appends obj[key] = item without looking for an existing key (building
 * new objects); takes item like json_set. */
enum gw_err json_add(cJSON *obj, const char *key, cJSON *item);
enum gw_err json_add_str(cJSON *obj, const char *key, const char *s);
/* Appends item to arr; takes item. */
enum gw_err json_push(cJSON *arr, cJSON *item);
/* obj[key] as a long, clamped to +-1e18 (a double past LONG_MAX does not
 * convert); def when absent or not a number. */
long json_long(const cJSON *obj, const char *key, long def);

#endif

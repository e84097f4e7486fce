/* Thin helpers over cJSON.  A cJSON tree has one owner; the pointers these
 * return are borrowed from it. */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"

/* Parses p[0..n) (p NULL: an empty text, as an empty struct buf holds).  On
 * failure returns NULL and, when the pointers are given, the 1-based line
 * and column of the first bad byte. */
cJSON *json_parse(const char *p, size_t n, int *line, int *col);

/*
 * U+0000 in the JSON text p[0..n), which cJSON cannot keep (its strings end
 * at the first NUL, so "h\u0000i" would become "h"): JSON_NUL_RAW for a NUL
 * byte anywhere (never valid JSON), JSON_NUL_ESCAPE for a \u0000 escape
 * inside a string; with the 1-based line and column of the first one in
 * the pointers given.  Call it before json_parse on text whose strings
 * must arrive whole.
 */
enum json_nul {
	JSON_NUL_NONE = 0,
	JSON_NUL_RAW,
	JSON_NUL_ESCAPE
};
enum json_nul json_find_nul(const char *p, size_t n, int *line, int *col);

/* Borrowed views of obj[key]: NULL / def when absent or of another type. */
const char *json_str(const cJSON *obj, const char *key);
double json_num(const cJSON *obj, const char *key, double def);
int json_bool(const cJSON *obj, const char *key, int def);
cJSON *json_obj(const cJSON *obj, const char *key);
cJSON *json_arr(const cJSON *obj, const char *key);

/* JavaScript truthiness (the reference's checks rely on it): NULL, null,
 * false, 0, NaN and "" are false. */
int json_truthy(const cJSON *v);

/*
 * JSON.stringify(v) appended to b, which is what the reference sends for
 * every value it parsed (tool inputs as `arguments`, whole bodies): strings
 * by json_quote, numbers by json_number (1e-7, 12345678901234567000, -0 as
 * 0), an object's array-index keys ("0".."4294967294" in canonical form)
 * first in ascending order and the other keys in tree order, as JavaScript
 * orders them; a raw item is copied as it is.  (Duplicate keys, which
 * JSON.parse merges, are all printed.)
 */
GW_MUST_CHECK enum gw_err json_append(struct buf *b, const cJSON *v);
/* The same as a string to free with cJSON_free (NULL on ENOMEM). */
char *json_print(const cJSON *v);

/*
 * Appends s[0..len) as JSON.stringify prints a string: \" \\ \b \f \n \r
 * \t, other bytes below 0x20 (NUL included) as \u00xx, every other byte as
 * it is.  Bytes that are not UTF-8 pass unchanged, as every caller passed
 * them before: a lone surrogate, which JS prints as \udxxx, cannot reach
 * here, since cJSON refuses "\ud800" and valid UTF-8 cannot encode one.
 */
GW_MUST_CHECK enum gw_err json_quote(struct buf *b, const char *s, size_t len);

/*
 * Appends d as JSON.stringify prints a number: the shortest digits that
 * read back as d, in plain notation when the decimal exponent is in
 * [-6, 21) ("0.000001", "100000000000000000000") and as "1e-7" /
 * "1.5e+21" otherwise; -0 is "0", NaN and the infinities are "null".
 */
GW_MUST_CHECK enum gw_err json_number(struct buf *b, double d);

/* Appends JSON.stringify(v, null, 2) (no trailing newline): json_append's
 * forms and key order, indented by two spaces. */
GW_MUST_CHECK enum gw_err json_format_js(struct buf *b, const cJSON *v);

/* Sets obj[key] = item, replacing any existing value; takes item (it is
 * deleted when that fails, and NULL is GW_ENOMEM). */
GW_MUST_CHECK enum gw_err json_set(cJSON *obj, const char *key, cJSON *item);
/* Appends obj[key] = item without looking for an existing key (building
 * new objects); takes item like json_set. */
GW_MUST_CHECK enum gw_err json_add(cJSON *obj, const char *key, cJSON *item);
GW_MUST_CHECK enum gw_err json_add_str(cJSON *obj, const char *key, const char *s);
/* Appends item to arr; takes item. */
GW_MUST_CHECK enum gw_err json_push(cJSON *arr, cJSON *item);
/* obj[key] as a long, clamped to +-1e18 (a double past LONG_MAX does not
 * convert); def when absent or not a number. */
long json_long(const cJSON *obj, const char *key, long def);

#endif

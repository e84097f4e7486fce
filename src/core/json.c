/* JSON helpers: cJSON accessors and builders, and the JavaScript-exact
 * printers (string quoting, numbers, JSON.stringify(v, null, 2)). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

/* The 1-based line and column of at in p, into the pointers given. */
static void
position(const char *p, const char *at, int *line, int *col)
{
	const char *q;
	int l = 1, c = 1;

	for (q = p; q < at; q++) {
		if (*q == '\n') {
			l++;
			c = 1;
		} else
			c++;
	}
	if (line != NULL)
		*line = l;
	if (col != NULL)
		*col = c;
}

cJSON *
json_parse(const char *p, size_t n, int *line, int *col)
{
	const char *end = NULL;
	const char *q;
	cJSON *v;

	/* an empty buffer's data pointer may be NULL (p + n is then UB) */
	if (p == NULL) {
		p = "";
		n = 0;
	}
	v = cJSON_ParseWithLengthOpts(p, n, &end, 0);
	if (v != NULL) {
		/* cJSON stops after the first value: trailing garbage is an error. */
		q = end;
		while (q < p + n && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
			q++;
		if (q == p + n || *q == '\0')
			return v;
		cJSON_Delete(v);
		end = q;
	}
	if (end == NULL || end < p || end > p + n)
		end = p + n;
	position(p, end, line, col);
	return NULL;
}

/*
 * Whether any of the 8 bytes at p is below 0x20, '"' or '\\': the bytes a
 * string scan must look at one by one (a word-at-a-time test: byte - 1
 * borrows into the high bit only for a zero byte; exact as a yes/no).
 */
static int
word_special(const char *p)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t x, q, bs;

	memcpy(&x, p, sizeof(x));
	q = x ^ (ones * '"');
	bs = x ^ (ones * '\\');
	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
	    ((bs - ones) & ~bs)) & high ? 1 : 0;
}

enum json_nul
json_find_nul(const char *p, size_t n, int *line, int *col)
{
	const char *q, *end = p + n;
	int in_string = 0;

	/* Almost every body has neither: two library scans (vectorised in
	 * glibc) settle it.  "\\u0000" found may still be an escaped
	 * backslash before "u0000": the exact scan below decides. */
	if (n == 0 || (memchr(p, '\0', n) == NULL &&
	    memmem(p, n, "\\u0000", 6) == NULL))
		return JSON_NUL_NONE;
	for (q = p; q < end; q++) {
		/* 8 plain bytes at a time: no NUL, quote or backslash there */
		while (end - q >= 8 && !word_special(q))
			q += 8;
		if (q == end)
			break;
		if (*q == '\0') {
			position(p, q, line, col);
			return JSON_NUL_RAW;
		}
		if (*q == '"') {
			in_string = !in_string;
		} else if (in_string && *q == '\\' && q + 1 < end) {
			if (q[1] == 'u' && end - q >= 6 && memcmp(q + 2, "0000", 4) == 0) {
				position(p, q, line, col);
				return JSON_NUL_ESCAPE;
			}
			/* skip the escaped character, a '"' or '\\' among them
			 * (a raw NUL there is still caught) */
			if (q[1] != '\0')
				q++;
		}
	}
	return JSON_NUL_NONE;
}

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
json_num(const cJSON *obj, const char *key, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int
json_bool(const cJSON *obj, const char *key, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

cJSON *
json_obj(const cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

cJSON *
json_arr(const cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}


enum gw_err
json_set(cJSON *obj, const char *key, cJSON *item)
{
	cJSON_bool ok;

	if (item == NULL)
		return GW_ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		ok = cJSON_AddItemToObject(obj, key, item);
	if (!ok) {
		cJSON_Delete(item);   /* it was given to us: never leak it */
		return GW_ENOMEM;
	}
	return GW_OK;
}

enum gw_err
json_add(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return GW_ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return GW_ENOMEM;
	}
	return GW_OK;
}

enum gw_err
json_add_str(cJSON *obj, const char *key, const char *s)
{
	return json_add(obj, key, cJSON_CreateString(s));
}

enum gw_err
json_push(cJSON *arr, cJSON *item)
{
	if (item == NULL)
		return GW_ENOMEM;
	if (!cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return GW_ENOMEM;
	}
	return GW_OK;
}

long
json_long(const cJSON *obj, const char *key, long def)
{
	double d = json_num(obj, key, (double)def);

	if (!(d > -1e18))
		return d < 0 ? -1000000000000000000L : def;
	return d < 1e18 ? (long)d : 1000000000000000000L;
}

int
json_truthy(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsNumber(v))
		return v->valuedouble == v->valuedouble && v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring != NULL && v->valuestring[0] != '\0';
	return 1;
}

/* ---- JavaScript-exact printing ---- */

/* The escape JSON.stringify uses for byte c, or NULL when c is printed
 * as it is; u holds a \u00xx escape. */
static const char *
quote_escape(unsigned char c, char u[7])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\b': return "\\b";
	case '\f': return "\\f";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		memcpy(u, "\\u00", 4);
		u[4] = hex[c >> 4];
		u[5] = hex[c & 15];
		u[6] = '\0';
		return u;
	}
}

enum gw_err
json_quote(struct buf *b, const char *s, size_t len)
{
	const char *run = s, *end = s + len, *esc;
	char u[7];
	enum gw_err e = buf_putc(b, '"');

	/* Unescaped runs are copied whole: most text needs no escape. */
	for (; e == GW_OK && s < end; s++) {
		while (end - s >= 8 && !word_special(s))
			s += 8;
		if (s == end)
			break;
		if ((esc = quote_escape((unsigned char)*s, u)) == NULL)
			continue;
		if ((e = buf_append(b, run, (size_t)(s - run))) == GW_OK)
			e = buf_puts(b, esc);
		run = s + 1;
	}
	if (e == GW_OK)
		e = buf_append(b, run, (size_t)(s - run));
	return e == GW_OK ? buf_putc(b, '"') : e;
}

/*
 * The shortest decimal digits of d > 0 that strtod reads back as d (the
 * digits ECMAScript's Number::toString picks): dig gets them, *k their
 * count, *n the position of the decimal point (d = 0.dig * 10^n).
 */
static GW_MUST_CHECK enum gw_err
shortest_digits(double d, char dig[20], int *k, int *n)
{
	char tmp[40];
	long e10;
	int prec, i;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	for (*k = 0, i = 0; tmp[i] != '\0' && tmp[i] != 'e'; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			dig[(*k)++] = tmp[i];
	if (tmp[i] != 'e' ||
	    util_parse_long(tmp + i + 1, -400, 400, &e10) != GW_OK)
		return GW_EINTERNAL;
	*n = (int)e10 + 1;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
put_zeros(struct buf *b, int count)
{
	enum gw_err e = GW_OK;

	for (; count > 0 && e == GW_OK; count--)
		e = buf_putc(b, '0');
	return e;
}

/* Places k digits with the point at n the way Number::toString does. */
static GW_MUST_CHECK enum gw_err
place_digits(struct buf *b, const char *dig, int k, int n)
{
	enum gw_err e;

	if (k <= n && n <= 21) {
		if ((e = buf_append(b, dig, (size_t)k)) != GW_OK)
			return e;
		return put_zeros(b, n - k);
	}
	if (n > 0 && n <= 21)
		return buf_printf(b, "%.*s.%.*s", n, dig, k - n, dig + n);
	if (n > -6 && n <= 0) {
		if ((e = buf_puts(b, "0.")) != GW_OK ||
		    (e = put_zeros(b, -n)) != GW_OK)
			return e;
		return buf_append(b, dig, (size_t)k);
	}
	return buf_printf(b, "%c%s%.*se%c%d", dig[0], k > 1 ? "." : "", k - 1,
	    dig + 1, n - 1 >= 0 ? '+' : '-', abs(n - 1));
}

enum gw_err
json_number(struct buf *b, double d)
{
	char dig[20];
	int k, n;
	enum gw_err e;

	if (isnan(d) || isinf(d))
		return buf_puts(b, "null");
	if (d == 0)
		return buf_putc(b, '0');   /* -0 too */
	if (d < 0 && (e = buf_putc(b, '-')) != GW_OK)
		return e;
	if ((e = shortest_digits(fabs(d), dig, &k, &n)) != GW_OK)
		return e;
	return place_digits(b, dig, k, n);
}

/* depth < 0: compact (JSON.stringify(v)); else indented by two spaces
 * per level (JSON.stringify(v, null, 2)). */
static GW_MUST_CHECK enum gw_err
put_indent(struct buf *b, int depth)
{
	enum gw_err e = GW_OK;
	int i;

	if (depth < 0)
		return GW_OK;
	if ((e = buf_putc(b, '\n')) != GW_OK)
		return e;
	for (i = 0; i < depth && e == GW_OK; i++)
		e = buf_puts(b, "  ");
	return e;
}

static GW_MUST_CHECK enum gw_err
put_cstring(struct buf *b, const char *s)
{
	return json_quote(b, s, strlen(s));
}

/* An array index as JavaScript orders an object's keys: the canonical
 * decimal form of an integer in [0, 2^32 - 2]; -1 for any other key. */
static long long
index_key(const char *k)
{
	long long n = 0;
	size_t i;

	if (k == NULL || k[0] == '\0' || (k[0] == '0' && k[1] != '\0'))
		return -1;
	for (i = 0; k[i] != '\0'; i++) {
		if (k[i] < '0' || k[i] > '9' || i >= 10)
			return -1;
		n = n * 10 + (k[i] - '0');
	}
	return n <= 4294967294LL ? n : -1;
}

static GW_MUST_CHECK enum gw_err put_value(struct buf *b, const cJSON *v,
    int depth);

static GW_MUST_CHECK enum gw_err
put_member(struct buf *b, const cJSON *c, int obj, int depth, int *first)
{
	enum gw_err e = GW_OK;

	if (!*first)
		e = buf_putc(b, ',');
	*first = 0;
	if (e == GW_OK)
		e = put_indent(b, depth < 0 ? -1 : depth + 1);
	if (e == GW_OK && obj) {
		e = put_cstring(b, c->string != NULL ? c->string : "");
		if (e == GW_OK)
			e = buf_puts(b, depth < 0 ? ":" : ": ");
	}
	return e == GW_OK ? put_value(b, c, depth < 0 ? -1 : depth + 1) : e;
}

/* An object's index keys go first, ascending (each round prints the
 * smallest one above the last printed), then the others in tree order. */
static GW_MUST_CHECK enum gw_err
put_members(struct buf *b, const cJSON *v, int obj, int depth)
{
	const cJSON *c, *next;
	long long last = -1, k, best;
	enum gw_err e = GW_OK;
	int first = 1;

	for (;;) {
		next = NULL;
		best = -1;
		for (c = obj ? v->child : NULL; c != NULL; c = c->next) {
			k = index_key(c->string);
			if (k > last && (best < 0 || k < best)) {
				best = k;
				next = c;
			}
		}
		if (next == NULL)
			break;
		if ((e = put_member(b, next, obj, depth, &first)) != GW_OK)
			return e;
		last = best;
	}
	for (c = v->child; c != NULL && e == GW_OK; c = c->next)
		if (!obj || index_key(c->string) < 0)
			e = put_member(b, c, obj, depth, &first);
	return e;
}

static GW_MUST_CHECK enum gw_err
put_container(struct buf *b, const cJSON *v, int depth)
{
	int obj = cJSON_IsObject(v);
	enum gw_err e;

	if (v->child == NULL)
		return buf_puts(b, obj ? "{}" : "[]");
	if ((e = buf_putc(b, obj ? '{' : '[')) != GW_OK ||
	    (e = put_members(b, v, obj, depth)) != GW_OK ||
	    (e = put_indent(b, depth)) != GW_OK)
		return e;
	return buf_putc(b, obj ? '}' : ']');
}

static GW_MUST_CHECK enum gw_err
put_value(struct buf *b, const cJSON *v, int depth)
{
	if (cJSON_IsObject(v) || cJSON_IsArray(v))
		return put_container(b, v, depth);
	if (cJSON_IsString(v))
		return put_cstring(b, v->valuestring);
	if (cJSON_IsTrue(v))
		return buf_puts(b, "true");
	if (cJSON_IsFalse(v))
		return buf_puts(b, "false");
	if (cJSON_IsRaw(v))
		return buf_puts(b, v->valuestring != NULL ? v->valuestring : "null");
	if (cJSON_IsNumber(v))
		return json_number(b, v->valuedouble);
	return buf_puts(b, "null");
}

enum gw_err
json_format_js(struct buf *b, const cJSON *v)
{
	return put_value(b, v, 0);
}

enum gw_err
json_append(struct buf *b, const cJSON *v)
{
	return put_value(b, v, -1);
}

char *
json_print(const cJSON *v)
{
	struct buf b = BUF_INIT;
	char *s;

	if (json_append(&b, v) != GW_OK ||
	    (s = cJSON_malloc(b.len + 1)) == NULL) {
		buf_free(&b);
		return NULL;
	}
	memcpy(s, buf_cstr(&b), b.len + 1);
	buf_free(&b);
	return s;
}

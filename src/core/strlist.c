#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/strlist.h"

static enum gw_err
strlist_take(struct strlist *l, char *s)
{
	char **v;
	size_t cap;

	if (l->n + 2 > l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL) {
			free(s);
			return GW_ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
	return GW_OK;
}

enum gw_err
strlist_add(struct strlist *l, const char *s)
{
	char *c = strdup(s);

	if (c == NULL)
		return GW_ENOMEM;
	return strlist_take(l, c);
}

enum gw_err
strlist_addf(struct strlist *l, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	enum gw_err e;

	va_start(ap, fmt);
	e = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (e != GW_OK) {
		buf_free(&b);
		return e;
	}
	return strlist_take(l, buf_detach(&b));
}

static int
header_is(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(entry, name, n) == 0 && entry[n] == ':';
}

/* Removes every "Name: value" entry whose name matches (case-insensitive).
 * No caller in the gateway (test_copilot.c includes this file to reach it). */
static __attribute__((unused)) void
strlist_remove_header(struct strlist *l, const char *name)
{
	size_t i, j;

	for (i = j = 0; i < l->n; i++) {
		if (header_is(l->v[i], name))
			free(l->v[i]);
		else
			l->v[j++] = l->v[i];
	}
	l->n = j;
	if (l->v != NULL)
		l->v[j] = NULL;
}

/* Value of the first "Name: value" entry with that name, or NULL.  No
 * caller in the gateway (test_copilot.c includes this file to reach it). */
static __attribute__((unused)) const char *
strlist_header(const struct strlist *l, const char *name)
{
	const char *p;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (!header_is(l->v[i], name))
			continue;
		p = l->v[i] + strlen(name) + 1;
		while (*p == ' ')
			p++;
		return p;
	}
	return NULL;
}

const char *const *
strlist_view(const struct strlist *l)
{
	static const char *const empty[1] = { NULL };

	return l->v != NULL ? (const char *const *)l->v : empty;
}

void
strlist_free(struct strlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

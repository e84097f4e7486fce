/* Owned string lists: NULL-terminated lists and key/value lists. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/strlist.h"

static GW_MUST_CHECK enum gw_err
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
	va_list ap;
	char *c;

	va_start(ap, fmt);
	c = buf_vstrdupf(fmt, ap);
	va_end(ap);
	if (c == NULL)
		return GW_ENOMEM;
	return strlist_take(l, c);
}

int
strlist_has(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
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

static struct strlist_kv *
map_find(const struct strlist_map *m, const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < m->n; i++)
		if (strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	return NULL;
}

enum gw_err
strlist_map_set(struct strlist_map *m, const char *key, const char *value)
{
	struct strlist_kv *kv = map_find(m, key), *v;
	char *val = strdup(value);
	size_t cap;

	if (val == NULL)
		return GW_ENOMEM;
	if (kv != NULL) {
		free(kv->value);
		kv->value = val;
		return GW_OK;
	}
	if (m->n == m->cap) {
		cap = m->cap ? m->cap * 2 : 8;
		if ((v = realloc(m->v, cap * sizeof(*v))) == NULL)
			goto nomem;
		m->v = v;
		m->cap = cap;
	}
	if ((m->v[m->n].key = strdup(key)) == NULL)
		goto nomem;
	m->v[m->n++].value = val;
	return GW_OK;
nomem:
	free(val);
	return GW_ENOMEM;
}

const char *
strlist_map_get(const struct strlist_map *m, const char *key)
{
	const struct strlist_kv *kv = map_find(m, key);

	return kv != NULL ? kv->value : NULL;
}

void
strlist_map_free(struct strlist_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

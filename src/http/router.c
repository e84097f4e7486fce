/*
 * Matching a method and path against the route table, exact paths and
 * :name segments (contract in router.h).
 */
#include <stdio.h>
#include <string.h>

#include "http/router.h"

/* Matches path against pattern segment by segment, filling params. */
static int
pattern_match(const char *pat, const char *path, struct route_params *pp)
{
	size_t pl, sl;

	pp->n = 0;
	for (;;) {
		if (*pat != '/' || *path != '/')
			return *pat == *path;
		pat++;
		path++;
		pl = strcspn(pat, "/");
		sl = strcspn(path, "/");
		if (pl > 1 && pat[0] == ':') {
			if (sl == 0 || sl >= ROUTE_PARAM_MAX || pp->n == ROUTE_MAX_PARAMS)
				return 0;
			pp->p[pp->n].name = pat + 1;
			pp->p[pp->n].name_len = pl - 1;
			memcpy(pp->p[pp->n].value, path, sl);
			pp->p[pp->n].value[sl] = '\0';
			pp->n++;
		} else if (pl != sl || strncmp(pat, path, pl) != 0) {
			return 0;
		}
		pat += pl;
		path += sl;
		if (*pat == '\0' || *path == '\0')
			return *pat == *path;
	}
}

static int
method_ok(const char *route_method, const char *method)
{
	return strcmp(route_method, method) == 0 ||
	    (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void
allow_add(char *allow, size_t cap, const char *method)
{
	size_t n = strlen(allow), ml = strlen(method);
	const char *p = allow;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
			return;
		p += ml;
	}
	snprintf(allow + n, cap - n, "%s%s", n > 0 ? ", " : "", method);
}

enum router_result
router_match(const struct route *table, size_t n, const char *method,
    const char *path, struct route_match *m)
{
	struct route_params pp;
	size_t i;
	int seen = 0;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		if (!pattern_match(table[i].pattern, path, &pp))
			continue;
		if (method_ok(table[i].method, method)) {
			m->route = &table[i];
			m->params = pp;
			m->params.route = &table[i];
			return ROUTER_FOUND;
		}
		seen = 1;
		allow_add(m->allow, sizeof(m->allow), table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	return seen ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

/* The value of :name, or NULL. */
static __attribute__((unused)) const char *
route_param(const struct route_params *p, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < p->n; i++)
		if (p->p[i].name_len == nl && strncmp(p->p[i].name, name, nl) == 0)
			return p->p[i].value;
	return NULL;
}

unsigned
route_auth(const struct route *r)
{
	return r != NULL ? r->flags & ROUTE_AUTH_MASK : ROUTE_AUTH_NONE;
}

enum gw_dialect
route_dialect(const struct route *r)
{
	return r != NULL && (r->flags & ROUTE_ANTHROPIC) ? GW_DIALECT_ANTHROPIC :
	    GW_DIALECT_OPENAI;
}

/* 1 when path is "/v1/messages" or below it. */
static int
under_messages(const char *path)
{
	static const char base[] = "/v1/messages";

	return strncmp(path, base, sizeof(base) - 1) == 0 &&
	    (path[sizeof(base) - 1] == '\0' || path[sizeof(base) - 1] == '/');
}

enum gw_dialect
router_path_dialect(const char *path)
{
	const char *rest;

	if (path == NULL || path[0] != '/')
		return GW_DIALECT_OPENAI;
	if (under_messages(path))
		return GW_DIALECT_ANTHROPIC;
	/* "/<provider>/v1/messages...": one non-empty segment first */
	rest = strchr(path + 1, '/');
	return rest != NULL && rest > path + 1 && under_messages(rest) ?
	    GW_DIALECT_ANTHROPIC : GW_DIALECT_OPENAI;
}

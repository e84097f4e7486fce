/*
 * The route table: method + path pattern -> handler.
 *
 * A pattern is an exact path or has ":name" segments matching one
 * non-empty path segment each ("/:provider/v1/messages").  The table order
 * is the precedence: list fixed routes before patterns that could shadow
 * them.  Matching is exact (no trailing-slash folding, no decoding).
 */
#ifndef GW_HTTP_ROUTER_H
#define GW_HTTP_ROUTER_H

#include <stddef.h>

#include "http/response.h"

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX 128     /* longer segments do not match */

/* route.flags: one auth kind, optionally ORed with ROUTE_ANTHROPIC. */
enum route_flag {
	ROUTE_AUTH_NONE = 0,
	ROUTE_AUTH_REGULAR = 1,  /* regular or admin key; open if no regular key */
	ROUTE_AUTH_ADMIN = 2,    /* only the admin key; closed if none configured */
	ROUTE_AUTH_MASK = 3,
	ROUTE_ANTHROPIC = 4      /* errors in Anthropic's envelope (default OpenAI) */
};

struct route;

struct route_params {
	const struct route *route;  /* the matched row of the table */
	size_t n;
	struct {
		const char *name;   /* points into the pattern, after ':' */
		size_t name_len;
		char value[ROUTE_PARAM_MAX];
	} p[ROUTE_MAX_PARAMS];
};

struct route {
	const char *method;      /* "GET", "POST"...; a GET route also answers HEAD */
	const char *pattern;
	void (*handler)(void *tctx, struct http_conn *conn,
	    const struct route_params *params);
	unsigned flags;
};

enum router_result {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,        /* 404 */
	ROUTER_METHOD_NOT_ALLOWED  /* 405, with m->allow */
};

struct route_match {
	const struct route *route;   /* set when ROUTER_FOUND */
	struct route_params params;
	char allow[96];              /* "GET, HEAD, POST" for a 405 */
};

enum router_result router_match(const struct route *table, size_t n,
    const char *method, const char *path, struct route_match *m);

unsigned route_auth(const struct route *r);          /* ROUTE_AUTH_* */
enum gw_dialect route_dialect(const struct route *r); /* NULL: OpenAI */

/*
 * The dialect of an error for a path no route answered (404, 405, 413, a
 * malformed request): Anthropic for /v1/messages and below, and for
 * /<provider>/v1/messages and below; OpenAI otherwise (and for NULL).
 */
enum gw_dialect router_path_dialect(const char *path);

#endif

/*
 * What runs before a handler: the CORS preflight and the API-key check.
 *
 * Keys are read from x-api-key (trimmed), else from "Authorization:
 * Bearer KEY" (scheme case-insensitive).  Regular routes are open when no
 * regular key is configured; otherwise they take any regular key or the
 * admin key (whoever holds the admin key is trusted with everything).
 * Admin routes take only the admin key and are closed when none is set.
 * Keys are compared in constant time against every configured key.
 * The configured keys are expected trimmed; NULL or empty ones are ignored.
 */
#ifndef GW_HTTP_GUARD_H
#define GW_HTTP_GUARD_H

#include <stddef.h>

#include "http/request.h"
#include "http/response.h"
#include "http/router.h"

enum guard_result {
	GUARD_PASS,
	GUARD_PREFLIGHT,         /* OPTIONS: answer 204, never reaches auth */
	GUARD_UNAUTHORIZED       /* answer 401 */
};

/*
 * The whole front door, in the reference's order: OPTIONS gets the 204
 * preflight; then the key check (401), which for a path with no route
 * applies as for a regular route, or an admin one under /admin/, so that
 * unknown paths do not answer 404 to strangers; then 404 ("404 Not Found",
 * text/plain) or 405 with Allow; then the route's handler.
 */
void guard_dispatch(void *tctx, struct http_conn *conn,
    const struct route *table, size_t n, const char *const *keys,
    size_t nkeys, const char *admin_key);

#endif

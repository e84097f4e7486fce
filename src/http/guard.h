/*
 * What runs before a handler: in open mode the Host/Origin check, the
 * CORS preflight and the API-key check.
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
	GUARD_UNAUTHORIZED,      /* answer 401 */
	GUARD_FORBIDDEN          /* open mode, a foreign Host or Origin: 403 */
};

/*
 * Who may pass.  keys (regular, nkeys of them; a "sha256:<64 hex>" entry
 * matches the key whose SHA-256 that is) and admin_key as above.  With no
 * regular key the gateway is open, and then only to requests whose Host is
 * a loopback name (localhost and *.localhost, 127.0.0.0/8, [::1]) or in
 * hosts, and, from a browser, only to a request that is same-origin or
 * whose Origin is in origins (a cross-site Origin, or Sec-Fetch-Site:
 * cross-site without an allowed Origin, is refused); "*" in either list
 * allows any.  hosts and origins are NULL-terminated, lower-case, either
 * may be NULL.  In open mode Access-Control-Allow-Origin names an allowed
 * origin or is left out; with keys it stays "*".
 */
struct guard_policy {
	const char *const *keys;
	size_t nkeys;
	const char *admin_key;
	const char *const *hosts;    /* config allowedHosts */
	const char *const *origins;  /* config cors.allowedOrigins */
};

/*
 * The whole front door: in open mode the Host and Origin check (403);
 * then, in the reference's order, OPTIONS gets the 204 preflight; the key
 * check (401), which for a path with no route applies as for a regular
 * route, or an admin one under /admin/, so that unknown paths do not
 * answer 404 to strangers; then 404 or 405 with Allow, JSON in the
 * dialect of the path (router_path_dialect); then the route's handler.
 * Errors are in the route's dialect, or the path's when none matched.
 */
void guard_dispatch(void *tctx, struct http_conn *conn,
    const struct route *table, size_t n, const struct guard_policy *p);

#endif

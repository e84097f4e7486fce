/*
 * --rate-limit / rateLimit.seconds for the routes that reach Copilot: the
 * 429 (or the wait, with --wait) around state/ratelimit.h's slot.
 */
#ifndef GW_ROUTES_RATELIMIT_H
#define GW_ROUTES_RATELIMIT_H

#include "routes/common.h"

/* 1 to go on; 0 when the request was answered (429, or a database
 * failure), with its usage row. */
int rc_rate_limit(struct rctx *r);

#endif

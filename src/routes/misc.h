/* Small routes: health, account usage, the usage viewer page, the token, local usage statistics
 * and the admin model mappings (routes/misc.c). */
#ifndef GW_ROUTES_MISC_H
#define GW_ROUTES_MISC_H

#include "routes/common.h"

void route_root(struct rctx *r);
void route_usage(struct rctx *r);
void route_usage_viewer(struct rctx *r);
void route_usage_viewer_slash(struct rctx *r);
void route_token(struct rctx *r);
void route_token_usage(struct rctx *r);
void route_token_usage_daily(struct rctx *r);
void route_token_usage_events(struct rctx *r);
void route_admin_mappings_get(struct rctx *r);
void route_admin_mappings_post(struct rctx *r);

#endif

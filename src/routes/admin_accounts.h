/*
 * GET /admin/accounts (admin key): the Copilot accounts of the pool as
 * `copilot-api accounts --json` shows them (app/pool.h pool_list_json),
 * as {"data": [...]}.
 */
#ifndef GW_ROUTES_ADMIN_ACCOUNTS_H
#define GW_ROUTES_ADMIN_ACCOUNTS_H

#include "routes/common.h"

void route_admin_accounts_get(struct rctx *r);

#endif

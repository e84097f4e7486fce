/* GET /admin/accounts: the pool's accounts (contract in admin_accounts.h). */
#include <cjson/cJSON.h>

#include "app/pool.h"
#include "http/response.h"
#include "routes/admin_accounts.h"

void
route_admin_accounts_get(struct rctx *r)
{
	cJSON *doc = NULL, *list = NULL;
	enum gw_err e;

	if ((e = pool_list_json(r->w, &list)) != GW_OK) {
		rc_reject(r, gw_http_status(e), "Could not read the accounts");
		return;
	}
	if ((doc = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToObject(doc, "data", list)) {
		cJSON_Delete(list);
		rc_reject(r, 500, gw_strerror(GW_ENOMEM));
	} else      /* the answer is decided: a failed write means the client left */
		GW_IGNORE(http_send_json(r->c, 200, doc));
	cJSON_Delete(doc);
}

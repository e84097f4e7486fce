/*
 * Manual approval (--manual, manualApproval; its 403: spec/surface.md §2.4): a
 * Copilot- or provider-bound request waits until someone approves or
 * rejects it through GET/POST /admin/approvals or `copilot-api approve`.
 * Pending requests live in the database (state/approval.h) so that any
 * process of the pool can decide a request another one holds.
 */
#ifndef GW_ROUTES_APPROVAL_H
#define GW_ROUTES_APPROVAL_H

#include <cjson/cJSON.h>

#include "routes/common.h"

/* How often a waiting request looks at its entry (and, meanwhile, watches
 * its client for a hang-up). */
#define RC_APPROVAL_POLL_MS 250

/*
 * With manual approval on, holds the request (body: its JSON, for the
 * model and the preview) until it is decided: 1 to go on when approved
 * (or approval is off); 0 when the request was answered (403 on a
 * rejection or the timeout: a reject, no usage row) or the client left
 * while it waited (no answer, no row).
 */
int rc_approval(struct rctx *r, const cJSON *body);

/* GET /admin/approvals: {"data":[{"id","route","model","preview",
 * "age_seconds"}]}, oldest first. */
void route_admin_approvals_get(struct rctx *r);
/* POST /admin/approvals/:id with {"approve": true|false}; 404 when no
 * undecided request has that id. */
void route_admin_approvals_post(struct rctx *r);

#endif

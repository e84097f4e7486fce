/*
 * The pool of Copilot accounts (issue 15): which account serves a model
 * call, cool-downs, quota snapshots, and the listing `copilot-api
 * accounts` and GET /admin/accounts show.
 *
 * The pool is the default account (when signed in) and the named ones
 * (state/accounts.h).  With no named account there is no choice: the
 * default serves, and nothing is read or written (behaviour as before).
 * Otherwise a session (the usage row's session id) stays on its account
 * while that is healthy and offers the model; a new session, or one whose
 * account cannot serve, goes by config accounts.strategy among the
 * accounts not cooling down that offer the model.  Quota snapshots come
 * from copilot_internal/user, cached POOL_QUOTA_MAX_AGE_MS.
 *
 * Thread-safety: uses only the calling worker's connections.
 */
#ifndef GW_APP_POOL_H
#define GW_APP_POOL_H

#include <cjson/cJSON.h>

#include "app/app.h"
#include "app/copilot_call.h"
#include "core/buf.h"
#include "core/err.h"

struct relay_result;
struct tr_stream;
struct tr_sink;

/* How old a quota snapshot may be; how long an account rests after a 429
 * or 402 without Retry-After, and after GitHub refused its sign-in; when
 * an idle session forgets its account. */
#define POOL_QUOTA_MAX_AGE_MS 60000
#define POOL_COOLDOWN_DEFAULT_S 60
#define POOL_SIGNED_OUT_S 300
#define POOL_SESSION_IDLE_MS (24LL * 3600 * 1000)

/* The file in the data directory whose change tells the responders of
 * this host that the accounts changed (pool_touch, after `auth login
 * --account` and `accounts remove`); other hosts notice within 5 s. */
#define POOL_STAMP "accounts.stamp"
void pool_touch(const struct app *a);

/*
 * Before each request (pool_copilot_call relies on it): w->acct becomes
 * the account that serves what is not a model call (the model list's
 * fetch, token counts): the default when signed in, else the first named
 * account.  No named account: the default, and nothing read but one stat
 * of POOL_STAMP (the pool is read again when it changed, else every 5 s
 * per worker).
 */
void pool_begin(struct worker *w);

/*
 * A model call (app_copilot_call's contract) on the account chosen for
 * rq->model and rq->session: one that refuses for capacity (429, 402)
 * before any byte reached the client, or whose Copilot token cannot be
 * had (GitHub refuses its sign-in: GW_EAUTH), cools down, and the call
 * goes once to the next account that can serve.  w->acct says afterwards which
 * account answered.  rq->model NULL: app_copilot_call on w->acct.
 */
GW_MUST_CHECK enum gw_err pool_copilot_call(struct worker *w,
    const struct copilot_req *rq, struct tr_stream *tr, struct tr_sink *sink,
    struct relay_result *res, struct buf *errmsg);

/* The GitHub login of w->acct for usage rows ("" when unknown): the
 * default's app_github_login, a named account's read at most once a
 * minute per worker.  Borrowed from w. */
const char *pool_login(struct worker *w);

/*
 * Every account as JSON: [{"name", "login", "plan", "premium":
 * {"unlimited", "remaining", "entitlement"} or null, "state": "ok" |
 * "cooling" | "signed-out", "cooling_until" (ISO 8601, when cooling),
 * "reason"}], the quota snapshots refreshed when older than
 * POOL_QUOTA_MAX_AGE_MS.  *out is new, freed by the caller.
 */
GW_MUST_CHECK enum gw_err pool_list_json(struct worker *w, cJSON **out);

#endif

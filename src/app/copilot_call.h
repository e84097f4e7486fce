/*
 * One Copilot API call, the only way the gateway talks to Copilot.
 *
 * The rule, in one place: take the Copilot token (refreshing it when
 * due), add the identity headers, send through the relay; on a 401 that
 * reached no client byte, refresh the token once and retry once.
 *
 * Thread-safety: uses only the calling worker's connections.
 */
#ifndef GW_APP_COPILOT_CALL_H
#define GW_APP_COPILOT_CALL_H

#include <stddef.h>

#include "app/app.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/strlist.h"
#include "upstream/copilot.h"

struct relay_result;
struct tr_stream;
struct tr_sink;

/* What the caller asks for; every pointer is borrowed for the call. */
struct copilot_req {
	const char *method;
	const char *path;            /* "/chat/completions" */
	const char *body;
	size_t body_len;
	struct copilot_call call;    /* token is filled in here */
	int stream;
	/* Responses over WebSocket (a stream to a model that lists
	 * ws:/responses): the response.create frame, and the connection's
	 * pool key after the token's fingerprint ("model|request id|
	 * subagent").  NULL: HTTP only.  A connection or upgrade that fails
	 * before the frame is sent falls back to HTTP with body. */
	const char *ws_frame;
	const char *ws_key;
	/* A model call among several accounts (app/pool.h
	 * pool_copilot_call): the model and the session that choose the
	 * account; NULL: w->acct serves. */
	const char *model;
	const char *session;
};

/* How long a worker uses the Copilot token it read before it reads the
 * stored one again (another process may have refreshed it early); a token
 * that is due, or that Copilot refused, is never reused. */
#define APP_TOKEN_RECHECK_MS 5000

/*
 * Sends rq (streamed through tr to sink when rq->stream, else collected in
 * res), with the token of w->acct (app/pool.h chooses it for model
 * calls: pool_copilot_call).  res is filled whatever the outcome; free it with
 * relay_result_free.  A non-2xx upstream status is GW_OK with
 * res->status set; errmsg explains a failure that is not an upstream
 * status (no token, no connection).
 */
GW_MUST_CHECK enum gw_err app_copilot_call(struct worker *w, const struct copilot_req *rq,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res,
    struct buf *errmsg);

/*
 * A Responses stream over a WebSocket (upstream/relay.h relay_run_ws) to
 * url (http or https for ws or wss) with the upgrade headers h: the
 * process's pooled connection for key, else a new one; the connection goes
 * back to the pool when its response ended cleanly.  GW_ENOTFOUND when no
 * connection took the frame (the upgrade failed, logged; res is empty and
 * nothing reached the client or the upstream): the caller goes over HTTP.
 * Otherwise relay_run_ws's result.  Used for Copilot and the Codex backend.
 */
GW_MUST_CHECK enum gw_err app_ws_relay(struct worker *w, const char *url,
    const struct strlist *h, const char *key, const char *frame,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res);

/* The Copilot API base URL: config, then the account's endpoints.api
 * (token_api_url, or the stored one when NULL), then the account-type
 * default.  Malloc'd; NULL when out of memory. */
char *app_copilot_base(struct worker *w, const char *token_api_url);

/* 1 when copilot_internal/user said token_based_billing: true the last time
 * copilot-refresh read it (1.14.7: such an account's /v1/messages turns are
 * not merged); 0 when false or never read.  Read from the database at
 * most once per APP_TOKEN_RECHECK_MS per worker. */
int app_token_based_billing(struct worker *w);

#endif

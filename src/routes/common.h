/*
 * What every route handler shares: struct rctx, the request context ("rc_"
 * means request context), and the rc_ helpers that answer the client and
 * write the usage row.
 *
 * A struct rctx lives on the handler's stack for one request; it borrows
 * the worker, the connection and the request.  Nothing here is shared
 * between threads.
 */
#ifndef GW_ROUTES_COMMON_H
#define GW_ROUTES_COMMON_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/app.h"
#include "app/copilot_call.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/request.h"
#include "http/response.h"
#include "translate/stream.h"

struct relay_result;

/* One request being handled. */
struct rctx {
	struct worker *w;
	struct http_conn *c;
	struct http_request *req;
	enum gw_dialect dialect;
	const char *param;          /* the :param segment of the route, if any */
	int64_t start_ms;           /* monotonic */
	/* what the usage row records */
	const char *endpoint;
	char model[128];
	char session_id[64];
	int session_given;          /* session_id is the client's (a header),
	                             * not one made up for this request: an
	                             * account is remembered for it */
	int stream;
	const char *provider;       /* set on provider calls: the row's source */
};

/* Parses the request body as a JSON object (the caller owns it); on
 * failure answers 400 (rc_reject) and returns NULL.  U+0000, raw or as
 * \u0000, is such a failure: cJSON would cut the string there. */
cJSON *rc_body_json(struct rctx *r);
/* rc_body_json frees the request's body once parsed (one copy of a large
 * body is enough); a route that forwards the bytes themselves keeps them. */
cJSON *rc_body_json_keep(struct rctx *r);
/*
 * modelMappings on the body's "model" (one rule for the four model
 * routes): an exact match is replaced by its target, which may be a
 * provider/model alias.  0 after answering a failure (rc_fail).
 */
int rc_map_model(struct rctx *r, cJSON *body);
/* The request header's value, or NULL when absent or empty (borrowed). */
const char *rc_header(struct rctx *r, const char *name);
/* The request header's value without surrounding whitespace: its start
 * (borrowed) and *n its length; NULL when absent or blank. */
const char *rc_header_trimmed(struct rctx *r, const char *name, size_t *n);
/*
 * The prompt-cache / session key: session when not NULL (the session of
 * the body's metadata.user_id), else the x-session-affinity header, else
 * x-client-request-id; NULL when none (borrowed).
 */
const char *rc_cache_key(struct rctx *r, const char *session);
/*
 * Sets r->session_id, the usage row's session, as the reference resolves
 * it (surface.md §8.3): the x-session-affinity header when present (else
 * x-client-request-id), trimmed; when that is empty, fallback (the
 * route's own session id; NULL: none).
 */
void rc_row_session(struct rctx *r, const char *fallback);

/* The status of a failure while talking to the upstream (the stream may
 * be out): 499 when the client left, 504 for a stall, else 502. */
int rc_upstream_status(enum gw_err e);
/*
 * THE USAGE-ROW RULE.  A request refused before any upstream work (bad
 * JSON, a missing or invalid field, an unknown provider, the gateway's own
 * rate limit) is a reject: rc_reject / rc_reject_with, no usage row.  Every
 * other failure of a route that records usage (a token, model-list or
 * upstream failure, a refusal that depends on Copilot's model list) goes
 * through rc_fail / rc_fail_reply and writes exactly one row; so does every
 * success.  The routes that never record usage (count_tokens, /usage, the
 * admin mappings, provider model lists) answer every failure as a reject.
 */
void rc_reject(struct rctx *r, int status, const char *message);
/* rc_reject with an error type (NULL: the status's) and extra headers (a
 * NULL-terminated name/value list, may be NULL). */
void rc_reject_with(struct rctx *r, int status, const char *type,
    const char *message, const char *const *extra);
/*
 * Every other failure: the error reply in the route's dialect (type and
 * extra, a NULL-terminated name/value list, may be NULL) and its usage
 * row, which records row_error.
 */
void rc_fail_reply(struct rctx *r, int status, const char *type,
    const char *message, const char *const *extra, const char *row_error);
/* A gateway failure (no upstream status): gw_http_status(e), message (NULL:
 * the error's own words) in the reply and the row. */
void rc_fail(struct rctx *r, enum gw_err e, const char *message);
/* Ends the answer (http_end: the client has all of it), then writes the
 * usage row for this request (never fails the request); nothing may be
 * written to the client after it. */
void rc_record(struct rctx *r, int status, const struct tr_usage *u,
    const char *error);

/* Turns a non-streamed upstream JSON answer into the client's shape: *out
 * is new (the caller's); errmsg explains a failure. */
typedef enum gw_err (*rc_xlate_fn)(const cJSON *upstream, void *arg,
    cJSON **out, struct buf *errmsg);

/*
 * POSTs body (serialised here) to Copilot's path with the headers in call
 * (json_body and accept are set from r->stream), streamed through tr when
 * the client asked for a stream, and answers the client (a non-streamed
 * answer through xlate when given).
 */
void rc_post_json(struct rctx *r, const char *path, const cJSON *body,
    struct copilot_call call, struct tr_stream *tr, rc_xlate_fn xlate,
    void *xlate_arg);
/* The same, streamed over the Responses WebSocket with ws_frame and
 * ws_key (app/copilot_call.h) when ws_frame is set. */
void rc_post_json_ws(struct rctx *r, const char *path, const cJSON *body,
    struct copilot_call call, const char *ws_frame, const char *ws_key,
    struct tr_stream *tr, rc_xlate_fn xlate, void *xlate_arg);

/* Reads the usage row's numbers from the client-shaped JSON answer. */
void rc_usage_from_body(const cJSON *body, struct tr_usage *u);

/*
 * Sends a Copilot call to the client: streamed through tr, or the JSON
 * body (through xlate when given, else as is); upstream errors in the
 * client's dialect; records usage.
 */
void rc_copilot_to_client(struct rctx *r, const struct copilot_req *rq,
    struct tr_stream *tr, rc_xlate_fn xlate, void *xlate_arg);

/*
 * The same for any relay_run() outcome (e, res): errmsg (may be NULL)
 * explains a failure before the upstream answered.
 */
void rc_relay_to_client(struct rctx *r, enum gw_err e,
    const struct relay_result *res, struct tr_stream *tr, const char *errmsg,
    rc_xlate_fn xlate, void *xlate_arg);

#endif

/* Route handlers and what they share. */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/request.h"
#include "http/response.h"
#include "app/app.h"
#include "app/copilot_call.h"
#include "app/models.h"
#include "translate/stream.h"

struct relay_result;

/* One request being handled. */
struct rctx {
	struct worker *w;
	struct http_conn *c;
	const struct http_request *req;
	enum http_dialect dialect;
	const char *param;          /* the :param segment of the route, if any */
	int64_t start_ms;           /* monotonic */
	/* what the usage row records */
	const char *endpoint;
	char model[128];
	char session_id[64];
	int stream;
	const char *provider;       /* set on provider calls: the row's source */
};

typedef void (*route_fn)(struct rctx *r);

void route_root(struct rctx *r);
void route_models(struct rctx *r);
void route_chat(struct rctx *r);
void route_embeddings(struct rctx *r);
void route_usage(struct rctx *r);
void route_token(struct rctx *r);
void route_token_usage(struct rctx *r);
void route_token_usage_daily(struct rctx *r);
void route_token_usage_events(struct rctx *r);
void route_admin_mappings_get(struct rctx *r);
void route_admin_mappings_post(struct rctx *r);
void route_messages(struct rctx *r);
void route_responses(struct rctx *r);
void route_count_tokens(struct rctx *r);
/* Third-party providers (routes/providers.c). */
void route_provider_messages(struct rctx *r);
void route_provider_count_tokens(struct rctx *r);
void route_provider_models(struct rctx *r);
/* The provider/model aliases: /v1/messages hands over its parsed body with
 * the alias already stripped from "model"; the other two return 1 when the
 * body's model was an alias and the request has been answered. */
void route_provider_alias_messages(struct rctx *r, const char *provider,
    cJSON *body);
int route_provider_alias_count_tokens(struct rctx *r, cJSON *body);
int route_provider_alias_responses(struct rctx *r, cJSON *body);

/* The handler the responder pool calls for each request. */
void routes_handle(void *worker, struct http_conn *c);

/* --rate-limit: 1 to go on; 0 when the request was answered (429, or a
 * database failure). */
int rc_rate_limit(struct rctx *r);

/* Shared helpers (routes/common.c). */

/* Parses the request body as a JSON object; on failure answers 400. */
cJSON *rc_body_json(struct rctx *r);
/* An error response in the route's dialect. */
void rc_error(struct rctx *r, int status, const char *message);
/* Maps a gateway failure (no upstream status) to a response. */
void rc_fail(struct rctx *r, enum gw_err e, const char *message);
/* Relays an upstream non-2xx answer: its status, its message, and on 429
 * its Retry-After and x-* headers. */
void rc_upstream_error(struct rctx *r, const struct relay_result *res);
/* Writes the usage row for this request (never fails the request). */
void rc_record(struct rctx *r, int status, const struct tr_usage *u,
    const char *error);
/* Turns a non-streamed upstream JSON answer into the client's shape. */
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

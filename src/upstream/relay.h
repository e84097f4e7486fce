/*
 * The relay: the one place that moves a streamed upstream response to the
 * client.  upstream bytes -> SSE parser -> stream translator -> sink.
 *
 * While the upstream is silent it keeps the client connection alive with
 * pings; a client that left (seen by a failed write, or by the watch
 * below within RELAY_WATCH_MS, streamed or not) aborts the upstream
 * transfer at once (the connection is closed, generation stops); an upstream that fails after the client stream started ends it
 * with the translator's terminal error event, never a silent close.
 * One call per worker thread at a time; it takes no global lock.
 */
#ifndef GW_RELAY_H
#define GW_RELAY_H

#include <stdint.h>

#include "core/err.h"
#include "core/stream.h"
#include "upstream/client.h"
#include "upstream/ws.h"

#define RELAY_PING_INTERVAL_MS 15000
/* How often the client's connection is looked at while the upstream runs. */
#define RELAY_WATCH_MS 500

struct relay_opts {
	long ping_interval_ms;       /* 0: 15000; < 0: no pings */
	/* Ping before the upstream answers too.  The client stream then may
	 * start before the status is known, and an upstream error becomes a
	 * terminal error event instead of an HTTP status. */
	int early_pings;
	/* A 2xx without a content type is a stream too (the Codex backend
	 * has been seen to send its SSE so). */
	int untyped_is_sse;
	/* When set: asked every RELAY_WATCH_MS while the transfer runs, and
	 * must not block; 1 (the client hung up) aborts it as GW_ECLIENTGONE,
	 * with or without tr. */
	int (*client_left)(void *ctx);
	void *client_ctx;
};

struct relay_result {
	enum gw_err err;             /* same as relay_run()'s return */
	long status;                 /* upstream HTTP status (= resp.status) */
	/* Headers, pass headers; body only when not relayed as a stream. */
	struct up_response resp;
	char *message;               /* why err is not GW_OK; NULL if it is */
	int client_started;          /* something was written to the sink */
	long events_in;              /* SSE events from the upstream */
	long events_out;             /* events written to the sink */
	long pings;
	int64_t ttfb_ms, total_ms;
};

/* Frees the contents of an initialised result (it is not itself freed)
 * and zeroes it; accepts NULL. */
void relay_result_free(struct relay_result *r);

/*
 * Sends req and relays the answer.  opts may be NULL (defaults).
 *
 * tr != NULL (stream expected), once the status is known:
 *  - 2xx text/event-stream: every upstream event goes to tr->ops->feed;
 *    the end always calls tr->ops->finish: GW_OK when the upstream ended
 *    cleanly after its terminal event (tr->done), else an error and a
 *    message (dropped connection, stall, event cut in half, no terminal
 *    event, translator error).  Returns that error, or GW_ECLIENTGONE
 *    (then finish is not called: nobody is listening).
 *  - anything else, client stream not started: the translator is not
 *    called; returns GW_OK with status, body and pass headers in res, for
 *    the route to answer in the client's dialect (a 2xx that is not SSE
 *    is handed back the same way).
 *  - anything else after early pings started the client stream: finish
 *    with GW_EUPSTREAM and the upstream's message; returns GW_EUPSTREAM.
 *  - no response at all (connect failure, stall): GW_ECONNECT/GW_ETIMEOUT
 *    with res->message, and finish() only if the client stream started.
 * tr == NULL: no streaming, no pings; the same as up_perform() with the
 * result in res->resp (sink unused, may be NULL), but for the watch.
 */
GW_MUST_CHECK enum gw_err relay_run(struct up_client *c, const struct up_request *req,
    const struct relay_opts *opts, struct tr_stream *tr,
    struct tr_sink *sink, struct relay_result *res);

/*
 * The same relay over a WebSocket connection (Copilot's Responses over
 * ws:/responses): sends frame as one text message on c, then every message
 * is one event to tr (the event name is its "type"; an "error" message gets
 * its error.code and error.message copied to the top level, as the
 * reference relays it) until a terminal one (response.completed,
 * response.failed, response.incomplete, error; the Codex backend's
 * response.done; a response.completed's copilot_quota_snapshots are
 * logged, copilot_log_quota_snapshots).  Pings, the watch and the
 * stall guard (stall_timeout_s: 0 the default, < 0 none) work as in
 * relay_run; res->status is 200 once the frame was sent.  Returns as
 * relay_run with tr; GW_ECONNECT when the frame could not be sent
 * (nothing reached the upstream, the client stream did not start).
 * *reusable is set when the connection ended its response cleanly and
 * may take the next one; otherwise the caller closes it.
 */
GW_MUST_CHECK enum gw_err relay_run_ws(struct ws_conn *c, const char *frame,
    size_t n, long stall_timeout_s, const struct relay_opts *opts,
    struct tr_stream *tr, struct tr_sink *sink, struct relay_result *res,
    int *reusable);

#endif

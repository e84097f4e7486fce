/*
 * The gateway's metrics, shared by every process and thread that uses one
 * data directory: a small fixed-size file (METRICS_FILE_NAME) mapped
 * MAP_SHARED, holding atomic counters, two histograms, the active-stream
 * gauge (one slot per process) and a bounded table of request series
 * (route × status × model).  /metrics renders it in the Prometheus text
 * exposition format.
 *
 * The mapping is process-wide (one per process, like the data directory
 * itself): metrics_open maps it, and every recording call is a no-op
 * until then (tests, a program that did not open it).  Recording calls
 * never fail and take no lock, except the first record of a new series,
 * which takes an flock on the file for a moment.  All functions are
 * thread-safe after metrics_open; metrics_open and metrics_close are not
 * (call them before threads start / after they stopped).  A pre-forked
 * child keeps the parent's mapping, which is what shares it.
 *
 * Bounds: METRICS_SERIES slots; a model label longer than
 * METRICS_LABEL_MAX - 1 bytes, or any new model once three quarters of the
 * slots are taken, is counted as model "other"; when no slot is left the
 * request is counted in the series route="other", status="other",
 * model="other".  A client can therefore not grow the file or the answer.
 */
#ifndef GW_STATE_METRICS_H
#define GW_STATE_METRICS_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* The name carries the layout version: a new layout is a new file. */
#define METRICS_FILE_NAME "metrics-v1.shm"
#define METRICS_SERIES 256
#define METRICS_LABEL_MAX 64

enum metrics_hist {
	METRICS_UPSTREAM_DURATION,     /* whole upstream call */
	METRICS_STREAM_FIRST_BYTE,     /* call start to first event to the client */
	METRICS_NHIST
};

/*
 * Maps path (created 0600 and sized when missing or empty), replacing a
 * mapping already open.  GW_EIO with the reason in errmsg (may be NULL)
 * when the file cannot be opened, sized or mapped, or has a size or magic
 * of another layout; recording stays a no-op then.
 */
GW_MUST_CHECK enum gw_err metrics_open(const char *path, struct buf *errmsg);
/* Unmaps; recording becomes a no-op again.  Safe when nothing is open. */
void metrics_close(void);

/* One answered request: route is the matched route's pattern (NULL: no
 * route matched, counted as "none"), model "" when the request had none. */
void metrics_request(const char *route, int status, const char *model);
/* One observation of h, in milliseconds (negative ones are ignored). */
void metrics_observe(enum metrics_hist h, int64_t ms);
/* A client stream starts / ends in this process (the gauge). */
void metrics_stream_begin(void);
void metrics_stream_end(void);
/* A Copilot token exchange, ok or failed. */
void metrics_token_refresh(int ok);
/* A usage row went to the spool file. */
void metrics_usage_spooled(void);

/*
 * Appends the exposition text (text/plain; version=0.0.4) to out: HELP
 * and TYPE for every family, series sorted by labels, label values
 * escaped.  GW_ENOTFOUND when nothing is open, GW_ENOMEM.
 */
GW_MUST_CHECK enum gw_err metrics_render(struct buf *out);

#endif

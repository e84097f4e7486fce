/*
 * Health, readiness and metrics (routes/health.c): GET /healthz, /readyz
 * and /metrics.  None records a usage row or counts against the rate
 * limit.
 */
#ifndef GW_ROUTES_HEALTH_H
#define GW_ROUTES_HEALTH_H

#include "routes/common.h"

/* 200 {"status":"ok"}: the process answers. */
void route_healthz(struct rctx *r);
/*
 * 200 with what is ready (the Copilot token's expiry, the number of
 * models) when a Copilot token is valid (exchanged now when due, as a
 * request would) and the model list is loaded (fetched when missing or
 * stale); else 503 {"status":"not ready","reason":"..."}.
 */
void route_readyz(struct rctx *r);
/* The shared counters in the Prometheus text format (state/metrics.h);
 * 503 when this process could not map them. */
void route_metrics(struct rctx *r);

#endif

/*
 * The --rate-limit slot: at most one request per gap across every worker
 * thread and process, because the last arrival time lives in the database
 * (kv key "rate_limit_last_ms").  Pure database logic; the reply to a
 * request that came too early belongs to the routes.
 *
 * Thread-safety: one db handle per thread, as everywhere; processes are
 * serialised by the IMMEDIATE transaction.
 */
#ifndef GW_STATE_RATELIMIT_H
#define GW_STATE_RATELIMIT_H

#include <stdint.h>

#include "core/err.h"

struct db;

/*
 * Claims the slot at now (ms since the epoch) when the last claim is at
 * least gap_ms old, and sets *wait_ms to 0; else leaves the slot alone
 * and sets *wait_ms to the time until it is free.  GW_EBUSY/GW_EDB when
 * the database fails (nothing claimed).
 */
GW_MUST_CHECK enum gw_err rl_claim(struct db *db, int64_t gap_ms, int64_t now,
    int64_t *wait_ms);

#endif

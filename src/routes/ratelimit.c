/*
 * --rate-limit / rateLimit.seconds: at least N seconds between requests
 * that reach Copilot (chat, messages, responses), across every worker
 * thread and process (the last arrival time lives in the database).
 * Without --wait a request that comes too early gets 429 + Retry-After;
 * with it, it waits its turn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "routes/routes.h"
#include "state/config.h"
#include "state/db.h"

#define RL_KEY "rate_limit_last_ms"

static long
limit_seconds(const struct cfg *cfg, int *wait)
{
	const char *s = getenv("COPILOT_API_RATE_LIMIT");
	const char *w = getenv("COPILOT_API_RATE_LIMIT_WAIT");
	long n = cfg->rate_limit_s;

	*wait = cfg->rate_limit_wait || (w != NULL && strcmp(w, "1") == 0);
	if (s != NULL && *s != '\0' && util_parse_long(s, 0, 86400, &n) != GW_OK)
		n = cfg->rate_limit_s;
	return n;
}

/* Takes the slot when it is free; else says how long until it is. */
static enum gw_err
take_slot(struct db *db, int64_t now, int64_t gap_ms, int64_t *wait_ms)
{
	char *v = NULL, buf[32];
	int64_t last = 0;
	enum gw_err e;

	*wait_ms = 0;
	if ((e = db_begin_immediate(db)) != GW_OK)
		return e;
	if (db_kv_get(db, RL_KEY, &v) == GW_OK)
		last = strtoll(v, NULL, 10);
	free(v);
	/* Strictly inside the gap: a request exactly one gap later takes the
	 * slot (a zero wait must never pass without storing its arrival). */
	if (last > 0 && now >= last && now - last < gap_ms) {
		*wait_ms = gap_ms - (now - last);
		db_rollback(db);
		return GW_OK;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)now);
	if ((e = db_kv_set(db, RL_KEY, buf)) != GW_OK) {
		db_rollback(db);
		return e;
	}
	return db_commit(db);
}

int
rc_rate_limit(struct rctx *r)
{
	int64_t gap_ms, wait_ms;
	char secs[24];
	int wait;
	long n = limit_seconds(r->w->app->cfg, &wait);
	enum gw_err e;

	if (n <= 0)
		return 1;
	gap_ms = (int64_t)n * 1000;
	for (;;) {
		if ((e = take_slot(r->w->db, util_now_ms(), gap_ms, &wait_ms)) != GW_OK) {
			rc_fail(r, e, NULL);
			return 0;
		}
		if (wait_ms == 0)
			return 1;
		if (!wait) {
			snprintf(secs, sizeof(secs), "%lld",
			    (long long)((wait_ms + 999) / 1000));
			http_send_error(r->c, r->dialect, 429, "rate_limit_error",
			    "Rate limit exceeded", (const char *const[]){
			    "Retry-After", secs, NULL });
			rc_record(r, 429, NULL, "rate limit (--rate-limit)");
			return 0;
		}
		log_debug("rate limit: request %s waits %lld ms", r->req->trace_id,
		    (long long)wait_ms);
		util_sleep_ms(wait_ms);
	}
}

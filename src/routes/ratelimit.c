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
#include "routes/ratelimit.h"
#include "state/config.h"
#include "state/ratelimit.h"

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

int
rc_rate_limit(struct rctx *r)
{
	int64_t gap_ms, wait_ms;
	char secs[24];
	int wait;
	long n = limit_seconds(r->w->cfg, &wait);
	enum gw_err e;

	if (n <= 0)
		return 1;
	gap_ms = (int64_t)n * 1000;
	for (;;) {
		if ((e = rl_claim(r->w->db, gap_ms, util_now_ms(), &wait_ms)) != GW_OK) {
			rc_fail(r, e, NULL);
			return 0;
		}
		if (wait_ms == 0)
			return 1;
		if (!wait) {
			snprintf(secs, sizeof(secs), "%lld",
			    (long long)((wait_ms + 999) / 1000));
			rc_reject_with(r, 429, "rate_limit_error",
			    "Rate limit exceeded", (const char *const[]){
			    "Retry-After", secs, NULL });
			return 0;
		}
		log_debug("rate limit: request %s waits %lld ms", r->req->trace_id,
		    (long long)wait_ms);
		util_sleep_ms(wait_ms);
	}
}

/* The --rate-limit slot: one arrival time shared through the database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "state/db.h"
#include "state/ratelimit.h"

#define RL_KEY "rate_limit_last_ms"

/* The stored arrival; a damaged or out-of-range value counts as none, so
 * it can never lock the gateway out. */
static int64_t
stored_ms(const char *v)
{
	long long n;
	char *end;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 0)
		return 0;
	return (int64_t)n;
}

enum gw_err
rl_claim(struct db *db, int64_t gap_ms, int64_t now, int64_t *wait_ms)
{
	char *v = NULL, buf[32];
	int64_t last = 0;
	enum gw_err e;

	*wait_ms = 0;
	if ((e = db_begin_immediate(db)) != GW_OK)
		return e;
	if (db_kv_get(db, RL_KEY, &v) == GW_OK)
		last = stored_ms(v);
	free(v);
	/* Strictly inside the gap: a request exactly one gap later takes the
	 * slot (a zero wait must never pass without storing its arrival). */
	if (last > 0 && now >= last && now - last < gap_ms) {
		*wait_ms = gap_ms - (now - last);
		/* Ends the transaction, as db_commit does below: a failure
		 * would leave the write lock held. */
		return db_rollback(db);
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)now);
	if ((e = db_kv_set(db, RL_KEY, buf)) != GW_OK) {
		/* best effort: e is returned, and nothing was written */
		GW_IGNORE(db_rollback(db));
		return e;
	}
	return db_commit(db);
}

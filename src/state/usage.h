/*
 * Token-usage rows (one per request, failures included) and the documents
 * behind GET /token-usage, /token-usage/daily and /token-usage/events.
 * The documents count and list only rows with a token or a charge (a
 * failure's row has neither), as the reference, which stores no other
 * row, does.  Costs are summed per currency, never converted.
 */
#ifndef GW_USAGE_H
#define GW_USAGE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/err.h"
#include "state/db.h"

#define USAGE_DEFAULT_PAGE_SIZE 20
#define USAGE_MAX_PAGE_SIZE 100

/* Strings are borrowed for the call.  NULL strings are stored as '' except
 * provider_name and error, which stay NULL; a NULL or empty model is stored
 * as "unknown". */
struct usage_event {
	int64_t created_at_ms;          /* 0: now */
	const char *trace_id;
	const char *session_id;
	const char *user_id;            /* GitHub login or provider name */
	const char *source;             /* "copilot" | "provider" */
	const char *endpoint;           /* "chat_completions", "messages", ... */
	const char *provider_name;
	const char *model;              /* as sent upstream */
	const char *error;              /* short failure reason, or NULL */
	long status;                    /* HTTP status the client got; <= 0: unknown */
	int stream;
	long input_tokens;              /* counts < 0 are stored as 0 */
	long output_tokens;
	long cache_read_input_tokens;
	long cache_creation_input_tokens;
	long total_tokens;              /* < 0: the sum of the four counts */
	int64_t latency_ms;             /* < 0: unknown */
	int has_nano_aiu;               /* 0: Copilot reported no charge */
	int64_t total_nano_aiu;         /* its charge (< 0 is stored as 0) */
	const char *cost_currency;      /* NULL: no cost (the next two unused) */
	int64_t total_cost_nanos;       /* the cost in 1e-9 of cost_currency */
	const char *cost_source;        /* "copilot_aiu", "builtin", "config" */
	const char *account;            /* the Copilot account that served
	                                 * (state/accounts.h); NULL: none */
	const char *row_key;            /* the row's identity: a row whose key
	                                 * is already stored is not written
	                                 * again (a retried batch whose commit
	                                 * went through); NULL: none, always
	                                 * written */
};

/* Width of a row_key spool.c makes (random hex digits). */
#define USAGE_ROW_KEY_LEN 32

/* One row for ev; GW_OK too when ev->row_key is already stored (nothing
 * is written then). */
GW_MUST_CHECK enum gw_err usage_record(struct db *db, const struct usage_event *ev);

/*
 * period is "day" (from local midnight today), "week" (the last 7 local
 * days including today) or "month" (the last 30); anything else means
 * "day".  Days are local days as localtime_r sees them (TZ), each range
 * ending at the next local midnight.  *out is a new tree the caller frees.
 *
 * The account a row counts under: its account column; a Copilot row with
 * none (NULL or '', written before schema 5, when the default was the
 * only account) counts as ACCOUNTS_DEFAULT; a provider row has no account.
 * account non-NULL: only that account's rows are counted and listed (and
 * the document says "account"); NULL: every row.  The summaries have
 * "byAccount" (the Copilot rows by account, sorted as byModel: total
 * desc, then name by bytes); each event says its "account" (null for a
 * provider row).
 */
GW_MUST_CHECK enum gw_err usage_summary_json(struct db *db, const char *period,
    const char *account, int64_t now_ms, cJSON **out);
GW_MUST_CHECK enum gw_err usage_daily_json(struct db *db, const char *period,
    const char *account, int64_t now_ms, cJSON **out);
/* Newest first.  page < 1 means 1; page_size < 1 means the default (20),
 * above 100 means 100. */
GW_MUST_CHECK enum gw_err usage_events_json(struct db *db, const char *period,
    const char *account, long page, long page_size, int64_t now_ms,
    cJSON **out);

#endif

/* Token-usage rows and the /token-usage documents built from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "state/accounts.h"
#include "state/usage.h"

/* An error reason is a short label, not a dump of the upstream body. */
#define ERROR_MAX 512

/* The rows the documents count: those with a token, as the reference
 * (which stores no other) counts them.  A failure's row has none. */
#define WITH_TOKENS "(input_tokens > 0 OR output_tokens > 0 OR " \
    "cache_read_input_tokens > 0 OR cache_creation_input_tokens > 0 OR " \
    "total_tokens > 0 OR total_nano_aiu > 0)"

/* The account a row counts under: its account column; a Copilot row
 * without one (NULL or '': written before schema 5, when the default
 * was the only account) is the default's; a provider row has none. */
#define ACCOUNT_OF "(CASE WHEN account IS NOT NULL AND account <> '' " \
    "THEN account WHEN source = 'copilot' THEN '" ACCOUNTS_DEFAULT "' END)"

/* The rows a document counts: ?1 <= created_at_ms < ?2, with a token,
 * and, when ?3 is not 0, of the account ?4. */
#define MATCHES "created_at_ms >= ?1 AND created_at_ms < ?2 AND " \
    WITH_TOKENS " AND (?3 = 0 OR " ACCOUNT_OF " = ?4)"

#define COST_NANOS_PER_UNIT 1e9

struct totals {
	int64_t requests;
	int64_t input;
	int64_t output;
	int64_t cache_read;
	int64_t cache_creation;
	int64_t total;
	int64_t nano_aiu;
	int has_aiu;                /* SUM(total_nano_aiu) is not NULL */
	cJSON *costs;               /* [{amount, currency, total_cost_nanos}]
	                             * by currency; owned; NULL: none yet */
};

struct range {
	int64_t start_ms;
	int64_t end_ms;
};

/* What a document counts (MATCHES): the rows of r, of account unless
 * that is NULL. */
struct filter {
	struct range r;
	const char *account;
};

/* A breakdown of the counted rows by one key (byModel, byAccount). */
struct grouping {
	const char *member;       /* the key's name in each item */
	const char *null_name;    /* a NULL key's name; NULL: the row is left out */
	const char *totals_sql;   /* MATCHES's parameters; grp, the counters */
	const char *costs_sql;    /* grp, cost_currency, the sum of its nanos */
};

#define GROUP_TOTALS_SQL(key) "SELECT " key " AS grp, COUNT(*), " \
    "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), " \
    "COALESCE(SUM(cache_read_input_tokens), 0), " \
    "COALESCE(SUM(cache_creation_input_tokens), 0), " \
    "COALESCE(SUM(total_tokens), 0), SUM(total_nano_aiu) " \
    "FROM token_usage_events WHERE " MATCHES " GROUP BY grp"
#define GROUP_COSTS_SQL(key) "SELECT " key " AS grp, cost_currency, " \
    "COALESCE(SUM(total_cost_nanos), 0) FROM token_usage_events WHERE " \
    MATCHES " AND cost_currency IS NOT NULL AND total_cost_nanos IS NOT " \
    "NULL GROUP BY grp, cost_currency"

static const struct grouping by_model_g = {
	"model", "unknown", GROUP_TOTALS_SQL("model"), GROUP_COSTS_SQL("model"),
};
static const struct grouping by_account_g = {
	"account", NULL, GROUP_TOTALS_SQL(ACCOUNT_OF),
	GROUP_COSTS_SQL(ACCOUNT_OF),
};

static void
bind_filter(struct db_stmt *st, const struct filter *f)
{
	db_bind_int64(st, 1, f->r.start_ms);
	db_bind_int64(st, 2, f->r.end_ms);
	db_bind_int64(st, 3, f->account != NULL ? 1 : 0);
	db_bind_text(st, 4, f->account != NULL ? f->account : "");
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The same shape as JavaScript's toISOString(): 2024-03-12T19:00:00.000Z */
static void
iso_utc(int64_t ms, char out[64])
{
	time_t t = (time_t)floor_div(ms, 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, 64, "invalid");
		return;
	}
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms - (int64_t)t * 1000));
}

/* Local midnight of the day holding ms, moved by add_days local days;
 * mktime normalises the day count and settles DST. */
static int64_t
local_midnight(int64_t ms, int add_days)
{
	time_t t = (time_t)floor_div(ms, 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday += add_days;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

static void
local_date(int64_t ms, char out[32])
{
	time_t t = (time_t)floor_div(ms, 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	snprintf(out, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
}

/* Normalised period name and the local days it covers. */
static const char *
period_range(const char *period, int64_t now_ms, struct range *r)
{
	static const struct { const char *name; int days; } periods[] = {
		{ "day", 1 }, { "week", 7 }, { "month", 30 },
	};
	size_t i, pick = 0;

	for (i = 0; period != NULL && i < ARRAY_LEN(periods); i++)
		if (strcmp(period, periods[i].name) == 0)
			pick = i;
	r->start_ms = local_midnight(now_ms, 1 - periods[pick].days);
	r->end_ms = local_midnight(now_ms, 1);
	return periods[pick].name;
}

static long
clamp0(long v)
{
	return v < 0 ? 0 : v;
}

enum gw_err
usage_record(struct db *db, const struct usage_event *ev)
{
	static const char sql[] =
	    "INSERT INTO token_usage_events (created_at_ms, created_at_utc, "
	    "trace_id, session_id, user_id, source, endpoint, provider_name, "
	    "model, input_tokens, output_tokens, cache_read_input_tokens, "
	    "cache_creation_input_tokens, total_tokens, status, latency_ms, "
	    "stream, error, total_nano_aiu, cost_currency, total_cost_nanos, "
	    "cost_source, account, row_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
	    "?21, ?22, ?23, ?24) ON CONFLICT (row_key) DO NOTHING";
	const char *model, *error = ev->error;
	char utc[64], cut[ERROR_MAX + 1];
	int64_t created, total;
	long in, out, cr, cc;
	struct db_stmt *st;
	enum gw_err e;
	size_t elen;

	in = clamp0(ev->input_tokens);
	out = clamp0(ev->output_tokens);
	cr = clamp0(ev->cache_read_input_tokens);
	cc = clamp0(ev->cache_creation_input_tokens);
	total = ev->total_tokens >= 0 ? ev->total_tokens :
	    (int64_t)in + out + cr + cc;
	created = ev->created_at_ms > 0 ? ev->created_at_ms : util_now_ms();
	iso_utc(created, utc);
	model = ev->model != NULL && ev->model[0] != '\0' ? ev->model : "unknown";
	if (error != NULL && (elen = strlen(error)) > ERROR_MAX) {
		/* cut on a UTF-8 character boundary */
		elen = ERROR_MAX;
		while (elen > 0 && ((unsigned char)error[elen] & 0xC0) == 0x80)
			elen--;
		memcpy(cut, error, elen);
		cut[elen] = '\0';
		error = cut;
	}

	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	db_bind_int64(st, 1, created);
	db_bind_text(st, 2, utc);
	db_bind_text(st, 3, ev->trace_id ? ev->trace_id : "");
	db_bind_text(st, 4, ev->session_id ? ev->session_id : "");
	db_bind_text(st, 5, ev->user_id ? ev->user_id : "");
	db_bind_text(st, 6, ev->source ? ev->source : "");
	db_bind_text(st, 7, ev->endpoint ? ev->endpoint : "");
	db_bind_text(st, 8, ev->provider_name);
	db_bind_text(st, 9, model);
	db_bind_int64(st, 10, in);
	db_bind_int64(st, 11, out);
	db_bind_int64(st, 12, cr);
	db_bind_int64(st, 13, cc);
	db_bind_int64(st, 14, total);
	if (ev->status > 0)
		db_bind_int64(st, 15, ev->status);
	else
		db_bind_text(st, 15, NULL);
	if (ev->latency_ms >= 0)
		db_bind_int64(st, 16, ev->latency_ms);
	else
		db_bind_text(st, 16, NULL);
	db_bind_int64(st, 17, ev->stream ? 1 : 0);
	db_bind_text(st, 18, error);
	if (ev->has_nano_aiu)
		db_bind_int64(st, 19, ev->total_nano_aiu > 0 ?
		    ev->total_nano_aiu : 0);
	else
		db_bind_text(st, 19, NULL);
	db_bind_text(st, 20, ev->cost_currency);
	if (ev->cost_currency != NULL)
		db_bind_int64(st, 21, ev->total_cost_nanos);
	else
		db_bind_text(st, 21, NULL);
	db_bind_text(st, 22, ev->cost_currency != NULL ? ev->cost_source : NULL);
	db_bind_text(st, 23, ev->account);
	db_bind_text(st, 24, ev->row_key);
	e = db_step(st);
	db_done(db, st);
	return e == GW_ENOTFOUND ? GW_OK : e;
}

/* --- JSON documents --- */

static int
add_num(cJSON *o, const char *key, int64_t v)
{
	return cJSON_AddNumberToObject(o, key, (double)v) != NULL;
}

static int
add_item(cJSON *o, const char *key, cJSON *item)
{
	if (item == NULL)
		return 0;
	if (!cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		return 0;
	}
	return 1;
}

/* {amount, currency, total_cost_nanos}: amount in units of currency. */
static cJSON *
cost_json(const char *currency, int64_t nanos)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (cJSON_AddNumberToObject(o, "amount",
	    (double)nanos / COST_NANOS_PER_UNIT) == NULL ||
	    cJSON_AddStringToObject(o, "currency", currency) == NULL ||
	    !add_num(o, "total_cost_nanos", nanos)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Adds nanos of currency to t's costs, kept sorted by currency. */
static GW_MUST_CHECK enum gw_err
costs_add(struct totals *t, const char *currency, int64_t nanos)
{
	cJSON *c, *n;
	int cmp = 1, at = 0;
	const char *cur;

	if (t->costs == NULL && (t->costs = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(c, t->costs) {
		cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
		    "currency"));
		if ((cmp = strcmp(cur != NULL ? cur : "", currency)) >= 0)
			break;
		at++;
	}
	if (c != NULL && cmp == 0) {
		nanos += (int64_t)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(c, "total_cost_nanos"));
		if ((n = cost_json(currency, nanos)) == NULL)
			return GW_ENOMEM;
		return cJSON_ReplaceItemViaPointer(t->costs, c, n) ? GW_OK :
		    (cJSON_Delete(n), GW_ENOMEM);
	}
	if ((n = cost_json(currency, nanos)) == NULL)
		return GW_ENOMEM;
	if (c != NULL)
		return cJSON_InsertItemInArray(t->costs, at, n) ? GW_OK :
		    (cJSON_Delete(n), GW_ENOMEM);
	return cJSON_AddItemToArray(t->costs, n) ? GW_OK :
	    (cJSON_Delete(n), GW_ENOMEM);
}

/* The counters, keys in the reference's order; member: name last when
 * given.  t's costs go into the document (a copy). */
static cJSON *
totals_json(const struct totals *t, const char *member, const char *name)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (!add_num(o, "cache_creation_input_tokens", t->cache_creation) ||
	    !add_num(o, "cache_read_input_tokens", t->cache_read) ||
	    !add_item(o, "costs", t->costs != NULL ?
	        cJSON_Duplicate(t->costs, 1) : cJSON_CreateArray()) ||
	    !add_num(o, "input_tokens", t->input) ||
	    !add_num(o, "output_tokens", t->output) ||
	    !add_num(o, "request_count", t->requests) ||
	    (t->has_aiu ? !add_num(o, "total_nano_aiu", t->nano_aiu) :
	        cJSON_AddNullToObject(o, "total_nano_aiu") == NULL) ||
	    !add_num(o, "total_tokens", t->total) ||
	    (member != NULL &&
	        cJSON_AddStringToObject(o, member, name) == NULL)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
range_json(const struct range *r)
{
	char start[64], end[64];
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	iso_utc(r->start_ms, start);
	iso_utc(r->end_ms, end);
	if (!add_num(o, "end_ms", r->end_ms) ||
	    cJSON_AddStringToObject(o, "end_utc", end) == NULL ||
	    !add_num(o, "start_ms", r->start_ms) ||
	    cJSON_AddStringToObject(o, "start_utc", start) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static GW_MUST_CHECK enum gw_err
totals_add(struct totals *sum, const struct totals *t)
{
	const cJSON *c;
	enum gw_err e;

	sum->requests += t->requests;
	sum->input += t->input;
	sum->output += t->output;
	sum->cache_read += t->cache_read;
	sum->cache_creation += t->cache_creation;
	sum->total += t->total;
	if (t->has_aiu) {
		sum->nano_aiu += t->nano_aiu;
		sum->has_aiu = 1;
	}
	cJSON_ArrayForEach(c, t->costs) {
		if ((e = costs_add(sum, cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(c, "currency")),
		    (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c,
		    "total_cost_nanos")))) != GW_OK)
			return e;
	}
	return GW_OK;
}

static void
totals_free(struct totals *t)
{
	cJSON_Delete(t->costs);
	t->costs = NULL;
}

/* Each group's costs by currency: *map is {name: [cost, ...]}. */
static GW_MUST_CHECK enum gw_err
group_costs(struct db *db, const struct filter *f, const struct grouping *g,
    cJSON **map)
{
	struct totals one;
	struct db_stmt *st;
	const char *name, *cur;
	enum gw_err e;

	if ((*map = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if ((e = db_prepare(db, g->costs_sql, &st)) != GW_OK)
		return e;
	bind_filter(st, f);
	while ((e = db_step(st)) == GW_OK) {
		name = db_column_text(st, 0);
		cur = db_column_text(st, 1);
		if (cur == NULL || *cur == '\0')
			continue;
		if (name == NULL && (name = g->null_name) == NULL)
			continue;
		one.costs = cJSON_DetachItemFromObjectCaseSensitive(*map, name);
		e = costs_add(&one, cur, db_column_int64(st, 2));
		if (one.costs != NULL &&
		    !cJSON_AddItemToObject(*map, name, one.costs)) {
			cJSON_Delete(one.costs);
			e = GW_ENOMEM;
		}
		if (e != GW_OK)
			break;
	}
	db_done(db, st);
	return e == GW_ENOTFOUND ? GW_OK : e;
}

/* A group item's name: its last member (totals_json). */
static const char *
group_name(const cJSON *o)
{
	const cJSON *c = o->child;

	while (c != NULL && c->next != NULL)
		c = c->next;
	return c != NULL && cJSON_IsString(c) ? c->valuestring : "";
}

static int
by_total_then_name(const void *x, const void *y)
{
	const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
	double ta = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a,
	    "total_tokens"));
	double tb = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(b,
	    "total_tokens"));

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return strcmp(group_name(a), group_name(b));
}

/* Sorts group items by total desc, then name by bytes (in C: the
 * database's collation need not be byte order, state/db.h). */
static GW_MUST_CHECK enum gw_err
sort_by_total(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr), i;
	enum gw_err e = GW_OK;
	cJSON **v;

	if (n < 2)
		return GW_OK;
	if ((v = malloc((size_t)n * sizeof(*v))) == NULL)
		return GW_ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(arr, 0);
	qsort(v, (size_t)n, sizeof(*v), by_total_then_name);
	for (i = 0; i < n; i++) {
		/* re-adding a detached item allocates nothing */
		if (!cJSON_AddItemToArray(arr, v[i])) {
			cJSON_Delete(v[i]);
			e = GW_EINTERNAL;
		}
	}
	free(v);
	return e;
}

/* The items of g for f: total desc, name asc; *sum gets the totals of
 * the rows listed (the caller frees them with totals_free). */
static GW_MUST_CHECK enum gw_err
by_group(struct db *db, const struct filter *f, const struct grouping *g,
    cJSON **arr, struct totals *sum)
{
	struct db_stmt *st = NULL;
	struct totals t;
	const char *name;
	cJSON *a, *item, *costs = NULL;
	enum gw_err e;

	memset(sum, 0, sizeof(*sum));
	memset(&t, 0, sizeof(t));
	*arr = NULL;
	if ((a = cJSON_CreateArray()) == NULL)
		return GW_ENOMEM;
	if ((e = group_costs(db, f, g, &costs)) != GW_OK ||
	    (e = db_prepare(db, g->totals_sql, &st)) != GW_OK)
		goto out;
	bind_filter(st, f);
	while ((e = db_step(st)) == GW_OK) {
		name = db_column_text(st, 0);
		if (name == NULL && (name = g->null_name) == NULL)
			continue;
		t.requests = db_column_int64(st, 1);
		t.input = db_column_int64(st, 2);
		t.output = db_column_int64(st, 3);
		t.cache_read = db_column_int64(st, 4);
		t.cache_creation = db_column_int64(st, 5);
		t.total = db_column_int64(st, 6);
		t.has_aiu = !db_column_is_null(st, 7);
		t.nano_aiu = db_column_int64(st, 7);
		t.costs = cJSON_DetachItemFromObjectCaseSensitive(costs, name);
		item = totals_json(&t, g->member, name);
		if (item == NULL || !cJSON_AddItemToArray(a, item)) {
			cJSON_Delete(item);
			e = GW_ENOMEM;
			goto out;
		}
		if ((e = totals_add(sum, &t)) != GW_OK)
			goto out;
		totals_free(&t);
	}
	if (e != GW_ENOTFOUND || (e = sort_by_total(a)) != GW_OK)
		goto out;
	*arr = a;
	a = NULL;
out:
	db_done(db, st);
	totals_free(&t);
	cJSON_Delete(costs);
	cJSON_Delete(a);
	if (e != GW_OK)
		totals_free(sum);
	return e;
}

/* byAccount: the Copilot rows of f by account (provider rows have none). */
static GW_MUST_CHECK enum gw_err
add_by_account(struct db *db, const struct filter *f, cJSON *doc)
{
	struct totals ignored;
	cJSON *arr;
	enum gw_err e;

	if ((e = by_group(db, f, &by_account_g, &arr, &ignored)) != GW_OK)
		return e;
	totals_free(&ignored);
	return add_item(doc, "byAccount", arr) ? GW_OK : GW_ENOMEM;
}

/* account (when filtered), byAccount, byModel, period, range and
 * totals, appended to doc in that order with days (when given) after
 * byModel, as the reference lays them out (it has no account). */
static GW_MUST_CHECK enum gw_err
summary_common(struct db *db, cJSON *doc, const char *period,
    const struct filter *f, cJSON **days_slot)
{
	struct totals sum;
	cJSON *arr;
	enum gw_err e;

	if ((f->account != NULL &&
	    cJSON_AddStringToObject(doc, "account", f->account) == NULL))
		return GW_ENOMEM;
	if ((e = add_by_account(db, f, doc)) != GW_OK ||
	    (e = by_group(db, f, &by_model_g, &arr, &sum)) != GW_OK)
		return e;
	e = GW_ENOMEM;
	if (!add_item(doc, "byModel", arr))
		goto out;
	if (days_slot != NULL &&
	    (*days_slot = cJSON_AddArrayToObject(doc, "days")) == NULL)
		goto out;
	if (cJSON_AddStringToObject(doc, "period", period) != NULL &&
	    add_item(doc, "range", range_json(&f->r)) &&
	    add_item(doc, "totals", totals_json(&sum, NULL, NULL)))
		e = GW_OK;
out:
	totals_free(&sum);
	return e;
}

enum gw_err
usage_summary_json(struct db *db, const char *period, const char *account,
    int64_t now_ms, cJSON **out)
{
	struct filter f = { .account = account };
	const char *name;
	cJSON *doc;
	enum gw_err e;

	*out = NULL;
	name = period_range(period, now_ms, &f.r);
	if ((doc = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if ((e = summary_common(db, doc, name, &f, NULL)) != GW_OK) {
		cJSON_Delete(doc);
		return e;
	}
	*out = doc;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
day_bucket(struct db *db, const struct filter *day, cJSON *days)
{
	struct totals sum;
	char date[32];
	cJSON *b, *arr;
	enum gw_err e;

	if ((b = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if (!cJSON_AddItemToArray(days, b)) {
		cJSON_Delete(b);
		return GW_ENOMEM;
	}
	if ((e = by_group(db, day, &by_model_g, &arr, &sum)) != GW_OK)
		return e;
	local_date(day->r.start_ms, date);
	e = GW_ENOMEM;
	if (add_item(b, "byModel", arr) &&
	    cJSON_AddStringToObject(b, "date", date) != NULL &&
	    add_num(b, "end_ms", day->r.end_ms) &&
	    add_num(b, "start_ms", day->r.start_ms) &&
	    add_item(b, "totals", totals_json(&sum, NULL, NULL)))
		e = GW_OK;
	totals_free(&sum);
	return e;
}

enum gw_err
usage_daily_json(struct db *db, const char *period, const char *account,
    int64_t now_ms, cJSON **out)
{
	struct filter f = { .account = account }, day = { .account = account };
	const char *name;
	cJSON *doc, *days = NULL;
	enum gw_err e;

	*out = NULL;
	name = period_range(period, now_ms, &f.r);
	if ((doc = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if ((e = summary_common(db, doc, name, &f, &days)) != GW_OK)
		goto out;
	for (day.r.start_ms = f.r.start_ms; day.r.start_ms < f.r.end_ms;
	    day.r.start_ms = day.r.end_ms) {
		day.r.end_ms = local_midnight(day.r.start_ms, 1);
		if (day.r.end_ms > f.r.end_ms)
			day.r.end_ms = f.r.end_ms;
		if (day.r.end_ms <= day.r.start_ms) {
			/* mktime failed; never loop forever on it */
			e = GW_EINTERNAL;
			goto out;
		}
		if ((e = day_bucket(db, &day, days)) != GW_OK)
			goto out;
	}
	*out = doc;
	doc = NULL;
out:
	cJSON_Delete(doc);
	return e;
}

static int
add_text_col(cJSON *o, const char *key, struct db_stmt *st, int col,
    int nullable)
{
	const char *s = db_column_text(st, col);

	if (s == NULL && nullable)
		return cJSON_AddNullToObject(o, key) != NULL;
	return cJSON_AddStringToObject(o, key, s != NULL ? s : "") != NULL;
}

static int
add_int_col(cJSON *o, const char *key, struct db_stmt *st, int col)
{
	if (db_column_is_null(st, col))
		return cJSON_AddNullToObject(o, key) != NULL;
	return add_num(o, key, db_column_int64(st, col));
}

/* Column numbers of the events query below. */
enum {
	EV_ID, EV_CREATED_MS, EV_CREATED_UTC, EV_TRACE, EV_SESSION, EV_USER,
	EV_SOURCE, EV_ENDPOINT, EV_PROVIDER, EV_MODEL, EV_INPUT, EV_OUTPUT,
	EV_CACHE_READ, EV_CACHE_CREATION, EV_TOTAL, EV_STATUS, EV_LATENCY,
	EV_STREAM, EV_ERROR, EV_NANO_AIU, EV_COST_CURRENCY, EV_COST_NANOS,
	EV_COST_SOURCE, EV_ACCOUNT
};

/* A row's cost {amount, currency, total_cost_nanos, source}, or null
 * when it has none (or no source), as the reference reads it back. */
static int
add_event_cost(cJSON *o, struct db_stmt *st)
{
	const char *cur = db_column_text(st, EV_COST_CURRENCY);
	const char *src = db_column_text(st, EV_COST_SOURCE);
	cJSON *c;

	if (cur == NULL || *cur == '\0' || src == NULL || *src == '\0' ||
	    db_column_is_null(st, EV_COST_NANOS))
		return cJSON_AddNullToObject(o, "cost") != NULL;
	c = cost_json(cur, db_column_int64(st, EV_COST_NANOS));
	if (c != NULL && cJSON_AddStringToObject(c, "source", src) == NULL) {
		cJSON_Delete(c);
		c = NULL;
	}
	return add_item(o, "cost", c);
}

static cJSON *
event_json(struct db_stmt *st)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (!add_text_col(o, "account", st, EV_ACCOUNT, 1) ||
	    !add_int_col(o, "cache_creation_input_tokens", st, EV_CACHE_CREATION) ||
	    !add_int_col(o, "cache_read_input_tokens", st, EV_CACHE_READ) ||
	    !add_event_cost(o, st) ||
	    !add_int_col(o, "created_at_ms", st, EV_CREATED_MS) ||
	    !add_text_col(o, "created_at_utc", st, EV_CREATED_UTC, 0) ||
	    !add_text_col(o, "endpoint", st, EV_ENDPOINT, 0) ||
	    !add_text_col(o, "error", st, EV_ERROR, 1) ||
	    !add_int_col(o, "id", st, EV_ID) ||
	    !add_int_col(o, "input_tokens", st, EV_INPUT) ||
	    !add_int_col(o, "latency_ms", st, EV_LATENCY) ||
	    !add_text_col(o, "model", st, EV_MODEL, 0) ||
	    !add_int_col(o, "output_tokens", st, EV_OUTPUT) ||
	    !add_text_col(o, "provider_name", st, EV_PROVIDER, 1) ||
	    !add_text_col(o, "session_id", st, EV_SESSION, 0) ||
	    !add_text_col(o, "source", st, EV_SOURCE, 0) ||
	    !add_int_col(o, "status", st, EV_STATUS) ||
	    cJSON_AddBoolToObject(o, "stream",
	        db_column_int64(st, EV_STREAM) != 0) == NULL ||
	    !add_int_col(o, "total_nano_aiu", st, EV_NANO_AIU) ||
	    !add_int_col(o, "total_tokens", st, EV_TOTAL) ||
	    !add_text_col(o, "trace_id", st, EV_TRACE, 0) ||
	    !add_text_col(o, "user_id", st, EV_USER, 0)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static GW_MUST_CHECK enum gw_err
count_events(struct db *db, const struct filter *f, int64_t *total)
{
	struct db_stmt *st;
	enum gw_err e;

	*total = 0;
	if ((e = db_prepare(db, "SELECT COUNT(*) FROM token_usage_events "
	    "WHERE " MATCHES, &st)) != GW_OK)
		return e;
	bind_filter(st, f);
	if ((e = db_step(st)) == GW_OK)
		*total = db_column_int64(st, 0);
	else if (e == GW_ENOTFOUND)
		e = GW_EINTERNAL;       /* COUNT(*) always answers a row */
	db_done(db, st);
	return e;
}

static GW_MUST_CHECK enum gw_err
list_events(struct db *db, const struct filter *f, int64_t limit,
    int64_t offset, cJSON *items)
{
	static const char sql[] =
	    "SELECT id, created_at_ms, created_at_utc, trace_id, session_id, "
	    "user_id, source, endpoint, provider_name, model, input_tokens, "
	    "output_tokens, cache_read_input_tokens, cache_creation_input_tokens, "
	    "total_tokens, status, latency_ms, stream, error, total_nano_aiu, "
	    "cost_currency, total_cost_nanos, cost_source, " ACCOUNT_OF " "
	    "FROM token_usage_events WHERE " MATCHES
	    " ORDER BY created_at_ms DESC, id DESC LIMIT ?5 OFFSET ?6";
	struct db_stmt *st;
	cJSON *item;
	enum gw_err e;

	if ((e = db_prepare(db, sql, &st)) != GW_OK)
		return e;
	bind_filter(st, f);
	db_bind_int64(st, 5, limit);
	db_bind_int64(st, 6, offset);
	while ((e = db_step(st)) == GW_OK) {
		item = event_json(st);
		if (item == NULL || !cJSON_AddItemToArray(items, item)) {
			cJSON_Delete(item);
			e = GW_ENOMEM;
			break;
		}
	}
	db_done(db, st);
	return e == GW_ENOTFOUND ? GW_OK : e;
}

enum gw_err
usage_events_json(struct db *db, const char *period, const char *account,
    long page, long page_size, int64_t now_ms, cJSON **out)
{
	int64_t total, pages, offset;
	struct filter f = { .account = account };
	const char *name;
	cJSON *doc, *items;
	enum gw_err e;

	*out = NULL;
	if (page < 1)
		page = 1;
	if (page_size < 1)
		page_size = USAGE_DEFAULT_PAGE_SIZE;
	if (page_size > USAGE_MAX_PAGE_SIZE)
		page_size = USAGE_MAX_PAGE_SIZE;
	/* saturate instead of overflowing on an absurd page number */
	offset = page - 1 > INT64_MAX / page_size ? INT64_MAX :
	    (int64_t)(page - 1) * page_size;
	name = period_range(period, now_ms, &f.r);
	if ((doc = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if ((account != NULL &&
	    cJSON_AddStringToObject(doc, "account", account) == NULL) ||
	    (items = cJSON_AddArrayToObject(doc, "items")) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	if ((e = count_events(db, &f, &total)) != GW_OK ||
	    (e = list_events(db, &f, page_size, offset, items)) != GW_OK)
		goto out;
	pages = (total + page_size - 1) / page_size;
	if (!add_num(doc, "page", page) ||
	    !add_num(doc, "page_size", page_size) ||
	    cJSON_AddStringToObject(doc, "period", name) == NULL ||
	    !add_item(doc, "range", range_json(&f.r)) ||
	    !add_num(doc, "total", total) ||
	    !add_num(doc, "total_pages", pages < 1 ? 1 : pages)) {
		e = GW_ENOMEM;
		goto out;
	}
	*out = doc;
	doc = NULL;
out:
	cJSON_Delete(doc);
	return e;
}

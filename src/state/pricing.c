/* Cost estimates of usage rows (1.14.7's token-usage pricing). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/share.h"
#include "state/pricing.h"

#define COST_NANOS_PER_UNIT 1e9
#define COST_NANOS_PER_TOKEN_AT_ONE_PER_MILLION 1000.0
#define COPILOT_NANO_AIU_PER_USD 1e11

/* share/pricing/builtin.json, read once; NULL when missing or unreadable
 * (provider calls without a configured price then have no cost). */
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static cJSON *builtin;

static void
builtin_load(void)
{
	struct buf text = BUF_INIT, tried = BUF_INIT;
	enum gw_err e;

	if ((e = share_read("pricing/builtin.json", &text, &tried)) != GW_OK)
		log_warn("pricing: no share/pricing/builtin.json (tried %s): "
		    "provider costs need a configured pricing", buf_cstr(&tried));
	else if ((builtin = json_parse(text.data, text.len, NULL, NULL)) == NULL)
		log_warn("pricing: share/pricing/builtin.json is not JSON");
	buf_free(&text);
	buf_free(&tried);
}

/* obj's member whose name equals key ignoring ASCII case. */
static const cJSON *
member_nocase(const cJSON *obj, const char *key)
{
	const cJSON *c;

	if (!cJSON_IsObject(obj) || key == NULL)
		return NULL;
	cJSON_ArrayForEach(c, obj) {
		if (c->string != NULL && strcasecmp(c->string, key) == 0)
			return c;
	}
	return NULL;
}

static long
clamp0(long v)
{
	return v > 0 ? v : 0;
}

/* Math.round of a cost, which is never negative here (truncation is
 * floor for x + 0.5 >= 0). */
static int64_t
js_round(double x)
{
	return x > 0 ? (int64_t)(x + 0.5) : 0;
}

int
pricing_copilot(int64_t nano_aiu, struct pricing_cost *out)
{
	int64_t nanos;

	if (nano_aiu <= 0)
		return 0;
	nanos = js_round((double)nano_aiu *
	    (COST_NANOS_PER_UNIT / COPILOT_NANO_AIU_PER_USD));
	if (nanos <= 0)
		return 0;
	out->currency = "USD";
	out->total_cost_nanos = nanos;
	out->source = "copilot_aiu";
	return 1;
}

/* A tier's maxInputTokens; a missing or non-positive one has no bound. */
static double
tier_max(const cJSON *tier)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(tier, "maxInputTokens");

	return cJSON_IsNumber(m) && isfinite(m->valuedouble) &&
	    m->valuedouble > 0 ? m->valuedouble : INFINITY;
}

/* The tier for input_total: the first, by bound ascending (ties in file
 * order), whose bound holds it, else the one with the highest bound. */
static const cJSON *
pick_tier(const cJSON *pricing, double input_total)
{
	const cJSON *tiers = json_arr(pricing, "tiers"), *t, *best = NULL;
	const cJSON *last = NULL;

	cJSON_ArrayForEach(t, tiers) {
		if (!cJSON_IsObject(t))
			continue;
		if (input_total <= tier_max(t) &&
		    (best == NULL || tier_max(t) < tier_max(best)))
			best = t;
		if (last == NULL || tier_max(t) >= tier_max(last))
			last = t;
	}
	return best != NULL ? best : last;
}

/* A price per 1M tokens, the tier's own over the entry's; < 0: none. */
static double
price(const cJSON *pricing, const cJSON *tier, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(tier, key);

	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(pricing, key);
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	    v->valuedouble >= 0 ? v->valuedouble : -1;
}

static int64_t
cost_of(long tokens, double per_million)
{
	if (per_million < 0)
		return 0;
	return js_round((double)clamp0(tokens) * per_million *
	    COST_NANOS_PER_TOKEN_AT_ONE_PER_MILLION);
}

int
pricing_provider(const char *provider, const char *model,
    const cJSON *pricing, const char *currency, const struct pricing_usage *u,
    struct pricing_cost *out)
{
	const char *source = "config";
	const cJSON *tier, *c;
	double read;
	int64_t nanos;

	if (provider == NULL || *provider == '\0')
		return 0;
	if (!cJSON_IsObject(pricing)) {
		pthread_once(&builtin_once, builtin_load);
		pricing = member_nocase(member_nocase(json_obj(builtin,
		    "providers"), provider), model);
		source = "builtin";
	}
	if (!cJSON_IsObject(pricing))
		return 0;
	tier = pick_tier(pricing, (double)clamp0(u->input_tokens) +
	    (double)clamp0(u->cache_read_tokens) +
	    (double)clamp0(u->cache_creation_tokens));
	if (currency == NULL || *currency == '\0') {
		pthread_once(&builtin_once, builtin_load);
		c = member_nocase(json_obj(builtin, "currencies"), provider);
		currency = cJSON_IsString(c) ? c->valuestring : NULL;
	}
	if (currency == NULL || *currency == '\0')
		return 0;
	/* an explicit cache read is priced apart when the upstream reports
	 * cache writes (DashScope's explicit context cache) */
	read = -1;
	if (u->cache_creation_tokens >= 0)
		read = price(pricing, tier, "explicitCachedInput");
	if (read < 0)
		read = price(pricing, tier, "cachedInput");
	nanos = cost_of(u->input_tokens, price(pricing, tier, "input")) +
	    cost_of(u->output_tokens, price(pricing, tier, "output")) +
	    cost_of(u->cache_read_tokens, read) +
	    cost_of(u->cache_creation_tokens,
	    price(pricing, tier, "cacheCreationInput"));
	if (nanos <= 0)
		return 0;
	out->currency = currency;
	out->total_cost_nanos = nanos;
	out->source = source;
	return 1;
}

/*
 * What a call cost, as 1.14.7 estimates it: a Copilot call from the charge
 * Copilot reports (nano-AIU, in US dollars), a provider call from per-model
 * prices (the config's models.<id>.pricing, else share/pricing/builtin.json)
 * in the provider's currency.  Costs are in nanos (1e-9) of the currency.
 */
#ifndef GW_PRICING_H
#define GW_PRICING_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* The counts of one usage row; input excludes both cache counts. */
struct pricing_usage {
	long input_tokens;
	long output_tokens;
	long cache_read_tokens;
	long cache_creation_tokens;     /* < 0: the upstream did not report it */
};

struct pricing_cost {
	const char *currency;           /* borrowed: static, or the config's */
	int64_t total_cost_nanos;
	const char *source;             /* "copilot_aiu", "config", "builtin" */
};

/* 1 and *out when the charge is a cost (> 0 once rounded); else 0. */
int pricing_copilot(int64_t nano_aiu, struct pricing_cost *out);

/*
 * 1 and *out when the call has a price and costs more than 0: pricing is
 * the config's entry for the model (NULL: the built-in one of provider and
 * model, compared case-insensitively), currency the provider's
 * pricingCurrency (NULL: the built-in one of the provider; none: no cost).
 */
int pricing_provider(const char *provider, const char *model,
    const cJSON *pricing, const char *currency, const struct pricing_usage *u,
    struct pricing_cost *out);

#endif

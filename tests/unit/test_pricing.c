/*
 * Usage costs as 1.14.7 estimates them (state/pricing.c): Copilot's
 * nano-AIU charge, provider prices from the config or the vendored table
 * (share/pricing/builtin.json), tiers, explicit cache reads; and the
 * counts that feed them (core/stream.c: cache writes, DeepSeek's hit/miss,
 * copilot_usage).
 */
#include <string.h>

#include "testutil.h"
#include "core/json.h"
#include "core/stream.h"
#include "state/pricing.h"

#define PARSE(lit) json_parse(lit, strlen(lit), NULL, NULL)

static struct pricing_usage
pu(long in, long out, long read, long write)
{
	struct pricing_usage u = { in, out, read, write };

	return u;
}

START_TEST(copilot_aiu)
{
	struct pricing_cost c;

	/* 1e11 nano-AIU to the dollar: 1.5e8 nano-AIU = 1.5e6 nanos */
	ck_assert_int_eq(pricing_copilot(150000000, &c), 1);
	ck_assert_str_eq(c.currency, "USD");
	ck_assert_str_eq(c.source, "copilot_aiu");
	ck_assert_int_eq(c.total_cost_nanos, 1500000);
	/* rounded as Math.round: 0.5 up, 0.49 down to nothing */
	ck_assert_int_eq(pricing_copilot(50, &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 1);
	ck_assert_int_eq(pricing_copilot(49, &c), 0);
	ck_assert_int_eq(pricing_copilot(0, &c), 0);
	ck_assert_int_eq(pricing_copilot(-3, &c), 0);
}
END_TEST

/* The vendored table: codex in USD, names compared case-insensitively,
 * the tier chosen by the whole input (fresh + read + written). */
START_TEST(builtin_tiers)
{
	struct pricing_usage u = pu(1000, 100, -1, -1);
	struct pricing_cost c;

	ck_assert_int_eq(pricing_provider("Codex", "GPT-5.4", NULL, NULL, &u, &c), 1);
	ck_assert_str_eq(c.currency, "USD");
	ck_assert_str_eq(c.source, "builtin");
	/* 1000 × 2.5 + 100 × 15 per 1M, in nanos */
	ck_assert_int_eq(c.total_cost_nanos, 2500000 + 1500000);
	/* 300000 in all > 272000: the second tier (5, 0.5, 22.5) */
	u = pu(100000, 1000, 200000, -1);
	ck_assert_int_eq(pricing_provider("codex", "gpt-5.4", NULL, NULL, &u, &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 500000000 + 22500000 + 100000000);
	/* exactly at the bound: still the first tier */
	u = pu(272000, 0, 0, -1);
	ck_assert_int_eq(pricing_provider("codex", "gpt-5.4", NULL, NULL, &u, &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 680000000);
	/* no price for the model, or no such provider: no cost */
	ck_assert_int_eq(pricing_provider("codex", "gpt-4.1", NULL, NULL, &u, &c), 0);
	ck_assert_int_eq(pricing_provider("acme", "gpt-5.4", NULL, NULL, &u, &c), 0);
	ck_assert_int_eq(pricing_provider(NULL, "gpt-5.4", NULL, NULL, &u, &c), 0);
	/* a configured currency wins over the built-in one */
	u = pu(1000, 0, -1, -1);
	ck_assert_int_eq(pricing_provider("deepseek", "deepseek-v4-pro", NULL,
	    "USD", &u, &c), 1);
	ck_assert_str_eq(c.currency, "USD");
	ck_assert_int_eq(c.total_cost_nanos, 3000000);
}
END_TEST

/* DashScope: a reported cache write makes the read an explicit one. */
START_TEST(explicit_cache_read)
{
	struct pricing_usage u = pu(0, 0, 1000, 0);
	struct pricing_cost c;

	ck_assert_int_eq(pricing_provider("dashscope", "glm-5.2", NULL, NULL, &u,
	    &c), 1);
	ck_assert_str_eq(c.currency, "CNY");
	ck_assert_int_eq(c.total_cost_nanos, 800000);
	u = pu(0, 0, 1000, -1);
	ck_assert_int_eq(pricing_provider("dashscope", "glm-5.2", NULL, NULL, &u,
	    &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 2000000);
	/* writes at cacheCreationInput */
	u = pu(0, 0, 0, 1000);
	ck_assert_int_eq(pricing_provider("dashscope", "glm-5.2", NULL, NULL, &u,
	    &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 10000000);
}
END_TEST

/* The config's pricing: its own source, unsorted tiers, a tier without a
 * bound last, the entry's prices under the tier's, bad prices ignored. */
START_TEST(config_pricing)
{
	cJSON *p = PARSE("{\"input\":1,\"output\":2,\"cachedInput\":\"x\","
	    "\"tiers\":[{\"input\":9},{\"maxInputTokens\":100,\"input\":3},"
	    "{\"maxInputTokens\":0,\"input\":7},{\"maxInputTokens\":100,"
	    "\"input\":4}]}");
	struct pricing_usage u = pu(100, 1000, 5000000, -1);
	struct pricing_cost c;

	ck_assert_ptr_nonnull(p);
	/* 5000100 in all > 100: the first unbounded tier in file order
	 * (input 9); the reads have no valid price */
	ck_assert_int_eq(pricing_provider("acme", "m", p, "EUR", &u, &c), 1);
	ck_assert_str_eq(c.currency, "EUR");
	ck_assert_str_eq(c.source, "config");
	ck_assert_int_eq(c.total_cost_nanos, 100 * 9 * 1000 + 1000 * 2 * 1000);
	/* within 100: the first bounded tier in file order (input 3) */
	u = pu(100, 0, -1, -1);
	ck_assert_int_eq(pricing_provider("acme", "m", p, "EUR", &u, &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 300000);
	/* every tier bounded and none holds the input: the highest bound,
	 * the last of equals in file order */
	cJSON_Delete(p);
	p = PARSE("{\"tiers\":[{\"maxInputTokens\":50,\"input\":1},"
	    "{\"maxInputTokens\":80,\"input\":2},{\"maxInputTokens\":80,"
	    "\"input\":5}]}");
	ck_assert_int_eq(pricing_provider("acme", "m", p, "EUR", &u, &c), 1);
	ck_assert_int_eq(c.total_cost_nanos, 500000);
	/* no currency anywhere: no cost */
	ck_assert_int_eq(pricing_provider("acme", "m", p, NULL, &u, &c), 0);
	/* costs nothing: no cost */
	u = pu(0, 0, 0, 0);
	ck_assert_int_eq(pricing_provider("acme", "m", p, "EUR", &u, &c), 0);
	cJSON_Delete(p);
}
END_TEST

static struct tr_usage
usage_of(const char *json)
{
	cJSON *v = PARSE(json);
	struct tr_usage u;

	ck_assert_ptr_nonnull(v);
	tr_usage_init(&u);
	tr_usage_from_json(&u, json_obj(v, "usage"));
	tr_usage_copilot(&u, v);
	cJSON_Delete(v);
	return u;
}

/* The counts behind a cost, from each upstream's usage shape. */
START_TEST(usage_shapes)
{
	struct tr_usage u;

	/* Responses: cache_write_tokens is the write, counted only when > 0 */
	u = usage_of("{\"usage\":{\"input_tokens\":100,\"output_tokens\":5,"
	    "\"input_tokens_details\":{\"cached_tokens\":30,"
	    "\"cache_write_tokens\":20}},\"copilot_usage\":{\"total_nano_aiu\":7}}");
	ck_assert_int_eq(u.input_tokens, 100);
	ck_assert_int_eq(u.cache_read_tokens, 30);
	ck_assert_int_eq(u.cache_creation_tokens, 20);
	ck_assert_int_eq(u.input_net, 0);
	ck_assert_int_eq(u.nano_aiu, 7);
	u = usage_of("{\"usage\":{\"input_tokens\":100,\"input_tokens_details\":"
	    "{\"cached_tokens\":0,\"cache_write_tokens\":0}}}");
	ck_assert_int_eq(u.cache_creation_tokens, -1);
	ck_assert_int_eq(u.nano_aiu, -1);
	/* Chat: prompt_tokens_details.cache_creation_input_tokens */
	u = usage_of("{\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":2,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":10,"
	    "\"cache_creation_input_tokens\":5}}}");
	ck_assert_int_eq(u.input_tokens, 50);
	ck_assert_int_eq(u.cache_read_tokens, 10);
	ck_assert_int_eq(u.cache_creation_tokens, 5);
	/* DeepSeek: the hit is the read, the miss the fresh input */
	u = usage_of("{\"usage\":{\"prompt_tokens\":50,"
	    "\"prompt_cache_hit_tokens\":40,\"prompt_cache_miss_tokens\":10,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":40}}}");
	ck_assert_int_eq(u.input_tokens + u.cache_read_tokens, 90);
	ck_assert_int_eq(u.cache_creation_tokens, -1);
	/* Anthropic: the input already excludes the caches */
	u = usage_of("{\"usage\":{\"input_tokens\":3,\"output_tokens\":2,"
	    "\"cache_read_input_tokens\":40,\"cache_creation_input_tokens\":9}}");
	ck_assert_int_eq(u.input_net, 1);
	ck_assert_int_eq(u.cache_creation_tokens, 9);
	ck_assert_int_eq(u.cache_read_tokens, 40);
	/* a count out of a long's range is no count (fuzz_anthropic_chat_stream
	 * found the cast: tests/fuzz/regress/anthropic_chat_stream/) */
	u = usage_of("{\"usage\":{\"prompt_tokens\":5e67,"
	    "\"completion_tokens\":-1e300,\"total_tokens\":9.5e18}}");
	ck_assert_int_eq(u.input_tokens, -1);
	ck_assert_int_eq(u.output_tokens, -1);
	ck_assert_int_eq(u.total_tokens, -1);
}
END_TEST

static Suite *
pricing_suite(void)
{
	Suite *s = suite_create("pricing");
	TCase *tc = tcase_create("pricing");

	tcase_add_test(tc, copilot_aiu);
	tcase_add_test(tc, builtin_tiers);
	tcase_add_test(tc, explicit_cache_read);
	tcase_add_test(tc, config_pricing);
	tcase_add_test(tc, usage_shapes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(pricing_suite());
}

/*
 * The translator interface's shared pieces: usage reading, freeing a
 * translator, and the one builder of the error envelope that HTTP error
 * bodies and translators' terminal error events both use.
 */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/stream.h"

void
tr_usage_init(struct tr_usage *u)
{
	u->input_tokens = u->output_tokens = -1;
	u->cache_read_tokens = u->cache_creation_tokens = -1;
	u->total_tokens = -1;
	u->nano_aiu = -1;
	u->input_net = 0;
	u->model[0] = '\0';
}

void
tr_usage_merge(struct tr_usage *u, const struct tr_usage *next)
{
	if (next->input_tokens >= 0)
		u->input_tokens = next->input_tokens;
	if (next->output_tokens >= 0)
		u->output_tokens = next->output_tokens;
	if (next->cache_read_tokens >= 0)
		u->cache_read_tokens = next->cache_read_tokens;
	if (next->cache_creation_tokens >= 0)
		u->cache_creation_tokens = next->cache_creation_tokens;
	if (next->total_tokens >= 0)
		u->total_tokens = next->total_tokens;
	if (next->nano_aiu >= 0)
		u->nano_aiu = next->nano_aiu;
	u->input_net |= next->input_net;
	if (next->model[0] != '\0')
		snprintf(u->model, sizeof(u->model), "%s", next->model);
}

/* o[k] as a count; def when absent, not a number, or out of a long's
 * range (an upstream's 1e300 is no count, and casting it is UB). */
static long
num_or(const cJSON *o, const char *k, long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v) ||
	    !(v->valuedouble > -9.0e18 && v->valuedouble < 9.0e18))
		return def;
	return (long)v->valuedouble;
}

/* OpenAI chat usage ({prompt_tokens, completion_tokens, ...}), DeepSeek's
 * ({prompt_cache_hit_tokens, prompt_cache_miss_tokens}), Responses usage
 * ({input_tokens, output_tokens, input_tokens_details}) or Anthropic's
 * ({input_tokens, cache_*_input_tokens}, the input without the caches). */
void
tr_usage_from_json(struct tr_usage *u, const cJSON *usage)
{
	const cJSON *d;
	long hit, miss;

	if (cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens") != NULL) {
		u->input_tokens = num_or(usage, "prompt_tokens", -1);
		u->output_tokens = num_or(usage, "completion_tokens", -1);
		d = json_obj(usage, "prompt_tokens_details");
		u->cache_creation_tokens = num_or(d, "cache_creation_input_tokens",
		    -1);
		hit = num_or(usage, "prompt_cache_hit_tokens", -1);
		miss = num_or(usage, "prompt_cache_miss_tokens", -1);
		if (hit >= 0 || miss >= 0) {
			/* the miss is the fresh input (README of 1.14.7) */
			d = NULL;
			u->cache_creation_tokens = -1;
			u->cache_read_tokens = hit > 0 ? hit : 0;
			u->input_tokens = (miss > 0 ? miss : 0) + u->cache_read_tokens;
		}
	} else if ((d = json_obj(usage, "input_tokens_details")) != NULL) {
		u->input_tokens = num_or(usage, "input_tokens", -1);
		u->output_tokens = num_or(usage, "output_tokens", -1);
		/* as 1.14.7: a write is counted only when there is one */
		if (num_or(d, "cache_write_tokens", 0) > 0)
			u->cache_creation_tokens = num_or(d, "cache_write_tokens", 0);
	} else {
		u->input_tokens = num_or(usage, "input_tokens", -1);
		u->output_tokens = num_or(usage, "output_tokens", -1);
		u->cache_creation_tokens =
		    num_or(usage, "cache_creation_input_tokens", -1);
		u->cache_read_tokens = num_or(usage, "cache_read_input_tokens", -1);
		u->input_net = 1;
	}
	if (d != NULL)
		u->cache_read_tokens = num_or(d, "cached_tokens", -1);
	u->total_tokens = num_or(usage, "total_tokens", -1);
}

void
tr_usage_copilot(struct tr_usage *u, const cJSON *holder)
{
	long n = num_or(json_obj(holder, "copilot_usage"), "total_nano_aiu", -1);

	if (n >= 0)
		u->nano_aiu = n;
}

void
tr_stream_free(struct tr_stream *t)
{
	if (t != NULL)
		t->ops->free(t);
}

/* Anthropic always names the type first; OpenAI's own bodies name the
 * message first, while our OpenAI stream error events have always named
 * the type first (clients read both; the bytes stay as they were). */
static GW_MUST_CHECK enum gw_err
envelope(struct buf *out, enum gw_dialect d, const char *type,
    const char *message, int type_first)
{
	cJSON *root, *err;
	enum gw_err e = GW_ENOMEM;

	if ((root = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if (d == GW_DIALECT_ANTHROPIC) {
		type_first = 1;
		if (cJSON_AddStringToObject(root, "type", "error") == NULL)
			goto out;
	}
	if ((err = cJSON_AddObjectToObject(root, "error")) == NULL)
		goto out;
	if (type_first && cJSON_AddStringToObject(err, "type", type) == NULL)
		goto out;
	if (cJSON_AddStringToObject(err, "message", message) == NULL)
		goto out;
	if (!type_first && cJSON_AddStringToObject(err, "type", type) == NULL)
		goto out;
	e = json_append(out, root);
out:
	cJSON_Delete(root);
	return e;
}

enum gw_err
tr_error_body(struct buf *out, enum gw_dialect d, const char *type,
    const char *message)
{
	return envelope(out, d, type, message, 0);
}

enum gw_err
tr_emit_error(enum gw_dialect d, const char *type, const char *message,
    struct tr_sink *out)
{
	struct buf body = BUF_INIT;
	enum gw_err e;

	if ((e = envelope(&body, d, type, message, 1)) == GW_OK)
		e = out->emit(out->ctx, "error", body.data, body.len);
	buf_free(&body);
	return e;
}

/*
 * The native Copilot /v1/messages rewrites (translation spec §7): the
 * upstream body and the header decisions that depend on it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "translate/model_id.h"
#include "translate/native_messages.h"
#include "translate/preprocess.h"
#include "translate/stream.h"

#define INTERLEAVED_THINKING_BETA "interleaved-thinking-2025-05-14"
/* Copilot's upstream refuses the Claude Code identity for this model. */
#define NO_PROXY_MODEL "claude-opus-4.8"

/* The betas Copilot's Messages endpoint accepts (main line v1.10.23). */
static const char *const allowed_betas[] = {
	INTERLEAVED_THINKING_BETA,
	"context-management-2025-06-27",
	"advanced-tool-use-2025-11-20",
};

static int
str_is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

void
nm_result_free(struct nm_result *r)
{
	if (r == NULL)
		return;
	free(r->anthropic_beta);
	memset(r, 0, sizeof(*r));
}

static void
nm_strip_system_cache_scope(cJSON *payload)
{
	cJSON *b;

	cJSON_ArrayForEach(b, json_arr(payload, "system"))
		cJSON_DeleteItemFromObjectCaseSensitive(json_obj(b,
		    "cache_control"), "scope");
}

static int
cacheable_block(const cJSON *b)
{
	const char *t = json_str(b, "type");

	return str_is(t, "text") || str_is(t, "image") ||
	    str_is(t, "tool_use") || str_is(t, "tool_result");
}

/* Copilot refuses a top-level cache_control (Zed sends one): an object is
 * moved onto the last cacheable block of the newest message that has one,
 * unless that block has its own (a string content becomes one text block);
 * anything else is dropped (1.14.7, e7569ac). */
static GW_MUST_CHECK enum gw_err
nm_move_top_level_cache_control(cJSON *payload)
{
	cJSON *cc = cJSON_DetachItemFromObjectCaseSensitive(payload,
	    "cache_control"), *msgs = json_arr(payload, "messages"), *m, *c, *b;
	cJSON *blocks = NULL, *text = NULL;
	enum gw_err e = GW_OK;

	if (!cJSON_IsObject(cc))
		goto out;
	for (m = msgs->child != NULL ? msgs->child->prev : NULL; m != NULL;
	    m = m == msgs->child ? NULL : m->prev) {
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (cJSON_IsString(c)) {
			if ((blocks = cJSON_CreateArray()) == NULL ||
			    (text = cJSON_CreateObject()) == NULL ||
			    cJSON_AddStringToObject(text, "type", "text") == NULL ||
			    cJSON_AddStringToObject(text, "text",
			    c->valuestring) == NULL) {
				e = GW_ENOMEM;
				goto out;
			}
			e = json_add(text, "cache_control", cc);
			cc = NULL;
			if (e != GW_OK || (e = json_push(blocks, text)) != GW_OK) {
				text = NULL;
				goto out;
			}
			text = NULL;
			e = json_set(m, "content", blocks);
			blocks = NULL;
			goto out;
		}
		if (!cJSON_IsArray(c))
			continue;
		for (b = c->child != NULL ? c->child->prev : NULL; b != NULL;
		    b = b == c->child ? NULL : b->prev) {
			if (!cacheable_block(b))
				continue;
			if (!json_truthy(cJSON_GetObjectItemCaseSensitive(b,
			    "cache_control"))) {
				e = json_set(b, "cache_control", cc);
				cc = NULL;
			}
			goto out;
		}
	}
out:
	cJSON_Delete(cc);
	cJSON_Delete(text);
	cJSON_Delete(blocks);
	return e;
}

/* Copilot refuses the per-tool eager_input_streaming (1.14.7, e7569ac). */
static void
nm_strip_eager_input_streaming(cJSON *payload)
{
	cJSON *t;

	cJSON_ArrayForEach(t, json_arr(payload, "tools"))
		cJSON_DeleteItemFromObjectCaseSensitive(t,
		    "eager_input_streaming");
}

/* A thinking block worth replaying to Claude: real text, a signature, and
 * not a Responses reasoning carrier ("<encrypted>@<id>"). */
static int
keep_thinking(const cJSON *b)
{
	const char *t = json_str(b, "thinking"), *sig = json_str(b, "signature");

	return t != NULL && *t != '\0' && strcmp(t, THINKING_PLACEHOLDER) != 0 &&
	    sig != NULL && *sig != '\0' && strchr(sig, '@') == NULL;
}

static void
nm_filter_thinking(cJSON *payload)
{
	cJSON *m, *c, *b, *next;

	cJSON_ArrayForEach(m, json_arr(payload, "messages")) {
		if (!str_is(json_str(m, "role"), "assistant") ||
		    (c = json_arr(m, "content")) == NULL)
			continue;
		for (b = c->child; b != NULL; b = next) {
			next = b->next;
			if (str_is(json_str(b, "type"), "thinking") && !keep_thinking(b))
				cJSON_Delete(cJSON_DetachItemViaPointer(c, b));
		}
	}
}

/* The configured effort, mapped onto what the model advertises; *out NULL
 * when the model's list is empty. */
static void
pick_effort(const cJSON *supports, const char *configured, const char **out)
{
	const cJSON *list = json_arr(supports, "reasoning_effort"), *v, *last = NULL;
	const char *e = configured != NULL && *configured != '\0' ?
	    configured : "high";

	if (str_is(e, "none") || str_is(e, "minimal"))
		e = "low";
	*out = e;
	if (list == NULL)
		return;
	cJSON_ArrayForEach(v, list) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, e) == 0)
			return;
		last = v;
	}
	/* unsupported: the model's last (strongest) level, if it has one */
	*out = cJSON_IsString(last) ? last->valuestring : NULL;
}

/*
 * A model without adaptive thinking, as 1.14.7 does it (80bf8a6,
 * 8c50582): no output_config.effort unless its reasoning_effort lists some
 * (an output_config left empty goes too; so for no model entry); the
 * thinking dropped when tool use is forced (extended thinking refuses
 * it); a client's adaptive thinking sent as enabled thinking with a budget
 * one under the model's max_thinking_budget (4096 when it names none).
 * Without a model entry the thinking is left alone (nm_opts.model).
 */
static GW_MUST_CHECK enum gw_err
nm_non_adaptive(cJSON *payload, const cJSON *model)
{
	const cJSON *supports = json_obj(json_obj(model, "capabilities"),
	    "supports");
	const cJSON *list = json_arr(supports, "reasoning_effort");
	const char *tc = json_str(json_obj(payload, "tool_choice"), "type");
	cJSON *oc = json_obj(payload, "output_config"), *thinking;

	if (json_truthy(cJSON_GetObjectItemCaseSensitive(supports,
	    "adaptive_thinking")))
		return GW_OK;
	if (oc != NULL && cJSON_GetArraySize(list) == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(oc, "effort");
		if (oc->child == NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(payload,
			    "output_config");
	}
	if (model == NULL)
		return GW_OK;
	if (str_is(tc, "any") || str_is(tc, "tool")) {
		cJSON_DeleteItemFromObjectCaseSensitive(payload, "thinking");
		return GW_OK;
	}
	if (!str_is(json_str(json_obj(payload, "thinking"), "type"), "adaptive"))
		return GW_OK;
	if ((thinking = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(thinking, "type", "enabled") == NULL ||
	    cJSON_AddNumberToObject(thinking, "budget_tokens", json_num(supports,
	    "max_thinking_budget", 4096) - 1) == NULL) {
		cJSON_Delete(thinking);
		return GW_ENOMEM;
	}
	return json_set(payload, "thinking", thinking);
}

static GW_MUST_CHECK enum gw_err
nm_apply_adaptive_thinking(cJSON *payload, const cJSON *model,
    const char *reasoning_effort)
{
	const cJSON *supports = json_obj(json_obj(model, "capabilities"),
	    "supports");
	const char *tc = json_str(json_obj(payload, "tool_choice"), "type");
	const char *effort;
	cJSON *thinking = NULL, *oc = NULL;
	int had_thinking;
	enum gw_err e = GW_ENOMEM;

	/* forced tool use is incompatible with extended thinking */
	if (!json_truthy(cJSON_GetObjectItemCaseSensitive(supports,
	    "adaptive_thinking")) || str_is(tc, "any") || str_is(tc, "tool"))
		return GW_OK;
	had_thinking = json_truthy(cJSON_GetObjectItemCaseSensitive(payload,
	    "thinking"));
	if ((thinking = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(thinking, "type", "adaptive") == NULL)
		goto fail;
	if ((!had_thinking || tr_model_version_at_least(json_str(payload,
	    "model"), 4, 7)) &&
	    cJSON_AddStringToObject(thinking, "display", "summarized") == NULL)
		goto fail;
	/* the client's output_config.effort wins over config (1.14.7) */
	effort = json_str(json_obj(payload, "output_config"), "effort");
	pick_effort(supports, effort != NULL && *effort != '\0' ? effort :
	    reasoning_effort, &effort);
	if ((oc = cJSON_CreateObject()) == NULL ||
	    (effort != NULL && cJSON_AddStringToObject(oc, "effort", effort) == NULL))
		goto fail;
	e = json_set(payload, "thinking", thinking);
	thinking = NULL;
	if (e != GW_OK)
		goto fail;
	return json_set(payload, "output_config", oc);
fail:
	cJSON_Delete(thinking);
	cJSON_Delete(oc);
	return e;
}

static int
beta_allowed(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(allowed_betas); i++)
		if (strlen(allowed_betas[i]) == n &&
		    memcmp(allowed_betas[i], s, n) == 0)
			return 1;
	return 0;
}

/* *out NULL when no header is to be sent. */
static GW_MUST_CHECK enum gw_err
nm_anthropic_beta(const char *client, const cJSON *thinking, char **out)
{
	struct buf b = BUF_INIT;
	const char *p, *end, *s, *t;

	*out = NULL;
	if (client != NULL && *client != '\0') {
		for (p = client; ; p = end + 1) {
			end = strchr(p, ',');
			if (end == NULL)
				end = p + strlen(p);
			for (s = p; s < end && isspace((unsigned char)*s); s++)
				;
			for (t = end; t > s && isspace((unsigned char)t[-1]); t--)
				;
			if (t > s && beta_allowed(s, (size_t)(t - s)) &&
			    ((b.len > 0 && buf_putc(&b, ',') != GW_OK) ||
			    buf_append(&b, s, (size_t)(t - s)) != GW_OK)) {
				buf_free(&b);
				return GW_ENOMEM;
			}
			if (*end == '\0')
				break;
		}
		/* nothing allowed survives: no header at all */
		if (b.len > 0)
			*out = buf_detach(&b);
		buf_free(&b);
		return GW_OK;
	}
	if (json_truthy(cJSON_GetObjectItemCaseSensitive(thinking, "budget_tokens")) &&
	    !str_is(json_str(thinking, "type"), "adaptive")) {
		*out = strdup(INTERLEAVED_THINKING_BETA);
		return *out != NULL ? GW_OK : GW_ENOMEM;
	}
	return GW_OK;
}

/* metadata.user_id yields a safety id and a session, the model is not
 * claude-opus-4.8 and the app is not opencode. */
static int
nm_messages_proxy(const cJSON *payload, int opencode)
{
	const char *uid = json_str(json_obj(payload, "metadata"), "user_id");
	char *safety = NULL, *session = NULL;
	int r;

	if (opencode || uid == NULL || str_is(json_str(payload, "model"),
	    NO_PROXY_MODEL))
		return 0;
	if (pp_parse_user_id(uid, &safety, &session) != GW_OK)
		return 0;
	r = safety != NULL && session != NULL;
	free(safety);
	free(session);
	return r;
}

enum gw_err
nm_prepare(cJSON *payload, const char *client_anthropic_beta,
    const struct nm_opts *o, struct nm_result *res, struct buf *errmsg)
{
	static const struct nm_opts none;
	const char *id;
	enum gw_err e;

	memset(res, 0, sizeof(*res));
	if (o == NULL)
		o = &none;
	if (!cJSON_IsObject(payload) || json_arr(payload, "messages") == NULL) {
		if (errmsg != NULL) {
			buf_reset(errmsg);
			/* best effort: GW_EINVAL whatever it says */
			GW_IGNORE(buf_puts(errmsg,
			    "messages: must be an array"));
		}
		return GW_EINVAL;
	}
	if ((id = json_str(o->model, "id")) != NULL &&
	    (e = json_set(payload, "model", cJSON_CreateString(id))) != GW_OK)
		return e;
	nm_strip_system_cache_scope(payload);
	if ((e = nm_move_top_level_cache_control(payload)) != GW_OK)
		return e;
	nm_strip_eager_input_streaming(payload);
	nm_filter_thinking(payload);
	if (o->model != NULL && (e = nm_apply_adaptive_thinking(payload, o->model,
	    o->reasoning_effort)) != GW_OK)
		return e;
	if ((e = nm_non_adaptive(payload, o->model)) != GW_OK)
		return e;
	if ((e = nm_anthropic_beta(client_anthropic_beta,
	    json_obj(payload, "thinking"), &res->anthropic_beta)) != GW_OK)
		return e;
	res->messages_proxy = nm_messages_proxy(payload, o->opencode);
	return GW_OK;
}

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "tokenize/count.h"
#include "translate/anthropic_chat.h"
#include "upstream/provider.h"

/* ---- headers and URLs -------------------------------------------------- */

static int
has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* A client header worth forwarding: present and not empty. */
static enum gw_err
add_inbound(struct strlist *h, const char *name, const char *value,
    struct buf *errmsg)
{
	if (value == NULL || *value == '\0')
		return GW_OK;
	if (has_line_break(value)) {
		buf_printf(errmsg, "the %s header holds a line break", name);
		return GW_EINVAL;
	}
	return strlist_addf(h, "%s: %s", name, value);
}

enum gw_err
prov_headers(const struct cfg_provider *p, const struct prov_inbound *in,
    struct strlist *out, struct buf *errmsg)
{
	static const struct prov_inbound none;
	enum gw_err e;

	if (in == NULL)
		in = &none;
	if (p->api_key == NULL || p->auth_type == CFG_AUTH_OAUTH2) {
		buf_printf(errmsg, "provider '%s' has no API key", p->name);
		return GW_ECONFIG;
	}
	if (has_line_break(p->api_key)) {
		buf_printf(errmsg, "provider '%s': apiKey holds a line break",
		    p->name);
		return GW_ECONFIG;
	}
	if ((e = strlist_add(out, "content-type: application/json")) != GW_OK ||
	    (e = (in->accept != NULL && *in->accept != '\0') ?
	    add_inbound(out, "accept", in->accept, errmsg) :
	    strlist_add(out, "accept: application/json")) != GW_OK)
		return e;
	e = p->auth_type == CFG_AUTH_X_API_KEY ?
	    strlist_addf(out, "x-api-key: %s", p->api_key) :
	    strlist_addf(out, "authorization: Bearer %s", p->api_key);
	if (e != GW_OK ||
	    (e = add_inbound(out, "user-agent", in->user_agent, errmsg)) != GW_OK)
		return e;
	if (p->type != CFG_PROVIDER_ANTHROPIC)
		return GW_OK;
	if ((e = add_inbound(out, "anthropic-version", in->anthropic_version,
	    errmsg)) != GW_OK)
		return e;
	return add_inbound(out, "anthropic-beta", in->anthropic_beta, errmsg);
}

enum gw_err
prov_url(const struct cfg_provider *p, const char *path, struct buf *out)
{
	return buf_printf(out, "%s%s", p->base_url, path);
}

/* ---- per-model options ------------------------------------------------- */

const cJSON *
prov_model_options(const struct cfg_provider *p, const char *model)
{
	const cJSON *m;

	if (p == NULL || p->models == NULL || model == NULL)
		return NULL;
	m = cJSON_GetObjectItemCaseSensitive(p->models, model);
	return cJSON_IsObject(m) ? m : NULL;
}

unsigned
prov_tool_content(const cJSON *mopts)
{
	const cJSON *v;
	unsigned f = 0;

	cJSON_ArrayForEach(v, json_arr(mopts, "toolContentSupportType")) {
		if (!cJSON_IsString(v))
			continue;
		if (strcmp(v->valuestring, "array") == 0)
			f |= TR_TOOL_ARRAY;
		else if (strcmp(v->valuestring, "image") == 0)
			f |= TR_TOOL_IMAGE;
		else if (strcmp(v->valuestring, "pdf") == 0)
			f |= TR_TOOL_PDF;
	}
	return f;
}

int
prov_support_pdf(const cJSON *mopts)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mopts, "supportPdf"));
}

static int
has(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key) != NULL;
}

/* obj[key] = copy of v. */
static enum gw_err
set_copy(cJSON *obj, const char *key, const cJSON *v)
{
	cJSON *c = cJSON_Duplicate(v, 1);

	return c == NULL ? GW_ENOMEM : json_set(obj, key, c);
}

enum gw_err
prov_apply_model_defaults(cJSON *a, const cJSON *mopts)
{
	static const char *const map[][2] = {
		{ "temperature", "temperature" }, { "top_p", "topP" },
		{ "top_k", "topK" },
	};
	const cJSON *v;
	enum gw_err e;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		v = cJSON_GetObjectItemCaseSensitive(mopts, map[i][1]);
		if (!cJSON_IsNumber(v) || has(a, map[i][0]))
			continue;
		if ((e = set_copy(a, map[i][0], v)) != GW_OK)
			return e;
	}
	return GW_OK;
}

enum gw_err
prov_anthropic_payload(cJSON *a, const cJSON *mopts)
{
	const cJSON *v;
	enum gw_err e;

	cJSON_ArrayForEach(v, json_obj(mopts, "extraBody")) {
		if (has(a, v->string))
			continue;
		if ((e = set_copy(a, v->string, v)) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* ---- openai-compatible ------------------------------------------------- */

static int
cache_eligible(const cJSON *m)
{
	static const char *const roles[] = { "system", "user", "assistant",
	    "tool" };
	const char *role = json_str(m, "role");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	size_t i;

	if (role == NULL)
		return 0;
	for (i = 0; i < 4; i++)
		if (strcmp(role, roles[i]) == 0)
			break;
	if (i == 4)
		return 0;
	return (cJSON_IsString(c) && *c->valuestring != '\0') ||
	    (cJSON_IsArray(c) && cJSON_GetArraySize(c) > 0);
}

static enum gw_err
add_marker(cJSON *part)
{
	cJSON *cc = cJSON_CreateObject();

	if (cc == NULL || cJSON_AddStringToObject(cc, "type", "ephemeral") == NULL) {
		cJSON_Delete(cc);
		return GW_ENOMEM;
	}
	return json_set(part, "cache_control", cc);
}

/* A string becomes one marked text part; an array gets its last part
 * marked. */
static enum gw_err
mark_message(cJSON *m)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
	cJSON *arr, *part;

	if (cJSON_IsArray(c))
		return cJSON_IsObject(cJSON_GetArrayItem(c, cJSON_GetArraySize(c) - 1)) ?
		    add_marker(cJSON_GetArrayItem(c, cJSON_GetArraySize(c) - 1)) :
		    GW_OK;
	if ((part = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(part, "type", "text") == NULL ||
	    cJSON_AddStringToObject(part, "text", c->valuestring) == NULL ||
	    add_marker(part) != GW_OK ||
	    (arr = cJSON_CreateArray()) == NULL) {
		cJSON_Delete(part);
		return GW_ENOMEM;
	}
	cJSON_AddItemToArray(arr, part);
	return json_set(m, "content", arr);
}

enum gw_err
prov_context_cache(cJSON *chat)
{
	cJSON *msgs = json_arr(chat, "messages");
	int n = cJSON_GetArraySize(msgs), i, sys = 0, other = 0;
	int pick[4], npick = 0, k, dup;
	cJSON *m;
	enum gw_err e;

	for (i = 0; i < n && sys < 2; i++) {
		m = cJSON_GetArrayItem(msgs, i);
		if (cache_eligible(m) && strcmp(json_str(m, "role"), "system") == 0) {
			pick[npick++] = i;
			sys++;
		}
	}
	for (i = n - 1; i >= 0 && other < 2; i--) {
		m = cJSON_GetArrayItem(msgs, i);
		if (!cache_eligible(m) || strcmp(json_str(m, "role"), "system") == 0)
			continue;
		other++;
		for (dup = 0, k = 0; k < npick; k++)
			dup |= pick[k] == i;
		if (!dup)
			pick[npick++] = i;
	}
	for (k = 0; k < npick; k++)
		if ((e = mark_message(cJSON_GetArrayItem(msgs, pick[k]))) != GW_OK)
			return e;
	return GW_OK;
}

/* §11.3 step 5: Chat upstreams other than Copilot read reasoning_content. */
static enum gw_err
reasoning_history(cJSON *chat)
{
	cJSON *m, *rt;

	cJSON_ArrayForEach(m, json_arr(chat, "messages")) {
		const char *role = json_str(m, "role");

		if (role == NULL || strcmp(role, "assistant") != 0)
			continue;
		rt = cJSON_DetachItemFromObjectCaseSensitive(m, "reasoning_text");
		if (rt != NULL && !has(m, "reasoning_content"))
			cJSON_AddItemToObject(m, "reasoning_content", rt);
		else
			cJSON_Delete(rt);
		cJSON_DeleteItemFromObjectCaseSensitive(m, "reasoning_opaque");
	}
	return GW_OK;
}

/* Steps 2-9 on the translated body c, from the request a. */
static enum gw_err
chat_options(const cJSON *a, const cJSON *mopts, cJSON *c)
{
	const cJSON *extra = json_obj(mopts, "extraBody");
	const cJSON *budget, *v;
	cJSON *so;
	enum gw_err e;

	budget = cJSON_GetObjectItemCaseSensitive(json_obj(a, "thinking"),
	    "budget_tokens");
	if (cJSON_IsNumber(budget) && (e = set_copy(c, "thinking_budget",
	    budget)) != GW_OK)
		return e;
	if (has(a, "top_k") && (e = set_copy(c, "top_k",
	    cJSON_GetObjectItemCaseSensitive(a, "top_k"))) != GW_OK)
		return e;
	if (json_bool(a, "stream", 0)) {
		if ((so = cJSON_CreateObject()) == NULL ||
		    cJSON_AddTrueToObject(so, "include_usage") == NULL) {
			cJSON_Delete(so);
			return GW_ENOMEM;
		}
		if ((e = json_set(c, "stream_options", so)) != GW_OK)
			return e;
	}
	if ((e = reasoning_history(c)) != GW_OK)
		return e;
	/* The client's own value of an extraBody key wins; the rest fill. */
	cJSON_ArrayForEach(v, extra) {
		const cJSON *mine = cJSON_GetObjectItemCaseSensitive(a, v->string);

		e = GW_OK;
		if (mine != NULL)
			e = set_copy(c, v->string, mine);
		else if (!has(c, v->string))
			e = set_copy(c, v->string, v);
		if (e != GW_OK)
			return e;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(extra, "thinking_budget")) != NULL &&
	    (e = set_copy(c, "thinking_budget", v)) != GW_OK)
		return e;
	if (!has(c, "parallel_tool_calls") &&
	    cJSON_AddTrueToObject(c, "parallel_tool_calls") == NULL)
		return GW_ENOMEM;
	return GW_OK;
}

enum gw_err
prov_chat_payload(const cJSON *a, const cJSON *mopts, cJSON **out,
    struct buf *errmsg)
{
	struct tr_chat_opts o;
	const cJSON *cc;
	cJSON *c = NULL;
	enum gw_err e;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	o.tool_content = prov_tool_content(mopts);
	o.support_pdf = prov_support_pdf(mopts);
	if ((e = tr_anthropic_to_chat(a, &o, &c, errmsg)) != GW_OK)
		return e;
	if ((e = chat_options(a, mopts, c)) != GW_OK)
		goto out;
	cc = cJSON_GetObjectItemCaseSensitive(mopts, "contextCache");
	if (!cJSON_IsFalse(cc) && (e = prov_context_cache(c)) != GW_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	cJSON_Delete(c);
	return e;
}

/* ---- count_tokens ------------------------------------------------------ */

enum gw_err
prov_count_tokens(const struct cfg_provider *p, const cJSON *a, long *out,
    struct buf *errmsg)
{
	struct tr_chat_opts o;
	const char *model = json_str(a, "model");
	const cJSON *mopts = prov_model_options(p, model);
	cJSON *chat = NULL;
	long in = 0, outp = 0;
	enum gw_err e;

	*out = 0;
	memset(&o, 0, sizeof(o));
	if (p->type != CFG_PROVIDER_ANTHROPIC) {
		o.tool_content = prov_tool_content(mopts);
		o.support_pdf = prov_support_pdf(mopts);
	}
	if ((e = tr_anthropic_to_chat(a, &o, &chat, errmsg)) != GW_OK)
		return e;
	e = tok_count_chat_model(chat, model, TOK_O200K, &in, &outp);
	if (e == GW_OK)
		*out = in + outp;
	cJSON_Delete(chat);
	return e;
}

/*
 * Third-party providers: the headers and URL of a provider call, and the
 * per-model options lookup.
 */
#include <stdlib.h>
#include <string.h>

#include "upstream/provider.h"

/* ---- headers and URLs -------------------------------------------------- */

static int
has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* A client header worth forwarding: present and not empty. */
static GW_MUST_CHECK enum gw_err
add_inbound(struct strlist *h, const char *name, const char *value,
    struct buf *errmsg)
{
	if (value == NULL || *value == '\0')
		return GW_OK;
	if (has_line_break(value)) {
		/* best effort: GW_EINVAL is returned whatever it says */
		GW_IGNORE(buf_printf(errmsg, "the %s header holds a line break",
		    name));
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
	/* best effort: GW_ECONFIG is returned whatever the message says */
	if (p->api_key == NULL || p->auth_type == CFG_AUTH_OAUTH2) {
		GW_IGNORE(buf_printf(errmsg, "provider '%s' has no API key",
		    p->name));
		return GW_ECONFIG;
	}
	if (has_line_break(p->api_key)) {
		GW_IGNORE(buf_printf(errmsg,
		    "provider '%s': apiKey holds a line break", p->name));
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

int
prov_is_dashscope(const struct cfg_provider *p)
{
	return strcmp(p->name, "dashscope") == 0 ||
	    strstr(p->base_url, "aliyuncs.com") != NULL;
}

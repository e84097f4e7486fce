/*
 * config.json: parse and validate every key, environment overrides,
 * derived upstream URLs, locked atomic rewrites (contract in config.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gwconfig.h"

#ifdef GW_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "state/config.h"
#include "state/paths.h"

/* A config.json bigger than this is a mistake, not a config. */
#define CFG_FILE_MAX (16L * 1024 * 1024)

static const char prompt_explore[] =
	"## Exploring files\n"
	"Before your first tool call, work out every file and resource you are "
	"going to need. Request independent reads together in a single "
	"multi_tool_use.parallel batch rather than one call at a time. Go "
	"sequential only when the next read really depends on a result you "
	"have not seen yet, and then plan the following batch the same way.";

static const char prompt_commentary[] =
	"# Keeping the user informed\n"
	"While you work, post short progress notes of one or two sentences in "
	"the `commentary` channel: what you are about to do, what you are "
	"looking at and what you have found, often enough that the user never "
	"waits in silence. Say which edits you are going to make before making "
	"them, and give a fuller plan once you understand a larger task. Skip "
	"filler openers and acknowledgements. Put the complete answer in the "
	"`final` channel only when all the work is done.";

/* Default extraPrompts and modelReasoningEfforts entries (surface.md §5.2);
 * 1.14.7 writes only gpt-5-mini's: from gpt-5.3 on, cfg_extra_prompt and
 * cfg_reasoning_effort fall back to prompt_commentary and "xhigh". */
static const struct {
	const char *model;
	const char *prompt;
	const char *effort;
} model_defaults[] = {
	{ "gpt-5-mini", prompt_explore, "low" },
};

/* Default modelResponsesApiCompactThresholds (1.14.7: 0.8 x 272000 for
 * gpt-5.4 and gpt-5.5, 0.85 x 272000 for the gpt-5.6 variants). */
static const struct {
	const char *model;
	double threshold;
} compact_defaults[] = {
	{ "gpt-5.4", 217600 },
	{ "gpt-5.5", 217600 },
	{ "gpt-5.6-sol", 231200 },
	{ "gpt-5.6-terra", 231200 },
	{ "gpt-5.6-luna", 231200 },
};

static const char *const efforts[] = {
	"none", "minimal", "low", "medium", "high", "xhigh", "max"
};
static const char *const account_names[] = {
	"individual", "business", "enterprise"
};
static const char *const oauth_names[] = { "default", "opencode" };
static const char *const provider_type_names[] = {
	"anthropic", "openai-compatible", "openai-responses"
};
static const char *const auth_type_names[] = {
	"x-api-key", "authorization", "oauth2"
};

#define DEFAULT_SMALL_MODEL "gpt-5-mini"
#define DEFAULT_EFFORT "high"
#define DEFAULT_EFFORT_GPT53 "xhigh"   /* gpt-5.3 onwards (1.14.7) */

/* Where messages go while validating one tree. */
struct pctx {
	const char *name;
	struct buf *errmsg;
};

static GW_MUST_CHECK enum gw_err bad(const struct pctx *pc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static GW_MUST_CHECK enum gw_err
bad(const struct pctx *pc, const char *fmt, ...)
{
	va_list ap;

	if (pc->errmsg == NULL)
		return GW_ECONFIG;
	/* best effort: GW_ECONFIG is returned whatever the message says */
	buf_reset(pc->errmsg);
	GW_IGNORE(buf_printf(pc->errmsg, "%s: ", pc->name));
	va_start(ap, fmt);
	GW_IGNORE(buf_vprintf(pc->errmsg, fmt, ap));
	va_end(ap);
	return GW_ECONFIG;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static char *
trim_dup(const char *s)
{
	return util_strndup_trim(s, strlen(s));
}

static int
has_space_or_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
strip_trailing_slashes(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
}

/* Optional member: JSON null counts as absent everywhere. */
static const cJSON *
member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(v) ? NULL : v;
}

static void
provider_clear(struct cfg_provider *p)
{
	free(p->name);
	free(p->base_url);
	free(p->api_key);
	free(p->pricing_currency);
	memset(p, 0, sizeof(*p));
}

/* ---- typed readers: each leaves *out alone when the key is absent ---- */

static GW_MUST_CHECK enum gw_err
get_object(const struct pctx *pc, const cJSON *obj, const char *key,
    const char *path, const cJSON **out)
{
	const cJSON *v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return GW_OK;
	if (!cJSON_IsObject(v))
		return bad(pc, "\"%s\" must be an object", path);
	*out = v;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
get_bool(const struct pctx *pc, const cJSON *obj, const char *key,
    const char *path, int *out)
{
	const cJSON *v = member(obj, key);

	if (v == NULL)
		return GW_OK;
	if (!cJSON_IsBool(v))
		return bad(pc, "\"%s\" must be true or false", path);
	*out = cJSON_IsTrue(v);
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
get_long(const struct pctx *pc, const cJSON *obj, const char *key,
    const char *path, long min, long max, long *out)
{
	const cJSON *v = member(obj, key);
	double d;

	if (v == NULL)
		return GW_OK;
	d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!isfinite(d) || d < (double)min || d > (double)max ||
	    (double)(long)d != d)
		return bad(pc, "\"%s\" must be an integer from %ld to %ld", path,
		    min, max);
	*out = (long)d;
	return GW_OK;
}

/* Borrowed string value. */
static GW_MUST_CHECK enum gw_err
get_string(const struct pctx *pc, const cJSON *obj, const char *key,
    const char *path, const char **out)
{
	const cJSON *v = member(obj, key);

	*out = NULL;
	if (v == NULL)
		return GW_OK;
	if (!cJSON_IsString(v))
		return bad(pc, "\"%s\" must be a string", path);
	*out = v->valuestring;
	return GW_OK;
}

/* An array of strings, appended to out as written. */
static GW_MUST_CHECK enum gw_err
get_strlist(const struct pctx *pc, const cJSON *obj, const char *key,
    const char *path, struct strlist *out)
{
	const cJSON *a = member(obj, key), *v;
	enum gw_err e;

	if (a != NULL && !cJSON_IsArray(a))
		return bad(pc, "\"%s\" must be an array of strings", path);
	cJSON_ArrayForEach(v, a) {
		if (!cJSON_IsString(v))
			return bad(pc, "\"%s\" must be an array of strings", path);
		if ((e = strlist_add(out, v->valuestring)) != GW_OK)
			return e;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
get_enum(const struct pctx *pc, const cJSON *obj, const char *key,
    const char *const *names, size_t n, const char *expect, int *out)
{
	const char *s;
	enum gw_err e;
	int i;

	if ((e = get_string(pc, obj, key, key, &s)) != GW_OK || s == NULL)
		return e;
	if ((i = name_index(names, n, s)) < 0)
		return bad(pc, "\"%s\" must be one of %s", key, expect);
	*out = i;
	return GW_OK;
}

/* ---- normalisers ---- */

/* Length of a leading "http://" or "https://" in any case, else 0. */
static size_t
scheme_len(const char *s)
{
	if (strncasecmp(s, "https://", 8) == 0)
		return 8;
	if (strncasecmp(s, "http://", 7) == 0)
		return 7;
	return 0;
}

/* Trimmed http(s) URL without trailing slashes. */
static GW_MUST_CHECK enum gw_err
norm_url(const char *s, char **out)
{
	char *u = trim_dup(s);
	const char *host;

	*out = NULL;
	if (u == NULL)
		return GW_ENOMEM;
	strip_trailing_slashes(u);
	host = u + scheme_len(u);
	if (host == u || *host == '\0' || has_space_or_ctl(u)) {
		free(u);
		return GW_EINVAL;
	}
	*out = u;
	return GW_OK;
}

/* surface.md §3.4: trim, drop a leading http(s)://, drop trailing slashes.
 * *out is NULL when nothing is left. */
static GW_MUST_CHECK enum gw_err
norm_domain(const char *s, char **out)
{
	char *t = trim_dup(s), *d;
	const char *p;

	*out = NULL;
	if (t == NULL)
		return GW_ENOMEM;
	p = t + scheme_len(t);
	d = strdup(p);
	free(t);
	if (d == NULL)
		return GW_ENOMEM;
	strip_trailing_slashes(d);
	if (has_space_or_ctl(d)) {
		free(d);
		return GW_EINVAL;
	}
	if (*d == '\0') {
		free(d);
		return GW_OK;
	}
	*out = d;
	return GW_OK;
}

/* ---- sections ---- */

static GW_MUST_CHECK enum gw_err
parse_auth(const struct pctx *pc, struct cfg *c)
{
	const cJSON *auth, *keys, *k;
	enum gw_err e;
	char *s;

	if ((e = get_object(pc, c->root, "auth", "auth", &auth)) != GW_OK ||
	    auth == NULL)
		return e;
	keys = member(auth, "apiKeys");
	/* Reference behaviour (surface.md §2.2): a non-array is a warning and means
	 * "no keys", and bad entries are dropped rather than fatal. */
	if (keys != NULL && !cJSON_IsArray(keys))
		log_warn("%s: \"auth.apiKeys\" is not an array; treated as empty "
		    "(no API key is required)", pc->name);
	else if (keys != NULL) {
		cJSON_ArrayForEach(k, keys) {
			if (!cJSON_IsString(k))
				continue;
			if ((s = trim_dup(k->valuestring)) == NULL)
				return GW_ENOMEM;
			e = *s == '\0' || strlist_has(&c->api_keys, s) ? GW_OK :
			    strlist_add(&c->api_keys, s);
			free(s);
			if (e != GW_OK)
				return e;
		}
	}
	k = member(auth, "adminApiKey");
	/* Lenient like the reference: a non-string admin key is "no admin key"
	 * (admin routes closed) and cfg_ensure_admin_key replaces it. */
	if (k != NULL && !cJSON_IsString(k)) {
		log_warn("%s: \"auth.adminApiKey\" is not a string; admin routes "
		    "are disabled until it is regenerated", pc->name);
		return GW_OK;
	}
	if (k != NULL) {
		if ((s = trim_dup(k->valuestring)) == NULL)
			return GW_ENOMEM;
		if (*s == '\0')
			free(s);
		else
			c->admin_api_key = s;
	}
	return GW_OK;
}

/* A skipped provider is worth a warning only if someone could expect it
 * to work; a disabled one just goes to debug. */
static void
provider_skip(const char *name, int enabled, const char *why)
{
	if (enabled)
		log_warn("config: provider \"%s\" ignored: %s", name, why);
	else
		log_debug("config: disabled provider \"%s\" ignored: %s", name, why);
}

static enum cfg_auth_type
default_auth(enum cfg_provider_type type)
{
	return type == CFG_PROVIDER_ANTHROPIC ? CFG_AUTH_X_API_KEY :
	    CFG_AUTH_AUTHORIZATION;
}

/* providers.<p>.models.<model>.type: its index, -1 when absent or not a
 * supported type. */
static int
model_type(const cJSON *m)
{
	const cJSON *t = cJSON_IsObject(m) ?
	    cJSON_GetObjectItemCaseSensitive(m, "type") : NULL;

	return cJSON_IsString(t) ? name_index(provider_type_names,
	    ARRAY_LEN(provider_type_names), t->valuestring) : -1;
}

static enum cfg_auth_type
provider_auth(const char *name, enum cfg_provider_type type, const cJSON *v)
{
	enum cfg_auth_type def = default_auth(type);
	int i;

	if (v == NULL)
		return def;
	i = cJSON_IsString(v) ? name_index(auth_type_names,
	    ARRAY_LEN(auth_type_names), v->valuestring) : -1;
	if (i < 0) {
		log_warn("config: provider \"%s\": unknown authType, using %s",
		    name, auth_type_names[def]);
		return def;
	}
	if (i == CFG_AUTH_OAUTH2 && strcmp(name, "codex") != 0) {
		log_warn("config: provider \"%s\": authType oauth2 is only for "
		    "codex, using %s", name, auth_type_names[def]);
		return def;
	}
	return (enum cfg_auth_type)i;
}

/* surface.md §7.1. *ok = 0 means "skip this entry"; errors are ENOMEM only. */
static GW_MUST_CHECK enum gw_err
parse_provider(const char *key, const cJSON *v, struct cfg_provider *p,
    int *ok)
{
	const cJSON *x;
	int i;

	*ok = 0;
	if ((p->name = trim_dup(key)) == NULL)
		return GW_ENOMEM;
	if (*p->name == '\0' || strcmp(p->name, "copilot") == 0) {
		provider_skip(key, 1, "the name is empty or reserved");
		return GW_OK;
	}
	if (!cJSON_IsObject(v)) {
		provider_skip(p->name, 1, "not an object");
		return GW_OK;
	}
	x = member(v, "enabled");
	if (x != NULL && !cJSON_IsBool(x)) {
		provider_skip(p->name, 1, "\"enabled\" must be true or false");
		return GW_OK;
	}
	p->enabled = x == NULL || cJSON_IsTrue(x);
	x = member(v, "type");
	i = x == NULL ? CFG_PROVIDER_ANTHROPIC : !cJSON_IsString(x) ? -1 :
	    name_index(provider_type_names, ARRAY_LEN(provider_type_names),
	    x->valuestring);
	if (i < 0) {
		provider_skip(p->name, p->enabled, "unknown type");
		return GW_OK;
	}
	p->type = (enum cfg_provider_type)i;
	x = member(v, "baseUrl");
	if (cJSON_IsString(x)) {
		if ((p->base_url = trim_dup(x->valuestring)) == NULL)
			return GW_ENOMEM;
		strip_trailing_slashes(p->base_url);
	}
	if (p->base_url == NULL || *p->base_url == '\0') {
		provider_skip(p->name, p->enabled, "baseUrl is required");
		return GW_OK;
	}
	p->auth_type = provider_auth(p->name, p->type, member(v, "authType"));
	x = member(v, "apiKey");
	if (cJSON_IsString(x)) {
		if ((p->api_key = trim_dup(x->valuestring)) == NULL)
			return GW_ENOMEM;
		if (*p->api_key == '\0') {
			free(p->api_key);
			p->api_key = NULL;
		}
	}
	if (p->api_key == NULL && p->auth_type != CFG_AUTH_OAUTH2) {
		provider_skip(p->name, p->enabled, "apiKey is required");
		return GW_OK;
	}
	x = member(v, "adjustInputTokens");
	if (x != NULL && !cJSON_IsBool(x))
		log_warn("config: provider \"%s\": adjustInputTokens must be true "
		    "or false; ignored", p->name);
	p->adjust_input_tokens = cJSON_IsTrue(x);
	/* pricingCurrency: trimmed, upper case, empty = none (1.14.7) */
	x = member(v, "pricingCurrency");
	if (cJSON_IsString(x) && (p->pricing_currency = trim_dup(
	    x->valuestring)) == NULL)
		return GW_ENOMEM;
	for (i = 0; p->pricing_currency != NULL && p->pricing_currency[i]; i++)
		p->pricing_currency[i] = (char)toupper(
		    (unsigned char)p->pricing_currency[i]);
	x = member(v, "models");
	if (x != NULL && !cJSON_IsObject(x))
		log_warn("config: provider \"%s\": models must be an object; "
		    "ignored", p->name);
	p->models = cJSON_IsObject(x) ? x : NULL;
	cJSON_ArrayForEach(x, p->models)
		if (member(x, "type") != NULL && model_type(x) < 0)
			log_warn("config: provider \"%s\": model \"%s\": unknown "
			    "type; the provider's is used", p->name, x->string);
	*ok = 1;
	return GW_OK;
}

static int
provider_known(const struct cfg *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_providers; i++)
		if (strcmp(c->providers[i].name, name) == 0)
			return 1;
	return 0;
}

static GW_MUST_CHECK enum gw_err
parse_providers(const struct pctx *pc, struct cfg *c)
{
	const cJSON *provs, *v;
	struct cfg_provider p, *np;
	enum gw_err e;
	int ok;

	if ((e = get_object(pc, c->root, "providers", "providers", &provs)) !=
	    GW_OK || provs == NULL)
		return e;
	/* Per-entry problems are warnings (surface.md §7.1: "not found"), so one bad
	 * provider never stops the gateway. */
	cJSON_ArrayForEach(v, provs) {
		memset(&p, 0, sizeof(p));
		if ((e = parse_provider(v->string, v, &p, &ok)) != GW_OK)
			goto fail;
		if (ok && provider_known(c, p.name)) {
			provider_skip(p.name, p.enabled, "duplicate name");
			ok = 0;
		}
		if (!ok) {
			provider_clear(&p);
			continue;
		}
		np = realloc(c->providers, (c->n_providers + 1) * sizeof(*np));
		if (np == NULL) {
			e = GW_ENOMEM;
			goto fail;
		}
		c->providers = np;
		c->providers[c->n_providers++] = p;
	}
	return GW_OK;
fail:
	provider_clear(&p);
	return e;
}

static GW_MUST_CHECK enum gw_err
parse_mappings(const struct pctx *pc, struct cfg *c)
{
	const cJSON *m = member(c->root, "modelMappings"), *v;
	char *k = NULL, *t = NULL;
	enum gw_err e = GW_OK;

	/* Reference: invalid entries are ignored on read (surface.md §5.2); a
	 * non-object map is treated the same way. */
	if (m != NULL && !cJSON_IsObject(m)) {
		log_warn("%s: \"modelMappings\" is not an object; ignored", pc->name);
		return GW_OK;
	}
	cJSON_ArrayForEach(v, m) {
		if (!cJSON_IsString(v))
			continue;
		k = trim_dup(v->string);
		t = trim_dup(v->valuestring);
		if (k == NULL || t == NULL)
			e = GW_ENOMEM;
		else if (*k != '\0' && *t != '\0')
			e = strlist_map_set(&c->model_mappings, k, t);
		free(k);
		free(t);
		if (e != GW_OK)
			return e;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
parse_model_maps(const struct pctx *pc, struct cfg *c)
{
	const cJSON *m, *v;
	enum gw_err e;
	size_t i;

	/* Defaults first so user entries replace them in place. */
	for (i = 0; i < ARRAY_LEN(model_defaults); i++) {
		if ((e = strlist_map_set(&c->extra_prompts,
		    model_defaults[i].model, model_defaults[i].prompt)) != GW_OK ||
		    (model_defaults[i].effort != NULL &&
		    (e = strlist_map_set(&c->reasoning_efforts,
		    model_defaults[i].model, model_defaults[i].effort)) != GW_OK))
			return e;
	}
	if ((e = get_object(pc, c->root, "extraPrompts", "extraPrompts", &m)) !=
	    GW_OK)
		return e;
	cJSON_ArrayForEach(v, m) {
		if (!cJSON_IsString(v))
			return bad(pc, "\"extraPrompts\" entry \"%s\" must be a string",
			    v->string);
		if ((e = strlist_map_set(&c->extra_prompts, v->string,
		    v->valuestring)) != GW_OK)
			return e;
	}
	if ((e = get_object(pc, c->root, "modelReasoningEfforts",
	    "modelReasoningEfforts", &m)) != GW_OK)
		return e;
	cJSON_ArrayForEach(v, m) {
		if (!cJSON_IsString(v) ||
		    name_index(efforts, ARRAY_LEN(efforts), v->valuestring) < 0)
			return bad(pc, "\"modelReasoningEfforts\" entry \"%s\" must be "
			    "one of none, minimal, low, medium, high, xhigh, max", v->string);
		if ((e = strlist_map_set(&c->reasoning_efforts, v->string,
		    v->valuestring)) != GW_OK)
			return e;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
parse_models_misc(const struct pctx *pc, struct cfg *c)
{
	const char *s;
	enum gw_err e;
	char *t;

	if ((e = get_string(pc, c->root, "smallModel", "smallModel", &s)) !=
	    GW_OK)
		return e;
	if (s != NULL) {
		if ((t = trim_dup(s)) == NULL)
			return GW_ENOMEM;
		if (*t == '\0') {
			free(t);
			return bad(pc, "\"smallModel\" must be a non-empty string");
		}
		free(c->small_model);
		c->small_model = t;
	}
	if ((e = get_string(pc, c->root, "messageApiWebSearchModel",
	    "messageApiWebSearchModel", &s)) != GW_OK)
		return e;
	if (s != NULL) {
		if ((t = trim_dup(s)) == NULL)
			return GW_ENOMEM;
		free(c->web_search_model);
		c->web_search_model = *t != '\0' ? t : NULL;
		if (c->web_search_model == NULL)
			free(t);
	}
	return get_strlist(pc, c->root, "responsesApiContextManagementModels",
	    "responsesApiContextManagementModels", &c->context_mgmt_models);
}

/* contextManagement.{messages,responses} and
 * modelResponsesApiCompactThresholds (1.14.7). */
static GW_MUST_CHECK enum gw_err
parse_context_mgmt(const struct pctx *pc, struct cfg *c)
{
	const cJSON *o, *v;
	enum gw_err e;

	if ((e = get_object(pc, c->root, "contextManagement",
	    "contextManagement", &o)) != GW_OK ||
	    (e = get_bool(pc, o, "messages", "contextManagement.messages",
	    &c->context_mgmt_messages)) != GW_OK ||
	    (e = get_bool(pc, o, "responses", "contextManagement.responses",
	    &c->context_mgmt_responses)) != GW_OK ||
	    (e = get_object(pc, c->root, "modelResponsesApiCompactThresholds",
	    "modelResponsesApiCompactThresholds", &o)) != GW_OK)
		return e;
	cJSON_ArrayForEach(v, o) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
		    v->valuedouble <= 0)
			return bad(pc, "\"modelResponsesApiCompactThresholds\" entry "
			    "\"%s\" must be a number greater than 0", v->string);
	}
	c->compact_thresholds = o;
	return GW_OK;
}

/*
 * Who may use an open gateway (no auth.apiKeys): allowedHosts (Host names
 * beside the loopback ones, "*" for any) and cors.allowedOrigins (browser
 * origins such as "http://localhost:3000", "*" for any).  Entries are
 * lower-cased, an origin's trailing "/" dropped.
 */
static GW_MUST_CHECK enum gw_err
parse_access(const struct pctx *pc, struct cfg *c)
{
	const cJSON *o;
	enum gw_err e;
	size_t i;
	char *s, *p;

	if ((e = get_strlist(pc, c->root, "allowedHosts", "allowedHosts",
	    &c->allowed_hosts)) != GW_OK ||
	    (e = get_object(pc, c->root, "cors", "cors", &o)) != GW_OK ||
	    (e = get_strlist(pc, o, "allowedOrigins", "cors.allowedOrigins",
	    &c->allowed_origins)) != GW_OK)
		return e;
	for (i = 0; i < c->allowed_hosts.n + c->allowed_origins.n; i++) {
		s = i < c->allowed_hosts.n ? c->allowed_hosts.v[i] :
		    c->allowed_origins.v[i - c->allowed_hosts.n];
		for (p = s; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (i >= c->allowed_hosts.n && p > s && p[-1] == '/')
			p[-1] = '\0';
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
parse_flags(const struct pctx *pc, struct cfg *c)
{
	const cJSON *v;
	const char *s;
	enum gw_err e;

	if ((e = get_bool(pc, c->root, "useMessagesApi", "useMessagesApi",
	    &c->use_messages_api)) != GW_OK ||
	    (e = get_bool(pc, c->root, "useResponsesApiWebSocket",
	    "useResponsesApiWebSocket", &c->use_responses_ws)) != GW_OK ||
	    (e = get_bool(pc, c->root, "useResponsesApiWebSearch",
	    "useResponsesApiWebSearch", &c->use_responses_web_search)) != GW_OK)
		return e;
	v = member(c->root, "claudeTokenMultiplier");
	if (v != NULL) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
		    v->valuedouble <= 0)
			return bad(pc, "\"claudeTokenMultiplier\" must be a number "
			    "greater than 0");
		c->claude_token_multiplier = v->valuedouble;
	}
	if ((e = get_string(pc, c->root, "anthropicApiKey", "anthropicApiKey",
	    &s)) != GW_OK)
		return e;
	if (s != NULL) {
		if ((c->anthropic_api_key = trim_dup(s)) == NULL)
			return GW_ENOMEM;
		if (*c->anthropic_api_key == '\0') {
			free(c->anthropic_api_key);
	free(c->storage_url);
			c->anthropic_api_key = NULL;
		}
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
upstream_url(const struct pctx *pc, const cJSON *up, const char *key,
    char **dst)
{
	char path[64];
	const char *s;
	enum gw_err e;
	char *u;

	snprintf(path, sizeof(path), "upstream.%s", key);
	if ((e = get_string(pc, up, key, path, &s)) != GW_OK || s == NULL)
		return e;
	if ((e = norm_url(s, &u)) == GW_EINVAL)
		return bad(pc, "\"%s\" must be an http:// or https:// URL", path);
	if (e != GW_OK)
		return e;
	free(*dst);
	*dst = u;
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
parse_upstream(const struct pctx *pc, struct cfg *c)
{
	const cJSON *up;
	const char *s;
	enum gw_err e;
	int i;

	if ((e = get_object(pc, c->root, "upstream", "upstream", &up)) != GW_OK)
		return e;
	if (up != NULL &&
	    ((e = upstream_url(pc, up, "githubUrl", &c->upstream_github_url)) !=
	    GW_OK ||
	    (e = upstream_url(pc, up, "githubApiUrl",
	    &c->upstream_github_api_url)) != GW_OK ||
	    (e = upstream_url(pc, up, "copilotApiUrl",
	    &c->upstream_copilot_url)) != GW_OK ||
	    (e = upstream_url(pc, up, "anthropicApiUrl",
	    &c->anthropic_api_url)) != GW_OK ||
	    (e = upstream_url(pc, up, "codexAuthUrl",
	    &c->upstream_codex_auth_url)) != GW_OK))
		return e;
	i = (int)c->account_type;
	if ((e = get_enum(pc, c->root, "accountType", account_names,
	    ARRAY_LEN(account_names), "individual, business, enterprise",
	    &i)) != GW_OK)
		return e;
	c->account_type = (enum cfg_account_type)i;
	i = (int)c->oauth_app;
	if ((e = get_enum(pc, c->root, "oauthApp", oauth_names,
	    ARRAY_LEN(oauth_names), "default, opencode", &i)) != GW_OK)
		return e;
	c->oauth_app = (enum cfg_oauth_app)i;
	if ((e = get_string(pc, c->root, "enterpriseUrl", "enterpriseUrl", &s)) !=
	    GW_OK || s == NULL)
		return e;
	if ((e = norm_domain(s, &c->enterprise_domain)) == GW_EINVAL)
		return bad(pc, "\"enterpriseUrl\" must be a host name such as "
		    "ghe.example.com");
	return e;
}

static GW_MUST_CHECK enum gw_err
parse_limits(const struct pctx *pc, struct cfg *c)
{
	static const char *const strategy_names[] = {
		"affinity-quota", "round-robin", "fill-first" };
	const cJSON *o;
	const char *str;
	enum gw_err e;
	int lvl;

	if ((e = get_object(pc, c->root, "limits", "limits", &o)) != GW_OK ||
	    (e = get_long(pc, o, "maxBodyBytes", "limits.maxBodyBytes",
	    CFG_MAX_BODY_MIN, CFG_MAX_BODY_MAX, &c->max_body_bytes)) != GW_OK ||
	    (e = get_long(pc, o, "maxBodyBytesInFlight",
	    "limits.maxBodyBytesInFlight", CFG_MAX_BODY_MIN, CFG_MAX_INFLIGHT_MAX,
	    &c->max_inflight_bytes)) != GW_OK)
		return e;
	if (c->max_inflight_bytes < c->max_body_bytes)
		return bad(pc, "\"limits.maxBodyBytesInFlight\" must be at least "
		    "\"limits.maxBodyBytes\" (a body the cap admits must fit "
		    "alone)");
	if ((e = get_object(pc, c->root, "timeouts", "timeouts", &o)) != GW_OK ||
	    (e = get_long(pc, o, "connectSeconds", "timeouts.connectSeconds", 1,
	    300, &c->connect_timeout_s)) != GW_OK ||
	    (e = get_long(pc, o, "stallSeconds", "timeouts.stallSeconds", 0,
	    86400, &c->stall_timeout_s)) != GW_OK ||
	    (e = get_long(pc, o, "pingSeconds", "timeouts.pingSeconds", 1, 600,
	    &c->ping_interval_s)) != GW_OK)
		return e;
	if ((e = get_object(pc, c->root, "rateLimit", "rateLimit", &o)) != GW_OK ||
	    (e = get_long(pc, o, "seconds", "rateLimit.seconds", 0, 86400,
	    &c->rate_limit_s)) != GW_OK ||
	    (e = get_bool(pc, o, "wait", "rateLimit.wait", &c->rate_limit_wait)) !=
	    GW_OK)
		return e;
	if ((e = get_object(pc, c->root, "metrics", "metrics", &o)) != GW_OK ||
	    (e = get_bool(pc, o, "public", "metrics.public", &c->metrics_public)) !=
	    GW_OK ||
	    (e = get_bool(pc, c->root, "manualApproval", "manualApproval",
	    &c->manual_approval)) != GW_OK ||
	    (e = get_long(pc, c->root, "manualApprovalTimeoutSeconds",
	    "manualApprovalTimeoutSeconds", 1, 86400,
	    &c->approval_timeout_s)) != GW_OK)
		return e;
	/* issue 15: how a new session picks among several Copilot accounts */
	if ((e = get_object(pc, c->root, "accounts", "accounts", &o)) != GW_OK ||
	    (e = get_string(pc, o, "strategy", "accounts.strategy", &str)) !=
	    GW_OK)
		return e;
	if (str != NULL && (c->accounts_strategy = name_index(strategy_names,
	    ARRAY_LEN(strategy_names), str)) < 0)
		return bad(pc, "\"accounts.strategy\" must be one of "
		    "affinity-quota, round-robin, fill-first");
	lvl = (int)c->log_level;
	if ((e = get_enum(pc, c->root, "logLevel", (const char *const[]){
	    "error", "warn", "info", "debug" }, 4, "error, warn, info, debug",
	    &lvl)) != GW_OK)
		return e;
	c->log_level = (enum log_level)lvl;
	return GW_OK;
}

/*
 * storage: {"driver": "sqlite" | "postgresql", "url": "postgresql://..."}.
 * The URL is never quoted back: it may hold a password.
 */
static GW_MUST_CHECK enum gw_err
parse_storage(const struct pctx *pc, struct cfg *c)
{
	const cJSON *o;
	const char *drv = NULL, *url = NULL;
	enum gw_err e;

	if ((e = get_object(pc, c->root, "storage", "storage", &o)) != GW_OK ||
	    o == NULL ||
	    (e = get_string(pc, o, "driver", "storage.driver", &drv)) != GW_OK ||
	    (e = get_string(pc, o, "url", "storage.url", &url)) != GW_OK)
		return e;
	if (drv == NULL || strcmp(drv, "sqlite") == 0) {
		if (url != NULL)
			return bad(pc, "\"storage.url\" is for the postgresql "
			    "driver: set \"storage.driver\" to \"postgresql\" "
			    "or remove the url");
		return GW_OK;
	}
	if (strcmp(drv, "postgresql") != 0)
		return bad(pc, "\"storage.driver\" must be one of sqlite, "
		    "postgresql");
#ifndef GW_HAVE_LIBPQ
	return bad(pc, "\"storage.driver\" \"postgresql\" needs libpq: this "
	    "build was configured --without-libpq");
#else
	if (url == NULL)
		return bad(pc, "\"storage.driver\" \"postgresql\" needs "
		    "\"storage.url\" (postgresql://user:password@host:port/db)");
	if ((c->storage_url = util_strndup_trim(url, strlen(url))) == NULL)
		return GW_ENOMEM;
	if (strncasecmp(c->storage_url, "postgresql://", 13) != 0 &&
	    strncasecmp(c->storage_url, "postgres://", 11) != 0)
		return bad(pc, "\"storage.url\" must be a postgresql:// URL "
		    "(postgresql://user:password@host:port/db)");
	{
		char *err = NULL;
		PQconninfoOption *opts = PQconninfoParse(c->storage_url, &err);

		PQconninfoFree(opts);
		if (opts == NULL) {
			/* libpq's reason may quote a piece of the password */
			e = err != NULL ? bad(pc, "\"storage.url\" is not a "
			    "valid PostgreSQL URL (percent-encode special "
			    "characters in the user name and password)") :
			    GW_ENOMEM;
			PQfreemem(err);
			return e;
		}
	}
	c->storage_driver = CFG_STORAGE_POSTGRESQL;
	return GW_OK;
#endif
}

/* ---- derived URLs ---- */

static GW_MUST_CHECK enum gw_err
derive_urls(struct cfg *c)
{
	const char *d = c->enterprise_domain;
	char *gh, *api, *cop;

	gh = c->upstream_github_url != NULL ? strdup(c->upstream_github_url) :
	    d != NULL ? buf_strdupf("https://%s", d) : strdup("https://github.com");
	api = c->upstream_github_api_url != NULL ?
	    strdup(c->upstream_github_api_url) :
	    d != NULL ? buf_strdupf("https://api.%s", d) :
	    strdup("https://api.github.com");
	if (c->upstream_copilot_url != NULL)
		cop = strdup(c->upstream_copilot_url);
	else if (d != NULL)
		cop = buf_strdupf("https://copilot-api.%s", d);
	else if (c->oauth_app == CFG_OAUTH_OPENCODE ||
	    c->account_type == CFG_ACCOUNT_INDIVIDUAL)
		cop = strdup("https://api.githubcopilot.com");
	else
		cop = buf_strdupf("https://api.%s.githubcopilot.com",
		    account_names[c->account_type]);
	if (gh == NULL || api == NULL || cop == NULL) {
		free(gh);
		free(api);
		free(cop);
		return GW_ENOMEM;
	}
	free(c->github_url);
	free(c->github_api_url);
	free(c->copilot_url);
	c->github_url = gh;
	c->github_api_url = api;
	c->copilot_url = cop;
	/* surface.md §3.3: these win over endpoints.api from
	 * copilot_internal/user. */
	c->copilot_url_fixed = c->upstream_copilot_url != NULL || d != NULL ||
	    c->oauth_app == CFG_OAUTH_OPENCODE;
	return GW_OK;
}

/* ---- the default tree ---- */

/* Adds the missing default entries of extraPrompts (effort = 0) or
 * modelReasoningEfforts (effort = 1) to obj. */
static GW_MUST_CHECK enum gw_err
add_model_defaults(cJSON *obj, int effort)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(model_defaults); i++) {
		if (cJSON_GetObjectItemCaseSensitive(obj, model_defaults[i].model) ||
		    (effort && model_defaults[i].effort == NULL))
			continue;
		if (cJSON_AddStringToObject(obj, model_defaults[i].model, effort ?
		    model_defaults[i].effort : model_defaults[i].prompt) == NULL)
			return GW_ENOMEM;
	}
	return GW_OK;
}

/* Adds the missing default contextManagement flags and
 * modelResponsesApiCompactThresholds entries to root (mergeDefaultConfig of
 * 1.14.7); a member that is there but not an object is left to the
 * validation. */
static GW_MUST_CHECK enum gw_err
add_context_defaults(cJSON *root)
{
	cJSON *cm = cJSON_GetObjectItemCaseSensitive(root, "contextManagement");
	cJSON *th = cJSON_GetObjectItemCaseSensitive(root,
	    "modelResponsesApiCompactThresholds");
	size_t i;

	if (cm == NULL || cJSON_IsNull(cm)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, "contextManagement");
		if ((cm = cJSON_AddObjectToObject(root, "contextManagement")) == NULL)
			return GW_ENOMEM;
	}
	if (cJSON_IsObject(cm) &&
	    ((!cJSON_HasObjectItem(cm, "messages") &&
	    cJSON_AddTrueToObject(cm, "messages") == NULL) ||
	    (!cJSON_HasObjectItem(cm, "responses") &&
	    cJSON_AddFalseToObject(cm, "responses") == NULL)))
		return GW_ENOMEM;
	if (th == NULL || cJSON_IsNull(th)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root,
		    "modelResponsesApiCompactThresholds");
		if ((th = cJSON_AddObjectToObject(root,
		    "modelResponsesApiCompactThresholds")) == NULL)
			return GW_ENOMEM;
	}
	for (i = 0; cJSON_IsObject(th) && i < ARRAY_LEN(compact_defaults); i++)
		if (!cJSON_HasObjectItem(th, compact_defaults[i].model) &&
		    cJSON_AddNumberToObject(th, compact_defaults[i].model,
		    compact_defaults[i].threshold) == NULL)
			return GW_ENOMEM;
	return GW_OK;
}

/* What a new config.json holds: the "Default (written)" column of
 * surface.md §5.2.  Our own keys stay out so their defaults can still
 * change, and so that written upstream.* values never shadow an enterprise
 * domain. */
static GW_MUST_CHECK enum gw_err
add_default_tree(cJSON *root)
{
	cJSON *auth, *prompts, *eff;

	if ((auth = cJSON_AddObjectToObject(root, "auth")) == NULL ||
	    cJSON_AddArrayToObject(auth, "apiKeys") == NULL ||
	    cJSON_AddObjectToObject(root, "providers") == NULL ||
	    cJSON_AddObjectToObject(root, "modelMappings") == NULL ||
	    (prompts = cJSON_AddObjectToObject(root, "extraPrompts")) == NULL ||
	    add_model_defaults(prompts, 0) != GW_OK ||
	    cJSON_AddStringToObject(root, "smallModel", DEFAULT_SMALL_MODEL) ==
	    NULL ||
	    add_context_defaults(root) != GW_OK ||
	    (eff = cJSON_AddObjectToObject(root, "modelReasoningEfforts")) == NULL ||
	    add_model_defaults(eff, 1) != GW_OK ||
	    cJSON_AddTrueToObject(root, "useMessagesApi") == NULL ||
	    cJSON_AddTrueToObject(root, "useResponsesApiWebSocket") == NULL ||
	    cJSON_AddTrueToObject(root, "useResponsesApiWebSearch") == NULL ||
	    cJSON_AddStringToObject(root, "messageApiWebSearchModel",
	    DEFAULT_SMALL_MODEL) == NULL)
		return GW_ENOMEM;
	return GW_OK;
}

/* ---- load ---- */

/* Takes root, valid or not. */
static GW_MUST_CHECK enum gw_err
cfg_from_tree(cJSON *root, const char *name, struct cfg **out,
    struct buf *errmsg)
{
	struct pctx pc = { name, errmsg };
	struct cfg *c;
	enum gw_err e;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cJSON_Delete(root);
		return GW_ENOMEM;
	}
	c->root = root;
	c->use_messages_api = 1;
	c->use_responses_ws = 1;
	c->use_responses_web_search = 1;
	c->context_mgmt_messages = 1;
	c->claude_token_multiplier = 1.15;
	c->account_type = CFG_ACCOUNT_INDIVIDUAL;
	c->oauth_app = CFG_OAUTH_DEFAULT;
	c->max_body_bytes = CFG_MAX_BODY_DEFAULT;
	c->max_inflight_bytes = CFG_MAX_INFLIGHT_DEFAULT;
	c->connect_timeout_s = 10;
	c->stall_timeout_s = 600;     /* < the web servers' 900 s */
	c->ping_interval_s = 15;
	c->approval_timeout_s = 300;
	c->log_level = LOG_INFO;
	if ((c->small_model = strdup(DEFAULT_SMALL_MODEL)) == NULL ||
	    (c->web_search_model = strdup(DEFAULT_SMALL_MODEL)) == NULL ||
	    (c->anthropic_api_url = strdup("https://api.anthropic.com")) == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	if (root == NULL) {
		e = GW_ENOMEM;
		goto fail;
	}
	if (!cJSON_IsObject(root)) {
		e = bad(&pc, "the top level must be a JSON object");
		goto fail;
	}
	if ((e = parse_auth(&pc, c)) != GW_OK ||
	    (e = parse_providers(&pc, c)) != GW_OK ||
	    (e = parse_mappings(&pc, c)) != GW_OK ||
	    (e = parse_model_maps(&pc, c)) != GW_OK ||
	    (e = parse_models_misc(&pc, c)) != GW_OK ||
	    (e = parse_context_mgmt(&pc, c)) != GW_OK ||
	    (e = parse_flags(&pc, c)) != GW_OK ||
	    (e = parse_upstream(&pc, c)) != GW_OK ||
	    (e = parse_limits(&pc, c)) != GW_OK ||
	    (e = parse_access(&pc, c)) != GW_OK ||
	    (e = parse_storage(&pc, c)) != GW_OK ||
	    (e = derive_urls(c)) != GW_OK)
		goto fail;
	*out = c;
	return GW_OK;
fail:
	if (e == GW_ENOMEM && errmsg != NULL) {
		/* best effort: e is returned whatever the message says */
		buf_reset(errmsg);
		GW_IGNORE(buf_printf(errmsg, "%s: out of memory", name));
	}
	cfg_free(c);
	return e;
}

enum gw_err
cfg_from_json(const cJSON *root, const char *name, struct cfg **out,
    struct buf *errmsg)
{
	return cfg_from_tree(cJSON_Duplicate(root, 1), name, out, errmsg);
}

static int
is_blank(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (!strchr(" \t\r\n", b->data[i]) || b->data[i] == '\0')
			return 0;
	return 1;
}

/* Whole file into b; *missing = 1 (and GW_OK) when it does not exist. */
static GW_MUST_CHECK enum gw_err
read_file(const char *path, const char *name, struct buf *b, int *missing,
    struct buf *errmsg)
{
	struct pctx pc = { name, errmsg };
	char chunk[8192];
	enum gw_err e = GW_OK;
	ssize_t r;
	int fd;

	*missing = 0;
	buf_reset(b);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			return GW_OK;
		}
		return bad(&pc, "cannot read: %s", strerror(errno));
	}
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = bad(&pc, "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (b->len + (size_t)r > (size_t)CFG_FILE_MAX) {
			e = bad(&pc, "file is larger than %ld bytes", CFG_FILE_MAX);
			break;
		}
		if ((e = buf_append(b, chunk, (size_t)r)) != GW_OK)
			break;
	}
	close(fd);
	return e;
}

/* The tree in raw, or {} when blank/missing. */
static GW_MUST_CHECK enum gw_err
parse_raw(const struct buf *raw, int missing, const char *name,
    cJSON **out, struct buf *errmsg)
{
	struct pctx pc = { name, errmsg };
	int line = 0, col = 0;

	*out = NULL;
	if (missing || is_blank(raw)) {
		*out = cJSON_CreateObject();
		return *out != NULL ? GW_OK : GW_ENOMEM;
	}
	*out = json_parse(raw->data, raw->len, &line, &col);
	if (*out == NULL)
		return bad(&pc, "invalid JSON at line %d, column %d", line, col);
	return GW_OK;
}

enum gw_err
cfg_load(const char *path, struct cfg **out, struct buf *errmsg)
{
	struct buf raw = BUF_INIT;
	const char *name = base_name(path);
	cJSON *root = NULL;
	enum gw_err e;
	int missing;

	*out = NULL;
	if ((e = read_file(path, name, &raw, &missing, errmsg)) != GW_OK ||
	    (e = parse_raw(&raw, missing, name, &root, errmsg)) != GW_OK)
		goto out;
	/* No file yet: behave as if the defaults had been written. */
	if (root->child == NULL && (missing || is_blank(&raw)) &&
	    (e = add_default_tree(root)) != GW_OK) {
		cJSON_Delete(root);
		goto out;
	}
	e = cfg_from_tree(root, name, out, errmsg);
out:
	buf_free(&raw);
	return e;
}

void
cfg_free(struct cfg *c)
{
	size_t i;

	if (c == NULL)
		return;
	cJSON_Delete(c->root);
	strlist_free(&c->api_keys);
	free(c->admin_api_key);
	for (i = 0; i < c->n_providers; i++)
		provider_clear(&c->providers[i]);
	free(c->providers);
	strlist_map_free(&c->model_mappings);
	strlist_map_free(&c->extra_prompts);
	strlist_map_free(&c->reasoning_efforts);
	strlist_free(&c->context_mgmt_models);
	strlist_free(&c->allowed_hosts);
	strlist_free(&c->allowed_origins);
	free(c->small_model);
	free(c->web_search_model);
	free(c->anthropic_api_key);
	free(c->upstream_github_url);
	free(c->upstream_github_api_url);
	free(c->upstream_copilot_url);
	free(c->upstream_codex_auth_url);
	free(c->anthropic_api_url);
	free(c->enterprise_domain);
	free(c->github_url);
	free(c->github_api_url);
	free(c->copilot_url);
	free(c);
}

/* ---- environment ---- */

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static GW_MUST_CHECK enum gw_err
env_enum(const char *var, const char *const *names, size_t n, int *out)
{
	const char *v = env_nonempty(var);
	char *t;
	int i;

	if (v == NULL)
		return GW_OK;
	if ((t = trim_dup(v)) == NULL)
		return GW_ENOMEM;
	i = name_index(names, n, t);
	free(t);
	if (i < 0) {
		log_error("%s=%s is not valid", var, v);
		return GW_ECONFIG;
	}
	*out = i;
	return GW_OK;
}

enum gw_err
cfg_apply_env(struct cfg *c)
{
	const char *v;
	char *domain = NULL;
	int app = (int)c->oauth_app, type = (int)c->account_type;
	enum gw_err e;

	if ((e = env_enum("COPILOT_API_OAUTH_APP", oauth_names,
	    ARRAY_LEN(oauth_names), &app)) != GW_OK ||
	    (e = env_enum("COPILOT_API_ACCOUNT_TYPE", account_names,
	    ARRAY_LEN(account_names), &type)) != GW_OK)
		return e;
	if ((v = env_nonempty("COPILOT_API_ENTERPRISE_URL")) != NULL) {
		if ((e = norm_domain(v, &domain)) == GW_EINVAL)
			log_error("COPILOT_API_ENTERPRISE_URL=%s is not a host name", v);
		if (e != GW_OK)
			return e == GW_EINVAL ? GW_ECONFIG : e;
		free(c->enterprise_domain);
		c->enterprise_domain = domain;
	}
	c->oauth_app = (enum cfg_oauth_app)app;
	c->account_type = (enum cfg_account_type)type;
	return derive_urls(c);
}

/* ---- accessors ---- */

const char *
cfg_github_url(const struct cfg *c)
{
	return c->github_url;
}

const char *
cfg_github_api_url(const struct cfg *c)
{
	return c->github_api_url;
}

/* Copilot base when endpoints.api is unknown: opencode and individual →
 * https://api.githubcopilot.com, else https://api.<type>.githubcopilot.com.
 * No caller in the gateway (test_config.c includes this file to reach it). */
static __attribute__((unused)) const char *
cfg_copilot_url_fallback(const struct cfg *c)
{
	return c->copilot_url;
}

const char *
cfg_copilot_url(const struct cfg *c, const char *endpoints_api)
{
	if (c->copilot_url_fixed || endpoints_api == NULL ||
	    *endpoints_api == '\0')
		return c->copilot_url;
	return endpoints_api;
}

const char *
cfg_anthropic_api_key(const struct cfg *c)
{
	if (c->anthropic_api_key != NULL)
		return c->anthropic_api_key;
	return env_nonempty("ANTHROPIC_API_KEY");
}

const char *
cfg_model_mapping(const struct cfg *c, const char *model)
{
	return strlist_map_get(&c->model_mappings, model);
}

const char *
cfg_reasoning_effort(const struct cfg *c, const char *model)
{
	const char *v = strlist_map_get(&c->reasoning_efforts, model);

	if (v != NULL)
		return v;
	return util_gpt_at_least(model, 5, 3) ? DEFAULT_EFFORT_GPT53 :
	    DEFAULT_EFFORT;
}

const char *
cfg_extra_prompt(const struct cfg *c, const char *model)
{
	const char *v = strlist_map_get(&c->extra_prompts, model);

	if (v != NULL)
		return v;
	return util_gpt_at_least(model, 5, 3) ? prompt_commentary : NULL;
}

int
cfg_context_mgmt(const struct cfg *c, int responses, const char *model)
{
	if (responses ? c->context_mgmt_responses : c->context_mgmt_messages)
		return 1;
	return model != NULL && strlist_has(&c->context_mgmt_models, model);
}

double
cfg_compact_threshold(const struct cfg *c, const char *model)
{
	const cJSON *v;
	size_t i;

	if (model == NULL)
		return 0;
	v = cJSON_GetObjectItemCaseSensitive(c->compact_thresholds, model);
	if (v != NULL)
		return v->valuedouble;
	for (i = 0; i < ARRAY_LEN(compact_defaults); i++)
		if (strcmp(compact_defaults[i].model, model) == 0)
			return compact_defaults[i].threshold;
	return 0;
}

const struct cfg_provider *
cfg_provider_find(const struct cfg *c, const char *name)
{
	const struct cfg_provider *found = NULL;
	char *t;
	size_t i;

	if (name == NULL || (t = trim_dup(name)) == NULL)
		return NULL;
	for (i = 0; i < c->n_providers; i++) {
		if (strcmp(c->providers[i].name, t) == 0) {
			if (c->providers[i].enabled)
				found = &c->providers[i];
			break;
		}
	}
	free(t);
	return found;
}

/* ---- output ---- */

/* JSON.stringify(v, null, 2) layout plus a trailing newline. */
static GW_MUST_CHECK enum gw_err
cfg_format_json(const cJSON *v, struct buf *out)
{
	enum gw_err e = json_format_js(out, v);

	return e == GW_OK ? buf_putc(out, '\n') : e;
}

/* ---- read-modify-write ---- */

/* The lock sits in a file of its own: the config file is replaced by a
 * rename, so a lock on it would not outlive the first write. */
static GW_MUST_CHECK enum gw_err
lock_open(const char *path, int *fd, struct buf *errmsg)
{
	struct buf lockpath = BUF_INIT;
	enum gw_err e;

	*fd = -1;
	if ((e = buf_printf(&lockpath, "%s.lock", path)) == GW_OK)
		e = paths_lock(lockpath.data, 0, fd, errmsg);
	buf_free(&lockpath);
	return e;
}

enum gw_err
cfg_update_file(const char *path, enum gw_err (*mutate)(cJSON *, void *),
    void *arg, struct buf *errmsg)
{
	const char *name = base_name(path);
	struct pctx pc = { name, errmsg };
	struct buf raw = BUF_INIT, out = BUF_INIT;
	cJSON *root = NULL, *before = NULL;
	struct cfg *check = NULL;
	enum gw_err e;
	int lockfd = -1, missing;

	if (errmsg != NULL)
		buf_reset(errmsg);
	if ((e = lock_open(path, &lockfd, errmsg)) != GW_OK ||
	    (e = read_file(path, name, &raw, &missing, errmsg)) != GW_OK)
		goto out;
	/* A file that does not parse is left exactly as it is. */
	if ((e = parse_raw(&raw, missing, name, &root, errmsg)) != GW_OK) {
		/* best effort: e is returned whatever the message says */
		if (e == GW_ECONFIG && errmsg != NULL)
			GW_IGNORE(buf_puts(errmsg,
			    "; the file was not modified"));
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		e = bad(&pc, "the top level must be a JSON object; the file was "
		    "not modified");
		goto out;
	}
	if ((before = cJSON_Duplicate(root, 1)) == NULL) {
		e = GW_ENOMEM;
		goto out;
	}
	if ((e = mutate(root, arg)) != GW_OK) {
		/* best effort: e is returned whatever the message says */
		if (errmsg != NULL && errmsg->len == 0)
			GW_IGNORE(buf_printf(errmsg, "%s: update failed: %s",
			    name, gw_strerror(e)));
		goto out;
	}
	if ((e = cfg_from_json(root, name, &check, errmsg)) != GW_OK)
		goto out;
	if (cJSON_Compare(before, root, 1))
		goto out;
	if ((e = cfg_format_json(root, &out)) != GW_OK ||
	    (e = paths_write_atomic(path, out.data, out.len, errmsg)) != GW_OK)
		goto out;
	log_info("%s: written", path);
out:
	paths_unlock(lockfd);
	cfg_free(check);
	cJSON_Delete(before);
	cJSON_Delete(root);
	buf_free(&raw);
	buf_free(&out);
	return e;
}

/* Swaps the children: root becomes a copy of arg. */
static GW_MUST_CHECK enum gw_err
replace_all(cJSON *root, void *arg)
{
	cJSON *copy = cJSON_Duplicate(arg, 1), *old;

	if (copy == NULL)
		return GW_ENOMEM;
	old = root->child;
	root->child = copy->child;
	copy->child = old;
	cJSON_Delete(copy);
	return GW_OK;
}

/* Writes cfg->root to path through cfg_update_file (same guarantees).  No
 * caller in the gateway (test_config.c includes this file to reach it). */
static __attribute__((unused)) enum gw_err
cfg_save(const struct cfg *c, const char *path, struct buf *errmsg)
{
	return cfg_update_file(path, replace_all, c->root, errmsg);
}

/* Missing / null → a new object; returns NULL only when obj[key] exists and
 * is something else (left for validation to report) or on ENOMEM. */
static cJSON *
ensure_object(cJSON *obj, const char *key, enum gw_err *e)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*e = GW_OK;
	if (v != NULL && !cJSON_IsNull(v))
		return cJSON_IsObject(v) ? v : NULL;
	v = cJSON_CreateObject();
	if ((*e = json_set(obj, key, v)) != GW_OK)
		return NULL;
	return v;
}

static GW_MUST_CHECK enum gw_err
ensure_mutate(cJSON *root, void *arg)
{
	char hex[65], *trimmed = NULL;
	cJSON *auth, *key, *m;
	enum gw_err e;

	if (root->child == NULL && (e = add_default_tree(root)) != GW_OK)
		return e;
	if ((m = ensure_object(root, "extraPrompts", &e)) != NULL)
		e = add_model_defaults(m, 0);
	if (e != GW_OK)
		return e;
	if ((m = ensure_object(root, "modelReasoningEfforts", &e)) != NULL)
		e = add_model_defaults(m, 1);
	if (e == GW_OK)
		e = add_context_defaults(root);
	if (e != GW_OK || (auth = ensure_object(root, "auth", &e)) == NULL)
		return e;
	key = cJSON_GetObjectItemCaseSensitive(auth, "adminApiKey");
	if (cJSON_IsString(key) && (trimmed = trim_dup(key->valuestring)) == NULL)
		return GW_ENOMEM;
	if (trimmed != NULL && *trimmed != '\0') {
		e = strcmp(trimmed, key->valuestring) == 0 ? GW_OK :
		    json_set(auth, "adminApiKey", cJSON_CreateString(trimmed));
		free(trimmed);
		return e;
	}
	free(trimmed);
	/* 64 hex digits: 256 random bits */
	if ((e = util_random_id("", UTIL_ID_HEX, 64, hex, sizeof(hex))) != GW_OK)
		return e;
	log_info("config: generated a new admin API key");
	return json_set(auth, "adminApiKey", cJSON_CreateString(hex));
}

enum gw_err
cfg_ensure_admin_key(const char *path, struct buf *errmsg)
{
	return cfg_update_file(path, ensure_mutate, NULL, errmsg);
}

static GW_MUST_CHECK enum gw_err
set_mappings_mutate(cJSON *root, void *arg)
{
	return json_set(root, "modelMappings", cJSON_Duplicate(arg, 1));
}

enum gw_err
cfg_set_model_mappings(const char *path, const cJSON *mappings,
    struct buf *errmsg)
{
	static const char msg[] =
	    "Each model mapping must use non-empty source and target values.";
	const cJSON *v;
	cJSON *clean;
	char *k = NULL, *t = NULL;
	enum gw_err e = GW_OK;

	if (!cJSON_IsObject(mappings)) {
		if (errmsg != NULL) {
			/* best effort: GW_EINVAL is returned anyway */
			buf_reset(errmsg);
			GW_IGNORE(buf_puts(errmsg,
			    "modelMappings must be an object of strings"));
		}
		return GW_EINVAL;
	}
	if ((clean = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	cJSON_ArrayForEach(v, mappings) {
		if (!cJSON_IsString(v)) {
			e = GW_EINVAL;
			break;
		}
		k = trim_dup(v->string);
		t = trim_dup(v->valuestring);
		if (k == NULL || t == NULL)
			e = GW_ENOMEM;
		else if (*k == '\0' || *t == '\0')
			e = GW_EINVAL;
		else
			e = json_set(clean, k, cJSON_CreateString(t));
		free(k);
		free(t);
		if (e != GW_OK)
			break;
	}
	if (e == GW_EINVAL && errmsg != NULL) {
		/* best effort: e is returned whatever the message says */
		buf_reset(errmsg);
		GW_IGNORE(buf_puts(errmsg, msg));
	}
	if (e == GW_OK)
		e = cfg_update_file(path, set_mappings_mutate, clean, errmsg);
	cJSON_Delete(clean);
	return e;
}

const struct cfg_provider *
cfg_provider_for_model(const struct cfg_provider *p, const char *model,
    struct cfg_provider *tmp)
{
	int t;

	if (p == NULL || p->models == NULL || model == NULL ||
	    p->auth_type == CFG_AUTH_OAUTH2)
		return p;
	t = model_type(cJSON_GetObjectItemCaseSensitive(p->models, model));
	if (t < 0 || (enum cfg_provider_type)t == p->type)
		return p;
	*tmp = *p;
	tmp->type = (enum cfg_provider_type)t;
	/* the reference's handlers: only the Messages forward re-resolves
	 * the auth (from the type alone); the others keep the provider's */
	if (tmp->type == CFG_PROVIDER_ANTHROPIC)
		tmp->auth_type = default_auth(tmp->type);
	return tmp;
}

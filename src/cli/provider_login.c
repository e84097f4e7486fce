/*
 * `auth login --provider <preset>|custom`: a third-party provider written
 * to config.json from a few terminal prompts, as 1.14.7's quick providers
 * (contract in provider_login.h).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/provider_login.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "state/config.h"

/* 1.14.7's src/lib/quick-providers.ts. */
static const struct preset {
	const char *name, *label, *type, *base_url, *currency;
	int editable_type;
} presets[] = {
	{ "opencode-go", "OpenCode Go", "openai-compatible",
	  "https://opencode.ai/zen/go", "USD", 0 },
	{ "deepseek", "DeepSeek", "anthropic",
	  "https://api.deepseek.com/anthropic", "CNY", 1 },
	{ "dashscope", "DashScope", "openai-compatible",
	  "https://dashscope.aliyuncs.com/compatible-mode", "CNY", 1 },
	{ "openrouter", "OpenRouter", "anthropic", "https://openrouter.ai/api",
	  "USD", 0 },
};

static const char *const types[] = {
	"anthropic", "openai-compatible", "openai-responses"
};

/* What the prompts gathered: the entry to write. */
struct entry {
	const char *name;
	char *type, *base_url, *api_key, *auth_type;  /* auth_type may be NULL */
	const char *currency;        /* NULL: keep the existing one */
};

int
provider_login_known(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(presets); i++)
		if (strcmp(presets[i].name, name) == 0)
			return 1;
	return strcmp(name, "custom") == 0;
}

/* One line of in, trimmed (malloc'd), after the prompt made of fmt;
 * NULL at end of input.  With hide, a terminal does not echo it. */
static char *
ask(FILE *in, FILE *out, int hide, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static char *
ask(FILE *in, FILE *out, int hide, const char *fmt, ...)
{
	struct termios old, quiet;
	int tty = hide && isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
	char line[4096];
	char *r;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputs(": ", out);
	fflush(out);
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		GW_IGNORE(tcsetattr(fileno(in), TCSAFLUSH, &quiet));
	}
	r = fgets(line, sizeof(line), in);
	if (tty) {
		GW_IGNORE(tcsetattr(fileno(in), TCSAFLUSH, &old));
		fputc('\n', out);
	}
	return r != NULL ? util_strndup_trim(line, strlen(line)) : NULL;
}

/* v, or a copy of def when v is empty and def is not NULL. */
static char *
or_default(char *v, const char *def)
{
	if (v == NULL || *v != '\0' || def == NULL)
		return v;
	free(v);
	return util_strdup(def);
}

/* v when it is not empty, else NULL after saying "<field> must be a
 * non-empty string" (the reference's words). */
static char *
required(char *v, const char *field)
{
	if (v != NULL && *v != '\0')
		return v;
	fprintf(stderr, "copilot-api: %s must be a non-empty string\n", field);
	free(v);
	return NULL;
}

/* v when it is one of names[0..n), else NULL after saying why. */
static char *
one_of(char *v, const char *const *names, size_t n, const char *why)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return v;
	fprintf(stderr, "copilot-api: %s\n", why);
	free(v);
	return NULL;
}

/* A type: one of types[], or def when given and the answer is empty. */
static char *
ask_type(FILE *in, FILE *out, const char *def)
{
	char *v = ask(in, out, 0, "Select provider type%s%s%s (anthropic, "
	    "openai-compatible, openai-responses)", def ? " (default: " : "",
	    def ? def : "", def ? ")" : "");

	return one_of(or_default(v, def), types, ARRAY_LEN(types),
	    "No provider type selected");
}

/* A baseUrl without trailing slashes (normalizeProviderBaseUrl); def when
 * given and the answer is empty. */
static char *
ask_base_url(FILE *in, FILE *out, const char *def)
{
	char *v;
	size_t n;

	v = def == NULL ? ask(in, out, 0, "Enter provider baseUrl") :
	    or_default(ask(in, out, 0, "Enter provider baseUrl (default: %s)",
	    def), def);
	for (n = v != NULL ? strlen(v) : 0; n > 0 && v[n - 1] == '/'; n--)
		v[n - 1] = '\0';
	return required(v, "baseUrl");
}

/* Custom: x-api-key, authorization, or empty for the type's default
 * (*auth NULL).  -1 after saying why. */
static int
ask_auth(FILE *in, FILE *out, const char *type, char **auth)
{
	static const char *const names[] = { "x-api-key", "authorization" };
	char *v = ask(in, out, 0, "Select provider auth type (default: %s) "
	    "(x-api-key, authorization)", strcmp(type, "anthropic") == 0 ?
	    "x-api-key" : "authorization");

	*auth = NULL;
	if (v != NULL && *v == '\0') {
		free(v);
		return 0;
	}
	*auth = one_of(v, names, ARRAY_LEN(names),
	    "No provider auth type selected");
	return *auth != NULL ? 0 : -1;
}

/* assertCustomProviderName: [A-Za-z0-9][A-Za-z0-9_-]*, not a built-in or
 * preset name. */
static int
custom_name_ok(const char *name)
{
	const char *p;

	if (!isalnum((unsigned char)*name)) {
		fprintf(stderr, "copilot-api: Provider name must start with a "
		    "letter or number and contain only letters, numbers, "
		    "underscores, or hyphens\n");
		return 0;
	}
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return custom_name_ok("");
	if (strcmp(name, "copilot") == 0 || strcmp(name, "codex") == 0) {
		fprintf(stderr, "copilot-api: Provider name '%s' is reserved for a "
		    "builtin provider\n", name);
		return 0;
	}
	return 1;
}

/* providers[name] becomes the entry (buildCustomProviderConfig): type,
 * enabled, baseUrl, apiKey, authType if chosen, pricingCurrency (the
 * preset's, else the existing one), and the existing models. */
static GW_MUST_CHECK enum gw_err
write_entry(cJSON *root, void *arg)
{
	const struct entry *en = arg;
	cJSON *provs = cJSON_GetObjectItemCaseSensitive(root, "providers");
	const cJSON *old;
	cJSON *o;
	const char *cur;
	enum gw_err e;

	if (!cJSON_IsObject(provs)) {
		if ((e = json_set(root, "providers", cJSON_CreateObject())) != GW_OK)
			return e;
		provs = cJSON_GetObjectItemCaseSensitive(root, "providers");
	}
	old = cJSON_GetObjectItemCaseSensitive(provs, en->name);
	cur = en->currency != NULL ? en->currency : json_str(old, "pricingCurrency");
	if ((o = cJSON_CreateObject()) == NULL)
		return GW_ENOMEM;
	if ((e = json_set(o, "type", cJSON_CreateString(en->type))) != GW_OK ||
	    (e = json_set(o, "enabled", cJSON_CreateTrue())) != GW_OK ||
	    (e = json_set(o, "baseUrl", cJSON_CreateString(en->base_url))) !=
	    GW_OK ||
	    (e = json_set(o, "apiKey", cJSON_CreateString(en->api_key))) != GW_OK ||
	    (en->auth_type != NULL && (e = json_set(o, "authType",
	    cJSON_CreateString(en->auth_type))) != GW_OK) ||
	    (cur != NULL && (e = json_set(o, "pricingCurrency",
	    cJSON_CreateString(cur))) != GW_OK) ||
	    (cJSON_IsObject(json_obj(old, "models")) && (e = json_set(o,
	    "models", cJSON_Duplicate(json_obj(old, "models"), 1))) != GW_OK)) {
		cJSON_Delete(o);
		return e;
	}
	return json_set(provs, en->name, o);
}

int
provider_login_main(const char *config_path, const char *name, FILE *in,
    FILE *out)
{
	const struct preset *p = NULL;
	struct entry en;
	struct buf err = BUF_INIT;
	char *custom = NULL;
	size_t i;
	int rc = 1;

	memset(&en, 0, sizeof(en));
	for (i = 0; i < ARRAY_LEN(presets); i++)
		if (strcmp(presets[i].name, name) == 0)
			p = &presets[i];
	if (p != NULL) {
		en.name = p->name;
		en.currency = p->currency;
		if ((en.api_key = required(ask(in, out, 1, "Enter %s apiKey",
		    p->name), "apiKey")) == NULL ||
		    (en.type = p->editable_type ? ask_type(in, out, p->type) :
		    util_strdup(p->type)) == NULL ||
		    (en.base_url = ask_base_url(in, out, p->base_url)) == NULL)
			goto out;
	} else {
		if ((custom = required(ask(in, out, 0, "Enter provider name"),
		    "Provider name")) == NULL || !custom_name_ok(custom))
			goto out;
		en.name = custom;
		if ((en.type = ask_type(in, out, NULL)) == NULL ||
		    (en.base_url = ask_base_url(in, out, NULL)) == NULL ||
		    (en.api_key = required(ask(in, out, 1,
		    "Enter provider apiKey"), "apiKey")) == NULL ||
		    ask_auth(in, out, en.type, &en.auth_type) != 0)
			goto out;
	}
	if (cfg_update_file(config_path, write_entry, &en, &err) != GW_OK) {
		fprintf(stderr, "copilot-api: could not write providers.%s to %s: "
		    "%s\n", en.name, config_path, buf_cstr(&err));
		goto out;
	}
	if (p != NULL)
		fprintf(out, "%s provider '%s' written to %s\n", p->label, p->name,
		    config_path);
	else
		fprintf(out, "Custom provider '%s' written to %s\n", en.name,
		    config_path);
	rc = 0;
out:
	free(custom);
	free(en.type);
	free(en.base_url);
	free(en.api_key);
	free(en.auth_type);
	buf_free(&err);
	return rc;
}

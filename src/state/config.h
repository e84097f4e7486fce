/*
 * config.json: load and validate, environment overrides, derived upstream
 * URLs, and locked atomic read-modify-write of the file.
 *
 * A loaded struct cfg is read-only and may be shared by threads; every
 * pointer an accessor returns is borrowed from it and lives until
 * cfg_free().
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/strlist.h"

enum cfg_account_type {
	CFG_ACCOUNT_INDIVIDUAL,
	CFG_ACCOUNT_BUSINESS,
	CFG_ACCOUNT_ENTERPRISE
};

enum cfg_oauth_app {
	CFG_OAUTH_DEFAULT,
	CFG_OAUTH_OPENCODE
};

enum cfg_provider_type {
	CFG_PROVIDER_ANTHROPIC,          /* "anthropic" (the default) */
	CFG_PROVIDER_OPENAI_COMPATIBLE,  /* "openai-compatible" */
	CFG_PROVIDER_OPENAI_RESPONSES    /* "openai-responses" */
};

enum cfg_auth_type {
	CFG_AUTH_X_API_KEY,      /* x-api-key: <key> */
	CFG_AUTH_AUTHORIZATION,  /* authorization: Bearer <key> */
	CFG_AUTH_OAUTH2          /* codex only: credentials file */
};

/* storage.driver: where the shared state lives (issue 15). */
enum cfg_storage_driver {
	CFG_STORAGE_SQLITE,              /* "sqlite": copilot-api.db (the default) */
	CFG_STORAGE_POSTGRESQL           /* "postgresql": storage.url, via libpq */
};

/* One validated providers.<name> entry (surface.md §7.1). */
struct cfg_provider {
	char *name;                  /* trimmed; never "copilot" */
	enum cfg_provider_type type;
	int enabled;
	char *base_url;              /* trimmed, no trailing slash */
	char *api_key;               /* trimmed; NULL only for codex + oauth2 */
	enum cfg_auth_type auth_type;
	int adjust_input_tokens;
	char *pricing_currency;      /* pricingCurrency upper-cased; NULL/"": none */
	const cJSON *models;         /* borrowed from cfg->root; NULL if absent */
};

#define CFG_MAX_BODY_DEFAULT   33554432L
#define CFG_MAX_BODY_MIN       1024L
#define CFG_MAX_BODY_MAX       1073741824L
#define CFG_MAX_INFLIGHT_DEFAULT 67108864L
#define CFG_MAX_INFLIGHT_MAX   17179869184L

/* accounts.strategy: how a new session picks an account (app/pool.c). */
enum cfg_strategy {
	CFG_STRATEGY_AFFINITY_QUOTA,  /* most premium quota left (default) */
	CFG_STRATEGY_ROUND_ROBIN,     /* the one picked longest ago */
	CFG_STRATEGY_FILL_FIRST,      /* the first healthy one, in order */
};

struct cfg {
	cJSON *root;                 /* the tree as read; defaults when no file */

	struct strlist api_keys;     /* auth.apiKeys, normalised (surface.md §2.2) */
	char *admin_api_key;         /* auth.adminApiKey trimmed; NULL if none */
	/* Open mode only (no api_keys): Host names beside loopback, browser
	 * origins; lower-cased, an origin without a trailing "/". */
	struct strlist allowed_hosts;    /* allowedHosts */
	struct strlist allowed_origins;  /* cors.allowedOrigins */

	struct cfg_provider *providers;  /* valid entries, file order */
	size_t n_providers;

	struct strlist_map model_mappings;    /* valid entries only */
	struct strlist_map extra_prompts;     /* defaults merged under user values */
	struct strlist_map reasoning_efforts; /* likewise */
	struct strlist context_mgmt_models;   /* responsesApiContextManagementModels */
	int context_mgmt_messages;   /* contextManagement.messages (default 1) */
	int context_mgmt_responses;  /* contextManagement.responses (default 0) */
	/* modelResponsesApiCompactThresholds as written (entries validated as
	 * numbers > 0), borrowed from root; NULL if absent. */
	const cJSON *compact_thresholds;

	char *small_model;
	int use_messages_api;
	int use_responses_ws;
	int use_responses_web_search;
	/* messageApiWebSearchModel, trimmed: the model a web-search-only
	 * /v1/messages request is switched to ("provider/model": that
	 * provider); NULL when set to "" (the tool is then stripped). */
	char *web_search_model;
	double claude_token_multiplier;
	char *anthropic_api_key;     /* file value; see cfg_anthropic_api_key() */

	/* upstream.* as written (no trailing slash); NULL = not configured. */
	char *upstream_github_url;
	char *upstream_github_api_url;
	char *upstream_copilot_url;
	char *upstream_codex_auth_url;  /* codex OAuth server; NULL = OpenAI's */
	char *anthropic_api_url;     /* upstream.anthropicApiUrl or default */

	enum cfg_account_type account_type;
	enum cfg_oauth_app oauth_app;
	char *enterprise_domain;     /* normalised enterpriseUrl; NULL if none */

	long max_body_bytes;         /* limits.maxBodyBytes */
	long max_inflight_bytes;     /* limits.maxBodyBytesInFlight */
	long connect_timeout_s;      /* timeouts.connectSeconds */
	long stall_timeout_s;        /* timeouts.stallSeconds, 0 = off */
	long ping_interval_s;        /* timeouts.pingSeconds */
	long rate_limit_s;           /* rateLimit.seconds, 0 = off */
	int rate_limit_wait;         /* rateLimit.wait */
	/* accounts.strategy: CFG_STRATEGY_* (issue 15) */
	int accounts_strategy;
	int metrics_public;          /* metrics.public: /metrics without a key */
	int manual_approval;         /* manualApproval */
	long approval_timeout_s;     /* manualApprovalTimeoutSeconds */
	enum log_level log_level;
	/* storage.driver; storage.url trimmed (a postgresql:// or postgres://
	 * URL libpq accepts), NULL for sqlite.  Read at start only. */
	enum cfg_storage_driver storage_driver;
	char *storage_url;

	/* Derived by cfg_load / cfg_apply_env; read them via the accessors. */
	char *github_url;
	char *github_api_url;
	char *copilot_url;
	int copilot_url_fixed;       /* endpoints.api must not override it */
};

/*
 * Reads and validates path.  A missing or blank file gives the defaults
 * (nothing is written).  GW_ECONFIG with a one-line reason in errmsg (may
 * be NULL) for invalid JSON (line/column), a non-object top level, or a
 * known key of the wrong type or out of range.  Environment overrides are
 * not applied: call cfg_apply_env() next.
 */
GW_MUST_CHECK enum gw_err cfg_load(const char *path, struct cfg **out, struct buf *errmsg);

/* Validates a tree already in memory (copied; root stays the caller's).
 * name prefixes the messages, e.g. "config.json".  Exported for
 * tests/fuzz/fuzz_config.c (the fuzz build links every source, so a harness
 * cannot include the .c). */
GW_MUST_CHECK enum gw_err cfg_from_json(const cJSON *root, const char *name,
    struct cfg **out, struct buf *errmsg);

void cfg_free(struct cfg *cfg);

/* COPILOT_API_ENTERPRISE_URL, COPILOT_API_OAUTH_APP and
 * COPILOT_API_ACCOUNT_TYPE win over the file.  GW_ECONFIG (logged) on an
 * invalid value; the cfg is then unchanged. */
GW_MUST_CHECK enum gw_err cfg_apply_env(struct cfg *cfg);

/* Base URLs without trailing slash.  Explicit upstream.* wins, then the
 * enterprise domain D (https://D, https://api.D, https://copilot-api.D),
 * then the public defaults. */
const char *cfg_github_url(const struct cfg *cfg);
const char *cfg_github_api_url(const struct cfg *cfg);
/* The Copilot base to use given endpoints.api from copilot_internal/user
 * (may be NULL): explicit > enterprise > opencode > endpoints_api > type. */
const char *cfg_copilot_url(const struct cfg *cfg, const char *endpoints_api);

/* anthropicApiKey from the file, else $ANTHROPIC_API_KEY; NULL if neither. */
const char *cfg_anthropic_api_key(const struct cfg *cfg);

/* Exact-match lookups. */
const char *cfg_model_mapping(const struct cfg *cfg, const char *model);
/* modelReasoningEfforts[model], else 1.14.7's default: "xhigh" from
 * gpt-5.3 on (gpt-5.3*, gpt-5.4*, gpt-6*, ...), "high" otherwise.  Never
 * NULL.  A client's output_config.effort wins over it (translate/). */
const char *cfg_reasoning_effort(const struct cfg *cfg, const char *model);
/* extraPrompts[model] (defaults merged under user values), else 1.14.7's
 * default: our commentary prompt from gpt-5.3 on; NULL for none. */
const char *cfg_extra_prompt(const struct cfg *cfg, const char *model);
/* Whether Copilot's server-side compaction (context_management) applies
 * to a request of model on /v1/messages (responses = 0) or /v1/responses
 * (responses = 1): contextManagement.messages / .responses, or model listed
 * in the 1.10.10 key responsesApiContextManagementModels, still honoured. */
int cfg_context_mgmt(const struct cfg *cfg, int responses, const char *model);
/* modelResponsesApiCompactThresholds[model], user entries over 1.14.7's
 * defaults (gpt-5.4, gpt-5.5, gpt-5.6-sol/-terra/-luna); 0 for none. */
double cfg_compact_threshold(const struct cfg *cfg, const char *model);
/* An enabled provider by name (trimmed); NULL for unknown, disabled,
 * invalid or "copilot". */
const struct cfg_provider *cfg_provider_find(const struct cfg *cfg,
    const char *name);
/*
 * The provider as it serves model (1.14.7 resolveEffectiveProviderType):
 * p itself, unless providers.<p>.models.<model>.type names a supported
 * type other than p's (an unknown one is ignored, warned at load); then
 * *tmp, a copy of p with that type; an anthropic override also takes
 * anthropic's default authType (x-api-key, whatever p's authType says),
 * the others keep p's, as 1.14.7's handlers do.  The built-in codex
 * provider (oauth2) is never overridden.
 */
const struct cfg_provider *cfg_provider_for_model(const struct cfg_provider *p,
    const char *model, struct cfg_provider *tmp);

/*
 * Locked read-modify-write of path (exclusive flock on <path>.lock).  The
 * file is re-read (missing or blank → {}); if it does not parse or its top
 * level is not an object, GW_ECONFIG and the file is left alone.  mutate
 * edits the tree in place; the result must validate as a cfg, else nothing
 * is written.  Written atomically (0600, 2-space JSON + newline, key order
 * and unknown keys kept), and only when the tree actually changed.
 */
GW_MUST_CHECK enum gw_err cfg_update_file(const char *path,
    enum gw_err (*mutate)(cJSON *root, void *arg), void *arg,
    struct buf *errmsg);

/*
 * Startup step (surface.md §5.3): a missing, non-string or blank
 * auth.adminApiKey becomes 64 random hex chars, a padded one is trimmed,
 * missing default extraPrompts / modelReasoningEfforts entries, the
 * contextManagement flags and modelResponsesApiCompactThresholds entries are
 * added (user values kept).  A missing or blank file is created with all the
 * defaults.  Writes only when something changed.
 */
GW_MUST_CHECK enum gw_err cfg_ensure_admin_key(const char *path, struct buf *errmsg);

/* Replaces modelMappings with mappings ({"src":"dst",...}, both trimmed and
 * non-empty, else GW_EINVAL with the reference message). */
GW_MUST_CHECK enum gw_err cfg_set_model_mappings(const char *path, const cJSON *mappings,
    struct buf *errmsg);

#endif

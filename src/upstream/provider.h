/*
 * Third-party providers (spec surface.md §7): the headers and URL of a
 * provider call and the per-model options.  No I/O: the routes send what
 * these build through the relay.  The payload each provider type is sent
 * is translate/provider.h's.
 *
 * Per-model options come from providers.<name>.models.<model id>:
 * temperature, topP, topK, extraBody, contextCache, supportPdf,
 * toolContentSupportType.  Pure functions on the read-only config: safe
 * from any thread.
 */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strlist.h"
#include "state/config.h"

/* Client headers a provider call may carry (NULL: absent).  Nothing else
 * of the client's request is forwarded: never its API key. */
struct prov_inbound {
	const char *accept;
	const char *user_agent;
	const char *anthropic_version;  /* anthropic type only */
	const char *anthropic_beta;     /* anthropic type only */
};

/*
 * content-type and accept application/json, the provider's key
 * (x-api-key: K, or authorization: Bearer K), then the client's accept
 * (replacing ours) and user-agent, and for the anthropic type its
 * anthropic-version and anthropic-beta.  A value holding CR, LF or NUL is
 * refused: GW_ECONFIG for the configured key, GW_EINVAL for a client
 * header, with the reason in errmsg.  The key must be set (not codex's
 * oauth2): GW_ECONFIG otherwise.
 */
GW_MUST_CHECK enum gw_err prov_headers(const struct cfg_provider *p,
    const struct prov_inbound *in, struct strlist *out, struct buf *errmsg);

/* {baseUrl}{path}, path like "/v1/messages". */
GW_MUST_CHECK enum gw_err prov_url(const struct cfg_provider *p, const char *path,
    struct buf *out);

/* providers.<name>.models[model] when it is an object, else NULL;
 * borrowed from the config. */
const cJSON *prov_model_options(const struct cfg_provider *p,
    const char *model);

/* A DashScope (Alibaba Cloud) provider: named "dashscope", or its
 * baseUrl is on aliyuncs.com. */
int prov_is_dashscope(const struct cfg_provider *p);

#endif

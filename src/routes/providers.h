/*
 * Third-party providers (routes/providers.c): /:provider/v1/messages,
 * /:provider/v1/messages/count_tokens, /:provider/v1/models,
 * /:provider/v1/responses, the Codex Images and alpha search routes, and the
 * "provider/model" aliases the Copilot routes hand over.
 */
#ifndef GW_ROUTES_PROVIDERS_H
#define GW_ROUTES_PROVIDERS_H

#include <cjson/cJSON.h>

#include "routes/common.h"

void route_provider_messages(struct rctx *r);
void route_provider_count_tokens(struct rctx *r);
void route_provider_models(struct rctx *r);
void route_provider_responses(struct rctx *r);
/* POST /v1/images/generations, /v1/images/edits (and without /v1): the
 * Codex Images backend through the built-in codex provider (1.14.7). */
void route_images_generations(struct rctx *r);
void route_images_edits(struct rctx *r);
/* POST /v1/alpha/search (and without /v1): the body and query relayed to
 * the Codex backend's search through the codex provider (1.14.7). */
void route_alpha_search(struct rctx *r);

/* The provider/model aliases: /v1/messages hands over its parsed body
 * (still the caller's) with the alias already stripped from "model"; the
 * others return 1 when the body's model was an alias and the request has
 * been answered.  /v1/chat/completions takes openai-compatible providers
 * only, /v1/responses (and POST /:provider/v1/responses) openai-responses
 * ones; another type is a 400 saying so. */
void route_provider_alias_messages(struct rctx *r, const char *provider,
    cJSON *body);
int route_provider_alias_count_tokens(struct rctx *r, cJSON *body);
int route_provider_alias_responses(struct rctx *r, cJSON *body);
int route_provider_alias_chat(struct rctx *r, cJSON *body);

/*
 * GET /v1/models's provider part (1.14.7): every enabled provider's
 * models, in config order, appended to data as "provider/id" entries (the
 * codex provider's fixed list once signed in).  A provider whose list
 * cannot be had is skipped and logged.  GW_ENOMEM only.
 */
GW_MUST_CHECK enum gw_err route_provider_models_append(struct rctx *r,
    cJSON *data);
/* GET /v1/models from a Codex client (user-agent "codex…", 1.14.7): the
 * Codex backend's own list relayed; 0 (nothing answered) for another
 * client. */
int route_provider_codex_models(struct rctx *r);

#endif

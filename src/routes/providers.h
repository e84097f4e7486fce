/*
 * Third-party providers (routes/providers.c): /:provider/v1/messages,
 * /:provider/v1/messages/count_tokens, /:provider/v1/models, the Codex
 * Images routes, and the
 * "provider/model" aliases the Copilot routes hand over.
 */
#ifndef GW_ROUTES_PROVIDERS_H
#define GW_ROUTES_PROVIDERS_H

#include <cjson/cJSON.h>

#include "routes/common.h"

void route_provider_messages(struct rctx *r);
void route_provider_count_tokens(struct rctx *r);
void route_provider_models(struct rctx *r);
/* POST /v1/images/generations, /v1/images/edits (and without /v1): the
 * Codex Images backend through the built-in codex provider (1.14.7). */
void route_images_generations(struct rctx *r);
void route_images_edits(struct rctx *r);

/* The provider/model aliases: /v1/messages hands over its parsed body
 * (still the caller's) with the alias already stripped from "model"; the
 * other two return 1 when the body's model was an alias and the request
 * has been answered. */
void route_provider_alias_messages(struct rctx *r, const char *provider,
    cJSON *body);
int route_provider_alias_count_tokens(struct rctx *r, cJSON *body);
int route_provider_alias_responses(struct rctx *r, cJSON *body);

#endif

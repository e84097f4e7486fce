/* OpenAI-client routes relayed to Copilot: GET /v1/models, POST
 * /v1/chat/completions, POST /v1/embeddings (routes/openai.c). */
#ifndef GW_ROUTES_OPENAI_H
#define GW_ROUTES_OPENAI_H

#include "routes/common.h"

void route_models(struct rctx *r);
void route_chat(struct rctx *r);
void route_embeddings(struct rctx *r);

#endif

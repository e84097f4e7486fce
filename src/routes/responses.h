/* POST /v1/responses: OpenAI Responses clients on Copilot
 * (routes/responses.c). */
#ifndef GW_ROUTES_RESPONSES_H
#define GW_ROUTES_RESPONSES_H

#include "routes/common.h"

void route_responses(struct rctx *r);

#endif

/* POST /v1/messages and /v1/messages/count_tokens: Anthropic clients on
 * Copilot (routes/messages.c). */
#ifndef GW_ROUTES_MESSAGES_H
#define GW_ROUTES_MESSAGES_H

#include "routes/common.h"

void route_messages(struct rctx *r);
void route_count_tokens(struct rctx *r);

#endif

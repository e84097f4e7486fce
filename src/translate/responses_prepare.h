/*
 * The rewrites /v1/responses applies before relaying a client's Responses
 * request to Copilot (spec/translation.md §10.2, surface.md §2.8): pure,
 * on the parsed body.
 */
#ifndef GW_TR_RESPONSES_PREPARE_H
#define GW_TR_RESPONSES_PREPARE_H

#include <cjson/cJSON.h>

#include "core/err.h"
#include "translate/responses.h"

struct tr_responses_prepare_opts {
	const cJSON *model;          /* the Copilot model entry (limits, supports) */
	int keep_web_search;         /* useResponsesApiWebSearch */
	struct tr_resp_compact compact; /* ratio TR_RESP_COMPACT_RATIO_RESPONSES */
};

/*
 * In order: image_generation tools and the image_gen namespace dropped
 * (web_search too unless kept),
 * data-URL images over the model's limits.vision.max_prompt_image_size
 * replaced by a small "too large" placeholder (detail low, file_id
 * dropped), service_tier removed, then tr_responses_context_management()
 * (compaction added and the input trimmed, as configured).
 * Nothing else changes: reasoning is the client's (modelReasoningEfforts
 * does not apply here, as in the reference).
 * Returns GW_OK, or GW_ENOMEM when a rewrite cannot be made (body is then
 * partly rewritten and must not be sent).
 */
GW_MUST_CHECK enum gw_err tr_responses_prepare(cJSON *body,
    const struct tr_responses_prepare_opts *o);

#endif

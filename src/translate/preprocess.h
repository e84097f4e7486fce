/*
 * The /v1/messages preprocessing pipeline on the Copilot path (translation
 * spec §1, §2, §8, §9): pure functions over a parsed Anthropic payload.
 * No I/O and no config reading: config values come in through pp_opts.
 *
 * pp_messages() runs the steps in the reference's order; the steps only it
 * calls are static (tests include preprocess.c to reach them).  Functions
 * that mutate may leave the payload half rewritten when they fail with
 * GW_ENOMEM; the request is dead then anyway.
 */
#ifndef GW_TR_PREPROCESS_H
#define GW_TR_PREPROCESS_H

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/err.h"

#define PP_DEFAULT_SMALL_MODEL "gpt-5-mini"

enum pp_compact {
	PP_COMPACT_NONE = 0,
	PP_COMPACT_REQUEST = 1,    /* "summarise the conversation" turn */
	PP_COMPACT_CONTINUE = 2    /* first turn after a compaction */
};

/* The SubagentStart hook marker (§9.2); all NULL when there is none. */
struct pp_subagent {
	char *session_id;
	char *agent_id;
	char *agent_type;
};

struct pp_result {
	/* Set when the (mapped) model is "provider/model" (§1 step 3): the
	 * payload's model is now the provider's model, nothing else was done,
	 * and the request belongs to that provider.  All fields below are
	 * then unset. */
	char *provider;

	enum pp_compact compact;
	struct pp_subagent subagent;
	char *session_id;        /* getUUID(root session) → x-interaction-id, or NULL */
	char *raw_session_id;    /* session from metadata.user_id, trimmed: the
	                          * usage row's session (fall back to session_id) */
	char *request_id;        /* x-request-id / x-agent-task-id (§9.3) */
	int warmup;              /* model was replaced by the small model */
	int has_images;          /* copilot-vision-request for the Messages flow */
	const char *initiator;   /* native Messages "user"/"agent" before the
	                          * subagent/compact overrides (static string) */
};

struct pp_opts {
	const char *model_mapping;  /* config modelMappings[model], or NULL */
	const char *small_model;    /* config smallModel; NULL/"" → gpt-5-mini */
	int anthropic_beta_present; /* the request had a non-empty anthropic-beta */
	const char *x_session_id;   /* request header x-session-id, or NULL */
	const char *machine_id;     /* vscode-machineid (SHA-256 hex of a MAC) */
	int token_based_billing;    /* the account is billed by token (1.14.7):
	                             * steps 11-14 are skipped */
};

/*
 * The whole pipeline, in place, in the order of §1: validate, model
 * mapping (2), provider alias (3, stops there), normalizeSystemMessages (4),
 * sanitizeIdeTools (6), subagent marker (7), session id (8), compact type
 * (9), warmup/small model (10), cache_control capture (11),
 * stripToolReferenceTurnBoundary (12), mergeToolResultForClaude (13),
 * applyLastMessageCacheControl (14; 11-14 not for an account billed by
 * token, whose requests are not counted per turn), request id (15); then the vision and
 * native initiator facts of the final payload.  Rate limiting (5) is the
 * caller's.  GW_EINVAL with a client-facing message in errmsg when the
 * payload is not a usable Anthropic request.  res is zeroed first; free it
 * with pp_result_free() whatever the outcome.
 */
GW_MUST_CHECK enum gw_err pp_messages(cJSON *payload, const struct pp_opts *o,
    struct pp_result *res, struct buf *errmsg);
void pp_result_free(struct pp_result *r);

/* Shape checks the pipeline relies on (objects where it walks, strings
 * where it reads text); the message names the offending path. */
GW_MUST_CHECK enum gw_err pp_validate(const cJSON *payload, struct buf *errmsg);

/* "prov/model" → provider "prov", model "model" (split at the first '/',
 * both parts trimmed and non-empty).  GW_OK with *provider NULL when model
 * is not such an alias. */
GW_MUST_CHECK enum gw_err pp_provider_alias(const char *model, char **provider,
    char **provider_model);

/* §2.1: first stabilises Claude Code's billing header (1.11.6: when system,
 * a string or its first block's text, starts "x-anthropic-billing-header:",
 * its first "cch=<hash>;" becomes "cch=<stable>;" so the prompt cache keeps
 * hitting), then folds role:"system" entries of messages into system or the
 * preceding user turn; drops those that follow an assistant turn. */
GW_MUST_CHECK enum gw_err pp_normalize_system(cJSON *payload);

/* §9.3 parseUserIdMetadata: legacy "user_<X>_account…_session_<Y>" first,
 * then a JSON object {device_id|account_uuid, session_id}.  Either output
 * may be NULL when not found; pass NULL for what you do not need. */
GW_MUST_CHECK enum gw_err pp_parse_user_id(const char *user_id, char **safety_id,
    char **session_id);

/* §8: the x-initiator after the overrides: a subagent marker or any compact
 * type makes it "agent". */
const char *pp_final_initiator(const char *base, const struct pp_result *r);

#endif

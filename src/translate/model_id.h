/*
 * Anthropic SDK model ids → Copilot model ids (translation spec §3.1).
 *
 * Claude Code and the Anthropic SDKs name models "claude-opus-4-7-20250514"
 * or "claude-3-5-sonnet-20241022"; Copilot lists "claude-opus-4.7" and
 * "claude-sonnet-3.5".  Everything here is pure and allocation-free.
 */
#ifndef GW_TR_MODEL_ID_H
#define GW_TR_MODEL_ID_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest id the normaliser looks at; longer ids are never recognised. */
#define TR_MODEL_ID_MAX 255

/*
 * Writes "claude-<family>-<version>" for an SDK id into out (lower case,
 * date suffix dropped): claude-opus-4-7-20250514 → claude-opus-4.7,
 * claude-3-5-sonnet-20241022 → claude-sonnet-3.5, claude-sonnet-4-20250514
 * → claude-sonnet-4, claude-haiku-4.5 → claude-haiku-4.5.  Returns 1 when
 * the id matched one of the five patterns and fit in out, else 0 (out is
 * then "").  "[1m]" suffixes and non-Claude ids never match.
 * Exported for tests/fuzz/fuzz_preprocess.c (the fuzz build links every
 * source, so a harness cannot include the .c).
 */
int tr_model_normalize(const char *id, char *out, size_t outsz);

/*
 * The id /v1/models shows a client (1.14.7's toClientModelId, which
 * Claude Code and Claude Desktop recognise): a Claude id normalised as
 * above with its version's dots as hyphens (claude-sonnet-4.6 →
 * claude-sonnet-4-6, claude-opus-4-5-20251101 → claude-opus-4-5), any
 * other id as is (truncated to outsz).
 */
void tr_model_client_id(const char *id, char *out, size_t outsz);

/* 1 when id normalises to a Claude version >= major.minor. */
int tr_model_version_at_least(const char *id, long major, long minor);

/*
 * The Copilot model entry for a requested id: the entry whose "id" equals
 * id exactly, else the one equal to the normalised id, else NULL.  models
 * is the array of entries, or the whole /models document ({"data":[...]}).
 * Borrowed from models.
 */
const cJSON *tr_model_resolve(const cJSON *models, const char *id);
/*
 * "<id>[1m]" resolves (above) to <id>'s entry only when that entry's
 * capabilities.limits.max_context_window_tokens is at least this; for
 * another, tr_model_1m_base gives the entry all the same (so that the
 * caller can say why it refuses), NULL for ids without the suffix.
 */
#define TR_MODEL_1M_TOKENS 1000000L
const cJSON *tr_model_1m_base(const cJSON *models, const char *id);
/* capabilities.limits.max_context_window_tokens, 0 when absent. */
long tr_model_context_window(const cJSON *entry);

#endif

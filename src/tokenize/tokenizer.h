/*
 * BPE tokenizer for OpenAI's o200k_base and cl100k_base encodings, giving
 * the same ids as the reference's tokenizer, gpt-tokenizer 4.0.0.  That is
 * tiktoken's output except for three corners where gpt-tokenizer differs
 * and we follow it: JavaScript's \s (U+FEFF is a space, U+0085 is not),
 * ASCII-only caseless contractions ("'ſ" is not one), and spans that begin
 * with U+FEFF (see bpe.c).  Letters added after Unicode 14 (PCRE2 10.42's
 * tables) split differently from newer engines.
 *
 * Tables are loaded on first use from <share>/tokenizer/<name>.tiktoken,
 * <share> found as core/share.h says ($COPILOT_API_SHARE_DIR when set).
 * All functions are thread-safe.
 *
 * Text is UTF-8.  Special-token text such as "<|endoftext|>" is encoded as
 * ordinary text.  Bytes that are not valid UTF-8 never crash: each run of
 * them becomes a piece of its own and is encoded byte-wise, so decoding
 * gives the input back.
 */
#ifndef GW_TOKENIZER_H
#define GW_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum tok_encoding { TOK_O200K, TOK_CL100K };

/* "o200k_base" / "cl100k_base"; anything else (NULL too) is o200k_base,
 * like the reference's fallback. */
enum tok_encoding tok_encoding_for_name(const char *name);

/* tok_load, tok_encode and tok_decode have no caller in the gateway (it
 * only counts); they stay exported for tests/fuzz/fuzz_tokenize.c, whose
 * build links every source and so cannot include tokenizer.c. */

/* Loads the encoding now (optional: every call loads on demand).  GW_EIO,
 * with the paths tried in the log, when no usable table is found. */
GW_MUST_CHECK enum gw_err tok_load(enum tok_encoding enc);

/* *ids is malloc'd (NULL when *n is 0); the caller frees it. */
GW_MUST_CHECK enum gw_err tok_encode(enum tok_encoding enc, const char *text, size_t len,
    uint32_t **ids, size_t *n);
/* Number of tokens tok_encode would give, without building the ids. */
GW_MUST_CHECK enum gw_err tok_count(enum tok_encoding enc, const char *text, size_t len,
    size_t *n);
/* Bytes of the ids, NUL-terminated, malloc'd.  GW_EINVAL on an unknown id. */
GW_MUST_CHECK enum gw_err tok_decode(enum tok_encoding enc, const uint32_t *ids, size_t n,
    char **text, size_t *len);

#endif

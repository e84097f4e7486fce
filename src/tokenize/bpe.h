/*
 * Byte-pair-encoding rank table and merge (internal to src/tokenize).
 *
 * A table maps token bytes to ranks (ids); the merge turns one pre-token
 * piece into ids by repeatedly joining the adjacent pair whose joined bytes
 * have the lowest rank, leftmost first, exactly as tiktoken does.
 */
#ifndef GW_TOK_BPE_H
#define GW_TOK_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TOK_NO_RANK UINT32_MAX

/* A named token outside the rank file, such as "<|endoftext|>". */
struct tok_special {
	const char *text;
	uint32_t id;
};

struct tok_bpe;

/*
 * Parses a ".tiktoken" file (lines "base64 SP rank").  GW_ENOTFOUND when
 * the file does not exist, GW_EIO when it cannot be read or is malformed
 * (the reason is logged with the path).  Specials are only decoded, never
 * produced by tok_bpe_encode.
 */
GW_MUST_CHECK enum gw_err tok_bpe_load(const char *path, const struct tok_special *sp,
    size_t nsp, struct tok_bpe **out);
void tok_bpe_free(struct tok_bpe *b);

/* 1 when p[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
int tok_utf8_valid(const void *p, size_t n);

/* Bytes of an id (special ids included); NULL when the id is unused. */
const uint8_t *tok_bpe_bytes(const struct tok_bpe *b, uint32_t id, size_t *n);

/*
 * Encodes one piece.  ids, when not NULL, must have room for n entries;
 * *count gets the number of tokens.  Merging follows gpt-tokenizer, which
 * differs from tiktoken only on spans that start with U+FEFF (bpe.c).  Pieces longer than a few dozen bytes
 * use a heap so that one long run costs O(n log n), not O(n^2).
 */
GW_MUST_CHECK enum gw_err tok_bpe_encode(const struct tok_bpe *b, const void *p, size_t n,
    uint32_t *ids, size_t *count);

#endif

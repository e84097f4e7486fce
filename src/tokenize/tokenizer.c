/*
 * The o200k_base / cl100k_base tokenizers: pre-tokenizing regexes over
 * the BPE tables, ids as gpt-tokenizer gives them (contract in tokenizer.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/share.h"
#include "tokenize/bpe.h"
#include "tokenize/tokenizer.h"

/*
 * The split patterns are tiktoken's, with two changes so that the pieces
 * are those of the reference (gpt-tokenizer, running in V8):
 *  - \s is JavaScript's set (it has U+FEFF and lacks U+0085);
 *  - contractions are ASCII-caseless ([sS]...), so "'ſ" is not one.
 * Possessive quantifiers are the ones tiktoken uses; they do not change
 * the result, only the backtracking.
 */
#define WS_CHARS "\\t\\n\\x0B\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
	"\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"
#define WS "[" WS_CHARS "]"
#define NOT_WS "[^" WS_CHARS "]"
#define CONTRACTION "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])"
#define UPPERISH "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define LOWERISH "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"

static const char cl100k_pattern[] =
	CONTRACTION
	"|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++"
	"|\\p{N}{1,3}+"
	"| ?[^" WS_CHARS "\\p{L}\\p{N}]++[\\r\\n]*+"
	"|" WS "++\\z"
	"|" WS "*[\\r\\n]"
	"|" WS "+(?!" NOT_WS ")"
	"|" WS;

static const char o200k_pattern[] =
	"[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "*" LOWERISH "+(?:" CONTRACTION ")?"
	"|[^\\r\\n\\p{L}\\p{N}]?" UPPERISH "+" LOWERISH "*(?:" CONTRACTION ")?"
	"|\\p{N}{1,3}"
	"| ?[^" WS_CHARS "\\p{L}\\p{N}]+[\\r\\n/]*"
	"|" WS "*[\\r\\n]+"
	"|" WS "+(?!" NOT_WS ")"
	"|" WS "+";

static const struct tok_special o200k_specials[] = {
	{ "<|endoftext|>", 199999 },
	{ "<|endofprompt|>", 200018 },
};

static const struct tok_special cl100k_specials[] = {
	{ "<|endoftext|>", 100257 },
	{ "<|fim_prefix|>", 100258 },
	{ "<|fim_middle|>", 100259 },
	{ "<|fim_suffix|>", 100260 },
	{ "<|endofprompt|>", 100276 },
};

struct enc_def {
	const char *name;
	const char *pattern;
	const struct tok_special *specials;
	size_t nspecials;
};

static const struct enc_def defs[] = {
	[TOK_O200K] = { "o200k_base", o200k_pattern, o200k_specials,
	    sizeof(o200k_specials) / sizeof(o200k_specials[0]) },
	[TOK_CL100K] = { "cl100k_base", cl100k_pattern, cl100k_specials,
	    sizeof(cl100k_specials) / sizeof(cl100k_specials[0]) },
};

struct tok_enc {
	struct tok_bpe *bpe;
	pcre2_code *re;
	pcre2_match_context *mctx;
	int jit;
};

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct tok_enc *) loaded[2];

enum tok_encoding
tok_encoding_for_name(const char *name)
{
	if (name != NULL && strcmp(name, "cl100k_base") == 0)
		return TOK_CL100K;
	return TOK_O200K;
}

/* The table's name; no caller in the gateway (test_tokenize.c and
 * bench_tokenize.c include this file to reach it). */
static __attribute__((unused)) const char *
tok_encoding_name(enum tok_encoding enc)
{
	return defs[enc == TOK_CL100K ? TOK_CL100K : TOK_O200K].name;
}

static void
enc_free(struct tok_enc *e)
{
	if (e == NULL)
		return;
	tok_bpe_free(e->bpe);
	pcre2_code_free(e->re);
	pcre2_match_context_free(e->mctx);
	free(e);
}

static GW_MUST_CHECK enum gw_err
compile_pattern(const struct enc_def *d, struct tok_enc *e)
{
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE at;
	int rc;

	e->re = pcre2_compile((PCRE2_SPTR)d->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &rc, &at, NULL);
	if (e->re == NULL) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		log_error("tokenizer: %s split pattern at %zu: %s", d->name,
		    (size_t)at, (const char *)msg);
		return GW_EINTERNAL;
	}
	/* without JIT (some architectures) the interpreter gives the same pieces */
	e->jit = pcre2_jit_compile(e->re, PCRE2_JIT_COMPLETE) == 0;
	/* A whitespace run backtracks once per byte before the next
	 * alternative takes it: linear work, but past the default limit of
	 * 10M steps for runs of megabytes. */
	if ((e->mctx = pcre2_match_context_create(NULL)) == NULL)
		return GW_ENOMEM;
	pcre2_set_match_limit(e->mctx, UINT32_MAX);
	return GW_OK;
}

/* The first share/tokenizer/<name>.tiktoken found (core/share.h); a
 * table that is there but unusable is an error, not a reason to look on. */
static GW_MUST_CHECK enum gw_err
find_table(const struct enc_def *d, struct tok_bpe **out)
{
	struct buf tried = BUF_INIT, rel = BUF_INIT, path = BUF_INIT;
	enum gw_err err;

	if (buf_printf(&rel, "tokenizer/%s.tiktoken", d->name) != GW_OK) {
		err = GW_ENOMEM;
		goto out;
	}
	if ((err = share_find(rel.data, &path, &tried)) != GW_OK)
		goto out;
	if ((err = tok_bpe_load(path.data, d->specials, d->nspecials, out)) == GW_OK)
		log_debug("tokenizer: loaded %s", path.data);
out:
	if (err == GW_ENOTFOUND)
		log_error("tokenizer: no %s table; tried %s (set COPILOT_API_SHARE_DIR "
		    "to the share directory)", d->name, buf_cstr(&tried));
	else if (err != GW_OK && err != GW_ENOMEM)
		log_error("tokenizer: %s table unusable (%s)", d->name,
		    buf_cstr(&path));
	buf_free(&tried);
	buf_free(&rel);
	buf_free(&path);
	if (err == GW_ENOTFOUND)
		err = GW_EIO;
	return err;
}

static GW_MUST_CHECK enum gw_err
get_enc(enum tok_encoding enc, const struct tok_enc **out)
{
	int k = enc == TOK_CL100K ? TOK_CL100K : TOK_O200K;
	struct tok_enc *e = atomic_load_explicit(&loaded[k], memory_order_acquire);
	enum gw_err err = GW_OK;

	if (e != NULL) {
		*out = e;
		return GW_OK;
	}
	pthread_mutex_lock(&load_mu);
	if ((e = atomic_load_explicit(&loaded[k], memory_order_relaxed)) != NULL)
		goto out;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		err = GW_ENOMEM;
		goto out;
	}
	if ((err = compile_pattern(&defs[k], e)) != GW_OK ||
	    (err = find_table(&defs[k], &e->bpe)) != GW_OK) {
		enc_free(e);
		e = NULL;
		goto out;
	}
	atomic_store_explicit(&loaded[k], e, memory_order_release);
out:
	pthread_mutex_unlock(&load_mu);
	*out = e;
	return err;
}

enum gw_err
tok_load(enum tok_encoding enc)
{
	const struct tok_enc *e;

	return get_enc(enc, &e);
}

/* Frees the loaded tables (at exit, for leak checkers); not safe while
 * other threads still use the tokenizer.  The gateway never calls it; tests
 * and the bench include this file to reach it. */
static __attribute__((unused)) void
tok_shutdown(void)
{
	int k;

	pthread_mutex_lock(&load_mu);
	for (k = 0; k < 2; k++)
		enc_free(atomic_exchange(&loaded[k], NULL));
	pthread_mutex_unlock(&load_mu);
}

/* Where the ids go: counted only (ids == NULL) or collected. */
struct sink {
	int want_ids;
	uint32_t *ids;
	size_t n, cap;
};

static GW_MUST_CHECK enum gw_err
add_piece(const struct tok_enc *e, const char *p, size_t len, struct sink *s)
{
	size_t c = 0, cap;
	uint32_t *v;
	enum gw_err err;

	if (!s->want_ids) {
		err = tok_bpe_encode(e->bpe, p, len, NULL, &c);
		s->n += c;
		return err;
	}
	if (s->cap - s->n < len) {
		cap = s->cap > 0 ? s->cap : 64;
		while (cap - s->n < len)
			cap *= 2;
		if ((v = realloc(s->ids, cap * sizeof(*v))) == NULL)
			return GW_ENOMEM;
		s->ids = v;
		s->cap = cap;
	}
	err = tok_bpe_encode(e->bpe, p, len, s->ids + s->n, &c);
	s->n += c;
	return err;
}

static int
next_match(const struct tok_enc *e, const char *text, size_t len, size_t at,
    pcre2_match_data *md)
{
	int rc = PCRE2_ERROR_JIT_STACKLIMIT;

	if (e->jit)
		rc = pcre2_jit_match(e->re, (PCRE2_SPTR)text, len, at, 0, md, e->mctx);
	/* the interpreter keeps its backtracking on the heap: no stack limit */
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(e->re, (PCRE2_SPTR)text, len, at, PCRE2_NO_JIT, md,
		    e->mctx);
	return rc;
}

/*
 * Splits text into pieces and encodes each.  Every valid UTF-8 character
 * is matched by some alternative of the pattern, so a gap between matches
 * holds only invalid bytes: it is encoded as a piece of its own.
 */
static GW_MUST_CHECK enum gw_err
run(enum tok_encoding enc, const char *text, size_t len, struct sink *s)
{
	const struct tok_enc *e;
	pcre2_match_data *md = NULL;
	PCRE2_SIZE *ov;
	size_t at = 0, start, end;
	enum gw_err err;
	int rc;

	if ((err = get_enc(enc, &e)) != GW_OK)
		return err;
	if (len == 0)
		return GW_OK;
	if ((md = pcre2_match_data_create(1, NULL)) == NULL)
		return GW_ENOMEM;
	while (at < len) {
		rc = next_match(e, text, len, at, md);
		if (rc == PCRE2_ERROR_NOMATCH) {
			start = end = len;
		} else if (rc < 0) {
			log_error("tokenizer: split failed at byte %zu (pcre2 error %d)", at, rc);
			err = GW_EINTERNAL;
			goto out;
		} else {
			ov = pcre2_get_ovector_pointer(md);
			start = ov[0];
			end = ov[1];
			if (end <= start || start < at) {
				err = GW_EINTERNAL;   /* no alternative matches empty */
				goto out;
			}
		}
		if (start > at && (err = add_piece(e, text + at, start - at, s)) != GW_OK)
			goto out;
		if (end > start && (err = add_piece(e, text + start, end - start, s)) != GW_OK)
			goto out;
		at = end;
	}
out:
	pcre2_match_data_free(md);
	return err;
}

enum gw_err
tok_encode(enum tok_encoding enc, const char *text, size_t len, uint32_t **ids,
    size_t *n)
{
	struct sink s = { 1, NULL, 0, 0 };
	enum gw_err err = run(enc, text, len, &s);

	if (err != GW_OK) {
		free(s.ids);
		*ids = NULL;
		*n = 0;
		return err;
	}
	*ids = s.ids;
	*n = s.n;
	return GW_OK;
}

enum gw_err
tok_count(enum tok_encoding enc, const char *text, size_t len, size_t *n)
{
	struct sink s = { 0, NULL, 0, 0 };
	enum gw_err err = run(enc, text, len, &s);

	*n = err == GW_OK ? s.n : 0;
	return err;
}

enum gw_err
tok_decode(enum tok_encoding enc, const uint32_t *ids, size_t n, char **text,
    size_t *len)
{
	const struct tok_enc *e;
	const uint8_t *p;
	struct buf b = BUF_INIT;
	enum gw_err err;
	size_t i, l;

	*text = NULL;
	*len = 0;
	if ((err = get_enc(enc, &e)) != GW_OK)
		return err;
	if ((err = buf_reserve(&b, 1)) != GW_OK)
		return err;
	for (i = 0; i < n; i++) {
		if ((p = tok_bpe_bytes(e->bpe, ids[i], &l)) == NULL) {
			err = GW_EINVAL;
			goto out;
		}
		if ((err = buf_append(&b, p, l)) != GW_OK)
			goto out;
	}
	*len = b.len;
	*text = buf_detach(&b);
out:
	buf_free(&b);
	return err;
}

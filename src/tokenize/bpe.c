/*
 * Byte-pair encoding: loading a rank table and merging one pre-token into
 * ids (contract in bpe.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "tokenize/bpe.h"

/* Tokens in the published tables are at most 128 bytes; anything much
 * longer means a corrupt file. */
#define MAX_TOKEN_LEN 1024
#define MAX_ID (1u << 24)
/* Pieces up to this length merge with stack arrays and a linear scan per
 * step (tiktoken's method); longer ones use the heap. */
#define SCAN_STACK 64

/* id1 = id + 1 (0: empty slot); tag = high hash bits, checked before the
 * bytes so that a miss rarely touches the token blob. */
struct tok_slot {
	uint32_t id1;
	uint32_t tag;
};

struct tok_bpe {
	uint8_t *blob;             /* all token bytes, back to back */
	uint32_t *off;             /* id -> offset in blob */
	uint16_t *len;             /* id -> length; 0 for an unused id */
	uint32_t nids;             /* largest id + 1 */
	struct tok_slot *slots;    /* open addressing, linear probing */
	uint32_t mask;
	uint32_t max_len;          /* longest ordinary token */
	uint32_t byte_rank[256];
	uint32_t *pair_rank;       /* 65536 two-byte ranks: the first merge
	                              step looks up every adjacent pair */
};

static uint64_t
load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Tokens are short: whole 8-byte words, then a tail read with at most two
 * overlapping loads instead of a byte loop. */
static uint64_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
	uint64_t k;

	while (n >= 8) {
		memcpy(&k, p, 8);
		h = (h ^ k) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	if (n >= 4)
		k = load32(p) << 32 | load32(p + n - 4);
	else if (n > 0)
		k = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
	else
		k = 0;
	h = (h ^ k) * 0x94d049bb133111ebull;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}

static uint32_t
lookup(const struct tok_bpe *b, const uint8_t *p, size_t n)
{
	uint64_t h = hash_bytes(p, n);
	uint32_t i, tag = (uint32_t)(h >> 32), id;

	for (i = (uint32_t)h & b->mask; b->slots[i].id1 != 0; i = (i + 1) & b->mask) {
		if (b->slots[i].tag != tag)
			continue;
		id = b->slots[i].id1 - 1;
		if (b->len[id] == n && memcmp(b->blob + b->off[id], p, n) == 0)
			return id;
	}
	return TOK_NO_RANK;
}

/* Rank of p[0..n) as one token, or TOK_NO_RANK (an exact lookup). */
static uint32_t
tok_bpe_rank(const struct tok_bpe *b, const void *key, size_t n)
{
	const uint8_t *p = key;

	if (n == 1)
		return b->byte_rank[p[0]];
	if (n == 2)
		return b->pair_rank[(size_t)p[0] << 8 | p[1]];
	if (n == 0 || n > b->max_len)
		return TOK_NO_RANK;
	return lookup(b, p, n);
}

int
tok_utf8_valid(const void *s, size_t n)
{
	const uint8_t *p = s, *end = p + n;
	uint32_t cp;
	size_t k, i;

	while (p < end) {
		if (p[0] < 0x80) {
			p++;
			continue;
		}
		if (p[0] >= 0xc2 && p[0] <= 0xdf) {
			k = 1;
			cp = p[0] & 0x1f;
		} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
			k = 2;
			cp = p[0] & 0x0f;
		} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
			k = 3;
			cp = p[0] & 0x07;
		} else
			return 0;
		if ((size_t)(end - p) <= k)
			return 0;
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += k + 1;
	}
	return 1;
}

static int
has_bom(const uint8_t *p, size_t n)
{
	return n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf;
}

/*
 * The rank gpt-tokenizer finds for a span while merging: it decodes a
 * valid UTF-8 span with a TextDecoder, which drops a leading U+FEFF, and
 * looks the rest up among the tokens that do not start with one.  So the
 * BOM-led tokens never come out, and a BOM-led span takes the rank of its
 * remainder.  tiktoken does neither; text without U+FEFF is unaffected.
 */
static uint32_t
merge_rank(const struct tok_bpe *b, const uint8_t *p, size_t n)
{
	if (!has_bom(p, n) || !tok_utf8_valid(p, n))
		return tok_bpe_rank(b, p, n);
	if (n == 3 || has_bom(p + 3, n - 3))
		return TOK_NO_RANK;
	return tok_bpe_rank(b, p + 3, n - 3);
}

const uint8_t *
tok_bpe_bytes(const struct tok_bpe *b, uint32_t id, size_t *n)
{
	if (id >= b->nids || b->len[id] == 0)
		return NULL;
	*n = b->len[id];
	return b->blob + b->off[id];
}

/* ---- loading ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with optional padding; returns the decoded length or
 * -1 when s[0..n) is not base64. */
static long
b64_decode(const char *s, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0, v;
	long o = 0;
	size_t i;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if ((v = b64_value((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o;
}

struct entry {
	uint32_t off, len, id;
};

static GW_MUST_CHECK enum gw_err
read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *p = NULL;
	enum gw_err err = GW_EIO;

	if (f == NULL)
		return errno == ENOENT ? GW_ENOTFOUND : GW_EIO;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > (1 << 28))
		goto out;
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		err = GW_ENOMEM;
		goto out;
	}
	if (fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		goto out;
	p[st.st_size] = '\0';
	*data = p;
	*len = (size_t)st.st_size;
	p = NULL;
	err = GW_OK;
out:
	free(p);
	fclose(f);
	return err;
}

/* Parses every "base64 rank" line into e[] and the bytes into blob. */
static GW_MUST_CHECK enum gw_err
parse_lines(const char *path, const char *text, size_t n, uint8_t *blob,
    struct entry *e, size_t *ne, uint32_t *blob_len)
{
	const char *p = text, *end = text + n, *nl, *sp;
	size_t k = 0, lineno = 0;
	uint32_t used = 0;
	unsigned long id;
	long dl;
	char *stop;

	for (; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p && nl[-1] == '\r') {
			log_error("tokenizer: %s:%zu: CR at end of line (line endings "
			    "converted?)", path, lineno);
			return GW_EIO;
		}
		if (nl == p)
			continue;
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || sp == p || sp + 1 == nl)
			goto bad;
		dl = b64_decode(p, (size_t)(sp - p), blob + used);
		if (dl <= 0 || dl > MAX_TOKEN_LEN)
			goto bad;
		errno = 0;
		id = strtoul(sp + 1, &stop, 10);
		if (errno != 0 || stop != nl || id >= MAX_ID || sp[1] < '0' || sp[1] > '9')
			goto bad;
		e[k].off = used;
		e[k].len = (uint32_t)dl;
		e[k].id = (uint32_t)id;
		used += (uint32_t)dl;
		k++;
	}
	*ne = k;
	*blob_len = used;
	return GW_OK;
bad:
	log_error("tokenizer: %s:%zu: not a \"base64 rank\" line", path, lineno);
	return GW_EIO;
}

static GW_MUST_CHECK enum gw_err
build_index(const char *path, struct tok_bpe *b, const struct entry *e, size_t ne)
{
	size_t cap = 1024, k;
	uint64_t h;
	uint32_t i, id;

	while (cap < ne * 2 + ne / 2)
		cap <<= 1;
	if ((b->slots = calloc(cap, sizeof(*b->slots))) == NULL)
		return GW_ENOMEM;
	b->mask = (uint32_t)(cap - 1);
	for (k = 0; k < ne; k++) {
		id = e[k].id;
		if (b->len[id] != 0) {
			log_error("tokenizer: %s: rank %u appears twice", path, id);
			return GW_EIO;
		}
		b->off[id] = e[k].off;
		b->len[id] = (uint16_t)e[k].len;
		if (e[k].len > b->max_len)
			b->max_len = e[k].len;
		h = hash_bytes(b->blob + e[k].off, e[k].len);
		for (i = (uint32_t)h & b->mask; b->slots[i].id1 != 0; i = (i + 1) & b->mask) {
			uint32_t o = b->slots[i].id1 - 1;

			if (b->len[o] == e[k].len &&
			    memcmp(b->blob + b->off[o], b->blob + e[k].off, e[k].len) == 0) {
				log_error("tokenizer: %s: ranks %u and %u have the same bytes",
				    path, o, id);
				return GW_EIO;
			}
		}
		b->slots[i].id1 = id + 1;
		b->slots[i].tag = (uint32_t)(h >> 32);
	}
	if ((b->pair_rank = malloc(65536 * sizeof(*b->pair_rank))) == NULL)
		return GW_ENOMEM;
	for (k = 0; k < 65536; k++) {
		uint8_t two[2] = { (uint8_t)(k >> 8), (uint8_t)k };

		b->pair_rank[k] = lookup(b, two, 2);
	}
	for (k = 0; k < 256; k++) {
		uint8_t c = (uint8_t)k;

		if ((b->byte_rank[k] = lookup(b, &c, 1)) == TOK_NO_RANK) {
			log_error("tokenizer: %s: byte 0x%02zx has no token", path, k);
			return GW_EIO;
		}
	}
	return GW_OK;
}

void
tok_bpe_free(struct tok_bpe *b)
{
	if (b == NULL)
		return;
	free(b->blob);
	free(b->off);
	free(b->len);
	free(b->slots);
	free(b->pair_rank);
	free(b);
}

enum gw_err
tok_bpe_load(const char *path, const struct tok_special *sp, size_t nsp,
    struct tok_bpe **out)
{
	struct tok_bpe *b = NULL;
	struct entry *e = NULL;
	char *text = NULL;
	size_t n = 0, ne = 0, lines = 0, i, splen = 0;
	uint32_t used = 0, maxid = 0;
	enum gw_err err;

	*out = NULL;
	if ((err = read_file(path, &text, &n)) != GW_OK)
		goto out;
	for (i = 0; i < n; i++)
		lines += text[i] == '\n';
	for (i = 0; i < nsp; i++)
		splen += strlen(sp[i].text);
	err = GW_ENOMEM;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (e = malloc((lines + 1) * sizeof(*e))) == NULL ||
	    (b->blob = malloc(n + splen + 1)) == NULL)
		goto out;
	if ((err = parse_lines(path, text, n, b->blob, e, &ne, &used)) != GW_OK)
		goto out;
	err = GW_EIO;
	if (ne < 256) {
		log_error("tokenizer: %s: only %zu tokens", path, ne);
		goto out;
	}
	for (i = 0; i < ne; i++)
		if (e[i].id > maxid)
			maxid = e[i].id;
	for (i = 0; i < nsp; i++)
		if (sp[i].id > maxid)
			maxid = sp[i].id;
	b->nids = maxid + 1;
	err = GW_ENOMEM;
	if ((b->off = calloc(b->nids, sizeof(*b->off))) == NULL ||
	    (b->len = calloc(b->nids, sizeof(*b->len))) == NULL)
		goto out;
	if ((err = build_index(path, b, e, ne)) != GW_OK)
		goto out;
	/* specials: decodable, never looked up */
	for (i = 0; i < nsp; i++) {
		size_t l = strlen(sp[i].text);

		err = GW_EIO;
		if (b->len[sp[i].id] != 0 || l == 0 || l > MAX_TOKEN_LEN) {
			log_error("tokenizer: %s: special id %u collides", path, sp[i].id);
			goto out;
		}
		memcpy(b->blob + used, sp[i].text, l);
		b->off[sp[i].id] = used;
		b->len[sp[i].id] = (uint16_t)l;
		used += (uint32_t)l;
	}
	*out = b;
	b = NULL;
	err = GW_OK;
out:
	free(text);
	free(e);
	tok_bpe_free(b);
	return err;
}

/* ---- merging ---- */

static GW_MUST_CHECK enum gw_err
emit_parts(const struct tok_bpe *b, const uint8_t *p, const uint32_t *bnd,
    size_t m, uint32_t *ids)
{
	size_t i;

	if (ids == NULL)
		return GW_OK;
	for (i = 0; i < m; i++) {
		ids[i] = merge_rank(b, p + bnd[i], bnd[i + 1] - bnd[i]);
		if (ids[i] == TOK_NO_RANK)
			return GW_EINTERNAL;
	}
	return GW_OK;
}

/*
 * Parts are given by their start offsets bnd[0..m) (bnd[m] = n); pr[i] is
 * the rank of part i joined with part i + 1.  Each step joins the leftmost
 * pair of lowest rank: a linear scan, cheap for the short pieces that
 * make up nearly all text.
 */
static GW_MUST_CHECK enum gw_err
tok_bpe_encode_scan(const struct tok_bpe *b, const uint8_t *p, size_t n,
    uint32_t *ids, size_t *count)
{
	uint32_t sbnd[SCAN_STACK + 1], spr[SCAN_STACK];
	uint32_t *bnd = sbnd, *pr = spr, min;
	size_t m = n, i, at;
	enum gw_err err = GW_ENOMEM;

	if (n > SCAN_STACK) {
		bnd = malloc((n + 1) * sizeof(*bnd));
		pr = malloc(n * sizeof(*pr));
		if (bnd == NULL || pr == NULL)
			goto out;
	}
	for (i = 0; i <= n; i++)
		bnd[i] = (uint32_t)i;
	for (i = 0; i + 1 < m; i++)
		pr[i] = merge_rank(b, p + i, 2);
	for (;;) {
		min = TOK_NO_RANK;
		at = 0;
		for (i = 0; i + 1 < m; i++)
			if (pr[i] < min) {
				min = pr[i];
				at = i;
			}
		if (min == TOK_NO_RANK)
			break;
		/* drop boundary at + 1 and the pair that started there */
		memmove(bnd + at + 1, bnd + at + 2, (m - at - 1) * sizeof(*bnd));
		if (at + 2 < m - 1)
			memmove(pr + at + 1, pr + at + 2, (m - at - 3) * sizeof(*pr));
		m--;
		if (at + 1 < m)
			pr[at] = merge_rank(b, p + bnd[at], bnd[at + 2] - bnd[at]);
		if (at > 0)
			pr[at - 1] = merge_rank(b, p + bnd[at - 1], bnd[at + 1] - bnd[at - 1]);
	}
	*count = m;
	err = emit_parts(b, p, bnd, m, ids);
out:
	if (bnd != sbnd)
		free(bnd);
	if (pr != spr)
		free(pr);
	return err;
}

/* Heap entry: joining the part that starts at `start` with the next one
 * has rank `rank`. */
struct hent {
	uint32_t rank, start;
};

struct heap {
	struct hent *v;
	size_t n, cap;
};

#define DEAD UINT32_MAX
#define NOPREV (UINT32_MAX - 1)

static int
hent_less(const struct hent *a, const struct hent *c)
{
	return a->rank < c->rank || (a->rank == c->rank && a->start < c->start);
}

static GW_MUST_CHECK enum gw_err
heap_push(struct heap *h, struct hent v)
{
	struct hent *nv;
	size_t i, parent;

	if (h->n == h->cap) {
		if ((nv = realloc(h->v, 2 * h->cap * sizeof(*nv))) == NULL)
			return GW_ENOMEM;
		h->v = nv;
		h->cap *= 2;
	}
	for (i = h->n++; i > 0; i = parent) {
		parent = (i - 1) / 2;
		if (!hent_less(&v, &h->v[parent]))
			break;
		h->v[i] = h->v[parent];
	}
	h->v[i] = v;
	return GW_OK;
}

static struct hent
heap_pop(struct heap *h)
{
	struct hent top = h->v[0], last = h->v[--h->n];
	size_t i = 0, c, n = h->n;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && hent_less(&h->v[c + 1], &h->v[c]))
			c++;
		if (!hent_less(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (n > 0)
		h->v[i] = last;
	return top;
}

/* Records the pair that now starts at `start` (bytes up to `end`): pr[]
 * always holds the current pair rank of each part, so an entry is live
 * exactly when it still matches pr[] (a longer span has another rank). */
static GW_MUST_CHECK enum gw_err
set_pair(const struct tok_bpe *b, const uint8_t *p, struct heap *h,
    uint32_t *pr, uint32_t start, uint32_t end)
{
	struct hent v = { merge_rank(b, p + start, end - start), start };

	pr[start] = v.rank;
	return v.rank == TOK_NO_RANK ? GW_OK : heap_push(h, v);
}

/*
 * The same merge order with a doubly linked list of parts and a min-heap
 * of candidate pairs keyed by (rank, start); entries made stale by a
 * neighbour's merge are skipped when popped.
 */
static GW_MUST_CHECK enum gw_err
tok_bpe_encode_heap(const struct tok_bpe *b, const uint8_t *p, size_t n,
    uint32_t *ids, size_t *count)
{
	uint32_t *nxt = NULL, *prv = NULL, *pr = NULL, s, j;
	struct heap h = { NULL, 0, 0 };
	struct hent e;
	size_t m = n, i;
	enum gw_err err = GW_ENOMEM;

	*count = 0;
	if (n == 0)
		return GW_OK;
	h.cap = n;
	if ((nxt = malloc(n * sizeof(*nxt))) == NULL ||
	    (prv = malloc(n * sizeof(*prv))) == NULL ||
	    (pr = malloc(n * sizeof(*pr))) == NULL ||
	    (h.v = malloc(h.cap * sizeof(*h.v))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		nxt[i] = (uint32_t)i + 1;
		prv[i] = i == 0 ? NOPREV : (uint32_t)i - 1;
		pr[i] = TOK_NO_RANK;
	}
	for (i = 0; i + 1 < n; i++)
		if ((err = set_pair(b, p, &h, pr, (uint32_t)i, (uint32_t)i + 2)) != GW_OK)
			goto out;
	err = GW_OK;
	while (h.n > 0) {
		e = heap_pop(&h);
		s = e.start;
		if (pr[s] != e.rank)
			continue;
		j = nxt[s];
		nxt[s] = nxt[j];
		if (nxt[j] < n)
			prv[nxt[j]] = s;
		nxt[j] = DEAD;
		pr[j] = TOK_NO_RANK;
		m--;
		if (nxt[s] < n)
			err = set_pair(b, p, &h, pr, s, nxt[nxt[s]]);
		else
			pr[s] = TOK_NO_RANK;
		if (err == GW_OK && prv[s] != NOPREV)
			err = set_pair(b, p, &h, pr, prv[s], nxt[s]);
		if (err != GW_OK)
			goto out;
	}
	*count = m;
	for (i = 0, s = 0; ids != NULL && s < n; s = nxt[s], i++)
		if ((ids[i] = merge_rank(b, p + s, nxt[s] - s)) == TOK_NO_RANK) {
			err = GW_EINTERNAL;
			break;
		}
out:
	free(nxt);
	free(prv);
	free(pr);
	free(h.v);
	return err;
}

enum gw_err
tok_bpe_encode(const struct tok_bpe *b, const void *piece, size_t n,
    uint32_t *ids, size_t *count)
{
	const uint8_t *p = piece;
	uint32_t r;

	if (n == 0) {
		*count = 0;
		return GW_OK;
	}
	/* most pieces are whole tokens (gpt-tokenizer's whole-piece lookup
	 * never finds a BOM-led token either) */
	if (!has_bom(p, n) && (r = tok_bpe_rank(b, p, n)) != TOK_NO_RANK) {
		if (ids != NULL)
			ids[0] = r;
		*count = 1;
		return GW_OK;
	}
	if (n <= SCAN_STACK)
		return tok_bpe_encode_scan(b, p, n, ids, count);
	return tok_bpe_encode_heap(b, p, n, ids, count);
}

/*
 * Tokenizer and token counting.  The reference vectors and the expected
 * chat counts come from the reference's own tokenizer (gpt-tokenizer
 * 4.0.0, see the notes in tests/fixtures/tokenize/).  count.c is included
 * to test its JavaScript-compatible helpers white-box.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "fixture.h"
#include "core/buf.h"
#include "core/json.h"
#include "tokenize/bpe.c"
#include "tokenize/tokenizer.c"
#include "tokenize/count.c"

static const enum tok_encoding both[] = { TOK_O200K, TOK_CL100K };

/* The share dir the library uses when COPILOT_API_SHARE_DIR is unset and
 * the tests run from the top of the tree (make unit). */
static const char *
share_dir(void)
{
	const char *e = getenv("COPILOT_API_SHARE_DIR");

	return e != NULL && *e != '\0' ? e : "share";
}

static struct tok_bpe *
load_bpe(const char *name)
{
	struct buf p = BUF_INIT;
	struct tok_bpe *b = NULL;

	ck_assert_int_eq(buf_printf(&p, "%s/tokenizer/%s.tiktoken", share_dir(),
	    name), GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_OK);
	buf_free(&p);
	return b;
}

/* encode, count and decode agree, and decoding gives the text back */
static void
check_round_trip(enum tok_encoding enc, const char *text, size_t len)
{
	uint32_t *ids = NULL;
	size_t n = 0, c = 0, dl = 0;
	char *back = NULL;

	ck_assert_int_eq(tok_encode(enc, text, len, &ids, &n), GW_OK);
	ck_assert_int_eq(tok_count(enc, text, len, &c), GW_OK);
	ck_assert_uint_eq(c, n);
	ck_assert_int_eq(tok_decode(enc, ids, n, &back, &dl), GW_OK);
	ck_assert_uint_eq(dl, len);
	ck_assert(memcmp(back, text, len) == 0);
	free(ids);
	free(back);
}

START_TEST(hello_world)
{
	uint32_t *ids = NULL;
	size_t n = 0;

	ck_assert_int_eq(tok_encode(TOK_O200K, "hello world", 11, &ids, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ids[0], 24912);
	ck_assert_uint_eq(ids[1], 2375);
	free(ids);
	ck_assert_int_eq(tok_encode(TOK_CL100K, "hello world", 11, &ids, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ids[0], 15339);
	ck_assert_uint_eq(ids[1], 1917);
	free(ids);
	ck_assert_int_eq(tok_encode(TOK_O200K, "", 0, &ids, &n), GW_OK);
	ck_assert_uint_eq(n, 0);
	free(ids);
}
END_TEST

START_TEST(encoding_names)
{
	ck_assert_int_eq(tok_encoding_for_name("cl100k_base"), TOK_CL100K);
	ck_assert_int_eq(tok_encoding_for_name("o200k_base"), TOK_O200K);
	ck_assert_int_eq(tok_encoding_for_name("p50k_base"), TOK_O200K);
	ck_assert_int_eq(tok_encoding_for_name(""), TOK_O200K);
	ck_assert_int_eq(tok_encoding_for_name(NULL), TOK_O200K);
	ck_assert_str_eq(tok_encoding_name(TOK_CL100K), "cl100k_base");
	ck_assert_str_eq(tok_encoding_name(TOK_O200K), "o200k_base");
}
END_TEST

/* Every case of vectors.json, for the encoding _i. */
START_TEST(reference_vectors)
{
	cJSON *doc = fx_json("tokenize/vectors.json"), *c, *id;
	enum tok_encoding enc = both[_i];
	const cJSON *cases = json_arr(doc, tok_encoding_name(enc));
	struct buf text = BUF_INIT;
	uint32_t *ids = NULL;
	size_t n, k, ncases = 0;
	long i;

	ck_assert_ptr_nonnull(cases);
	cJSON_ArrayForEach(c, cases) {
		const char *name = json_str(c, "name");

		buf_reset(&text);
		if (json_str(c, "text") != NULL) {
			ck_assert_int_eq(buf_puts(&text, json_str(c, "text")),
			    GW_OK);
		} else {
			for (i = 0; i < (long)json_num(c, "count", 0); i++)
				ck_assert_int_eq(buf_puts(&text, json_str(c,
				    "unit")), GW_OK);
			if (json_str(c, "tail") != NULL)
				ck_assert_int_eq(buf_puts(&text, json_str(c,
				    "tail")), GW_OK);
		}
		ck_assert_int_eq(tok_encode(enc, buf_cstr(&text), text.len, &ids, &n), GW_OK);
		ck_assert_msg(n == (size_t)cJSON_GetArraySize(json_arr(c, "ids")),
		    "%s/%s: %zu tokens, want %d", tok_encoding_name(enc), name, n,
		    cJSON_GetArraySize(json_arr(c, "ids")));
		k = 0;
		cJSON_ArrayForEach(id, json_arr(c, "ids")) {
			ck_assert_msg(ids[k] == (uint32_t)id->valuedouble,
			    "%s/%s: token %zu is %u, want %.0f", tok_encoding_name(enc),
			    name, k, ids[k], id->valuedouble);
			k++;
		}
		free(ids);
		check_round_trip(enc, buf_cstr(&text), text.len);
		ncases++;
	}
	ck_assert_uint_ge(ncases, 20);
	buf_free(&text);
	cJSON_Delete(doc);
}
END_TEST

/* Bytes that are not UTF-8 are pieces of their own, encoded byte-wise. */
START_TEST(invalid_utf8)
{
	static const char *const bad[] = {
		"\xff", "a\xff\x62", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f\x98",
		"\xc0\xaf", "\x80\x80\x80 abc", "caf\xe9 au lait", "\xf8\x88\x80\x80\x80",
		"hello \xfe\xff world \xef\xbb", "\xf4\x90\x80\x80",
	};
	struct tok_bpe *b = load_bpe("o200k_base");
	uint32_t *ids = NULL;
	size_t i, e, n;
	unsigned seed = 7;
	char rnd[64];

	for (e = 0; e < 2; e++)
		for (i = 0; i < ARRAY_LEN(bad); i++)
			check_round_trip(both[e], bad[i], strlen(bad[i]));
	/* "a", the lone byte, "b": three tokens, the middle one a byte token */
	ck_assert_int_eq(tok_encode(TOK_O200K, "a\xff\x62", 3, &ids, &n), GW_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ids[0], tok_bpe_rank(b, "a", 1));
	ck_assert_uint_eq(ids[1], tok_bpe_rank(b, "\xff", 1));
	ck_assert_uint_eq(ids[2], tok_bpe_rank(b, "b", 1));
	free(ids);
	/* random bytes, fixed seed */
	for (i = 0; i < 300; i++) {
		size_t len = 1 + i % sizeof(rnd), j;

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			rnd[j] = (char)(seed >> 16);
		}
		check_round_trip(both[i % 2], rnd, len);
	}
	tok_bpe_free(b);
}
END_TEST

START_TEST(special_token_text_is_ordinary)
{
	static const char text[] = "<|endoftext|><|endofprompt|><|fim_prefix|>";
	uint32_t *ids = NULL, special;
	size_t n, i, e, dl;
	char *s = NULL;

	for (e = 0; e < 2; e++) {
		ck_assert_int_eq(tok_encode(both[e], text, strlen(text), &ids, &n), GW_OK);
		ck_assert_uint_gt(n, 3);
		for (i = 0; i < n; i++) {
			ck_assert_uint_ne(ids[i], both[e] == TOK_O200K ? 199999 : 100257);
			ck_assert_uint_ne(ids[i], both[e] == TOK_O200K ? 200018 : 100276);
		}
		free(ids);
		check_round_trip(both[e], text, strlen(text));
	}
	/* the special ids still decode */
	special = 199999;
	ck_assert_int_eq(tok_decode(TOK_O200K, &special, 1, &s, &dl), GW_OK);
	ck_assert_str_eq(s, "<|endoftext|>");
	free(s);
	special = 100260;
	ck_assert_int_eq(tok_decode(TOK_CL100K, &special, 1, &s, &dl), GW_OK);
	ck_assert_str_eq(s, "<|fim_suffix|>");
	free(s);
	/* unused and out-of-range ids do not */
	special = 199998;
	ck_assert_int_eq(tok_decode(TOK_O200K, &special, 1, &s, &dl), GW_EINVAL);
	ck_assert_ptr_null(s);
	special = 1u << 30;
	ck_assert_int_eq(tok_decode(TOK_CL100K, &special, 1, &s, &dl), GW_EINVAL);
}
END_TEST

/* The linear-scan and heap merges must agree on every input. */
START_TEST(scan_and_heap_merge_agree)
{
	static const char alpha[] = "aaabbeet  .\n";
	struct tok_bpe *b = load_bpe(_i == 0 ? "o200k_base" : "cl100k_base");
	uint32_t x[400], y[400];
	uint8_t s[400];
	size_t nx, ny, i, j, len;
	unsigned seed = 99;

	for (i = 0; i < 400; i++) {
		len = 1 + (i * 7) % 399;
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245u + 12345u;
			s[j] = i % 3 == 0 ? (uint8_t)(seed >> 16) :
			    (uint8_t)alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		ck_assert_int_eq(tok_bpe_encode_scan(b, s, len, x, &nx), GW_OK);
		ck_assert_int_eq(tok_bpe_encode_heap(b, s, len, y, &ny), GW_OK);
		ck_assert_uint_eq(nx, ny);
		ck_assert(memcmp(x, y, nx * sizeof(*x)) == 0);
		ck_assert_int_eq(tok_bpe_encode_heap(b, s, len, NULL, &ny), GW_OK);
		ck_assert_uint_eq(nx, ny);
	}
	tok_bpe_free(b);
}
END_TEST

/* One 100 KB piece (a run of one letter) and other long runs: the heap
 * merge keeps these near-linear. */
START_TEST(long_runs)
{
	static const char *const units[] = { "a", " ", "\n", "1", "!", "\xe4\xb8\xad", "ab" };
	struct buf t = BUF_INIT;
	enum gw_err err;
	size_t u, e, n;

	for (u = 0; u < ARRAY_LEN(units); u++) {
		buf_reset(&t);
		err = GW_OK;
		while (t.len < 100 * 1024 && err == GW_OK)
			err = buf_puts(&t, units[u]);
		ck_assert_int_eq(err, GW_OK);
		for (e = 0; e < 2; e++) {
			ck_assert_int_eq(tok_count(both[e], t.data, t.len, &n), GW_OK);
			ck_assert_uint_gt(n, 0);
			ck_assert_uint_le(n, t.len);
			check_round_trip(both[e], t.data, t.len);
		}
	}
	buf_free(&t);
}
END_TEST

/* Deterministic mixed text in bigger slices: encode/decode round trip. */
START_TEST(mixed_text_round_trip)
{
	static const char *const words[] = { "The", " gateway", " counts", " tokens",
	    ".\n", "  ", "\xe4\xbd\xa0\xe5\xa5\xbd", " \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
	    " \xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87",
	    " \xf0\x9f\x98\x80", " 12345", " it's", "\tx", "{\"k\": [1]}", "\r\n" };
	struct buf t = BUF_INIT;
	enum gw_err err = GW_OK;
	unsigned seed = 3;
	size_t e;

	while (t.len < 200 * 1024 && err == GW_OK) {
		seed = seed * 1103515245u + 12345u;
		err = buf_puts(&t, words[(seed >> 16) % ARRAY_LEN(words)]);
	}
	ck_assert_int_eq(err, GW_OK);
	for (e = 0; e < 2; e++)
		check_round_trip(both[e], t.data, t.len);
	buf_free(&t);
}
END_TEST

struct worker {
	enum tok_encoding enc;
	size_t n;
	enum gw_err err;
};

static void *
count_worker(void *arg)
{
	static const char text[] = "Concurrent first use must load each table once.";
	struct worker *w = arg;

	w->err = tok_count(w->enc, text, sizeof(text) - 1, &w->n);
	return NULL;
}

START_TEST(concurrent_first_use)
{
	struct worker w[8];
	pthread_t th[8];
	int i;

	tok_shutdown();
	for (i = 0; i < 8; i++) {
		w[i].enc = both[i % 2];
		ck_assert_int_eq(pthread_create(&th[i], NULL, count_worker, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(w[i].err, GW_OK);
		ck_assert_uint_eq(w[i].n, w[i % 2].n);
	}
	ck_assert_uint_gt(w[0].n, 5);
}
END_TEST

static char tmp_root[256];

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
write_file(const char *dir, const char *name, const char *content)
{
	struct buf p = BUF_INIT;
	FILE *f;

	ck_assert_int_eq(buf_printf(&p, "%s/%s", dir, name), GW_OK);
	f = fopen(p.data, "wb");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
	buf_free(&p);
}

/* A table with the 256 single bytes (ranks 0..255) and extra lines. */
static void
write_small_table(const char *dir, const char *name, const char *extra, int skip_byte)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf t = BUF_INIT;
	int c;

	for (c = 0; c < 256; c++) {
		if (c == skip_byte)
			continue;
		ck_assert_int_eq(buf_printf(&t, "%c%c== %d\n", b64[c >> 2],
		    b64[(c & 3) << 4], c), GW_OK);
	}
	ck_assert_int_eq(buf_puts(&t, extra), GW_OK);
	write_file(dir, name, t.data);
	buf_free(&t);
}

static void
tmp_setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp_root, sizeof(tmp_root), "%s/gwtokXXXXXX",
	    t != NULL && *t != '\0' ? t : P_tmpdir);
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void
tmp_teardown(void)
{
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

START_TEST(table_loading_errors)
{
	struct tok_bpe *b = NULL;
	struct buf p = BUF_INIT;
	char *saved = getenv("COPILOT_API_SHARE_DIR") != NULL ?
	    strdup(getenv("COPILOT_API_SHARE_DIR")) : NULL;
	size_t n;

	/* the rank-table parser */
	ck_assert_int_eq(buf_printf(&p, "%s/none.tiktoken", tmp_root), GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_ENOTFOUND);
	write_file(tmp_root, "garbage.tiktoken", "this is not a table\n");
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/garbage.tiktoken", tmp_root),
	    GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_EIO);
	write_small_table(tmp_root, "ok.tiktoken", "YWI= 256\n", -1);
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/ok.tiktoken", tmp_root), GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_OK);
	ck_assert_uint_eq(tok_bpe_rank(b, "ab", 2), 256);
	ck_assert_uint_eq(tok_bpe_rank(b, "a", 1), 'a');
	ck_assert_uint_eq(tok_bpe_rank(b, "abc", 3), TOK_NO_RANK);
	tok_bpe_free(b);
	write_small_table(tmp_root, "dup.tiktoken", "YWI= 256\nYWI= 257\n", -1);
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/dup.tiktoken", tmp_root), GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_EIO);
	write_small_table(tmp_root, "duprank.tiktoken", "YWI= 256\nYWM= 256\n", -1);
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/duprank.tiktoken", tmp_root),
	    GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_EIO);
	write_small_table(tmp_root, "crlf.tiktoken", "YWI= 256\r\n", -1);
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/crlf.tiktoken", tmp_root), GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_EIO);
	write_small_table(tmp_root, "nobyte.tiktoken", "YWI= 256\n", 200);
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/nobyte.tiktoken", tmp_root), GW_OK);
	ck_assert_int_eq(tok_bpe_load(p.data, NULL, 0, &b), GW_EIO);
	ck_assert_ptr_null(b);

	/* through the API: an explicit share dir without tables is an error */
	tok_shutdown();
	setenv("COPILOT_API_SHARE_DIR", tmp_root, 1);
	ck_assert_int_eq(tok_load(TOK_O200K), GW_EIO);
	ck_assert_int_eq(tok_count(TOK_CL100K, "x", 1, &n), GW_EIO);
	/* a corrupt table there too */
	buf_reset(&p);
	ck_assert_int_eq(buf_printf(&p, "%s/tokenizer", tmp_root), GW_OK);
	ck_assert_int_eq(mkdir(p.data, 0700), 0);
	write_file(p.data, "o200k_base.tiktoken", "!!!! 0\n");
	ck_assert_int_eq(tok_load(TOK_O200K), GW_EIO);
	/* without the variable the tables are found next to the test binary */
	unsetenv("COPILOT_API_SHARE_DIR");
	ck_assert_int_eq(tok_load(TOK_O200K), GW_OK);
	ck_assert_int_eq(tok_count(TOK_CL100K, "hello world", 11, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	if (saved != NULL)
		setenv("COPILOT_API_SHARE_DIR", saved, 1);
	free(saved);
	buf_free(&p);
}
END_TEST

/* ---- counting ---- */

START_TEST(js_number_format)
{
	static const struct { double d; const char *want; } v[] = {
		{ 0, "0" }, { -0.0, "0" }, { 1, "1" }, { -1, "-1" }, { 1.5, "1.5" },
		{ 0.1, "0.1" }, { 0.1 + 0.2, "0.30000000000000004" }, { 100, "100" },
		{ 123456789012.0, "123456789012" }, { 1e20, "100000000000000000000" },
		{ 1e21, "1e+21" }, { 1.5e300, "1.5e+300" }, { 1e-6, "0.000001" },
		{ 1e-7, "1e-7" }, { 2.5e-5, "0.000025" }, { -0.0005, "-0.0005" },
		{ 1.23e-18, "1.23e-18" }, { 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 3.14159, "3.14159" }, { 4294967296.5, "4294967296.5" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++) {
		buf_reset(&b);
		ck_assert_int_eq(js_number(v[i].d, 0, &b), GW_OK);
		ck_assert_str_eq(buf_cstr(&b), v[i].want);
	}
	buf_free(&b);
}
END_TEST

static void
assert_js(const char *json, int stringify, const char *want)
{
	cJSON *v = json_parse(json, strlen(json), NULL, NULL);
	struct buf b = BUF_INIT;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(stringify ? js_json(v, &b) : js_string(v, &b), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), want);
	buf_free(&b);
	cJSON_Delete(v);
}

START_TEST(js_values)
{
	/* JSON.stringify: index keys first, a repeated key keeps its first
	 * place and its last value, JS escapes */
	assert_js("{\"b\":1,\"2\":2,\"a\":3,\"b\":4,\"1\":5,\"01\":6}", 1,
	    "{\"1\":5,\"2\":2,\"b\":4,\"a\":3,\"01\":6}");
	assert_js("[\"q\\\"b\\\\s\\n\\u0001\\u001f\\u007f/\",1e21,1.5,null,true,{}]", 1,
	    "[\"q\\\"b\\\\s\\n\\u0001\\u001f\x7f/\",1e+21,1.5,null,true,{}]");
	assert_js("{\"x\":\"caf\xc3\xa9\",\"y\":[]}", 1, "{\"x\":\"caf\xc3\xa9\",\"y\":[]}");
	/* String() */
	assert_js("[1,null,\"a\",[2,3],{}]", 0, "1,,a,2,3,[object Object]");
	assert_js("{\"a\":1}", 0, "[object Object]");
	assert_js("false", 0, "false");
	assert_js("null", 0, "null");
	assert_js("0.5", 0, "0.5");
}
END_TEST

START_TEST(utf8_repair_like_whatwg)
{
	static const struct { const char *in, *want; } v[] = {
		{ "ok", "ok" },
		{ "\xff", "\xef\xbf\xbd" },
		{ "a\xe2\x82z", "a\xef\xbf\xbdz" },                 /* one per maximal subpart */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },  /* surrogate */
		{ "\xf0\x9f\x98" "a", "\xef\xbf\xbd" "a" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },        /* overlong */
		{ "\xe2\x82\xac\xc3", "\xe2\x82\xac\xef\xbf\xbd" },
	};
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_LEN(v); i++) {
		buf_reset(&b);
		ck_assert_int_eq(utf8_repair(v[i].in, strlen(v[i].in), &b), GW_OK);
		ck_assert_str_eq(buf_cstr(&b), v[i].want);
	}
	buf_free(&b);
}
END_TEST

static long
ntok(enum tok_encoding enc, const char *s)
{
	size_t n = 0;

	ck_assert_int_eq(tok_count(enc, s, strlen(s), &n), GW_OK);
	return (long)n;
}

/* The §10.3 rules spelt out on a small payload. */
START_TEST(count_rules_by_hand)
{
	static const char json[] =
	    "{\"model\":\"gpt-4o\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"user\",\"name\":\"ann\",\"content\":[{\"type\":\"text\",\"text\":\"hi there\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.png\"}}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"reasoning_opaque\":\"zzz\","
	    "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"Read\",\"arguments\":\"{}\"}}]}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"Read\","
	    "\"description\":\"Read a file.\",\"parameters\":{\"type\":\"object\","
	    "\"properties\":{\"p\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}}}}}]}";
	cJSON *p = json_parse(json, strlen(json), NULL, NULL);
	enum tok_encoding e = TOK_O200K;
	long in, out, want_in, want_out, tools;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(tok_count_chat(p, e, &in, &out), GW_OK);
	want_in = (3 + ntok(e, "system") + ntok(e, "Be brief.")) +
	    (3 + ntok(e, "user") + ntok(e, "ann") + 1 + ntok(e, "hi there") +
	    ntok(e, "https://x.test/a.png") + 85) + 3;
	/* gpt-: funcInit 7 + "Read:Read a file" + "type:object" + propInit 3 +
	 * (propKey 3 + enumInit -3 + 2 x (3 + item) + "p:string:"), funcEnd 12 */
	tools = 7 + ntok(e, "Read:Read a file") + ntok(e, "type:object") + 3 +
	    3 - 3 + (3 + ntok(e, "a")) + (3 + ntok(e, "b")) + ntok(e, "p:string:") + 12;
	want_out = 3 + ntok(e, "assistant") + (7 + ntok(e, "c1") + ntok(e, "Read") +
	    ntok(e, "{}") + 12) + 3;
	ck_assert_int_eq(in, want_in + tools);
	ck_assert_int_eq(out, want_out);
	/* a non-gpt model counts each tool as its JSON text, without funcEnd */
	ck_assert_int_eq(tok_count_chat_model(p, "claude-sonnet-4", e, &in, &out), GW_OK);
	ck_assert_int_eq(in, want_in + ntok(e,
	    "{\"type\":\"function\",\"function\":{\"name\":\"Read\",\"description\":"
	    "\"Read a file.\",\"parameters\":{\"type\":\"object\",\"properties\":"
	    "{\"p\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}}}}}"));
	ck_assert_int_eq(out, want_out);
	cJSON_Delete(p);
}
END_TEST

START_TEST(count_empty_sides)
{
	static const char json[] = "{\"messages\":[]}";
	cJSON *p = json_parse(json, strlen(json), NULL, NULL);
	long in = -1, out = -1, est = -1;

	ck_assert_int_eq(tok_count_chat(p, TOK_O200K, &in, &out), GW_OK);
	ck_assert_int_eq(in, 0);
	ck_assert_int_eq(out, 0);
	ck_assert_int_eq(tok_estimate(p, "claude-x", NULL, 1, NULL, 0, 1.15, &est), GW_OK);
	ck_assert_int_eq(est, 0);
	cJSON_Delete(p);
}
END_TEST

/* Inputs on which the reference throws. */
START_TEST(count_rejects_what_reference_rejects)
{
	static const char *const bad[] = {
		"{}",
		"{\"messages\":{}}",
		"{\"messages\":[null]}",
		"{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":null}]}",
		"{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":1,"
		    "\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}}]}]}",
		"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
		"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":7}]}]}",
		"{\"messages\":[{\"role\":\"user\",\"content\":[null]}]}",
		"{\"messages\":[],\"tools\":[{\"type\":\"function\"}]}",
		"{\"messages\":[],\"tools\":[{\"function\":{\"name\":\"a\",\"description\":[1]}}]}",
		"{\"messages\":[],\"tools\":[{\"function\":{\"name\":\"a\",\"parameters\":"
		    "{\"properties\":null}}}]}",
	};
	const char *names[] = { "Read", NULL };
	cJSON *p;
	long in, out, est;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		p = json_parse(bad[i], strlen(bad[i]), NULL, NULL);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(tok_count_chat_model(p, "gpt-4o", TOK_O200K, &in, &out) == GW_EINVAL,
		    "accepted %s", bad[i]);
		cJSON_Delete(p);
	}
	p = json_parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", 44,
	    NULL, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(tok_estimate(p, "claude-x", NULL, 1, names, 2, 1.15, &est), GW_EINVAL);
	ck_assert_int_eq(tok_estimate(p, "claude-x", NULL, 1, names, 1, 1e300, &est), GW_EINVAL);
	ck_assert_int_eq(tok_estimate(p, "claude-x", NULL, 1, names, 1, NAN, &est), GW_EINVAL);
	/* the multiplier only applies to claude models */
	ck_assert_int_eq(tok_estimate(p, "gpt-4o", NULL, 1, names, 1, NAN, &est), GW_OK);
	ck_assert_int_eq(est, 3 + ntok(TOK_O200K, "user") + ntok(TOK_O200K, "x") + 3);
	cJSON_Delete(p);
}
END_TEST

/* tests/fixtures/tokenize/chat/<case>.json: payload, expected counts and
 * count_tokens estimates. */
START_TEST(chat_fixtures)
{
	char **cases = fx_cases("tokenize/chat", ".json");
	struct buf rel = BUF_INIT;
	size_t i, ncases = 0, k;

	for (i = 0; cases[i] != NULL; i++) {
		cJSON *doc, *e, *nm;
		const char *model, *tk;
		const char *names[8];
		long in, out, est;

		buf_reset(&rel);
		ck_assert_int_eq(buf_printf(&rel, "tokenize/chat/%s.json",
		    cases[i]), GW_OK);
		doc = fx_json(rel.data);
		model = json_str(doc, "model");
		tk = json_str(doc, "tokenizer");
		ck_assert_int_eq(tok_count_chat_model(json_obj(doc, "payload"), model,
		    tok_encoding_for_name(tk), &in, &out), GW_OK);
		ck_assert_msg(in == (long)json_num(doc, "input", -1) &&
		    out == (long)json_num(doc, "output", -1),
		    "%s: got %ld/%ld, want %.0f/%.0f", cases[i], in, out,
		    json_num(doc, "input", -1), json_num(doc, "output", -1));
		/* the payload's own model gives the same here */
		ck_assert_int_eq(tok_count_chat(json_obj(doc, "payload"),
		    tok_encoding_for_name(tk), &in, &out), GW_OK);
		ck_assert_int_eq(in, (long)json_num(doc, "input", -1));
		cJSON_ArrayForEach(e, json_arr(doc, "estimates")) {
			k = 0;
			cJSON_ArrayForEach(nm, json_arr(e, "tool_names"))
				if (k < ARRAY_LEN(names))
					names[k++] = nm->valuestring;
			ck_assert_int_eq(tok_estimate(json_obj(doc, "payload"), model, tk,
			    (int)json_num(e, "beta", 0), names, k, json_num(e, "multiplier", 1),
			    &est), GW_OK);
			ck_assert_msg(est == (long)json_num(e, "expect", -1),
			    "%s: estimate %ld, want %.0f", cases[i], est, json_num(e, "expect", -1));
		}
		cJSON_Delete(doc);
		ncases++;
	}
	ck_assert_uint_ge(ncases, 6);
	fx_free_list(cases);
	buf_free(&rel);
}
END_TEST

/* The reference's body parser turns bad UTF-8 into U+FFFD before it counts. */
START_TEST(count_repairs_invalid_utf8)
{
	static const char bad[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\xff\xfe z\"}]}";
	static const char good[] = "{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"a\xef\xbf\xbd\xef\xbf\xbd z\"}]}";
	cJSON *p = json_parse(bad, strlen(bad), NULL, NULL), *q = json_parse(good,
	    strlen(good), NULL, NULL);
	long in1, out1, in2, out2;

	ck_assert_int_eq(tok_count_chat(p, TOK_O200K, &in1, &out1), GW_OK);
	ck_assert_int_eq(tok_count_chat(q, TOK_O200K, &in2, &out2), GW_OK);
	ck_assert_int_eq(in1, in2);
	ck_assert_int_eq(in1, 3 + ntok(TOK_O200K, "user") +
	    ntok(TOK_O200K, "a\xef\xbf\xbd\xef\xbf\xbd z") + 3);
	cJSON_Delete(p);
	cJSON_Delete(q);
}
END_TEST

static Suite *
tokenize_suite(void)
{
	Suite *s = suite_create("tokenize");
	TCase *tc = tcase_create("tokenizer"), *tl = tcase_create("loading"),
	    *tn = tcase_create("count");

	/* valgrind and the sanitizers are slow on the 100 KB inputs */
	tcase_set_timeout(tc, 120);
	tcase_set_timeout(tl, 120);
	tcase_set_timeout(tn, 120);
	tcase_add_test(tc, hello_world);
	tcase_add_test(tc, encoding_names);
	tcase_add_loop_test(tc, reference_vectors, 0, 2);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, special_token_text_is_ordinary);
	tcase_add_loop_test(tc, scan_and_heap_merge_agree, 0, 2);
	tcase_add_test(tc, long_runs);
	tcase_add_test(tc, mixed_text_round_trip);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tl, tmp_setup, tmp_teardown);
	tcase_add_test(tl, table_loading_errors);
	tcase_add_test(tl, concurrent_first_use);
	suite_add_tcase(s, tl);
	tcase_add_test(tn, js_number_format);
	tcase_add_test(tn, js_values);
	tcase_add_test(tn, utf8_repair_like_whatwg);
	tcase_add_test(tn, count_rules_by_hand);
	tcase_add_test(tn, count_empty_sides);
	tcase_add_test(tn, count_rejects_what_reference_rejects);
	tcase_add_test(tn, chat_fixtures);
	tcase_add_test(tn, count_repairs_invalid_utf8);
	suite_add_tcase(s, tn);
	return s;
}

int
main(void)
{
	int rc;

	/* load once before Check forks, so that every test shares the tables */
	if (tok_load(TOK_O200K) != GW_OK || tok_load(TOK_CL100K) != GW_OK) {
		fprintf(stderr, "tokenizer tables not found (run from the top of the tree)\n");
		return EXIT_FAILURE;
	}
	rc = run_suite(tokenize_suite());
	tok_shutdown();
	return rc;
}

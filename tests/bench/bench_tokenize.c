/*
 * Tokenizer throughput on a deterministic ~5 MB mixed-language text
 * (English prose, C and JSON code, Chinese, Japanese, Korean, Russian,
 * Arabic, Hindi, emoji, numbers, whitespace runs).
 *
 *   make bench-tokenize            (builds and runs it)
 *   build/bench/bench_tokenize [MB] [rounds]
 *
 * Prints one line per encoding and mode; the first line of each encoding
 * also shows how long loading its table took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/util.h"
#include "tokenize/tokenizer.c"

/* The input cannot be built (out of memory): no number would mean anything. */
static void
must(enum gw_err e)
{
	if (e != GW_OK)
		abort();
}

static const char *const english[] = {
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "was", "on",
	"are", "with", "as", "they", "be", "at", "one", "have", "this", "from",
	"token", "counting", "gateway", "request", "response", "stream", "model",
	"Copilot", "Anthropic", "OpenAI", "however", "international", "don't",
	"it's", "we're", "I'll", "THE", "Hello", "configuration", "understanding",
};
static const char *const code[] = {
	"int", "main(void)", "{", "}", "return", "0;", "if", "(x", "==", "NULL)",
	"for", "(i = 0; i < n; i++)", "->next", "struct", "buf_printf(&b,", "\"%s\"",
	"#include", "<stdio.h>", "\"key\":", "[1, 2, 3]", "true,", "null", "=>",
	"const", "char", "*p", "/* comment */", "// TODO", "x += 1;", "0x7fff",
};
static const char *const other[] = {
	"我们", "今天", "的", "天气", "很好", "中文", "分词", "测试", "模型",
	"こんにちは", "世界", "カタカナ", "ひらがな", "東京",
	"안녕하세요", "한국어", "토큰",
	"привет", "мир", "токенизатор", "Москва",
	"مرحبا", "بالعالم", "العربية", "كتاب",
	"नमस्ते", "दुनिया", "हिन्दी", "भाषा",
	"😀", "👍🏽", "🚀", "👨‍👩‍👧", "🇯🇵", "ñandú", "Ærø", "naïve", "café",
};
static const char *const glue[] = {
	" ", " ", " ", " ", ", ", ". ", "\n", "\n\n", "    ", "\t", "  ", "; ",
	": ", "! ", "? ", " (", ") ", " - ", "\r\n",
};

static unsigned long rng = 12345;

static size_t
pick(size_t n)
{
	rng = rng * 6364136223846793005ul + 1442695040888963407ul;
	return (size_t)((rng >> 33) % n);
}

static void
gen_text(struct buf *b, size_t bytes)
{
	while (b->len < bytes) {
		size_t kind = pick(100);

		if (kind < 45)
			must(buf_puts(b, english[pick(ARRAY_LEN(english))]));
		else if (kind < 65)
			must(buf_puts(b, code[pick(ARRAY_LEN(code))]));
		else if (kind < 90)
			must(buf_puts(b, other[pick(ARRAY_LEN(other))]));
		else
			must(buf_printf(b, "%lu",
			    (unsigned long)pick(10000000)));
		must(buf_puts(b, glue[pick(ARRAY_LEN(glue))]));
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static const enum tok_encoding encs[] = { TOK_O200K, TOK_CL100K };
	struct buf text = BUF_INIT;
	double mb = argc > 1 ? strtod(argv[1], NULL) : 5.0, t0, best;
	long rounds = 3, r;
	size_t e, n = 0;
	uint32_t *ids;

	if (mb <= 0 || mb > 1024 ||
	    (argc > 2 && util_parse_long(argv[2], 1, 1000, &rounds) != GW_OK)) {
		fprintf(stderr, "usage: bench_tokenize [MB] [rounds]\n");
		return 2;
	}
	gen_text(&text, (size_t)(mb * 1024 * 1024));
	printf("text: %zu bytes\n", text.len);
	for (e = 0; e < ARRAY_LEN(encs); e++) {
		t0 = now();
		if (tok_load(encs[e]) != GW_OK)
			return 1;
		printf("%-11s load %.1f ms\n", tok_encoding_name(encs[e]), (now() - t0) * 1e3);
		for (best = 1e9, r = 0; r < rounds; r++) {
			t0 = now();
			if (tok_count(encs[e], text.data, text.len, &n) != GW_OK)
				return 1;
			if (now() - t0 < best)
				best = now() - t0;
		}
		printf("%-11s count  %8zu tokens  %6.1f MB/s\n", tok_encoding_name(encs[e]),
		    n, (double)text.len / 1048576.0 / best);
		for (best = 1e9, r = 0; r < rounds; r++) {
			t0 = now();
			if (tok_encode(encs[e], text.data, text.len, &ids, &n) != GW_OK)
				return 1;
			if (now() - t0 < best)
				best = now() - t0;
			free(ids);
		}
		printf("%-11s encode %8zu tokens  %6.1f MB/s\n", tok_encoding_name(encs[e]),
		    n, (double)text.len / 1048576.0 / best);
	}
	buf_free(&text);
	tok_shutdown();
	return 0;
}

/*
 * libFuzzer harness for src/tokenize: any bytes must encode without a
 * crash, count as many tokens as they encode to, and decode back to
 * themselves (invalid UTF-8 included), in both encodings; input that
 * parses as JSON also goes through the chat counter.  Build and run: `make
 * fuzz` (doc/fuzzing.md; it sets COPILOT_API_SHARE_DIR=share).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "tokenize/count.h"
#include "tokenize/tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	if (tok_load(TOK_O200K) != GW_OK || tok_load(TOK_CL100K) != GW_OK) {
		fprintf(stderr, "fuzz_tokenize: set COPILOT_API_SHARE_DIR to the share directory\n");
		abort();
	}
	return 0;
}

static void
check(enum tok_encoding enc, const char *text, size_t len)
{
	uint32_t *ids = NULL;
	size_t n = 0, c = 0, dl = 0;
	char *back = NULL;

	if (tok_encode(enc, text, len, &ids, &n) != GW_OK ||
	    tok_count(enc, text, len, &c) != GW_OK || c != n)
		abort();
	if (tok_decode(enc, ids, n, &back, &dl) != GW_OK || dl != len ||
	    memcmp(back, text, len) != 0)
		abort();
	free(ids);
	free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "Read", "mcp__x", "Skill" };
	const char *text = (const char *)data;
	cJSON *v;
	long in, out, est;

	check(TOK_O200K, text, size);
	check(TOK_CL100K, text, size);
	if ((v = json_parse(text, size, NULL, NULL)) != NULL) {
		/* errors are fine (the reference would throw); crashes are not */
		GW_IGNORE(tok_count_chat_model(v, "gpt-4o", TOK_O200K, &in,
		    &out));
		GW_IGNORE(tok_count_chat_model(v, "claude-sonnet-4", TOK_CL100K,
		    &in, &out));
		GW_IGNORE(tok_estimate(v, "claude-sonnet-4", "o200k_base", 1,
		    names, size % 4, 1.15, &est));
		cJSON_Delete(v);
	}
	return 0;
}

/*
 * libFuzzer harness for the MCP server's line handler and line splitter.
 * Differential: the input fed in one piece and in pieces whose sizes come
 * from the input itself must give the same replies; every reply must be
 * one line of JSON-RPC 2.0.  Build: `make fuzz` (or build/fuzz/fuzz_mcp).
 * Input: byte 0 the line limit (under 128: that many bytes + 1, else the
 * default), byte 1 how many of the next bytes are piece sizes, then the
 * stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mcp.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
feed(const char *p, size_t n, size_t max, const uint8_t *sizes, size_t nsizes,
    struct buf *out)
{
	struct mcp_conn c;
	size_t at = 0, k = 0, step;

	mcp_conn_init(&c, max);
	while (at < n) {
		step = nsizes > 0 ? (size_t)sizes[k++ % nsizes] % 23 + 1 : n;
		if (step > n - at)
			step = n - at;
		if (mcp_conn_feed(&c, p + at, step, out) != GW_OK)
			abort();
		at += step;
	}
	if (mcp_conn_finish(&c, out) != GW_OK)
		abort();
	mcp_conn_free(&c);
}

/* One reply object: jsonrpc 2.0, an id, and a result or an error. */
static void
check_reply(const cJSON *r)
{
	const char *v = json_str(r, "jsonrpc");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
	const cJSON *err = json_obj(r, "error");
	int has_result = cJSON_HasObjectItem(r, "result");

	if (v == NULL || strcmp(v, "2.0") != 0 || id == NULL ||
	    !(cJSON_IsString(id) || cJSON_IsNumber(id) || cJSON_IsNull(id)))
		abort();
	if (has_result == (err != NULL))
		abort();
	if (err != NULL && (!cJSON_IsNumber(cJSON_GetObjectItem(err, "code")) ||
	    json_str(err, "message") == NULL))
		abort();
}

static void
check_lines(const struct buf *out)
{
	const char *p = buf_cstr(out), *end = p + out->len, *nl;
	const cJSON *r;
	cJSON *v;

	if (out->len > 0 && end[-1] != '\n')
		abort();
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((v = json_parse(p, (size_t)(nl - p), NULL, NULL)) == NULL)
			abort();
		if (cJSON_IsArray(v)) {
			if (cJSON_GetArraySize(v) == 0)
				abort();
			cJSON_ArrayForEach(r, v)
				check_reply(r);
		} else
			check_reply(v);
		cJSON_Delete(v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t nsizes, max;
	const char *p;
	size_t n;

	if (size < 2)
		return 0;
	log_set_level(LOG_ERROR);
	max = data[0] < 128 ? (size_t)data[0] + 1 : 0;
	nsizes = data[1] % 16;
	if (nsizes > size - 2)
		nsizes = size - 2;
	p = (const char *)data + 2 + nsizes;
	n = size - 2 - nsizes;
	feed(p, n, max, NULL, 0, &a);
	feed(p, n, max, data + 2, nsizes, &b);
	if (a.len != b.len || memcmp(buf_cstr(&a), buf_cstr(&b), a.len) != 0)
		abort();
	check_lines(&a);
	buf_free(&a);
	buf_free(&b);
	return 0;
}

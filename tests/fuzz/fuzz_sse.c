/*
 * libFuzzer harness for the SSE parser.  Differential: the input parsed
 * in one chunk and in chunks whose sizes come from the input itself must
 * give the same events and the same error.  Build and run: `make fuzz`
 * (doc/fuzzing.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "upstream/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum gw_err
rec(void *ctx, const char *event, const char *d, size_t len, const char *id)
{
	struct buf *b = ctx;
	enum gw_err e;

	if (strlen(d) > len)            /* the NUL must sit at len (or data has NULs) */
		abort();
	if ((e = buf_printf(b, "%s|%s|%zu:", event != NULL ? event : "~",
	    id != NULL ? id : "~", len)) != GW_OK ||
	    (e = buf_append(b, d, len)) != GW_OK)
		return e;
	return buf_putc(b, '\n');
}

static enum gw_err
parse(const uint8_t *p, size_t n, size_t max, const uint8_t *sizes,
    size_t nsizes, struct buf *out, int *trunc)
{
	struct sse_parser *sp;
	size_t at = 0, k = 0, step;
	enum gw_err e = GW_OK;

	if (sse_parser_new(max, rec, out, &sp) != GW_OK)
		abort();
	while (at < n && e == GW_OK) {
		step = nsizes > 0 ? (size_t)sizes[k++ % nsizes] % 17 + 1 : n;
		if (step > n - at)
			step = n - at;
		e = sse_parser_feed(sp, p + at, step);
		at += step;
	}
	if (sse_parser_finish(sp, trunc) != e)
		abort();
	sse_parser_free(sp);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t nsizes, max;
	int ta = 0, tb = 0;
	enum gw_err ea, eb;

	if (size < 2)
		return 0;
	/* First byte: a small event limit (or the default), second: how many
	 * of the following bytes give chunk sizes. */
	max = data[0] < 128 ? (size_t)data[0] + 1 : 0;
	nsizes = data[1] % 16;
	if (nsizes > size - 2)
		nsizes = size - 2;
	ea = parse(data + 2 + nsizes, size - 2 - nsizes, max, NULL, 0, &a, &ta);
	eb = parse(data + 2 + nsizes, size - 2 - nsizes, max, data + 2, nsizes,
	    &b, &tb);
	if (ea != eb || a.len != b.len || memcmp(buf_cstr(&a), buf_cstr(&b),
	    a.len) != 0 || (ea == GW_OK && ta != tb))
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}

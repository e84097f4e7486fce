/*
 * libFuzzer harness for the WebSocket frame decoder (upstream/wsframe.c),
 * which reads what an upstream server sends.  Differential: the input fed
 * in one piece and in pieces whose sizes come from the input itself must
 * give the same messages, control frames and error; every event's data is
 * NUL-terminated at its length.  Build and run: `make fuzz` (doc/fuzzing.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "upstream/wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum gw_err
drain(struct wsf_decoder *d, struct buf *out)
{
	struct wsf_event ev;
	const char *msg = NULL;
	enum gw_err e;
	int got;

	for (;;) {
		if ((e = wsf_decoder_next(d, &ev, &got, &msg)) != GW_OK) {
			if (msg == NULL)
				abort();
			return e;
		}
		if (!got)
			return GW_OK;
		if (ev.data[ev.len] != '\0')
			abort();
		if ((e = buf_printf(out, "%d:%d:%zu:", ev.op, ev.close_code,
		    ev.len)) != GW_OK || (e = buf_append(out, ev.data,
		    ev.len)) != GW_OK)
			return e;
	}
}

static enum gw_err
decode(const uint8_t *p, size_t n, const uint8_t *sizes, size_t nsizes,
    struct buf *out)
{
	struct wsf_decoder d;
	size_t at = 0, k = 0, step;
	enum gw_err e = GW_OK;

	wsf_decoder_init(&d);
	while (at < n && e == GW_OK) {
		step = nsizes > 0 ? (size_t)sizes[k++ % nsizes] % 23 + 1 : n;
		if (step > n - at)
			step = n - at;
		if ((e = wsf_decoder_feed(&d, p + at, step)) == GW_OK)
			e = drain(&d, out);
		at += step;
	}
	wsf_decoder_free(&d);
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t nsizes;
	enum gw_err ea, eb;

	if (size < 1)
		return 0;
	nsizes = data[0] % 16;
	if (nsizes > size - 1)
		nsizes = size - 1;
	ea = decode(data + 1 + nsizes, size - 1 - nsizes, NULL, 0, &a);
	eb = decode(data + 1 + nsizes, size - 1 - nsizes, data + 1, nsizes, &b);
	if (ea != eb || a.len != b.len || memcmp(buf_cstr(&a), buf_cstr(&b),
	    a.len) != 0)
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}

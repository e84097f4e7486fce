/*
 * The WebSocket wire format, client side (contract in wsframe.h): SHA-1
 * and base64 for the handshake, masked frames out, server frames in.
 */
#include <string.h>

#include "upstream/wsframe.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* SHA-1 (FIPS 180-4), only for the handshake's accept value. */
struct sha1 {
	uint32_t h[5];
	uint8_t block[64];
	size_t fill;
	uint64_t bits;
};

static uint32_t
rol(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void
sha1_block(struct sha1 *s)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)s->block[i * 4] << 24 |
		    (uint32_t)s->block[i * 4 + 1] << 16 |
		    (uint32_t)s->block[i * 4 + 2] << 8 | s->block[i * 4 + 3];
	for (; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20)
			f = (b & c) | (~b & d), k = 0x5A827999;
		else if (i < 40)
			f = b ^ c ^ d, k = 0x6ED9EBA1;
		else if (i < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
		else
			f = b ^ c ^ d, k = 0xCA62C1D6;
		t = rol(a, 5) + f + e + k + w[i];
		e = d, d = c, c = rol(b, 30), b = a, a = t;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
	s->fill = 0;
}

static void
sha1_update(struct sha1 *s, const void *p, size_t n)
{
	const uint8_t *b = p;

	s->bits += (uint64_t)n * 8;
	while (n-- > 0) {
		s->block[s->fill++] = *b++;
		if (s->fill == 64)
			sha1_block(s);
	}
}

static void
sha1(const void *p, size_t n, uint8_t out[20])
{
	struct sha1 s = { { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
	    0xC3D2E1F0 }, { 0 }, 0, 0 };
	uint64_t bits;
	uint8_t pad = 0x80, len[8];
	int i;

	sha1_update(&s, p, n);
	bits = s.bits;
	sha1_update(&s, &pad, 1);
	pad = 0;
	while (s.fill != 56)
		sha1_update(&s, &pad, 1);
	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(&s, len, 8);
	for (i = 0; i < 20; i++)
		out[i] = (uint8_t)(s.h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Standard base64 with padding; out holds 4 * ceil(n / 3) + 1. */
static void
base64(const uint8_t *p, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = a[v >> 18], *out++ = a[(v >> 12) & 63];
		*out++ = a[(v >> 6) & 63], *out++ = a[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*out++ = a[v >> 18], *out++ = a[(v >> 12) & 63];
		*out++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

void
wsf_key(const uint8_t nonce[16], char out[25])
{
	base64(nonce, 16, out);
}

void
wsf_accept(const char *key, char out[29])
{
	uint8_t d[20];
	char in[128];
	size_t n = strlen(key);

	if (n > sizeof(in) - sizeof(WS_GUID))
		n = sizeof(in) - sizeof(WS_GUID);
	memcpy(in, key, n);
	memcpy(in + n, WS_GUID, sizeof(WS_GUID) - 1);
	sha1(in, n + sizeof(WS_GUID) - 1, d);
	base64(d, 20, out);
}

enum gw_err
wsf_encode(struct buf *out, enum wsf_opcode op, const void *payload, size_t n,
    const uint8_t mask[4])
{
	uint8_t h[14];
	size_t hl = 2, i, start;
	const uint8_t *p = payload;
	enum gw_err e;

	if (op >= WSF_CLOSE && n > 125)
		return GW_EINVAL;
	h[0] = (uint8_t)(0x80 | op);
	if (n < 126) {
		h[1] = (uint8_t)(0x80 | n);
	} else if (n <= 0xFFFF) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(h + hl, mask, 4);
	hl += 4;
	if ((e = buf_reserve(out, hl + n + 1)) != GW_OK ||
	    (e = buf_append(out, h, hl)) != GW_OK)
		return e;
	start = out->len;
	if (n > 0 && (e = buf_append(out, payload, n)) != GW_OK)
		return e;
	for (i = 0; i < n; i++)
		out->data[start + i] = (char)(p[i] ^ mask[i % 4]);
	return GW_OK;
}

void
wsf_decoder_init(struct wsf_decoder *d)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->in);
	buf_init(&d->msg);
	buf_init(&d->ctl);
}

void
wsf_decoder_free(struct wsf_decoder *d)
{
	buf_free(&d->in);
	buf_free(&d->msg);
	buf_free(&d->ctl);
	wsf_decoder_init(d);
}

enum gw_err
wsf_decoder_feed(struct wsf_decoder *d, const void *p, size_t n)
{
	/* Drop what was consumed before it grows. */
	if (d->pos > 0 && d->pos == d->in.len) {
		buf_reset(&d->in);
		d->pos = 0;
	} else if (d->pos > 65536) {
		memmove(d->in.data, d->in.data + d->pos, d->in.len - d->pos);
		d->in.len -= d->pos;
		d->in.data[d->in.len] = '\0';
		d->pos = 0;
	}
	return buf_append(&d->in, p, n);
}

struct frame {
	int fin;
	enum wsf_opcode op;
	const uint8_t *payload;
	uint64_t len;
	size_t size;                 /* header + payload */
};

/* One frame's header at p (avail bytes): 1 parsed, 0 more needed. */
static int
frame_at(const uint8_t *p, size_t avail, struct frame *f, const char **msg)
{
	size_t hl = 2;
	int i;

	if (avail < 2)
		return 0;
	if (p[0] & 0x70) {
		*msg = "reserved bits set in a frame (no extension was agreed)";
		return -1;
	}
	if (p[1] & 0x80) {
		*msg = "the server sent a masked frame";
		return -1;
	}
	f->fin = (p[0] & 0x80) != 0;
	f->op = (enum wsf_opcode)(p[0] & 0x0F);
	f->len = p[1] & 0x7F;
	/* known before its payload arrives */
	if (f->op >= WSF_CLOSE && (!f->fin || f->len > 125)) {
		*msg = "a fragmented or long control frame";
		return -1;
	}
	if (f->len == 126) {
		if (avail < 4)
			return 0;
		f->len = (uint64_t)p[2] << 8 | p[3];
		hl = 4;
	} else if (f->len == 127) {
		if (avail < 10)
			return 0;
		for (f->len = 0, i = 0; i < 8; i++)
			f->len = f->len << 8 | p[2 + i];
		hl = 10;
	}
	if (f->len > WSF_MAX_MESSAGE) {
		*msg = "a frame larger than the message limit";
		return -2;
	}
	if (avail - hl < f->len)
		return 0;
	f->payload = p + hl;
	f->size = hl + (size_t)f->len;
	return 1;
}

static GW_MUST_CHECK enum gw_err
check_frame(const struct wsf_decoder *d, const struct frame *f,
    const char **msg)
{
	switch (f->op) {
	case WSF_CLOSE: case WSF_PING: case WSF_PONG:
		if (!f->fin || f->len > 125) {
			*msg = "a fragmented or long control frame";
			return GW_EUPSTREAM;
		}
		return GW_OK;
	case WSF_CONT:
		if (d->msg_op == WSF_CONT) {
			*msg = "a continuation frame with no message open";
			return GW_EUPSTREAM;
		}
		break;
	case WSF_TEXT: case WSF_BINARY:
		if (d->msg_op != WSF_CONT) {
			*msg = "a new message before the last one ended";
			return GW_EUPSTREAM;
		}
		break;
	default:
		*msg = "a frame with an unknown opcode";
		return GW_EUPSTREAM;
	}
	if (d->msg.len + f->len > WSF_MAX_MESSAGE) {
		*msg = "a message larger than the limit";
		return GW_ETOOBIG;
	}
	return GW_OK;
}

static GW_MUST_CHECK enum gw_err
control(struct wsf_decoder *d, const struct frame *f, struct wsf_event *ev)
{
	const uint8_t *p = f->payload;
	size_t n = (size_t)f->len;
	enum gw_err e;

	buf_reset(&d->ctl);
	ev->op = f->op;
	ev->close_code = 0;
	if (f->op == WSF_CLOSE) {
		ev->close_code = n >= 2 ? (p[0] << 8 | p[1]) : 1005;
		if (n >= 2)
			p += 2, n -= 2;
		else
			n = 0;
	}
	if ((e = buf_append(&d->ctl, n > 0 ? (const void *)p : "", n)) != GW_OK)
		return e;
	ev->data = buf_cstr(&d->ctl);
	ev->len = d->ctl.len;
	return GW_OK;
}

enum gw_err
wsf_decoder_next(struct wsf_decoder *d, struct wsf_event *ev, int *got,
    const char **msg)
{
	struct frame f;
	enum gw_err e;
	int r;

	*got = 0;
	if (d->failed) {
		*msg = "the stream is broken";
		return GW_EUPSTREAM;
	}
	for (;;) {
		r = frame_at((const uint8_t *)d->in.data + d->pos,
		    d->in.len - d->pos, &f, msg);
		if (r == 0)
			return GW_OK;
		if (r < 0 || (e = check_frame(d, &f, msg)) != GW_OK) {
			d->failed = 1;
			return r == -2 ? GW_ETOOBIG : r < 0 ? GW_EUPSTREAM : e;
		}
		d->pos += f.size;
		if (f.op >= WSF_CLOSE) {
			*got = 1;
			return control(d, &f, ev);
		}
		if (f.op != WSF_CONT) {
			buf_reset(&d->msg);
			d->msg_op = f.op;
		}
		if (f.len > 0 && (e = buf_append(&d->msg, f.payload,
		    (size_t)f.len)) != GW_OK)
			return e;
		if (f.fin) {
			ev->op = d->msg_op;
			ev->data = buf_cstr(&d->msg);
			ev->len = d->msg.len;
			ev->close_code = 0;
			d->msg_op = WSF_CONT;
			*got = 1;
			return GW_OK;
		}
	}
}

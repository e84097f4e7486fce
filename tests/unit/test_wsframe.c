/* The WebSocket frame codec (upstream/wsframe.c): RFC 6455's own examples,
 * fed whole, byte by byte and split everywhere; the protocol errors a
 * server can commit; the handshake values. */
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "core/buf.h"
#include "core/util.h"
#include "upstream/wsframe.c"

/* Events serialised as "op:len:data\n" (close: "8:code:reason\n"). */
static void
drain(struct wsf_decoder *d, struct buf *out)
{
	struct wsf_event ev;
	const char *msg = NULL;
	int got;

	for (;;) {
		ck_assert_int_eq(wsf_decoder_next(d, &ev, &got, &msg), GW_OK);
		if (!got)
			return;
		ck_assert_uint_eq(strlen(ev.data), ev.len);
		if (ev.op == WSF_CLOSE)
			ck_assert_int_eq(buf_printf(out, "8:%d:", ev.close_code), GW_OK);
		else
			ck_assert_int_eq(buf_printf(out, "%d:%zu:", ev.op, ev.len), GW_OK);
		ck_assert_int_eq(buf_append(out, ev.data, ev.len), GW_OK);
		ck_assert_int_eq(buf_putc(out, '\n'), GW_OK);
	}
}

struct sample {
	const char *in;
	size_t n;
	const char *want;
};

#define S(bytes, want) { bytes, sizeof(bytes) - 1, want }

static const struct sample corpus[] = {
	/* RFC 6455 5.7: a single-frame unmasked text message */
	S("\x81\x05Hello", "1:5:Hello\n"),
	/* a fragmented unmasked text message */
	S("\x01\x03Hel\x80\x02lo", "1:5:Hello\n"),
	/* a ping between the fragments, handed out at once */
	S("\x01\x03Hel\x89\x02hi\x80\x02lo", "9:2:hi\n1:5:Hello\n"),
	/* unmasked pong, empty text, binary */
	S("\x8a\x05Hello\x81\x00\x82\x03" "abc", "10:5:Hello\n1:0:\n2:3:abc\n"),
	/* close with a code and reason, and without */
	S("\x88\x05\x03\xe8" "bye\x88\x00", "8:1000:bye\n8:1005:\n"),
	/* two messages in one read */
	S("\x81\x02{}\x81\x05[1,2]", "1:2:{}\n1:5:[1,2]\n"),
};

static void
check_split(const struct sample *s, size_t step)
{
	struct wsf_decoder d;
	struct buf out = BUF_INIT;
	size_t i, n;

	wsf_decoder_init(&d);
	for (i = 0; i < s->n; i += n) {
		n = step == 0 || step > s->n - i ? s->n - i : step;
		ck_assert_int_eq(wsf_decoder_feed(&d, s->in + i, n), GW_OK);
		drain(&d, &out);
	}
	ck_assert_uint_eq(out.len, strlen(s->want));
	ck_assert_mem_eq(out.data, s->want, out.len);
	buf_free(&out);
	wsf_decoder_free(&d);
}

START_TEST(whole)
{
	check_split(&corpus[_i], 0);
}
END_TEST

START_TEST(byte_by_byte)
{
	check_split(&corpus[_i], 1);
}
END_TEST

START_TEST(every_step)
{
	size_t step;

	for (step = 2; step < corpus[_i].n; step++)
		check_split(&corpus[_i], step);
}
END_TEST

/* 126 and 127 length forms, across a read boundary in the length. */
START_TEST(long_lengths)
{
	static const size_t sizes[] = { 125, 126, 65535, 65536, 200000 };
	struct wsf_decoder d;
	struct wsf_event ev;
	struct buf f = BUF_INIT, payload = BUF_INIT;
	const char *msg;
	uint8_t h[10];
	size_t i, j, hl;
	int got;

	for (i = 0; i < ARRAY_LEN(sizes); i++) {
		buf_reset(&f);
		buf_reset(&payload);
		for (j = 0; j < sizes[i]; j++)
			ck_assert_int_eq(buf_putc(&payload, (char)('a' + j % 26)), GW_OK);
		h[0] = 0x81;
		if (sizes[i] < 126) {
			h[1] = (uint8_t)sizes[i];
			hl = 2;
		} else if (sizes[i] <= 0xFFFF) {
			h[1] = 126, h[2] = (uint8_t)(sizes[i] >> 8), h[3] = (uint8_t)sizes[i];
			hl = 4;
		} else {
			h[1] = 127;
			for (j = 0; j < 8; j++)
				h[2 + j] = (uint8_t)((uint64_t)sizes[i] >> (56 - 8 * j));
			hl = 10;
		}
		ck_assert_int_eq(buf_append(&f, h, hl), GW_OK);
		ck_assert_int_eq(buf_append(&f, payload.data, payload.len), GW_OK);
		wsf_decoder_init(&d);
		ck_assert_int_eq(wsf_decoder_feed(&d, f.data, 3), GW_OK);
		ck_assert_int_eq(wsf_decoder_next(&d, &ev, &got, &msg), GW_OK);
		ck_assert_int_eq(got, 0);
		ck_assert_int_eq(wsf_decoder_feed(&d, f.data + 3, f.len - 3), GW_OK);
		ck_assert_int_eq(wsf_decoder_next(&d, &ev, &got, &msg), GW_OK);
		ck_assert_int_eq(got, 1);
		ck_assert_uint_eq(ev.len, sizes[i]);
		ck_assert_mem_eq(ev.data, payload.data, ev.len);
		wsf_decoder_free(&d);
	}
	buf_free(&f);
	buf_free(&payload);
}
END_TEST

struct bad {
	const char *in;
	size_t n;
	enum gw_err want;
};

#define B(bytes, err) { bytes, sizeof(bytes) - 1, err }

static const struct bad bad[] = {
	B("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", GW_EUPSTREAM), /* masked */
	B("\xc1\x01x", GW_EUPSTREAM),            /* RSV1 without an extension */
	B("\x83\x01x", GW_EUPSTREAM),            /* unknown opcode 3 */
	B("\x09\x01x", GW_EUPSTREAM),            /* fragmented ping */
	B("\x89\x7e\x00\x7e", GW_EUPSTREAM),     /* ping longer than 125 */
	B("\x80\x01x", GW_EUPSTREAM),            /* continuation, nothing open */
	B("\x01\x01x\x81\x01y", GW_EUPSTREAM),   /* new message inside one */
	B("\x81\x7f\x00\x00\x00\x00\x10\x00\x00\x00", GW_ETOOBIG),
};

START_TEST(protocol_errors)
{
	struct wsf_decoder d;
	struct wsf_event ev;
	const char *msg = NULL;
	enum gw_err e;
	int got = 0;

	wsf_decoder_init(&d);
	ck_assert_int_eq(wsf_decoder_feed(&d, bad[_i].in, bad[_i].n), GW_OK);
	do
		e = wsf_decoder_next(&d, &ev, &got, &msg);
	while (e == GW_OK && got);
	ck_assert_int_eq(e, bad[_i].want);
	ck_assert_ptr_nonnull(msg);
	/* it stays failed */
	ck_assert_int_ne(wsf_decoder_next(&d, &ev, &got, &msg), GW_OK);
	wsf_decoder_free(&d);
}
END_TEST

/* RFC 6455 5.7: "Hello" masked with 37 fa 21 3d. */
START_TEST(encode_masked)
{
	static const uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static const char want[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	struct buf out = BUF_INIT;

	ck_assert_int_eq(wsf_encode(&out, WSF_TEXT, "Hello", 5, mask), GW_OK);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert_mem_eq(out.data, want, out.len);
	buf_free(&out);
}
END_TEST

/* Lengths past 125 and 65535 take the long forms; a control frame over
 * 125 bytes is refused. */
START_TEST(encode_lengths)
{
	static const uint8_t mask[4] = { 1, 2, 3, 4 };
	struct buf out = BUF_INIT, big = BUF_INIT;
	size_t i;

	for (i = 0; i < 70000; i++)
		ck_assert_int_eq(buf_putc(&big, 'x'), GW_OK);
	ck_assert_int_eq(wsf_encode(&out, WSF_TEXT, big.data, 126, mask), GW_OK);
	ck_assert_uint_eq(out.len, 4 + 4 + 126);
	ck_assert_uint_eq((uint8_t)out.data[1], 0x80 | 126);
	ck_assert_uint_eq((uint8_t)out.data[3], 126);
	buf_reset(&out);
	ck_assert_int_eq(wsf_encode(&out, WSF_BINARY, big.data, 70000, mask), GW_OK);
	ck_assert_uint_eq(out.len, 10 + 4 + 70000);
	ck_assert_uint_eq((uint8_t)out.data[1], 0x80 | 127);
	ck_assert_uint_eq((uint8_t)out.data[7], 70000 >> 16);
	/* the payload is masked: byte i ^ mask[i % 4] */
	ck_assert_uint_eq((uint8_t)out.data[14 + 5], 'x' ^ 2);
	buf_reset(&out);
	ck_assert_int_eq(wsf_encode(&out, WSF_PING, big.data, 126, mask),
	    GW_EINVAL);
	buf_free(&out);
	buf_free(&big);
}
END_TEST

/* RFC 6455 1.3's example key and accept; a key is 24 base64 chars. */
START_TEST(handshake_values)
{
	static const uint8_t nonce[16] = { 't', 'h', 'e', ' ', 's', 'a', 'm',
	    'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e' };
	char key[25], acc[29];

	wsf_key(nonce, key);
	ck_assert_str_eq(key, "dGhlIHNhbXBsZSBub25jZQ==");
	wsf_accept(key, acc);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

/* SHA-1 itself, on the FIPS examples (one and two blocks). */
START_TEST(sha1_vectors)
{
	uint8_t d[20];
	char hex[41];
	size_t i;

	sha1("abc", 3, d);
	for (i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	ck_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	for (i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	ck_assert_str_eq(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}
END_TEST

static Suite *
wsframe_suite(void)
{
	Suite *s = suite_create("wsframe");
	TCase *tc = tcase_create("wsframe");
	int n = (int)ARRAY_LEN(corpus);

	tcase_add_loop_test(tc, whole, 0, n);
	tcase_add_loop_test(tc, byte_by_byte, 0, n);
	tcase_add_loop_test(tc, every_step, 0, n);
	tcase_add_test(tc, long_lengths);
	tcase_add_loop_test(tc, protocol_errors, 0, (int)ARRAY_LEN(bad));
	tcase_add_test(tc, encode_masked);
	tcase_add_test(tc, encode_lengths);
	tcase_add_test(tc, handshake_values);
	tcase_add_test(tc, sha1_vectors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(wsframe_suite());
}

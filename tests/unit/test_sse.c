#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "core/buf.h"
#include "core/util.h"
#include "upstream/sse.c"

/* Events serialised as "event|id|len:data\n" ("~" for NULL) so that two
 * parses compare with one string comparison. */
struct rec {
	struct buf out;
	int calls;
	int fail_at;         /* return GW_ECLIENTGONE on this call (1-based) */
};

static enum gw_err
rec_cb(void *ctx, const char *event, const char *data, size_t len,
    const char *id)
{
	struct rec *r = ctx;

	r->calls++;
	ck_assert_uint_eq(strlen(data), len);   /* NUL-terminated at len */
	ck_assert_int_eq(buf_printf(&r->out, "%s|%s|%zu:",
	    event != NULL ? event : "~", id != NULL ? id : "~", len), GW_OK);
	ck_assert_int_eq(buf_append(&r->out, data, len), GW_OK);
	ck_assert_int_eq(buf_putc(&r->out, '\n'), GW_OK);
	return r->calls == r->fail_at ? GW_ECLIENTGONE : GW_OK;
}

struct sample {
	const char *in;
	const char *want;    /* serialised events */
	int truncated;
};

static const struct sample corpus[] = {
	{ "data: {\"a\":1}\n\ndata: [DONE]\n\n",
	  "~|~|7:{\"a\":1}\n~|~|6:[DONE]\n", 0 },
	{ "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
	  "event: ping\ndata: {\"type\": \"ping\"}\n\n",
	  "message_start|~|24:{\"type\":\"message_start\"}\n"
	  "ping|~|16:{\"type\": \"ping\"}\n", 0 },
	{ "event: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
	  "x|~|3:a\nb\n~|~|1:c\n", 0 },
	{ "data: a\rdata: b\r\rdata: c\r\r", "~|~|3:a\nb\n~|~|1:c\n", 0 },
	{ ": comment\nid: 42\nretry: 1000\ndata\ndata:no-space\n"
	  "data:  two spaces\nfoo: bar\nfoo\n\n",
	  "~|42|21:\nno-space\n two spaces\n", 0 },
	{ "data: h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\n\n",
	  "~|~|18:h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\n", 0 },
	{ "\xef\xbb\xbf" "data: bom\n\n", "~|~|3:bom\n", 0 },
	{ "event: lonely\nid: 7\n\ndata: x\n\n", "~|7|1:x\n", 0 },
	{ "data: a\n\ndata: partial", "~|~|1:a\n", 1 },
	{ "data: a\n\nevent: e\ndata: whole line\n", "~|~|1:a\n", 1 },
	{ "data:\n\ndata: \n\n:only a comment\n", "~|~|0:\n~|~|0:\n", 0 },
	{ "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
	  "~|1|1:a\n~|1|1:b\n~||1:c\n", 0 },
	{ "data: x\n\n\xef\xbb\xbf" "data: y\n\n", "~|~|1:x\n", 0 },
	{ "\n\n\r\n\r\rdata: after blanks\n\n", "~|~|12:after blanks\n", 0 },
};

/* Feeds in[0..n) cut at the given positions; returns the serialisation. */
static char *
parse_split(const char *in, size_t n, const size_t *cuts, size_t ncuts,
    int *truncated)
{
	struct rec r = { BUF_INIT, 0, 0 };
	struct sse_parser *p;
	size_t i, at = 0, to;

	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : n;
		ck_assert_int_eq(sse_parser_feed(p, in + at, to - at), GW_OK);
		at = to;
	}
	ck_assert_int_eq(sse_parser_finish(p, truncated), GW_OK);
	ck_assert_int_eq(sse_parser_events(p), r.calls);
	sse_parser_free(p);
	return buf_detach(&r.out);
}

static void
check_same(const struct sample *s, const size_t *cuts, size_t ncuts)
{
	int trunc = -1;
	char *got = parse_split(s->in, strlen(s->in), cuts, ncuts, &trunc);

	ck_assert_str_eq(got, s->want);
	ck_assert_int_eq(trunc, s->truncated);
	free(got);
}

START_TEST(whole_chunk)
{
	check_same(&corpus[_i], NULL, 0);
}
END_TEST

START_TEST(byte_by_byte)
{
	const struct sample *s = &corpus[_i];
	size_t n = strlen(s->in), i, cuts[512];

	ck_assert_uint_lt(n, ARRAY_LEN(cuts));
	for (i = 1; i < n; i++)
		cuts[i - 1] = i;
	check_same(s, cuts, n > 0 ? n - 1 : 0);
}
END_TEST

/* Two chunks cut at every position: inside "data:", inside a UTF-8
 * sequence, between CR and LF, inside the BOM. */
START_TEST(every_two_way_split)
{
	const struct sample *s = &corpus[_i];
	size_t n = strlen(s->in), i;

	for (i = 0; i <= n; i++)
		check_same(s, &i, 1);
}
END_TEST

static uint32_t
xorshift(uint32_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 17;
	*st ^= *st << 5;
	return *st;
}

START_TEST(random_splits)
{
	const struct sample *s = &corpus[_i];
	size_t n = strlen(s->in), cuts[64], nc, at;
	uint32_t seed;
	int round;

	for (seed = 1; seed <= 50; seed++) {
		uint32_t st = seed * 2654435761u;

		for (round = 0; round < 4; round++) {
			nc = 0;
			at = 0;
			while (nc < ARRAY_LEN(cuts) && n > 0) {
				at += 1 + xorshift(&st) % 7;
				if (at >= n)
					break;
				cuts[nc++] = at;
			}
			check_same(s, cuts, nc);
		}
	}
}
END_TEST

START_TEST(crlf_split_is_one_line_end)
{
	struct rec r = { BUF_INIT, 0, 0 };
	struct sse_parser *p;

	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	/* CR at the end of one chunk, LF at the start of the next: one line
	 * end, not a line end and a blank line that would dispatch "a". */
	ck_assert_int_eq(sse_parser_feed(p, "data: a\r", 8), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, "\ndata: b\r", 9), GW_OK);
	ck_assert_int_eq(r.calls, 0);
	ck_assert_int_eq(sse_parser_feed(p, "\n\r", 2), GW_OK);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(sse_parser_feed(p, "\n", 1), GW_OK);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_str_eq(buf_cstr(&r.out), "~|~|3:a\nb\n");
	sse_parser_free(p);
	buf_free(&r.out);
}
END_TEST

START_TEST(many_events_one_chunk)
{
	struct rec r = { BUF_INIT, 0, 0 };
	struct buf in = BUF_INIT;
	struct sse_parser *p;
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_printf(&in, "data: {\"i\":%d}\n\n", i),
		    GW_OK);
	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, in.data, in.len), GW_OK);
	ck_assert_int_eq(r.calls, 1000);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&r.out), "~|~|9:{\"i\":999}\n"));
	sse_parser_free(p);
	buf_free(&r.out);
	buf_free(&in);
}
END_TEST

START_TEST(callback_error_stops)
{
	struct rec r = { BUF_INIT, 0, 2 };
	struct sse_parser *p;
	const char *in = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, in, strlen(in)), GW_ECLIENTGONE);
	ck_assert_int_eq(r.calls, 2);
	/* Stuck: nothing more is parsed. */
	ck_assert_int_eq(sse_parser_feed(p, in, strlen(in)), GW_ECLIENTGONE);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_int_eq(sse_parser_finish(p, NULL), GW_ECLIENTGONE);
	sse_parser_free(p);
	buf_free(&r.out);
}
END_TEST

START_TEST(oversize_guard)
{
	struct rec r = { BUF_INIT, 0, 0 };
	struct sse_parser *p;
	char big[100];
	int i;

	memset(big, 'x', sizeof(big));
	/* One long line, in small pieces, never ended. */
	ck_assert_int_eq(sse_parser_new(64, rec_cb, &r, &p), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, "data: ", 6), GW_OK);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(sse_parser_feed(p, big, 10), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, big, 10), GW_ETOOBIG);
	ck_assert_int_eq(sse_parser_feed(p, "\n\n", 2), GW_ETOOBIG);
	ck_assert_int_eq(r.calls, 0);
	sse_parser_free(p);

	/* Many short data lines adding up: 5 make 54 bytes, 6 would be 65. */
	ck_assert_int_eq(sse_parser_new(64, rec_cb, &r, &p), GW_OK);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(sse_parser_feed(p, "data: 0123456789\n", 17),
		    GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, "data: 0123456789\n", 17),
	    GW_ETOOBIG);
	ck_assert_int_eq(r.calls, 0);
	sse_parser_free(p);

	/* Under the limit is fine, and the limit is per event. */
	ck_assert_int_eq(sse_parser_new(64, rec_cb, &r, &p), GW_OK);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(sse_parser_feed(p, "data: 0123456789\n\n", 18),
		    GW_OK);
	ck_assert_int_eq(r.calls, 20);
	sse_parser_free(p);
	buf_free(&r.out);
}
END_TEST

START_TEST(id_with_nul_ignored)
{
	struct rec r = { BUF_INIT, 0, 0 };
	struct sse_parser *p;
	static const char in[] = "id: 5\n\nid: a\0b\ndata: x\n\n";

	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, in, sizeof(in) - 1), GW_OK);
	ck_assert_str_eq(buf_cstr(&r.out), "~|5|1:x\n");
	sse_parser_free(p);
	buf_free(&r.out);
}
END_TEST

START_TEST(partial_bom_is_truncated)
{
	struct rec r = { BUF_INIT, 0, 0 };
	struct sse_parser *p;
	int trunc = 0;

	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	ck_assert_int_eq(sse_parser_feed(p, "\xef\xbb", 2), GW_OK);
	ck_assert_int_eq(sse_parser_finish(p, &trunc), GW_OK);
	ck_assert_int_eq(trunc, 1);
	sse_parser_free(p);
	/* A stream of nothing is not truncated. */
	ck_assert_int_eq(sse_parser_new(0, rec_cb, &r, &p), GW_OK);
	ck_assert_int_eq(sse_parser_finish(p, &trunc), GW_OK);
	ck_assert_int_eq(trunc, 0);
	sse_parser_free(p);
	buf_free(&r.out);
}
END_TEST

static Suite *
sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("sse");
	int n = (int)ARRAY_LEN(corpus);

	tcase_add_loop_test(tc, whole_chunk, 0, n);
	tcase_add_loop_test(tc, byte_by_byte, 0, n);
	tcase_add_loop_test(tc, every_two_way_split, 0, n);
	tcase_add_loop_test(tc, random_splits, 0, n);
	tcase_add_test(tc, crlf_split_is_one_line_end);
	tcase_add_test(tc, many_events_one_chunk);
	tcase_add_test(tc, callback_error_stops);
	tcase_add_test(tc, oversize_guard);
	tcase_add_test(tc, id_with_nul_ignored);
	tcase_add_test(tc, partial_bom_is_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(sse_suite());
}

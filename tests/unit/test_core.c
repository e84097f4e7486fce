#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "core/buf.c"
#include "core/json.h"
#include "core/share.h"
#include "core/strlist.h"
#include "core/util.h"

/* The one gw_err -> HTTP status table (core/err.h). */
START_TEST(http_status_of_each_error)
{
	ck_assert_int_eq(gw_http_status(GW_EINVAL), 400);
	ck_assert_int_eq(gw_http_status(GW_ENOTFOUND), 404);
	ck_assert_int_eq(gw_http_status(GW_ETOOBIG), 413);
	ck_assert_int_eq(gw_http_status(GW_ECLIENTGONE), 499);
	ck_assert_int_eq(gw_http_status(GW_ECONNECT), 502);
	ck_assert_int_eq(gw_http_status(GW_EUPSTREAM), 502);
	ck_assert_int_eq(gw_http_status(GW_EAUTH), 503);
	ck_assert_int_eq(gw_http_status(GW_EBUSY), 503);
	ck_assert_int_eq(gw_http_status(GW_EDBDOWN), 503);
	ck_assert_str_eq(gw_strerror(GW_EDBDOWN), "database unreachable");
	ck_assert_int_eq(gw_http_status(GW_ETIMEOUT), 504);
	ck_assert_int_eq(gw_http_status(GW_ENOMEM), 500);
	ck_assert_int_eq(gw_http_status(GW_EIO), 500);
	ck_assert_int_eq(gw_http_status(GW_EDB), 500);
	ck_assert_int_eq(gw_http_status(GW_EINTERNAL), 500);
}
END_TEST

START_TEST(replacef_replaces_the_message)
{
	char *m = NULL;

	buf_replacef(&m, "first %d", 1);
	ck_assert_str_eq(m, "first 1");
	buf_replacef(&m, "%s then %s", "a", "b");
	ck_assert_str_eq(m, "a then b");
	free(m);
}
END_TEST

START_TEST(sha256_vectors)
{
	char hex[65];

	util_sha256_hex("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	util_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* two-block message (56 bytes: padding spills into a second block) */
	util_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(uuid_from_string_matches_reference)
{
	char u[37];

	util_uuid_from_string("hello world", 11, u);
	ck_assert_str_eq(u, "b94d27b9-934d-4e08-a52e-52d7da7dabfa");
}
END_TEST

START_TEST(uuid4_shape)
{
	char u[37];

	ck_assert_int_eq(util_uuid4(u), GW_OK);
	ck_assert_uint_eq(strlen(u), 36);
	ck_assert_int_eq(u[14], '4');
	ck_assert(strchr("89ab", u[19]) != NULL);
}
END_TEST

START_TEST(secret_equal)
{
	ck_assert(util_secret_equal("abc", "abc"));
	ck_assert(!util_secret_equal("abc", "abd"));
	ck_assert(!util_secret_equal("abc", "abcd"));
	ck_assert(!util_secret_equal("", "x"));
	ck_assert(!util_secret_equal(NULL, "x"));
}
END_TEST

START_TEST(buf_grows_and_prints)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_printf(&b, "%d,", i), GW_OK);
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	ck_assert_uint_eq(b.len, strlen(b.data));
	buf_consume(&b, 2);
	ck_assert(strncmp(b.data, "1,2,", 4) == 0);
	buf_free(&b);
	ck_assert_str_eq(buf_cstr(&b), "");
}
END_TEST

START_TEST(json_parse_reports_position)
{
	const char *bad = "{\n  \"a\": 1,\n  \"b\": tru\n}";
	int line = 0, col = 0;
	cJSON *v;

	v = json_parse(bad, strlen(bad), &line, &col);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(line, 3);
	ck_assert_int_ge(col, 8);
	v = json_parse("{} x", 4, &line, &col);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(col, 4);
	v = json_parse("{\"k\":\"v\"} \n", 11, NULL, NULL);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(json_str(v, "k"), "v");
	cJSON_Delete(v);
}
END_TEST

/* issue 12, found by fuzz_gateway: an empty upstream body is a struct buf
 * whose data is NULL; json_parse computed NULL + 0 (UBSan reports it under
 * --enable-sanitizers; the reproducer is tests/fuzz/regress/gateway/). */
START_TEST(json_parse_null_empty_text)
{
	struct buf b = BUF_INIT;
	int line = 0, col = 0;

	ck_assert_ptr_null(json_parse(b.data, b.len, &line, &col));
	ck_assert_int_eq(line, 1);
	ck_assert_int_eq(col, 1);
}
END_TEST

START_TEST(parse_long_ranges)
{
	long v;

	ck_assert_int_eq(util_parse_long("42", 0, 100, &v), GW_OK);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(util_parse_long("-1", 0, 100, &v), GW_EINVAL);
	ck_assert_int_eq(util_parse_long("12x", 0, 100, &v), GW_EINVAL);
	ck_assert_int_eq(util_parse_long("", 0, 100, &v), GW_EINVAL);
	ck_assert_int_eq(util_parse_long("99999999999999999999", 0, 100, &v), GW_EINVAL);
}
END_TEST

/* issue 12: what cJSON would cut short is found, with its place */
START_TEST(json_find_nul_finds_what_cjson_would_cut)
{
	static const char raw[] = "{\"a\":\"h\0i\"}";
	int line = 0, col = 0;
	cJSON *v;

	ck_assert_int_eq(json_find_nul("{\"a\":\"h\\u0000i\"}", 16, &line, &col),
	    JSON_NUL_ESCAPE);
	ck_assert_int_eq(line * 100 + col, 108);
	ck_assert_int_eq(json_find_nul("{\n\"\\u0000\":1}", 13, &line, &col),
	    JSON_NUL_ESCAPE);
	ck_assert_int_eq(line * 100 + col, 202);
	ck_assert_int_eq(json_find_nul(raw, sizeof(raw) - 1, &line, &col),
	    JSON_NUL_RAW);
	ck_assert_int_eq(line * 100 + col, 108);
	/* what cJSON does with both: the string ends at the NUL */
	v = cJSON_ParseWithLength(raw, sizeof(raw) - 1);
	ck_assert_str_eq(json_str(v, "a"), "h");
	cJSON_Delete(v);
	v = cJSON_Parse("{\"a\":\"h\\u0000i\"}");
	ck_assert_str_eq(json_str(v, "a"), "h");
	cJSON_Delete(v);
	/* an escaped backslash before "u0000" is text, and so is \u00000 in
	 * another place; the escaped quote does not end the string */
	ck_assert_int_eq(json_find_nul("{\"a\":\"\\\\u0000\"}", 15, NULL,
	    NULL), JSON_NUL_NONE);
	ck_assert_int_eq(json_find_nul("{\"a\":\"\\\"\\u0001\"}", 16, NULL,
	    NULL), JSON_NUL_NONE);
	ck_assert_int_eq(json_find_nul("{\"a\":\"\\\"\\u0000\"}", 16, NULL,
	    NULL), JSON_NUL_ESCAPE);
	ck_assert_int_eq(json_find_nul("{\"a\":\"x\"}\0", 11, NULL, NULL),
	    JSON_NUL_RAW);
	ck_assert_int_eq(json_find_nul("\"\\", 2, NULL, NULL), JSON_NUL_NONE);
}
END_TEST

START_TEST(json_quote_matches_javascript)
{
	/* expected: node -e 'JSON.stringify("a\"b\\c\b\f\n\r\t\x01\x1f\x7f é 😀 \u2028\0z")' */
	static const char in[] = "a\"b\\c\b\f\n\r\t\x01\x1f\x7f \xc3\xa9 "
	    "\xf0\x9f\x98\x80 \xe2\x80\xa8\0z";
	static const char want[] = "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f"
	    "\x7f \xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8\\u0000z\"";
	struct buf b = BUF_INIT;

	ck_assert_int_eq(json_quote(&b, in, sizeof(in) - 1), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), want);
	/* bytes that are not UTF-8 (a stray continuation byte, the WTF-8 form
	 * of a lone surrogate) pass as they are, as every caller had them */
	buf_reset(&b);
	ck_assert_int_eq(json_quote(&b, "\x80\xed\xa0\x80", 4), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), "\"\x80\xed\xa0\x80\"");
	buf_reset(&b);
	ck_assert_int_eq(json_quote(&b, "", 0), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), "\"\"");
	buf_free(&b);
}
END_TEST

/*
 * The scans skip 8 plain bytes at a time: every byte that matters, at every
 * offset of strings of every length around a word, with bytes around 0x20,
 * 0x22, 0x5c and >= 0x80 as neighbours (the edges of the word test).
 */
START_TEST(json_scans_see_every_offset)
{
	static const unsigned char special[] = { 0x00, 0x01, 0x1f, '"', '\\' };
	static const unsigned char plain[] = { 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f,
	    0x80, 0xa2, 0xdc, 0xff };
	char in[40], want[120];
	struct buf b = BUF_INIT;
	size_t len, at, k, i, w;

	for (len = 1; len <= 33; len++)
		for (at = 0; at < len; at++)
			for (k = 0; k < sizeof(special); k++) {
				for (i = 0; i < len; i++)
					in[i] = (char)plain[(i + len) % sizeof(plain)];
				in[at] = (char)special[k];
				/* the expected text, one byte at a time */
				w = 0;
				want[w++] = '"';
				for (i = 0; i < len; i++) {
					unsigned char c = (unsigned char)in[i];

					if (c == '"' || c == '\\') {
						want[w++] = '\\';
						want[w++] = (char)c;
					} else if (c == 0x1f || c == 0x01 || c == 0x00) {
						w += (size_t)sprintf(want + w, "\\u%04x", c);
					} else
						want[w++] = (char)c;
				}
				want[w++] = '"';
				buf_reset(&b);
				ck_assert_int_eq(json_quote(&b, in, len), GW_OK);
				ck_assert_uint_eq(b.len, w);
				ck_assert(memcmp(b.data, want, w) == 0);
				/* a raw NUL is found wherever it is */
				ck_assert_int_eq(json_find_nul(in, len, NULL, NULL),
				    special[k] == 0 ? JSON_NUL_RAW : JSON_NUL_NONE);
			}
	/* an escaped NUL after a long plain run, at each alignment */
	for (len = 0; len < 24; len++) {
		w = 0;
		in[w++] = '"';
		for (i = 0; i < len; i++)
			in[w++] = 'a';
		memcpy(in + w, "\\u0000\"", 7);
		ck_assert_int_eq(json_find_nul(in, w + 7, NULL, NULL), JSON_NUL_ESCAPE);
		memcpy(in + w, "\\\\u0000\"", 8);
		ck_assert_int_eq(json_find_nul(in, w + 8, NULL, NULL), JSON_NUL_NONE);
	}
	buf_free(&b);
}
END_TEST

/* Expected strings printed once by node: JSON.stringify(<the C value>). */
static const struct {
	double v;
	const char *js;
} js_numbers[] = {
	{ 1e-7, "1e-7" },
	{ 1.2345678901234567e19, "12345678901234567000" },
	{ 0.1 + 0.2, "0.30000000000000004" },
	{ 5e-324, "5e-324" },
	{ 1.7976931348623157e308, "1.7976931348623157e+308" },
	{ 123456789012345680000.0, "123456789012345680000" },
	{ 1e21, "1e+21" },
	{ -0.0, "0" },
	{ 0.000001, "0.000001" },
	{ 1e-6 * 3, "0.000003" },
	{ 9007199254740992.0, "9007199254740992" },          /* 2**53 */
	{ 9007199254740994.0, "9007199254740994" },          /* 2**53+2 */
	{ 100, "100" },
	{ 1.5, "1.5" },
	{ -2.5e-8, "-2.5e-8" },
	{ 0, "0" },
	{ 1, "1" },
	{ -1, "-1" },
	{ 0.1, "0.1" },
	{ 1.0 / 3, "0.3333333333333333" },
	{ 2.0 / 3, "0.6666666666666666" },
	{ 1e20, "100000000000000000000" },
	{ 1.5e21, "1.5e+21" },
	{ 9.999999999999999e20, "999999999999999900000" },
	{ 123456789, "123456789" },
	{ 0.000123, "0.000123" },
	{ 1.23e-5, "0.0000123" },
	{ 4.35, "4.35" },
	{ 0.5e-6, "5e-7" },
	{ 1e100, "1e+100" },
	{ -1e-100, "-1e-100" },
	{ 2.2250738585072014e-308, "2.2250738585072014e-308" },
	{ 4.9406564584124654e-324, "5e-324" },
	{ 1e15 + 0.3, "1000000000000000.2" },
	{ 12345.6789, "12345.6789" },
	{ -123.456, "-123.456" },
	{ 9.95, "9.95" },
	{ 0.7, "0.7" },
	{ 3.14159, "3.14159" },
	{ 1234567890123456789.0, "1234567890123456800" },
	{ 2147483648.0, "2147483648" },                      /* 2**31 */
	{ -9223372036854775808.0, "-9223372036854776000" },  /* -(2**63) */
	{ 25e-8, "2.5e-7" },
};

START_TEST(json_number_matches_javascript)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_LEN(js_numbers); i++) {
		buf_reset(&b);
		ck_assert_int_eq(json_number(&b, js_numbers[i].v), GW_OK);
		ck_assert_msg(strcmp(buf_cstr(&b), js_numbers[i].js) == 0,
		    "%.17g: got %s, want %s", js_numbers[i].v, buf_cstr(&b),
		    js_numbers[i].js);
	}
	/* JSON.stringify(NaN), JSON.stringify(-Infinity) */
	buf_reset(&b);
	ck_assert_int_eq(json_number(&b, NAN), GW_OK);
	ck_assert_int_eq(json_number(&b, -INFINITY), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), "nullnull");
	buf_free(&b);
}
END_TEST

/* The same value through JSON.parse and back: node -e
 * 'console.log(JSON.stringify(JSON.parse(s)))' (and with null, 2). */
static const char js_in[] = "{\"b\":1e-7,\"2\":12345678901234567890,\"a\":-0,"
    "\"1\":[1.5e300,0.000001,1e21,-0.0,100,2.50,1e400],\"x\":{\"10\":true,"
    "\"9\":null,\"01\":\"s\",\"4294967295\":1,\"4294967294\":2,\"-1\":0,"
    "\"1.5\":0,\"0\":{}},\"k\\n\\u0001\":\"\\\"q\\\"\",\"e\":[]}";

START_TEST(json_stringify_matches_javascript)
{
	static const char want[] = "{\"1\":[1.5e+300,0.000001,1e+21,0,100,2.5,"
	    "null],\"2\":12345678901234567000,\"b\":1e-7,\"a\":0,\"x\":{\"0\":{},"
	    "\"9\":null,\"10\":true,\"4294967294\":2,\"01\":\"s\",\"4294967295\":1,"
	    "\"-1\":0,\"1.5\":0},\"k\\n\\u0001\":\"\\\"q\\\"\",\"e\":[]}";
	struct buf b = BUF_INIT;
	cJSON *v = json_parse(js_in, strlen(js_in), NULL, NULL);
	char *s;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_append(&b, v), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), want);
	ck_assert_ptr_nonnull(s = json_print(v));
	ck_assert_str_eq(s, want);
	cJSON_free(s);
	buf_reset(&b);
	ck_assert_int_eq(json_append(&b, cJSON_GetObjectItem(v, "a")), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), "0");
	cJSON_Delete(v);
	v = cJSON_Parse("{\"n\":[1e-7,-0,12345678901234567890],\"3\":1,"
	    "\"b\":2}");
	ck_assert_ptr_nonnull(v);
	buf_reset(&b);
	ck_assert_int_eq(json_format_js(&b, v), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), "{\n  \"3\": 1,\n  \"n\": [\n    1e-7,\n"
	    "    0,\n    12345678901234567000\n  ],\n  \"b\": 2\n}");
	cJSON_Delete(v);
	buf_free(&b);
}
END_TEST

START_TEST(json_format_js_matches_javascript)
{
	/* expected: node -e 'JSON.stringify(<the same value>, null, 2)' */
	static const char in[] = "{\"a\":[1,{},[]],\"k\\n\":\"v\",\"e\":{\"x\":null,"
	    "\"y\":true,\"z\":false,\"s\":[\"q\"]}}";
	static const char want[] =
	    "{\n  \"a\": [\n    1,\n    {},\n    []\n  ],\n  \"k\\n\": \"v\",\n"
	    "  \"e\": {\n    \"x\": null,\n    \"y\": true,\n    \"z\": false,\n"
	    "    \"s\": [\n      \"q\"\n    ]\n  }\n}";
	struct buf b = BUF_INIT;
	cJSON *v = json_parse(in, strlen(in), NULL, NULL);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_format_js(&b, v), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), want);
	buf_reset(&b);
	ck_assert_int_eq(json_format_js(&b, cJSON_GetObjectItem(v, "k\n")), GW_OK);
	ck_assert_str_eq(buf_cstr(&b), "\"v\"");
	cJSON_Delete(v);
	buf_free(&b);
}
END_TEST

START_TEST(gpt_at_least_follows_the_model_pattern)
{
	ck_assert(util_gpt_at_least("gpt-5.3-codex", 5, 3));
	ck_assert(util_gpt_at_least("gpt-5.4-mini", 5, 3));
	ck_assert(util_gpt_at_least("gpt-6", 5, 6));
	ck_assert(util_gpt_at_least("gpt-5.10", 5, 6));
	ck_assert(util_gpt_at_least("gpt-5.6-sol", 5, 6));
	ck_assert(!util_gpt_at_least("gpt-5.5", 5, 6));
	ck_assert(!util_gpt_at_least("gpt-5-mini", 5, 3));
	ck_assert(!util_gpt_at_least("gpt-4.1", 5, 3));
	ck_assert(!util_gpt_at_least("gpt-x", 0, 0));
	ck_assert(!util_gpt_at_least("claude-opus-4.7", 0, 0));
	ck_assert(!util_gpt_at_least(NULL, 0, 0));
}
END_TEST

START_TEST(random_id_shape)
{
	char id[32], again[32];
	size_t i;

	ck_assert_int_eq(util_random_id("msg_", UTIL_ID_HEX, 24, id, sizeof(id)),
	    GW_OK);
	ck_assert_uint_eq(strlen(id), 28);
	ck_assert(strncmp(id, "msg_", 4) == 0);
	for (i = 4; i < 28; i++)
		ck_assert(strchr(UTIL_ID_HEX, id[i]) != NULL);
	ck_assert_int_eq(util_random_id("msg_", UTIL_ID_HEX, 24, again,
	    sizeof(again)), GW_OK);
	ck_assert_str_ne(id, again);
	ck_assert_int_eq(util_random_id("", UTIL_ID_BASE36, 16, id, 17), GW_OK);
	ck_assert_uint_eq(strlen(id), 16);
	for (i = 0; i < 16; i++)
		ck_assert(strchr(UTIL_ID_BASE36, id[i]) != NULL);
	/* too small for prefix + characters + NUL: an error, not a short id */
	ck_assert_int_eq(util_random_id("", UTIL_ID_BASE36, 16, id, 16), GW_EINVAL);
	ck_assert_str_eq(id, "");
	ck_assert_int_eq(util_random_id("toolu_", UTIL_ID_HEX, 1, id, 7), GW_EINVAL);
	ck_assert_int_eq(util_random_id("x", "", 1, id, sizeof(id)), GW_EINVAL);
}
END_TEST

START_TEST(strlist_map_replaces_in_place)
{
	struct strlist_map m = STRLIST_MAP_INIT;
	struct strlist l = STRLIST_INIT;
	char *s = buf_strdupf("%s-%d", "k", 2);

	ck_assert_str_eq(s, "k-2");
	ck_assert_int_eq(strlist_map_set(&m, "a", "1"), GW_OK);
	ck_assert_int_eq(strlist_map_set(&m, s, "2"), GW_OK);
	ck_assert_int_eq(strlist_map_set(&m, "a", "3"), GW_OK);
	ck_assert_uint_eq(m.n, 2);
	ck_assert_str_eq(m.v[0].key, "a");
	ck_assert_str_eq(strlist_map_get(&m, "a"), "3");
	ck_assert_str_eq(strlist_map_get(&m, "k-2"), "2");
	ck_assert_ptr_null(strlist_map_get(&m, "b"));
	ck_assert_ptr_null(strlist_map_get(&m, NULL));
	strlist_map_free(&m);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_int_eq(strlist_add(&l, s), GW_OK);
	ck_assert(strlist_has(&l, "k-2"));
	ck_assert(!strlist_has(&l, "k"));
	strlist_free(&l);
	free(s);
}
END_TEST

/* share_read: COPILOT_API_SHARE_DIR alone when set; the paths tried are
 * reported; without it the tree's share/ is found next to the program. */
START_TEST(share_read_finds_and_reports)
{
	char dir[512], file[600];
	struct buf out = BUF_INIT, tried = BUF_INIT, path = BUF_INIT;
	char *saved = getenv("COPILOT_API_SHARE_DIR") != NULL ?
	    strdup(getenv("COPILOT_API_SHARE_DIR")) : NULL;
	FILE *f;

	test_tmpdir(dir, sizeof(dir), "gw-share");
	snprintf(file, sizeof(file), "%s/page.html", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs("<p>hello</p>\n", f);
	fclose(f);
	setenv("COPILOT_API_SHARE_DIR", dir, 1);
	ck_assert_int_eq(share_read("page.html", &out, &tried), GW_OK);
	ck_assert_str_eq(buf_cstr(&out), "<p>hello</p>\n");
	buf_reset(&out);
	buf_reset(&tried);
	ck_assert_int_eq(share_read("missing.html", &out, &tried), GW_ENOTFOUND);
	ck_assert_uint_eq(out.len, 0);
	snprintf(file, sizeof(file), "%s/missing.html", dir);
	ck_assert_str_eq(buf_cstr(&tried), file);
	unsetenv("COPILOT_API_SHARE_DIR");
	buf_reset(&tried);
	/* build/tests/test_core: <exe dir>/../../share is the tree's */
	ck_assert_int_eq(share_find("usage-viewer/index.html", &path, &tried), GW_OK);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&path), "/../../share/usage-viewer/index.html"));
	if (saved != NULL)
		setenv("COPILOT_API_SHARE_DIR", saved, 1);
	free(saved);
	test_rmdir(dir);
	buf_free(&out);
	buf_free(&tried);
	buf_free(&path);
}
END_TEST

static Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, http_status_of_each_error);
	tcase_add_test(tc, replacef_replaces_the_message);
	tcase_add_test(tc, sha256_vectors);
	tcase_add_test(tc, uuid_from_string_matches_reference);
	tcase_add_test(tc, uuid4_shape);
	tcase_add_test(tc, secret_equal);
	tcase_add_test(tc, buf_grows_and_prints);
	tcase_add_test(tc, json_parse_reports_position);
	tcase_add_test(tc, json_parse_null_empty_text);
	tcase_add_test(tc, parse_long_ranges);
	tcase_add_test(tc, json_find_nul_finds_what_cjson_would_cut);
	tcase_add_test(tc, json_quote_matches_javascript);
	tcase_add_test(tc, json_scans_see_every_offset);
	tcase_add_test(tc, json_number_matches_javascript);
	tcase_add_test(tc, json_format_js_matches_javascript);
	tcase_add_test(tc, json_stringify_matches_javascript);
	tcase_add_test(tc, random_id_shape);
	tcase_add_test(tc, gpt_at_least_follows_the_model_pattern);
	tcase_add_test(tc, strlist_map_replaces_in_place);
	tcase_add_test(tc, share_read_finds_and_reports);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(core_suite());
}

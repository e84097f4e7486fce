#include <string.h>

#include "testutil.h"
#include "core/buf.c"
#include "core/json.h"
#include "core/util.h"

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

static Suite *
core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sha256_vectors);
	tcase_add_test(tc, uuid_from_string_matches_reference);
	tcase_add_test(tc, uuid4_shape);
	tcase_add_test(tc, secret_equal);
	tcase_add_test(tc, buf_grows_and_prints);
	tcase_add_test(tc, json_parse_reports_position);
	tcase_add_test(tc, parse_long_ranges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(core_suite());
}

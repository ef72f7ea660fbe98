/*
 * test_json.c — parsing untrusted JSON bodies (limits, duplicates, NUL,
 * positions in messages), member readers, error replies, serialization.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "onecert/json.h"

#define LIT(s) (s), (sizeof(s) - 1)

static void
expect_parse_error(const char *data, size_t len, size_t max, int code,
    const char *want)
{
	struct oc_err err;
	json_t *v;

	oc_err_clear(&err);
	v = oc_json_parse_object(data, len, max, &err);
	if (v != NULL) {
		json_decref(v);
		fail_msg("accepted: %.*s", (int)len, data);
	}
	assert_int_equal(err.code, code);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void
parse_ok(void **state)
{
	struct oc_err err;
	json_t *v;
	static const char body[] = "{\"uscc\":\"91110000600037341L\",\"n\":3}";

	(void)state;
	v = oc_json_parse_object(LIT(body), sizeof(body) - 1, &err);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "uscc")),
	    "91110000600037341L");
	json_decref(v);
	/* One byte over the limit. */
	expect_parse_error(LIT(body), sizeof(body) - 2, OC_ETOOBIG, "too large");
}

static void
parse_errors(void **state)
{
	char *deep;

	(void)state;
	expect_parse_error(LIT("{\n  \"a\": 1,\n  \"b\": }"), 1024, OC_EINVAL,
	    "第3行第8列");
	expect_parse_error(LIT("{\n  \"a\": 1,\n  \"b\": }"), 1024, OC_EINVAL,
	    "line 3, column 8");
	expect_parse_error(LIT("{\"a\":1,\"a\":2}"), 1024, OC_EINVAL,
	    "duplicate object key");
	expect_parse_error(LIT("{\"a\":\"x\\u0000y\"}"), 1024, OC_EINVAL,
	    "\\u0000 is not allowed");
	expect_parse_error(LIT("{\"a\":\"x\0y\"}"), 1024, OC_EINVAL,
	    "control character");
	expect_parse_error(LIT("{\"a\":\"\xff\"}"), 1024, OC_EINVAL,
	    "unable to decode byte 0xff");
	expect_parse_error(LIT("{\"a\":1} x"), 1024, OC_EINVAL, "end of file expected");
	expect_parse_error(LIT("[1,2]"), 1024, OC_EINVAL, "must be an object");
	expect_parse_error(LIT("\"s\""), 1024, OC_EINVAL, "must be an object");
	expect_parse_error(LIT("null"), 1024, OC_EINVAL, "must be an object");
	expect_parse_error(LIT(""), 1024, OC_EINVAL, "empty");
	/* Deep nesting ends in an error, not a crash. */
	deep = malloc(100000);
	assert_non_null(deep);
	deep[0] = '{';
	memcpy(deep + 1, "\"a\":", 4);
	memset(deep + 5, '[', 100000 - 5);
	expect_parse_error(deep, 100000, 100000, OC_EINVAL, "maximum parsing depth");
	free(deep);
}

static void
get_str(void **state)
{
	struct oc_err err;
	json_t *o;
	const char *s = "sentinel";

	(void)state;
	o = oc_json_parse_object(LIT("{\"name\":\"上海\",\"n\":1,\"z\":null,"
	    "\"e\":\"\"}"), 1024, &err);
	assert_non_null(o);
	assert_int_equal(oc_json_get_str(o, "name", true, 6, &s, &err), 0);
	assert_string_equal(s, "上海");
	/* maxlen counts bytes: 上海 is 6. */
	assert_int_equal(oc_json_get_str(o, "name", true, 5, &s, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "field name is too long (5 bytes at most)"));
	assert_int_equal(oc_json_get_str(o, "e", true, 0, &s, &err), 0);
	assert_string_equal(s, "");
	assert_int_equal(oc_json_get_str(o, "n", true, 10, &s, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "field n must be a string"));
	assert_int_equal(oc_json_get_str(o, "missing", true, 10, &s, &err),
	    OC_EINVAL);
	assert_non_null(strstr(err.msg, "missing field missing"));
	s = "sentinel";
	assert_int_equal(oc_json_get_str(o, "missing", false, 10, &s, &err), 0);
	assert_null(s);
	/* null is absent. */
	s = "sentinel";
	assert_int_equal(oc_json_get_str(o, "z", false, 10, &s, &err), 0);
	assert_null(s);
	assert_int_equal(oc_json_get_str(o, "z", true, 10, &s, &err), OC_EINVAL);
	/* Built in code: NUL inside, invalid UTF-8, a surrogate. */
	json_object_set_new(o, "nul", json_stringn_nocheck("a\0b", 3));
	json_object_set_new(o, "bad", json_stringn_nocheck("a\xc3", 2));
	json_object_set_new(o, "sur", json_stringn_nocheck("\xed\xa0\x80", 3));
	json_object_set_new(o, "over", json_stringn_nocheck("\xc0\xaf", 2));
	assert_int_equal(oc_json_get_str(o, "nul", true, 10, &s, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_int_equal(oc_json_get_str(o, "bad", true, 10, &s, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "UTF-8"));
	assert_int_equal(oc_json_get_str(o, "sur", true, 10, &s, &err), OC_EINVAL);
	assert_int_equal(oc_json_get_str(o, "over", true, 10, &s, &err), OC_EINVAL);
	/* Not an object at all. */
	assert_int_equal(oc_json_get_str(NULL, "name", true, 10, &s, &err),
	    OC_EINVAL);
	json_decref(o);
}

static void
get_int_bool(void **state)
{
	struct oc_err err;
	json_t *o;
	long long n = -1;
	bool b = false;

	(void)state;
	o = oc_json_parse_object(LIT("{\"n\":10,\"neg\":-3,\"r\":1.0,\"s\":\"5\","
	    "\"t\":true,\"f\":false,\"big\":9223372036854775807}"), 1024, &err);
	assert_non_null(o);
	assert_int_equal(oc_json_get_int(o, "n", true, 0, 10, &n, &err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(oc_json_get_int(o, "n", true, 0, 9, &n, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "between 0 and 9"));
	assert_int_equal(oc_json_get_int(o, "neg", true, -3, 0, &n, &err), 0);
	assert_int_equal(n, -3);
	assert_int_equal(oc_json_get_int(o, "neg", true, -2, 0, &n, &err), OC_EINVAL);
	assert_int_equal(oc_json_get_int(o, "big", true, 0, INT64_MAX, &n, &err), 0);
	assert_true(n == INT64_MAX);
	assert_int_equal(oc_json_get_int(o, "r", true, 0, 10, &n, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "must be an integer"));
	assert_int_equal(oc_json_get_int(o, "s", true, 0, 10, &n, &err), OC_EINVAL);
	n = 77;
	assert_int_equal(oc_json_get_int(o, "absent", false, 0, 10, &n, &err), 0);
	assert_int_equal(n, 77);
	assert_int_equal(oc_json_get_int(o, "absent", true, 0, 10, &n, &err),
	    OC_EINVAL);

	assert_int_equal(oc_json_get_bool(o, "t", true, &b, &err), 0);
	assert_true(b);
	assert_int_equal(oc_json_get_bool(o, "f", true, &b, &err), 0);
	assert_false(b);
	assert_int_equal(oc_json_get_bool(o, "n", true, &b, &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "must be true or false"));
	b = true;
	assert_int_equal(oc_json_get_bool(o, "absent", false, &b, &err), 0);
	assert_true(b);
	assert_int_equal(oc_json_get_bool(o, "absent", true, &b, &err), OC_EINVAL);
	json_decref(o);
}

static void
error_and_dumps(void **state)
{
	json_t *e, *o;
	char *s;

	(void)state;
	e = oc_json_error("invalid_input", "统一社会信用代码校验位错误：第18位应为 L");
	assert_non_null(e);
	s = oc_json_dumps(e);
	assert_non_null(s);
	/* Compact, not ASCII-escaped, members in insertion order. */
	assert_string_equal(s, "{\"error\":{\"code\":\"invalid_input\","
	    "\"message\":\"统一社会信用代码校验位错误：第18位应为 L\"}}");
	free(s);
	json_decref(e);
	/* A message cut inside a character still gives a reply. */
	e = oc_json_error("invalid_input", "bad \xe7\xbb");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(e, "error"), "message")), "bad ");
	json_decref(e);
	e = oc_json_error(NULL, NULL);
	assert_non_null(e);
	s = oc_json_dumps(e);
	assert_string_equal(s, "{\"error\":{\"code\":\"internal_error\","
	    "\"message\":\"\"}}");
	free(s);
	json_decref(e);

	o = json_pack("{s:i, s:[i,i], s:s}", "z", 1, "a", 1, 2, "q", "\"\n");
	s = oc_json_dumps(o);
	assert_string_equal(s, "{\"z\":1,\"a\":[1,2],\"q\":\"\\\"\\n\"}");
	free(s);
	json_decref(o);
	assert_null(oc_json_dumps(NULL));
}

static void
error_message_truncation_keeps_utf8(void **state)
{
	struct oc_err err;
	char big[400];
	json_t *e;

	(void)state;
	/* 100 three-byte characters: 300 bytes, more than err.msg holds. */
	for (int i = 0; i < 100; i++)
		memcpy(big + 3 * i, "错", 3);
	big[300] = '\0';
	oc_err_set(&err, OC_EINVAL, "x%s", big);
	/* "x" + 85 characters = 256 bytes would not fit with the NUL; the
	 * cut character is dropped entirely. */
	assert_int_equal(strlen(err.msg), 1 + 3 * 84);
	e = oc_json_error("invalid_input", err.msg);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(e, "error"), "message")), err.msg);
	json_decref(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ok),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(get_str),
		cmocka_unit_test(get_int_bool),
		cmocka_unit_test(error_and_dumps),
		cmocka_unit_test(error_message_truncation_keeps_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

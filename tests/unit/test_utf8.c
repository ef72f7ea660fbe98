/*
 * test_utf8.c — the one strict UTF-8 decoder (src/core/utf8.c) that JSON,
 * SMS, sessions and the hall's SMS texts share: each boundary of RFC 3629
 * table 3-7's well-formed sequences, and the forms it must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "onecert/utf8.h"

#define U(s) ((const unsigned char *)(s))

static void
accepted(void **state)
{
	static const char *const ok[] = {
		"a", "\x7f",
		"\xc2\x80", "\xdf\xbf",                 /* U+0080, U+07FF */
		"\xe0\xa0\x80", "\xed\x9f\xbf",         /* U+0800, U+D7FF */
		"\xee\x80\x80", "\xef\xbf\xbf",         /* U+E000, U+FFFF */
		"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", /* U+10000, U+10FFFF */
		"\xe4\xb8\x80",                         /* 一 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = strlen(ok[i]);

		assert_int_equal(oc_utf8_char(U(ok[i]), n), n);
		assert_true(oc_utf8_valid(ok[i], n));
	}
}

static void
refused(void **state)
{
	static const char *const bad[] = {
		"\x80", "\xbf",                 /* a continuation byte first */
		"\xc0\x80", "\xc1\xbf",         /* overlong two-byte */
		"\xe0\x9f\xbf",                 /* overlong three-byte (U+07FF) */
		"\xf0\x8f\xbf\xbf",             /* overlong four-byte (U+FFFF) */
		"\xed\xa0\x80", "\xed\xbf\xbf", /* surrogates */
		"\xf4\x90\x80\x80",             /* U+110000 */
		"\xf5\x80\x80\x80", "\xff",
		"\xe4\xb8", "\xe4\x41\x80",     /* cut, or a non-continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);

		assert_int_equal(oc_utf8_char(U(bad[i]), n), 0);
		assert_false(oc_utf8_valid(bad[i], n));
	}
	/* a NUL inside a character is a cut, whatever avail says */
	assert_int_equal(oc_utf8_char(U("\xe4\x00\x80"), 3), 0);
	/* never reads past avail */
	assert_int_equal(oc_utf8_char(U("\xe4\xb8\x80"), 2), 0);
	assert_int_equal(oc_utf8_char(U("a"), 0), 0);
}

static void
prefix(void **state)
{
	/* "一二" with the second character cut after its second byte */
	static const char cut[] = "\xe4\xb8\x80\xe4\xba";

	(void)state;
	assert_int_equal(oc_utf8_prefix(U(cut), sizeof(cut) - 1), 3);
	assert_int_equal(oc_utf8_prefix(U("ab\xc0\x80" "cd"), 6), 2);
	assert_int_equal(oc_utf8_prefix(U(""), 0), 0);
	assert_true(oc_utf8_valid("", 0));
	/* an embedded NUL is a character (lengths are explicit) */
	assert_true(oc_utf8_valid("a\0b", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(refused),
		cmocka_unit_test(prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_ident.c — check digits of USCCs, organization codes and mobile
 * numbers.  Every vector below was computed outside this code base (a
 * python3 one-liner summing value × weight, checked again by a second
 * formulation: Σ over all 18 / 9 positions ≡ 0) before being written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "onecert/ident.h"

/* Assert rc == OC_EINVAL and that the message contains want. */
#define assert_fails_with(call, err, want) do {                          \
	oc_err_clear(&(err));                                            \
	assert_int_equal((call), OC_EINVAL);                             \
	assert_int_equal((err).code, OC_EINVAL);                         \
	if (strstr((err).msg, (want)) == NULL)                           \
		fail_msg("message \"%s\" lacks \"%s\"", (err).msg, (want)); \
} while (0)

static void
uscc_published_vectors(void **state)
{
	struct oc_err err;
	char org[10];

	(void)state;
	assert_int_equal(oc_uscc_check_char("91110000600037341"), 'L');
	assert_int_equal(oc_uscc_check_char("91310115MA1FL8XY7"), 'N');
	assert_int_equal(oc_uscc_check("91110000600037341L", &err), 0);
	assert_int_equal(oc_uscc_check("91310115MA1FL8XY7N", &err), 0);
	assert_true(oc_uscc_valid("91110000600037341L"));
	assert_true(oc_uscc_valid("91310115MA1FL8XY7N"));
	/* Both carry a valid organization code in positions 9–17. */
	assert_int_equal(oc_orgcode_check_char("60003734"), '1');
	assert_int_equal(oc_orgcode_check_char("MA1FL8XY"), '7');
	assert_int_equal(oc_uscc_orgcode("91110000600037341L", org), 0);
	assert_string_equal(org, "600037341");
	assert_int_equal(oc_uscc_orgcode("91310115MA1FL8XY7N", org), 0);
	assert_string_equal(org, "MA1FL8XY7");
}

static void
uscc_edge_check_chars(void **state)
{
	(void)state;
	/* Σ ≡ 0 (mod 31) → check '0'; Σ ≡ 1 → the last letter 'Y'. */
	assert_int_equal(oc_uscc_check_char("91310011600037341"), '0');
	assert_true(oc_uscc_valid("913100116000373410"));
	assert_int_equal(oc_uscc_check_char("9131000010000018X"), 'Y');
	assert_true(oc_uscc_valid("9131000010000018XY"));
	/* Embedded organization codes whose own check is X and 0. */
	assert_true(oc_uscc_valid("9131011510000018XU"));
	assert_true(oc_uscc_valid("913101151000000408"));
	/* Characters outside the alphabet give 0, never a guess. */
	assert_int_equal(oc_uscc_check_char("9111000060003734I"), 0);
	assert_int_equal(oc_uscc_check_char("91110000600037"), 0);
	assert_int_equal(oc_uscc_check_char(NULL), 0);
}

static void
uscc_wrong_check_char(void **state)
{
	struct oc_err err;

	(void)state;
	assert_fails_with(oc_uscc_check("91110000600037341A", &err), err,
	    "第18位应为 L");
	assert_fails_with(oc_uscc_check("91110000600037341A", &err), err,
	    "position 18 should be L");
	assert_fails_with(oc_uscc_check("91310115MA1FL8XY7M", &err), err,
	    "第18位应为 N");
	/* One typo in the body is caught by position 18 too. */
	assert_fails_with(oc_uscc_check("91110000600037351L", &err), err,
	    "第18位");
	assert_false(oc_uscc_valid("91110000600037341A"));
}

static void
uscc_embedded_orgcode_wrong(void **state)
{
	struct oc_err err;
	char org[10];

	(void)state;
	/* Position 18 is right for these 17, but 600037342 is not a valid
	 * organization code (its check digit must be 1). */
	assert_int_equal(oc_uscc_check_char("91110000600037342"), 'P');
	assert_fails_with(oc_uscc_check("91110000600037342P", &err), err,
	    "第17位应为 1");
	assert_fails_with(oc_uscc_check("91110000600037342P", &err), err,
	    "position 17 should be 1");
	assert_int_equal(oc_uscc_orgcode("91110000600037342P", org), OC_EINVAL);
}

static void
uscc_charset_case_length(void **state)
{
	struct oc_err err;

	(void)state;
	assert_fails_with(oc_uscc_check("91110000600037341l", &err), err,
	    "第18位 'l' 是小写字母");
	assert_fails_with(oc_uscc_check("91310115ma1fl8xy7n", &err), err,
	    "position 9 ('m') is lower case");
	/* I, O, S, V, Z are not in the alphabet. */
	assert_fails_with(oc_uscc_check("9111000060003734IL", &err), err,
	    "第17位字符 'I' 无效");
	assert_fails_with(oc_uscc_check("O1110000600037341L", &err), err,
	    "position 1 ('O') is not allowed");
	assert_fails_with(oc_uscc_check("911100006000-7341L", &err), err,
	    "第13位字符 '-' 无效");
	assert_fails_with(oc_uscc_check("91110000600037341\x01", &err), err,
	    "0x01");
	/* The whole message fits in err.msg (nothing cut off). */
	assert_non_null(strstr(err.msg, "except I, O, S, V, Z"));
	assert_fails_with(oc_uscc_check("91110000600037341", &err), err,
	    "应为18位，实际为17位");
	assert_fails_with(oc_uscc_check("91110000600037341LL", &err), err,
	    "got 19");
	assert_fails_with(oc_uscc_check("", &err), err, "got 0");
	assert_fails_with(oc_uscc_check(NULL, &err), err, "missing");
	assert_false(oc_uscc_valid(" 91110000600037341L"));
	assert_false(oc_uscc_valid(NULL));
}

static void
orgcode_vectors(void **state)
{
	struct oc_err err;

	(void)state;
	assert_int_equal(oc_orgcode_check_char("60003734"), '1');
	assert_int_equal(oc_orgcode_check_char("D2345678"), '5');
	/* 11 − (Σ mod 11) = 10 → X: Σ = 1·3 + 1·4 + 8·2 = 23 ≡ 1. */
	assert_int_equal(oc_orgcode_check_char("10000018"), 'X');
	/* = 11 → 0: Σ = 1·3 + 4·2 = 11 ≡ 0. */
	assert_int_equal(oc_orgcode_check_char("10000004"), '0');
	/* Organization codes may use I, O, Z (unlike USCCs). */
	assert_int_equal(oc_orgcode_check_char("IOZ00000"), '2');
	assert_int_equal(oc_orgcode_check_char("1000001x"), 0);
	assert_int_equal(oc_orgcode_check_char("1000001"), 0);
	assert_int_equal(oc_orgcode_check_char(NULL), 0);

	assert_int_equal(oc_orgcode_check("600037341", &err), 0);
	assert_int_equal(oc_orgcode_check("60003734-1", &err), 0);
	assert_int_equal(oc_orgcode_check("MA1FL8XY7", &err), 0);
	assert_int_equal(oc_orgcode_check("10000018X", &err), 0);
	assert_int_equal(oc_orgcode_check("10000018-X", &err), 0);
	assert_int_equal(oc_orgcode_check("100000040", &err), 0);
	assert_int_equal(oc_orgcode_check("10000004-0", &err), 0);
	assert_true(oc_orgcode_valid("IOZ000002"));
	assert_true(oc_orgcode_valid("D23456785"));
}

static void
orgcode_errors(void **state)
{
	struct oc_err err;

	(void)state;
	assert_fails_with(oc_orgcode_check("600037342", &err), err,
	    "第9位应为 1");
	assert_fails_with(oc_orgcode_check("60003734-2", &err), err,
	    "position 10 should be 1");
	assert_fails_with(oc_orgcode_check("100000180", &err), err,
	    "第9位应为 X");
	assert_fails_with(oc_orgcode_check("10000004X", &err), err,
	    "第9位应为 0");
	assert_fails_with(oc_orgcode_check("10000018x", &err), err,
	    "第9位 'x' 是小写字母");
	assert_fails_with(oc_orgcode_check("ma1fl8xy7", &err), err,
	    "position 1 ('m') is lower case");
	assert_fails_with(oc_orgcode_check("60003734_1", &err), err,
	    "第9位应为连字符");
	assert_fails_with(oc_orgcode_check("6000-37341", &err), err,
	    "position 9 must be '-'");
	assert_fails_with(oc_orgcode_check("6000373-41", &err), err,
	    "position 9 must be '-'");
	assert_fails_with(oc_orgcode_check("60003734A", &err), err,
	    "第9位字符 'A' 无效");
	assert_fails_with(oc_orgcode_check("6000373", &err), err, "got 7");
	assert_fails_with(oc_orgcode_check("6000373411", &err), err,
	    "position 9 must be '-'");
	assert_fails_with(oc_orgcode_check("60003734--1", &err), err, "got 11");
	assert_false(oc_orgcode_valid(NULL));
}

static void
company_id(void **state)
{
	struct oc_err err;
	char org[10];

	(void)state;
	assert_int_equal(oc_company_id_check("91110000600037341L", org, &err), 0);
	assert_string_equal(org, "600037341");
	assert_int_equal(oc_company_id_check("60003734-1", org, &err), 0);
	assert_string_equal(org, "600037341");
	assert_int_equal(oc_company_id_check("10000018-X", org, &err), 0);
	assert_string_equal(org, "10000018X");
	assert_int_equal(oc_company_id_check("MA1FL8XY7", org, &err), 0);
	assert_string_equal(org, "MA1FL8XY7");
	assert_fails_with(oc_company_id_check("91110000600037341A", org, &err),
	    err, "第18位应为 L");
	assert_fails_with(oc_company_id_check("60003734-2", org, &err), err,
	    "第10位应为 1");
	assert_fails_with(oc_company_id_check("1234567890123", org, &err), err,
	    "got 13");
	assert_fails_with(oc_company_id_check("", org, &err), err, "got 0");
}

static void
mobile(void **state)
{
	struct oc_err err;

	(void)state;
	assert_int_equal(oc_mobile_check("13816000000", &err), 0);
	assert_true(oc_mobile_valid("19912345678"));
	assert_true(oc_mobile_valid("13000000000"));
	assert_fails_with(oc_mobile_check("12816000000", &err), err,
	    "第2位应为 3–9");
	assert_fails_with(oc_mobile_check("23816000000", &err), err,
	    "position 1 must be 1");
	assert_fails_with(oc_mobile_check("1381600000", &err), err, "got 10");
	assert_fails_with(oc_mobile_check("138160000000", &err), err,
	    "实际为12位");
	assert_fails_with(oc_mobile_check("1381600000a", &err), err,
	    "第11位 'a' 不是数字");
	assert_fails_with(oc_mobile_check("+8613816000", &err), err,
	    "position 1 ('+') is not a digit");
	assert_fails_with(oc_mobile_check("138 1600000", &err), err, "0x20");
	assert_false(oc_mobile_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uscc_published_vectors),
		cmocka_unit_test(uscc_edge_check_chars),
		cmocka_unit_test(uscc_wrong_check_char),
		cmocka_unit_test(uscc_embedded_orgcode_wrong),
		cmocka_unit_test(uscc_charset_case_length),
		cmocka_unit_test(orgcode_vectors),
		cmocka_unit_test(orgcode_errors),
		cmocka_unit_test(company_id),
		cmocka_unit_test(mobile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_ident.c — the identity-number checks every form field goes through
 * (oc_uscc_check, oc_orgcode_check, oc_company_id_check, oc_mobile_check)
 * and serial numbers as operators type them (oc_serial_canon).
 *
 * The input, cut at its first NUL, is the typed string.  Besides "no
 * crash", the checks must agree with each other: a valid USCC embeds a
 * valid organization code, and oc_company_id_check hands back that code;
 * a valid organization code passes oc_company_id_check in canonical form;
 * the *_valid wrappers say what the *_check functions say; a refusal
 * always carries a message.  oc_serial_canon's output is canonical: even
 * length, at most 40 hex digits, unchanged by a second pass.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/ident.h"
#include "onecert/pki.h"
#include "fuzz.h"

static void
check_uscc(const char *s)
{
	struct oc_err err;
	char org[10], org2[10];
	int rc;

	oc_err_clear(&err);
	rc = oc_uscc_check(s, &err);
	FUZZ_CHECK((rc == 0) == oc_uscc_valid(s));
	if (rc != 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		FUZZ_CHECK(oc_uscc_orgcode(s, org) != 0);
		return;
	}
	FUZZ_CHECK(strlen(s) == 18);
	FUZZ_CHECK(oc_uscc_check_char(s) == s[17]);
	FUZZ_CHECK(oc_uscc_orgcode(s, org) == 0);
	FUZZ_CHECK(oc_orgcode_valid(org));
	FUZZ_CHECK(oc_company_id_check(s, org2, NULL) == 0);
	FUZZ_CHECK(strcmp(org, org2) == 0);
}

static void
check_orgcode(const char *s)
{
	struct oc_err err;
	char org[10];
	int rc;

	oc_err_clear(&err);
	rc = oc_orgcode_check(s, &err);
	FUZZ_CHECK((rc == 0) == oc_orgcode_valid(s));
	if (rc != 0) {
		FUZZ_CHECK(err.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(oc_orgcode_check_char(s) == s[strlen(s) - 1]);
	FUZZ_CHECK(oc_company_id_check(s, org, NULL) == 0);
	FUZZ_CHECK(strlen(org) == 9 && oc_orgcode_valid(org));
}

static void
check_company_id(const char *s)
{
	struct oc_err err;
	char org[10];

	oc_err_clear(&err);
	memset(org, 'x', sizeof(org));
	if (oc_company_id_check(s, org, &err) == 0) {
		FUZZ_CHECK(memchr(org, '\0', sizeof(org)) != NULL);
		FUZZ_CHECK(oc_orgcode_valid(org));
		FUZZ_CHECK(oc_uscc_valid(s) || oc_orgcode_valid(s));
	} else {
		FUZZ_CHECK(err.msg[0] != '\0');
		FUZZ_CHECK(!oc_uscc_valid(s) && !oc_orgcode_valid(s));
	}
}

static void
check_mobile(const char *s)
{
	struct oc_err err;
	int rc;

	oc_err_clear(&err);
	rc = oc_mobile_check(s, &err);
	FUZZ_CHECK((rc == 0) == oc_mobile_valid(s));
	if (rc == 0) {
		FUZZ_CHECK(strlen(s) == 11 && s[0] == '1' && s[1] >= '3');
		for (size_t i = 0; i < 11; i++)
			FUZZ_CHECK(s[i] >= '0' && s[i] <= '9');
	} else {
		FUZZ_CHECK(err.msg[0] != '\0');
	}
}

static void
check_serial(const char *s)
{
	struct oc_err err;
	char out[43], again[43];
	size_t n;

	oc_err_clear(&err);
	memset(out, 'x', sizeof(out));
	if (oc_serial_canon(s, out, &err) != 0) {
		FUZZ_CHECK(out[0] == '\0' && err.msg[0] != '\0');
		return;
	}
	n = strlen(out);
	FUZZ_CHECK(n >= 2 && n <= 40 && n % 2 == 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(isxdigit((unsigned char)out[i]) &&
		    !islower((unsigned char)out[i]));
	FUZZ_CHECK(oc_serial_canon(out, again, NULL) == 0);
	FUZZ_CHECK(strcmp(out, again) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);

	check_uscc(s);
	check_orgcode(s);
	check_company_id(s);
	check_mobile(s);
	check_serial(s);
	/* The check-character helpers on short and odd input. */
	(void)oc_uscc_check_char(s);
	(void)oc_orgcode_check_char(s);
	free(s);
	return 0;
}

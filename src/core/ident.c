/*
 * ident.c — check digits of Chinese identity numbers (SPEC §3.3).
 *
 * Unified social credit code (GB 32100-2015): 18 characters over a
 * 31-letter alphabet (no I, O, S, V, Z); position 18 is a mod-31 check
 * character over positions 1–17, and positions 9–17 are the organization
 * code (GB 11714), whose own mod-11 check character is position 17.  Both
 * published test vectors (91110000600037341L, 91310115MA1FL8XY7N) pass the
 * embedded check as well, so it is enforced.
 *
 * The messages name the wrong position, counted from 1 in the string as the
 * user typed it, in Chinese and English, because an operator at an outlet
 * reads them aloud to the applicant.  Lower-case input is refused rather
 * than folded: these functions check, they do not rewrite what was typed.
 */
#include <stdio.h>
#include <string.h>

#include "onecert/ident.h"

#define USCC_LEN 18
#define ORG_LEN 9

static const char uscc_alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int org_weights[8] = { 3, 7, 9, 10, 5, 8, 4, 2 };

/* Index of c in the USCC alphabet, or -1. */
static int
uscc_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(uscc_alpha, c);
	return p == NULL ? -1 : (int)(p - uscc_alpha);
}

/* Value of c in GB 11714 (0-9 → 0–9, A-Z → 10–35), or -1. */
static int
org_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return -1;
}

/* A printable rendering of a bad byte for a message: 'x' or 0xNN. */
static void
show_char(char *out, size_t cap, char c)
{
	unsigned char u = (unsigned char)c;

	if (u > 0x20 && u < 0x7f && c != '\'')
		snprintf(out, cap, "'%c'", c);
	else
		snprintf(out, cap, "0x%02X", u);
}

char
oc_uscc_check_char(const char *first17)
{
	long sum = 0, w = 1;
	int v;

	if (first17 == NULL)
		return 0;
	for (int i = 0; i < USCC_LEN - 1; i++) {
		if ((v = uscc_value(first17[i])) < 0)
			return 0;
		sum += v * w;
		w = (w * 3) % 31;
	}
	return uscc_alpha[(31 - sum % 31) % 31];
}

char
oc_orgcode_check_char(const char *first8)
{
	int sum = 0, v, c;

	if (first8 == NULL)
		return 0;
	for (int i = 0; i < 8; i++) {
		if ((v = org_value(first8[i])) < 0)
			return 0;
		sum += v * org_weights[i];
	}
	c = 11 - sum % 11;
	if (c == 10)
		return 'X';
	if (c == 11)
		return '0';
	return (char)('0' + c);
}

/* Charset error for s[i] (0-based) of something named zh/en. */
static int
bad_char(struct oc_err *err, const char *zh, const char *en, const char *s,
    size_t i, const char *allowed_zh, const char *allowed_en)
{
	char shown[8];

	show_char(shown, sizeof(shown), s[i]);
	if (s[i] >= 'a' && s[i] <= 'z')
		return oc_err_set(err, OC_EINVAL,
		    "%s第%zu位 %s 是小写字母，请使用大写 / %s: position %zu (%s) "
		    "is lower case; use upper case", zh, i + 1, shown, en, i + 1,
		    shown);
	return oc_err_set(err, OC_EINVAL,
	    "%s第%zu位字符 %s 无效，只允许%s / %s: position %zu (%s) is not "
	    "allowed; use %s", zh, i + 1, shown, allowed_zh, en, i + 1, shown,
	    allowed_en);
}

int
oc_uscc_check(const char *s, struct oc_err *err)
{
	char want, org_want;
	size_t len;

	if (s == NULL)
		return oc_err_set(err, OC_EINVAL,
		    "缺少统一社会信用代码 / unified social credit code missing");
	len = strlen(s);
	if (len != USCC_LEN)
		return oc_err_set(err, OC_EINVAL,
		    "统一社会信用代码应为18位，实际为%zu位 / unified social credit "
		    "code must be 18 characters, got %zu", len, len);
	for (size_t i = 0; i < USCC_LEN; i++)
		if (uscc_value(s[i]) < 0)
			return bad_char(err, "统一社会信用代码", "unified social "
			    "credit code", s, i, "数字和除 I、O、S、V、Z 外的大写字母",
			    "digits and upper-case letters except I, O, S, V, Z");
	want = oc_uscc_check_char(s);
	if (s[17] != want)
		return oc_err_set(err, OC_EINVAL,
		    "统一社会信用代码校验位错误：第18位应为 %c（或前17位有误） / "
		    "unified social credit code check character is wrong: "
		    "position 18 should be %c (or an earlier position is wrong)",
		    want, want);
	org_want = oc_orgcode_check_char(s + 8);
	if (s[16] != org_want)
		return oc_err_set(err, OC_EINVAL,
		    "统一社会信用代码中的组织机构代码校验位错误：第17位应为 %c / "
		    "the organization code inside the unified social credit code "
		    "is wrong: position 17 should be %c", org_want, org_want);
	return 0;
}

bool
oc_uscc_valid(const char *s)
{
	return oc_uscc_check(s, NULL) == 0;
}

int
oc_orgcode_check(const char *s, struct oc_err *err)
{
	size_t len, ci;
	char body[8], want;

	if (s == NULL)
		return oc_err_set(err, OC_EINVAL,
		    "缺少组织机构代码 / organization code missing");
	len = strlen(s);
	if (len != ORG_LEN && len != ORG_LEN + 1)
		return oc_err_set(err, OC_EINVAL,
		    "组织机构代码应为9位（或带连字符的10位），实际为%zu位 / "
		    "organization code must be 9 characters (10 with the dash), "
		    "got %zu", len, len);
	if (len == ORG_LEN + 1 && s[8] != '-')
		return oc_err_set(err, OC_EINVAL,
		    "组织机构代码第9位应为连字符 '-' / organization code: "
		    "position 9 must be '-' in the 10-character form");
	for (size_t i = 0; i < 8; i++)
		if (org_value(s[i]) < 0)
			return bad_char(err, "组织机构代码", "organization code", s,
			    i, "数字和大写字母", "digits and upper-case letters");
	memcpy(body, s, 8);
	ci = len - 1;
	if (!((s[ci] >= '0' && s[ci] <= '9') || s[ci] == 'X'))
		return bad_char(err, "组织机构代码", "organization code", s, ci,
		    "数字或 X（校验位）", "a digit or X (check character)");
	want = oc_orgcode_check_char(body);
	if (s[ci] != want)
		return oc_err_set(err, OC_EINVAL,
		    "组织机构代码校验位错误：第%zu位应为 %c / organization code "
		    "check character is wrong: position %zu should be %c",
		    ci + 1, want, ci + 1, want);
	return 0;
}

bool
oc_orgcode_valid(const char *s)
{
	return oc_orgcode_check(s, NULL) == 0;
}

int
oc_uscc_orgcode(const char *uscc, char out[10])
{
	if (oc_uscc_check(uscc, NULL) != 0)
		return OC_EINVAL;
	memcpy(out, uscc + 8, ORG_LEN);
	out[ORG_LEN] = '\0';
	return 0;
}

int
oc_company_id_check(const char *s, char orgcode[10], struct oc_err *err)
{
	size_t len;
	int rc;

	if (s == NULL)
		return oc_err_set(err, OC_EINVAL,
		    "缺少单位代码 / company identifier missing");
	len = strlen(s);
	if (len == USCC_LEN) {
		if ((rc = oc_uscc_check(s, err)) != 0)
			return rc;
		memcpy(orgcode, s + 8, ORG_LEN);
	} else if (len == ORG_LEN || len == ORG_LEN + 1) {
		if ((rc = oc_orgcode_check(s, err)) != 0)
			return rc;
		memcpy(orgcode, s, 8);
		orgcode[8] = s[len - 1];
	} else {
		return oc_err_set(err, OC_EINVAL,
		    "单位代码应为18位统一社会信用代码或9位组织机构代码，实际为%zu位 / "
		    "company identifier must be an 18-character unified social "
		    "credit code or a 9-character organization code, got %zu "
		    "characters", len, len);
	}
	orgcode[ORG_LEN] = '\0';
	return 0;
}

int
oc_mobile_check(const char *s, struct oc_err *err)
{
	size_t len;
	char shown[8];

	if (s == NULL)
		return oc_err_set(err, OC_EINVAL,
		    "缺少手机号码 / mobile number missing");
	len = strlen(s);
	if (len != 11)
		return oc_err_set(err, OC_EINVAL,
		    "手机号码应为11位数字，实际为%zu位 / mobile number must be 11 "
		    "digits, got %zu", len, len);
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9') {
			show_char(shown, sizeof(shown), s[i]);
			return oc_err_set(err, OC_EINVAL,
			    "手机号码第%zu位 %s 不是数字 / mobile number: position "
			    "%zu (%s) is not a digit", i + 1, shown, i + 1, shown);
		}
	if (s[0] != '1')
		return oc_err_set(err, OC_EINVAL,
		    "手机号码第1位应为 1 / mobile number: position 1 must be 1");
	if (s[1] < '3')
		return oc_err_set(err, OC_EINVAL,
		    "手机号码第2位应为 3–9 / mobile number: position 2 must be "
		    "3–9");
	return 0;
}

bool
oc_mobile_valid(const char *s)
{
	return oc_mobile_check(s, NULL) == 0;
}

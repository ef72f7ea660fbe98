/*
 * ident.h — Chinese identity numbers (SPEC §3.3).
 *
 *  - Unified social credit code (统一社会信用代码, GB 32100-2015): 18
 *    characters over "0123456789ABCDEFGHJKLMNPQRTUWXY"; weights 3^i mod 31
 *    for positions 1–17; check = ALPHA[(31 − Σ mod 31) mod 31]; positions
 *    9–17 are the organization code (GB 11714), itself check-digited.
 *  - Organization code (组织机构代码, GB 11714): 8 characters 0-9A-Z plus a
 *    check character; weights 3,7,9,10,5,8,4,2; C9 = 11 − (Σ mod 11),
 *    10 → 'X', 11 → '0'.  Accepted as "XXXXXXXXC" or "XXXXXXXX-C".
 *  - Chinese mobile numbers: 11 digits starting 1[3-9].
 */
#ifndef ONECERT_IDENT_H
#define ONECERT_IDENT_H

#include <stdbool.h>
#include "onecert/error.h"

/* The check character for the first 17 characters of a USCC, or 0 if one
 * of them is outside the alphabet. */
char oc_uscc_check_char(const char *first17);
/* The check character for the first 8 characters of an organization code,
 * or 0 if one of them is outside 0-9A-Z. */
char oc_orgcode_check_char(const char *first8);

/* Full checks.  On failure: OC_EINVAL and a Chinese+English message that
 * says which position is wrong, e.g. "统一社会信用代码校验位错误：第18位应为 L". */
int oc_uscc_check(const char *s, struct oc_err *err);
int oc_orgcode_check(const char *s, struct oc_err *err);
bool oc_uscc_valid(const char *s);
bool oc_orgcode_valid(const char *s);

/* The 9-character organization code embedded in a valid USCC (positions
 * 9–17), NUL-terminated into out[10].  OC_EINVAL if uscc is not valid. */
int oc_uscc_orgcode(const char *uscc, char out[10]);

/* Accept either form of company identifier: an 18-char USCC or a 9/10-char
 * organization code.  Writes the canonical organization code (9 chars, no
 * dash) into orgcode[10].  OC_EINVAL on anything else. */
int oc_company_id_check(const char *s, char orgcode[10], struct oc_err *err);

/* 11 digits, 1[3-9]xxxxxxxxx.  Which city a number belongs to is the
 * number-segment table's business (hall), not this check. */
int oc_mobile_check(const char *s, struct oc_err *err);
bool oc_mobile_valid(const char *s);

#endif

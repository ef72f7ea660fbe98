/*
 * utf8.h — strict UTF-8 (RFC 3629): no overlong forms, no surrogates,
 * nothing above U+10FFFF.  One decoder for every place that must refuse
 * or trim text that is not whole UTF-8: JSON strings, SMS texts, session
 * fields, error messages cut to a length.
 */
#ifndef ONECERT_UTF8_H
#define ONECERT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1–4) of the character at s, of at most avail bytes; 0 when
 * s does not begin with a whole, valid character (a NUL byte inside one
 * counts as a cut). */
size_t oc_utf8_char(const unsigned char *s, size_t avail);
/* The length of the longest prefix of s[0..len) that is valid UTF-8. */
size_t oc_utf8_prefix(const unsigned char *s, size_t len);
/* Whether all of s[0..len) is valid UTF-8. */
bool oc_utf8_valid(const char *s, size_t len);

#endif

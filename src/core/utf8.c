/*
 * utf8.c — strict UTF-8, see include/onecert/utf8.h.
 */
#include "onecert/utf8.h"

size_t
oc_utf8_char(const unsigned char *s, size_t avail)
{
	unsigned int cp;
	size_t n;

	if (avail == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 1, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 2, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 3, cp = s[0] & 0x07;
	else
		return 0;
	if (avail <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

size_t
oc_utf8_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len && (n = oc_utf8_char(s + i, len - i)) != 0)
		i += n;
	return i;
}

bool
oc_utf8_valid(const char *s, size_t len)
{
	return oc_utf8_prefix((const unsigned char *)s, len) == len;
}

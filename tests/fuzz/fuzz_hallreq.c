/*
 * fuzz_hallreq.c — what the hall reads from a request besides JSON bodies
 * (those are fuzz_json's): the session cookie from the Cookie header
 * (hall_cookie_get, src/hall/session.c) and the id in a path tail such as
 * /api/v1/apps/123/scan (hall_parse_id_tail, src/hall/activate.c).
 *
 * The input, cut at its first NUL, is both the Cookie header and the tail.
 * Besides "no crash":
 *   - the cookie agrees with a separate reader here (RFC 6265 pairs split
 *     at ';', leading spaces dropped, the first pair with the name decides:
 *     its value, or nothing when that is empty or does not fit), for the
 *     hall's "oc_session" and a few other names, with buffers of 65 bytes
 *     (the hall's) down to 1; an answer is the caller's buffer, fits it and
 *     holds no ';';
 *   - an id is accepted exactly when the tail is a decimal number without
 *     leading zeros from 1 to 8999999999999999999 followed by nothing or
 *     by '/' and anything; the id is that number and the rest is what
 *     follows the '/' ("" without one).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hall/hall_int.h"
#include "fuzz.h"

/* The cookie reader written again from RFC 6265 §5.4's shape. */
static bool
ref_cookie(const char *h, const char *name, size_t cap, const char **v,
    size_t *vn)
{
	size_t nl = strlen(name);

	for (const char *pair = h; ; ) {
		size_t n = strcspn(pair, ";");
		const char *p = pair;

		while (p < pair + n && *p == ' ')
			p++;
		if ((size_t)(pair + n - p) > nl && strncmp(p, name, nl) == 0 &&
		    p[nl] == '=') {
			*v = p + nl + 1;
			*vn = (size_t)(pair + n - *v);
			return *vn > 0 && *vn < cap;
		}
		if (pair[n] == '\0')
			return false;
		pair += n + 1;
	}
}

static void
check_cookie(const char *h, const char *name)
{
	static const size_t caps[] = { 65, 16, 2, 1 };

	FUZZ_CHECK(hall_cookie_get(NULL, name, NULL, 0) == NULL);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char buf[65];
		const char *got, *want = NULL;
		size_t wn = 0;
		bool found;

		memset(buf, 'x', sizeof(buf));
		got = hall_cookie_get(h, name, buf, caps[i]);
		found = ref_cookie(h, name, caps[i], &want, &wn);
		FUZZ_CHECK((got != NULL) == found);
		if (got == NULL)
			continue;
		FUZZ_CHECK(got == buf);
		FUZZ_CHECK(strlen(buf) == wn && wn < caps[i]);
		FUZZ_CHECK(memcmp(buf, want, wn) == 0);
		FUZZ_CHECK(strchr(buf, ';') == NULL);
		/* nothing written past the buffer the caller said it has */
		for (size_t k = caps[i]; k < sizeof(buf); k++)
			FUZZ_CHECK(buf[k] == 'x');
	}
}

static void
check_tail(const char *s)
{
	long long id = -1;
	const char *rest = NULL, *p = s;
	unsigned long long v = 0;
	bool want = *s >= '1' && *s <= '9';
	size_t digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (digits < 20)
			v = v * 10 + (unsigned long long)(*p - '0');
	want = want && digits <= 19 && v <= 8999999999999999999ULL &&
	    (*p == '\0' || *p == '/');
	FUZZ_CHECK(hall_parse_id_tail(s, &id, &rest) == want);
	if (!want) {
		FUZZ_CHECK(id == -1 && rest == NULL);   /* untouched */
		return;
	}
	FUZZ_CHECK(id >= 1 && (unsigned long long)id == v);
	FUZZ_CHECK(rest == (*p == '/' ? p + 1 : p));
	FUZZ_CHECK(!hall_parse_id_tail(NULL, &id, &rest));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "oc_session", "a", "oc", "=", "" };
	char *s = fuzz_cstr(data, size);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_cookie(s, names[i]);
	check_tail(s);
	free(s);
	return 0;
}

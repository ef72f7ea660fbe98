/*
 * fuzz_scan.c — uploaded scans of the signed application form (PUT
 * …/scan) through oc_scan_check with the hall's 200 KB limit, and the
 * same bytes, cut at their first NUL, as a QR payload through
 * oc_form_qr_judge (what a code in a scan can say is anything).
 *
 * Besides "no crash, no leak, no UB": a refusal is OC_EINVAL, OC_ETOOBIG
 * or OC_ENOMEM with a message of clean UTF-8 and leaves info empty; an
 * accepted scan is within the pixel limits, has at most 4 payloads, each
 * NUL-terminated, and is refused with OC_ETOOBIG one byte below its size;
 * the payloads it yields are judged like any other.  A payload is never
 * judged "none"; "match" only for the one payload the hall would print
 * for application FUZZ_APP and FUZZ_DIGEST; "stale" and "other" only for
 * strings in exactly the payload format.
 *
 * Seeds (corpus/scan/): JPEGs made with libturbojpeg's tjCompress2 from a
 * grey image holding libqrencode's code of the payloads below (6 px
 * modules): grey, 4:2:0 colour, progressive, cut in half, CMYK; two codes
 * (stale, other) in one image; blank 200×200, 199×300 and 8×8 images;
 * SOI alone; the three payloads as text.  The key is bytes 0..31, as in
 * tests/unit/test_forms.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onecert/forms.h"
#include "fuzz.h"

#define SCAN_MAX    (200 * 1024)
#define FUZZ_APP    1
#define FUZZ_DIGEST \
	"851ccac14bfd002568f5ee989f6e9bf99a378086098f4f6800b0fdfe3acc06ca"

static const unsigned char key[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* "OC1-" digits "-" 16 upper hex "-" 32 upper hex, nothing else. */
static int
payload_shaped(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 4 + 1 + 1 + 16 + 1 + 32 || n > 4 + 19 + 1 + 16 + 1 + 32 ||
	    strncmp(s, "OC1-", 4) != 0 || s[4] < '1' || s[4] > '9')
		return 0;
	for (i = 4; s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (s[i] != '-' || n - i != 1 + 16 + 1 + 32 || s[i + 17] != '-')
		return 0;
	for (size_t k = i + 1; k < n; k++)
		if (k != i + 17 && strchr("0123456789ABCDEF", s[k]) == NULL)
			return 0;
	return 1;
}

static void
check_payload(const char *s)
{
	static char good[128];
	enum oc_qr_verdict v;

	if (good[0] == '\0')
		FUZZ_CHECK(oc_form_qr_payload(key, sizeof(key), FUZZ_APP,
		    FUZZ_DIGEST, good, sizeof(good), NULL) == 0);
	v = oc_form_qr_judge(key, sizeof(key), FUZZ_APP, FUZZ_DIGEST, &s, 1);
	FUZZ_CHECK(v == OC_QR_MATCH || v == OC_QR_STALE || v == OC_QR_OTHER ||
	    v == OC_QR_FORGED);
	FUZZ_CHECK(strcmp(oc_qr_verdict_name(v), "unknown") != 0);
	if (v == OC_QR_MATCH)
		FUZZ_CHECK(strcmp(s, good) == 0);
	if (v != OC_QR_FORGED)
		FUZZ_CHECK(payload_shaped(s));
	/* Judging again, and among a forged neighbour, changes nothing. */
	{
		const char *two[2] = { "OC1-1-0-0", s };

		FUZZ_CHECK(oc_form_qr_judge(key, sizeof(key), FUZZ_APP,
		    FUZZ_DIGEST, two, 2) == v);
	}
	/* Under another key nothing of ours is valid. */
	FUZZ_CHECK(oc_form_qr_judge(key + 1, sizeof(key) - 1, FUZZ_APP,
	    FUZZ_DIGEST, &s, 1) == OC_QR_FORGED);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oc_scan_info info;
	struct oc_err err;
	char *s;
	int rc;

	oc_err_clear(&err);
	memset(&info, 0xa5, sizeof(info));
	rc = oc_scan_check(data, size, SCAN_MAX, &info, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == OC_EINVAL || rc == OC_ETOOBIG ||
		    rc == OC_ENOMEM);
		FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
		FUZZ_CHECK(fuzz_clean_utf8(err.msg));
		FUZZ_CHECK(info.width == 0 && info.height == 0 &&
		    info.n_qr == 0);
		FUZZ_CHECK(rc != OC_ETOOBIG || size > SCAN_MAX);
	} else {
		FUZZ_CHECK(size > 0 && size <= SCAN_MAX);
		FUZZ_CHECK(info.width >= 200 && info.width <= 10000);
		FUZZ_CHECK(info.height >= 200 && info.height <= 10000);
		FUZZ_CHECK(info.n_qr <= 4);
		for (size_t i = 0; i < info.n_qr; i++) {
			FUZZ_CHECK(memchr(info.qr[i], '\0',
			    sizeof(info.qr[i])) != NULL);
			check_payload(info.qr[i]);
		}
		FUZZ_CHECK(oc_scan_check(data, size, size - 1, NULL, &err) ==
		    OC_ETOOBIG);
	}
	s = fuzz_cstr(data, size);
	check_payload(s);
	free(s);
	return 0;
}

/*
 * serial.c — certificate serial numbers and certificate unique IDs.
 *
 * Serials: 16 bytes from RAND_bytes read as a positive integer (RFC 5280
 * 4.1.2.2 and the CA/B Forum's "at least 64 bits of entropy"); DER adds a
 * leading 0x00 when the top bit is set, which is still within 20 octets.
 * The text form is BN_bn2hex's: upper case, two digits per octet, no
 * leading zero octets — the same as `openssl x509 -serial` prints, so
 * operators can paste either.
 *
 * Unique IDs (证书唯一标识): "OC" + the issuing date in China Standard Time
 * (UTC+8, computed by adding 8 hours to UTC, so the process's TZ does not
 * matter) + 10 Crockford base32 characters (50 random bits).  20
 * characters, all PrintableString-safe, no I/L/O/U to misread.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "onecert/pki.h"
#include "internal.h"

#define SERIAL_MAX_OCTETS 20

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
oc_unique_id_new(char out[OC_UID_LEN + 1])
{
	unsigned char r[7];
	uint64_t v = 0;
	time_t now;
	struct tm tm;
	int i;

	now = time(NULL);
	if (now == (time_t)-1)
		return OC_EINTERNAL;
	now += 8 * 3600;
	if (gmtime_r(&now, &tm) == NULL)
		return OC_EINTERNAL;
	if (RAND_bytes(r, sizeof(r)) != 1)
		return OC_ECRYPTO;
	for (i = 0; i < 7; i++)
		v = (v << 8) | r[i];
	OPENSSL_cleanse(r, sizeof(r));
	v &= ((uint64_t)1 << 50) - 1;
	{
		/* A larger scratch buffer keeps -Wformat-truncation quiet;
		 * the year is 4 digits until 9999. */
		char date[48];

		if (tm.tm_year + 1900 > 9999 ||
		    snprintf(date, sizeof(date), "OC%04d%02d%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) != 10)
			return OC_EINTERNAL;
		memcpy(out, date, 10);
	}
	for (i = 0; i < 10; i++)
		out[10 + i] = crockford[(v >> (5 * (9 - i))) & 31];
	out[OC_UID_LEN] = '\0';
	return 0;
}

ASN1_INTEGER *
oc__serial_random(void)
{
	unsigned char r[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;

	do {
		if (RAND_bytes(r, sizeof(r)) != 1)
			goto out;
		BN_free(bn);
		if ((bn = BN_bin2bn(r, sizeof(r), NULL)) == NULL)
			goto out;
	} while (BN_is_zero(bn));
	ai = BN_to_ASN1_INTEGER(bn, NULL);
out:
	BN_free(bn);
	return ai;
}

int
oc_serial_hex(const ASN1_INTEGER *serial, char out[43])
{
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int rc = OC_EINVAL;
	size_t n;

	out[0] = '\0';
	if (serial == NULL || (bn = ASN1_INTEGER_to_BN(serial, NULL)) == NULL)
		goto out;
	if (BN_is_negative(bn) || BN_num_bytes(bn) > SERIAL_MAX_OCTETS)
		goto out;
	if (BN_is_zero(bn)) {
		memcpy(out, "00", 3);
		rc = 0;
		goto out;
	}
	if ((hex = BN_bn2hex(bn)) == NULL) {
		rc = OC_ENOMEM;
		goto out;
	}
	n = strlen(hex);
	if (n > 42)
		goto out;
	memcpy(out, hex, n + 1);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
oc_serial_canon(const char *in, char out[43], struct oc_err *err)
{
	char digits[2 * SERIAL_MAX_OCTETS + 2];
	unsigned char bytes[SERIAL_MAX_OCTETS + 1];
	size_t nd = 0, seen = 0, nb, i, skip;
	const char *p;
	static const char hexd[] = "0123456789ABCDEF";

	out[0] = '\0';
	if (in == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少序列号 / serial number "
		    "missing");
	p = in;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p))
			return oc_err_set(err, OC_EINVAL, "序列号只能包含十六进制数字 / "
			    "serial number must be hexadecimal");
		seen++;
		/* Skip leading zeros without counting them against the
		 * limit. */
		if (nd == 0 && *p == '0')
			continue;
		if (nd >= 2 * SERIAL_MAX_OCTETS)
			return oc_err_set(err, OC_EINVAL, "序列号超过20字节 / "
			    "serial number longer than 20 octets");
		digits[nd++] = (char)toupper((unsigned char)*p);
	}
	if (seen == 0)
		return oc_err_set(err, OC_EINVAL, "序列号为空 / serial number "
		    "is empty");
	if (nd == 0) {
		memcpy(out, "00", 3);
		return 0;
	}
	/* Pack into octets, left-padding an odd count with a zero nibble. */
	nb = (nd + 1) / 2;
	skip = nd % 2;
	memset(bytes, 0, sizeof(bytes));
	for (i = 0; i < nd; i++) {
		size_t pos = i + skip;
		int v = (int)(strchr(hexd, digits[i]) - hexd);

		bytes[pos / 2] |= (unsigned char)(pos % 2 ? v : v << 4);
	}
	for (i = 0; i < nb; i++) {
		out[2 * i] = hexd[bytes[i] >> 4];
		out[2 * i + 1] = hexd[bytes[i] & 15];
	}
	out[2 * nb] = '\0';
	return 0;
}

/*
 * qr.c — what the QR code on a printed application form says, and how a
 * code read back from a scan is judged (SPEC §4.2 step 3).
 *
 * The payload is "OC1-<app_id>-<D>-<M>": the application ID in decimal
 * (positive, no sign, no leading zero), D the first 16 hex digits of the
 * SHA-256 of the prefilled fields (oc_form_digest) and M the first 32 hex
 * digits of HMAC-SHA256 under the hall's key over "OC1-<app_id>-<D>"
 * exactly as it is printed.  Hex is upper-case so that the whole payload
 * is in the QR alphanumeric set (0-9 A-Z and '-'): a smaller code, larger
 * modules, a better chance of surviving print, signature, seal and scan.
 * 64 bits of field digest tell "changed since printing" from "the same";
 * 128 bits of MAC are far beyond guessing, and only the hall can make one.
 *
 * The parser takes exactly that format and nothing else (no spaces, no
 * lower case, no "+", no leading zeros, nothing after the MAC), so one
 * application has exactly one valid payload per field digest.  MACs are
 * compared with CRYPTO_memcmp.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "onecert/forms.h"

#define QR_PREFIX      "OC1-"
#define QR_DIGEST_HEX  16     /* hex digits of the field digest */
#define QR_MAC_HEX     32     /* hex digits of the HMAC */
#define QR_KEY_MIN     16     /* bytes: a shorter key is a setup mistake */
#define QR_ID_MAX      19     /* decimal digits of LLONG_MAX */
/* "OC1-" id "-" digest "-" mac, NUL */
#define QR_PAYLOAD_MAX (4 + QR_ID_MAX + 1 + QR_DIGEST_HEX + 1 + QR_MAC_HEX + 1)

static const char hexu[] = "0123456789ABCDEF";

void
oc_form_digest(const struct oc_form_field *fields, size_t n, char hex[65])
{
	static const char hexl[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	int ok = 0;

	hex[0] = '\0';
	if ((fields == NULL && n > 0) || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *label = fields[i].label ? fields[i].label : "";
		const char *value = fields[i].value ? fields[i].value : "";

		/* Each string with its NUL: ("ab","c") differs from ("a","bc"). */
		if (EVP_DigestUpdate(ctx, label, strlen(label) + 1) != 1 ||
		    EVP_DigestUpdate(ctx, value, strlen(value) + 1) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		goto out;
	for (size_t i = 0; i < sizeof(md); i++) {
		hex[2 * i] = hexl[md[i] >> 4];
		hex[2 * i + 1] = hexl[md[i] & 15];
	}
	hex[64] = '\0';
	ok = 1;
out:
	/* On failure hex stays "": oc_form_qr_payload refuses it. */
	if (!ok)
		hex[0] = '\0';
	EVP_MD_CTX_free(ctx);
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static char
upper(char c)
{
	return c >= 'a' && c <= 'f' ? (char)(c - 'a' + 'A') : c;
}

/* The first 16 digits of a 64-digit hex digest, upper-case, into d[17];
 * 0, or -1 when digest_hex is not 64 hex digits. */
static int
digest16(const char *digest_hex, char d[QR_DIGEST_HEX + 1])
{
	if (digest_hex == NULL)
		return -1;
	for (size_t i = 0; i < 64; i++)
		if (!is_hex(digest_hex[i]))
			return -1;
	if (digest_hex[64] != '\0')
		return -1;
	for (size_t i = 0; i < QR_DIGEST_HEX; i++)
		d[i] = upper(digest_hex[i]);
	d[QR_DIGEST_HEX] = '\0';
	return 0;
}

/* HMAC-SHA256(key, msg), first 32 hex digits upper-case, into mac[33]. */
static int
mac32(const unsigned char *key, size_t key_len, const char *msg, size_t len,
    char mac[QR_MAC_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
	    (const unsigned char *)msg, len, md, sizeof(md), &mdlen) == NULL ||
	    mdlen < QR_MAC_HEX / 2)
		return -1;
	for (size_t i = 0; i < QR_MAC_HEX / 2; i++) {
		mac[2 * i] = hexu[md[i] >> 4];
		mac[2 * i + 1] = hexu[md[i] & 15];
	}
	mac[QR_MAC_HEX] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int
oc_form_qr_payload(const unsigned char *key, size_t key_len, long long app_id,
    const char digest_hex[65], char *out, size_t cap, struct oc_err *err)
{
	char d[QR_DIGEST_HEX + 1], mac[QR_MAC_HEX + 1], buf[QR_PAYLOAD_MAX];
	int n;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (key == NULL || key_len < QR_KEY_MIN)
		return oc_err_set(err, OC_EINVAL,
		    "二维码密钥至少%d字节 / the QR key must be at least %d bytes",
		    QR_KEY_MIN, QR_KEY_MIN);
	if (app_id <= 0)
		return oc_err_set(err, OC_EINVAL,
		    "申请编号无效 / the application ID must be positive");
	if (digest16(digest_hex, d) != 0)
		return oc_err_set(err, OC_EINVAL,
		    "表单摘要无效 / the form digest must be 64 hex digits");
	n = snprintf(buf, sizeof(buf), QR_PREFIX "%lld-%s", app_id, d);
	if (n < 0 || (size_t)n >= sizeof(buf) - QR_MAC_HEX - 1)
		return oc_err_set(err, OC_EINTERNAL,
		    "二维码内容过长 / QR payload too long");
	if (mac32(key, key_len, buf, (size_t)n, mac) != 0)
		return oc_err_openssl(err, OC_ECRYPTO,
		    "无法计算二维码校验码 / HMAC-SHA256 failed");
	buf[n] = '-';
	memcpy(buf + n + 1, mac, sizeof(mac));
	if (out == NULL || cap <= strlen(buf))
		return oc_err_set(err, OC_EINVAL,
		    "二维码内容缓冲区太小 / the payload needs %zu bytes",
		    strlen(buf) + 1);
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

/*
 * Parse a payload: exactly "OC1-" id "-" 16 upper hex "-" 32 upper hex.
 * On success *id, d[17] and mac[33] are filled and *signed_len is the
 * length of the part the MAC covers.
 */
static int
parse_payload(const char *s, long long *id, char d[QR_DIGEST_HEX + 1],
    char mac[QR_MAC_HEX + 1], size_t *signed_len)
{
	const char *p;
	long long v = 0;
	size_t nd = 0;

	if (s == NULL || strncmp(s, QR_PREFIX, strlen(QR_PREFIX)) != 0)
		return -1;
	p = s + strlen(QR_PREFIX);
	if (*p < '1' || *p > '9')
		return -1;                      /* no 0, no sign, no space */
	while (*p >= '0' && *p <= '9') {
		int digit = *p - '0';

		if (++nd > QR_ID_MAX || v > (LLONG_MAX - digit) / 10)
			return -1;
		v = v * 10 + digit;
		p++;
	}
	if (*p++ != '-')
		return -1;
	for (size_t i = 0; i < QR_DIGEST_HEX; i++, p++) {
		if (strchr(hexu, *p) == NULL || *p == '\0')
			return -1;
		d[i] = *p;
	}
	d[QR_DIGEST_HEX] = '\0';
	*signed_len = (size_t)(p - s);
	if (*p++ != '-')
		return -1;
	for (size_t i = 0; i < QR_MAC_HEX; i++, p++) {
		if (strchr(hexu, *p) == NULL || *p == '\0')
			return -1;
		mac[i] = *p;
	}
	mac[QR_MAC_HEX] = '\0';
	if (*p != '\0')
		return -1;
	*id = v;
	return 0;
}

/* The verdict on one payload. */
static enum oc_qr_verdict
judge_one(const unsigned char *key, size_t key_len, long long app_id,
    const char *want_d, const char *payload)
{
	char d[QR_DIGEST_HEX + 1], mac[QR_MAC_HEX + 1], good[QR_MAC_HEX + 1];
	long long id;
	size_t signed_len;
	int macok;

	if (parse_payload(payload, &id, d, mac, &signed_len) != 0)
		return OC_QR_FORGED;
	if (mac32(key, key_len, payload, signed_len, good) != 0)
		return OC_QR_FORGED;
	macok = CRYPTO_memcmp(mac, good, QR_MAC_HEX) == 0;
	OPENSSL_cleanse(good, sizeof(good));
	if (!macok)
		return OC_QR_FORGED;
	if (id != app_id)
		return OC_QR_OTHER;
	if (want_d == NULL || strcmp(d, want_d) != 0)
		return OC_QR_STALE;
	return OC_QR_MATCH;
}

/* How good a verdict is, for picking the best: match > stale > other >
 * forged > none. */
static int
rank(enum oc_qr_verdict v)
{
	switch (v) {
	case OC_QR_MATCH:
		return 4;
	case OC_QR_STALE:
		return 3;
	case OC_QR_OTHER:
		return 2;
	case OC_QR_FORGED:
		return 1;
	case OC_QR_NONE:
		break;
	}
	return 0;
}

enum oc_qr_verdict
oc_form_qr_judge(const unsigned char *key, size_t key_len, long long app_id,
    const char digest_hex[65], const char *const *payloads, size_t n_payloads)
{
	enum oc_qr_verdict best = OC_QR_NONE, v;
	char d[QR_DIGEST_HEX + 1];
	const char *want_d = NULL;

	/* A digest that is no digest matches no form: at best "stale". */
	if (digest16(digest_hex, d) == 0)
		want_d = d;
	for (size_t i = 0; payloads != NULL && i < n_payloads; i++) {
		if (payloads[i] == NULL)
			continue;
		if (key == NULL || key_len < QR_KEY_MIN)
			v = OC_QR_FORGED;
		else
			v = judge_one(key, key_len, app_id, want_d, payloads[i]);
		if (rank(v) > rank(best))
			best = v;
	}
	return best;
}

const char *
oc_qr_verdict_name(enum oc_qr_verdict v)
{
	switch (v) {
	case OC_QR_NONE:
		return "none";
	case OC_QR_MATCH:
		return "match";
	case OC_QR_OTHER:
		return "other";
	case OC_QR_STALE:
		return "stale";
	case OC_QR_FORGED:
		return "forged";
	}
	return "unknown";
}

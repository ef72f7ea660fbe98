/*
 * der.c — the signed-object envelope SEQUENCE { tbs, AlgorithmIdentifier,
 * BIT STRING }, written and read by hand, plus PEM-or-DER input parsing.
 *
 * Why by hand: signing happens outside OpenSSL's X509_sign (the key may be
 * in a token or another process), so we need the exact TBS bytes going out
 * and coming in.  The BIT STRING is also written by hand because OpenSSL's
 * i2c_ASN1_BIT_STRING drops trailing zero octets of a string that has no
 * "bits left" flag, which would corrupt a signature that happens to end in
 * 0x00.
 *
 * Input parsing is strict: a PEM block with the expected label and nothing
 * but whitespace after it, or DER that is exactly one object.  The DER is
 * then handed to OpenSSL's d2i, which caches the received encoding, so a
 * later i2d gives back the very bytes that were signed.
 */
#include <ctype.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "onecert/pki.h"
#include "internal.h"

/* Length of the DER length octets for n. */
static size_t
der_len_size(size_t n)
{
	size_t k = 1;

	if (n < 0x80)
		return 1;
	while (n > 0) {
		k++;
		n >>= 8;
	}
	return k;
}

static unsigned char *
der_put_len(unsigned char *p, size_t n)
{
	size_t k, i;

	if (n < 0x80) {
		*p++ = (unsigned char)n;
		return p;
	}
	k = der_len_size(n) - 1;
	*p++ = (unsigned char)(0x80 | k);
	for (i = k; i > 0; i--)
		*p++ = (unsigned char)(n >> (8 * (i - 1)));
	return p;
}

int
oc__der_wrap(int tag, const unsigned char *in, size_t len,
    unsigned char **out, size_t *outlen)
{
	unsigned char *buf, *p;
	size_t total;

	if ((in == NULL && len > 0) || tag < 0 || tag > 30 ||
	    len > OC__CRL_MAX)
		return OC_EINVAL;
	total = 1 + der_len_size(len) + len;
	if ((buf = OPENSSL_malloc(total)) == NULL)
		return OC_ENOMEM;
	p = buf;
	*p++ = (unsigned char)(0x20 | tag);
	p = der_put_len(p, len);
	if (len > 0)
		memcpy(p, in, len);
	*out = buf;
	*outlen = total;
	return 0;
}

int
oc_der_signed(const unsigned char *tbs, size_t tbslen, const X509_ALGOR *alg,
    const unsigned char *sig, size_t siglen, unsigned char **out, size_t *outlen)
{
	unsigned char *algder = NULL, *buf = NULL, *p;
	size_t bitlen, body, total;
	int alglen, rc = OC_EINVAL;

	if (tbs == NULL || tbslen == 0 || alg == NULL || sig == NULL ||
	    siglen == 0 || out == NULL || outlen == NULL)
		goto out;
	if (siglen > 64 * 1024 || tbslen > OC__CRL_MAX)
		goto out;
	if ((alglen = i2d_X509_ALGOR(alg, &algder)) <= 0) {
		rc = OC_ECRYPTO;
		goto out;
	}
	bitlen = siglen + 1;
	body = tbslen + (size_t)alglen + 1 + der_len_size(bitlen) + bitlen;
	total = 1 + der_len_size(body) + body;
	if ((buf = OPENSSL_malloc(total)) == NULL) {
		rc = OC_ENOMEM;
		goto out;
	}
	p = buf;
	*p++ = 0x30;
	p = der_put_len(p, body);
	memcpy(p, tbs, tbslen);
	p += tbslen;
	memcpy(p, algder, (size_t)alglen);
	p += alglen;
	*p++ = 0x03;
	p = der_put_len(p, bitlen);
	*p++ = 0x00;               /* no unused bits */
	memcpy(p, sig, siglen);
	p += siglen;
	if ((size_t)(p - buf) != total) {
		rc = OC_EINTERNAL;
		goto out;
	}
	*out = buf;
	*outlen = total;
	buf = NULL;
	rc = 0;
out:
	OPENSSL_free(buf);
	OPENSSL_free(algder);
	return rc;
}

/*
 * One definite-length TLV at *pp (at most `left` bytes).  On success *pp
 * points past it, *content and *clen are its contents, *tag and *cls as in
 * ASN1_get_object, and *tlvlen the whole TLV's size.
 */
static int
next_tlv(const unsigned char **pp, size_t left, const unsigned char **content,
    size_t *clen, int *tag, int *cls, size_t *tlvlen)
{
	const unsigned char *start = *pp, *p = *pp;
	long len;
	int r;

	if (left == 0 || left > 0x7fffffff)
		return OC_EINVAL;
	r = ASN1_get_object(&p, &len, tag, cls, (long)left);
	/* 0x80: error; 0x21 in r means constructed + indefinite length. */
	if (r & 0x80 || (r & 0x01) != 0) {
		ERR_clear_error();
		return OC_EINVAL;
	}
	if ((size_t)(p - start) + (size_t)len > left)
		return OC_EINVAL;
	*content = p;
	*clen = (size_t)len;
	*tlvlen = (size_t)(p - start) + (size_t)len;
	*pp = p + len;
	return 0;
}

int
oc__der_split_signed(const unsigned char *der, size_t len,
    struct oc__signed_parts *out, struct oc_err *err)
{
	const unsigned char *p = der, *body, *c;
	size_t blen, clen, tl;
	int tag, cls;

	if (der == NULL || out == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少数据 / no data");
	memset(out, 0, sizeof(*out));
	if (next_tlv(&p, len, &body, &blen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL || tl != len)
		goto bad;
	p = body;
	/* tbs */
	out->tbs = p;
	if (next_tlv(&p, blen, &c, &clen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_SEQUENCE)
		goto bad;
	out->tbslen = tl;
	blen -= tl;
	/* AlgorithmIdentifier */
	out->alg = p;
	if (next_tlv(&p, blen, &c, &clen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_SEQUENCE)
		goto bad;
	out->alglen = tl;
	blen -= tl;
	/* BIT STRING, 0 unused bits */
	if (next_tlv(&p, blen, &c, &clen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_BIT_STRING || cls != V_ASN1_UNIVERSAL || clen < 2 ||
	    c[0] != 0x00 || tl != blen)
		goto bad;
	out->sig = c + 1;
	out->siglen = clen - 1;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return oc_err_set(err, OC_EINVAL, "签名结构无效 / malformed signed "
	    "object (expected SEQUENCE { tbs, algorithm, BIT STRING })");
}

X509_ALGOR *
oc__der_tbs_sigalg(const unsigned char *tbs, size_t tbslen)
{
	const unsigned char *p = tbs, *body, *c, *algp;
	size_t blen, clen, tl;
	int tag, cls;

	if (tbs == NULL ||
	    next_tlv(&p, tbslen, &body, &blen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_SEQUENCE)
		return NULL;
	p = body;
	/* TBSCertificate: [0] EXPLICIT version; TBSCertList: INTEGER version;
	 * both optional. */
	if (blen > 0 && (p[0] == 0xa0 || p[0] == 0x02)) {
		if (next_tlv(&p, blen, &c, &clen, &tag, &cls, &tl) != 0)
			return NULL;
		blen -= tl;
		/* TBSCertificate: serialNumber comes before the signature. */
		if (blen > 0 && p[0] == 0x02 && body[0] == 0xa0) {
			if (next_tlv(&p, blen, &c, &clen, &tag, &cls, &tl) != 0)
				return NULL;
			blen -= tl;
		}
	}
	algp = p;
	if (next_tlv(&p, blen, &c, &clen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_SEQUENCE)
		return NULL;
	return d2i_X509_ALGOR(NULL, &algp, (long)tl);
}

int
oc__sign_assemble(struct oc_signer *s, const unsigned char *tbs,
    size_t tbslen, unsigned char **out, size_t *outlen, struct oc_err *err)
{
	X509_ALGOR *alg = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc;

	if ((alg = oc_algo_sigalg_new(oc_signer_algo(s))) == NULL) {
		rc = oc_err_set(err, OC_EUNSUPPORTED, "签名者算法不支持 / the "
		    "signer's algorithm is not supported");
		goto out;
	}
	if ((rc = oc_signer_sign(s, tbs, tbslen, &sig, &siglen, err)) != 0)
		goto out;
	if ((rc = oc_der_signed(tbs, tbslen, alg, sig, siglen, out,
	    outlen)) != 0) {
		oc_err_set(err, rc, "无法组装签名结构 / cannot assemble the "
		    "signed object");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(sig);
	X509_ALGOR_free(alg);
	return rc;
}

static bool
all_space(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace(p[i]))
			return false;
	return true;
}

static bool
looks_pem(const unsigned char *data, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	size_t i = 0;

	while (i < len && isspace(data[i]))
		i++;
	return len - i >= sizeof(begin) - 1 &&
	    memcmp(data + i, begin, sizeof(begin) - 1) == 0;
}

int
oc__pem_or_der(const unsigned char *data, size_t len, const char *label,
    const char *label2, const char *what, unsigned char **der, size_t *derlen,
    struct oc_err *err)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *body = NULL;
	long blen = 0;
	const unsigned char *p, *c;
	size_t clen, tl;
	int tag, cls, rc = OC_EINVAL;

	*der = NULL;
	*derlen = 0;
	if (data == NULL || len == 0) {
		rc = oc_err_set(err, OC_EINVAL, "%s为空 / %s is empty", what, what);
		goto out;
	}
	if (len > 0x7fffffff) {
		rc = oc_err_set(err, OC_ETOOBIG, "%s太大 / %s too big", what, what);
		goto out;
	}
	if (looks_pem(data, len)) {
		if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		if (PEM_read_bio(bio, &name, &header, &body, &blen) != 1) {
			rc = oc_err_openssl(err, OC_EINVAL, "%s的 PEM 格式无效 / "
			    "%s: malformed PEM", what, what);
			goto out;
		}
		if (strcmp(name, label) != 0 &&
		    (label2 == NULL || strcmp(name, label2) != 0)) {
			/* The label is the sender's text: show it tame. */
			for (char *q = name; *q != '\0'; q++)
				if ((unsigned char)*q < 0x20 ||
				    (unsigned char)*q >= 0x7f)
					*q = '?';
			rc = oc_err_set(err, OC_EINVAL, "%s的 PEM 标签应为 %s，实际为 "
			    "%.64s / %s: PEM label must be %s, got %.64s", what,
			    label, name, what, label, name);
			goto out;
		}
		if (header != NULL && header[0] != '\0') {
			rc = oc_err_set(err, OC_EINVAL, "%s的 PEM 不应带头部（加密？） "
			    "/ %s: unexpected PEM headers (encrypted?)", what, what);
			goto out;
		}
		{
			char *rest = NULL;
			long restlen = BIO_get_mem_data(bio, &rest);

			if (restlen > 0 && !all_space((unsigned char *)rest,
			    (size_t)restlen)) {
				rc = oc_err_set(err, OC_EINVAL, "%s之后有多余数据 / "
				    "trailing data after the %s", what, what);
				goto out;
			}
		}
		if (blen <= 0) {
			rc = oc_err_set(err, OC_EINVAL, "%s为空 / %s is empty",
			    what, what);
			goto out;
		}
		*der = body;
		*derlen = (size_t)blen;
		body = NULL;
	} else {
		if ((*der = OPENSSL_memdup(data, len)) == NULL) {
			rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		*derlen = len;
	}
	/* Exactly one definite-length TLV, nothing after it. */
	p = *der;
	if (next_tlv(&p, *derlen, &c, &clen, &tag, &cls, &tl) != 0 ||
	    tag != V_ASN1_SEQUENCE) {
		rc = oc_err_set(err, OC_EINVAL, "%s不是有效的 PEM 或 DER / %s is "
		    "neither valid PEM nor DER", what, what);
		goto out;
	}
	if (tl != *derlen) {
		rc = oc_err_set(err, OC_EINVAL, "%s之后有多余数据 / trailing data "
		    "after the %s", what, what);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		OPENSSL_free(*der);
		*der = NULL;
		*derlen = 0;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(body);
	BIO_free(bio);
	return rc;
}

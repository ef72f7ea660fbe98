/*
 * ocsp.c — OCSP requests in, signed OCSP responses out (RFC 6960), without
 * the responder's private key in this process.
 *
 * Requests are parsed with OpenSSL's d2i_OCSP_REQUEST after a strict
 * outer check (one definite-length SEQUENCE, nothing after it, at most
 * 64 KiB), and flattened into struct oc_ocsp_request: each CertID's hash
 * algorithm, hashes, serial (canonical hex) and DER re-encoding, plus the
 * nonce.  Signed requests are accepted; their signature is not checked
 * (RFC 6960 4.1.2: optional, and our responder answers anyone).
 *
 * Responses are written as DER by hand (a small writer, `struct dw`,
 * whose dw_close inserts a constructed element's length once its content
 * is known).  OpenSSL 3.0 has no way to fill a BasicOCSPResponse's
 * signature fields other than OCSP_basic_sign with a private key in this
 * process, and its OCSP_RESPDATA is opaque; writing the few fixed-shape
 * structures ourselves needs no throwaway key and no second signature.
 * The tbsResponseData bytes go to the oc_signer (signer process, token,
 * or a file key in tests), and the BasicOCSPResponse is assembled around
 * them.  Then the response is parsed back (d2i_OCSP_RESPONSE, and
 * d2i_OCSP_BASICRESP of the BasicOCSPResponse's fields but certs, which
 * must hold exactly the responder certificate's DER), the ResponseData is
 * re-encoded by OpenSSL (i2d_OCSP_RESPDATA — exactly what
 * OCSP_basic_verify hashes, since OpenSSL keeps no received encoding for
 * it) and compared with what was signed, and the signature is checked
 * over it against the responder certificate's key (oc_verify_tbs, or a
 * verify context made once for the OCSP cache's refresh: SM3 and the
 * distinguishing ID for SM2 either way).  A response that fails any of
 * this is never returned.
 *
 *   OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED,
 *       responseBytes [0] EXPLICIT SEQUENCE { id-pkix-ocsp-basic,
 *                                             OCTET STRING { Basic } } }
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData, AlgorithmIdentifier,
 *       BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate }
 *   ResponseData ::= SEQUENCE { responderID [2] EXPLICIT OCTET STRING
 *       (byKey: SHA-1 of the responder's subjectPublicKey), producedAt,
 *       SEQUENCE OF SingleResponse, [1] EXPLICIT Extensions (nonce) }
 *   SingleResponse ::= SEQUENCE { CertID, good [0] / revoked [1] /
 *       unknown [2], thisUpdate, [0] EXPLICIT nextUpdate }
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "onecert/ocsp.h"
#include "onecert/pki.h"
#include "internal.h"

/* ---- constant error responses: SEQUENCE { ENUMERATED status } ---- */

static const unsigned char err_malformed[] = { 0x30, 0x03, 0x0a, 0x01, 0x01 };
static const unsigned char err_internal[] = { 0x30, 0x03, 0x0a, 0x01, 0x02 };
static const unsigned char err_try_later[] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };
static const unsigned char err_sig_required[] = { 0x30, 0x03, 0x0a, 0x01, 0x05 };
static const unsigned char err_unauthorized[] = { 0x30, 0x03, 0x0a, 0x01, 0x06 };

const unsigned char *
oc_ocsp_error_der(enum oc_ocsp_resp_status s, size_t *len)
{
	const unsigned char *p;

	switch (s) {
	case OC_OCSP_MALFORMED:
		p = err_malformed;
		break;
	case OC_OCSP_INTERNAL_ERROR:
		p = err_internal;
		break;
	case OC_OCSP_TRY_LATER:
		p = err_try_later;
		break;
	case OC_OCSP_SIG_REQUIRED:
		p = err_sig_required;
		break;
	case OC_OCSP_UNAUTHORIZED:
		p = err_unauthorized;
		break;
	default:
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = 5;
	return p;
}

const char *
oc_ocsp_resp_status_name(enum oc_ocsp_resp_status s)
{
	switch (s) {
	case OC_OCSP_SUCCESSFUL:
		return "successful";
	case OC_OCSP_MALFORMED:
		return "malformedRequest";
	case OC_OCSP_INTERNAL_ERROR:
		return "internalError";
	case OC_OCSP_TRY_LATER:
		return "tryLater";
	case OC_OCSP_SIG_REQUIRED:
		return "sigRequired";
	case OC_OCSP_UNAUTHORIZED:
		return "unauthorized";
	default:
		return "unknown";
	}
}

/* ---- GET: URL-encoded base64 ---- */

static int
b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == ' ')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

static int
hex_value(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
oc_ocsp_get_decode(const char *tail, unsigned char **der, size_t *len,
    struct oc_err *err)
{
	/* Base64 of OC_OCSP_REQ_MAX bytes, each character possibly %XX. */
	const size_t max_in = 3 * (4 * ((size_t)OC_OCSP_REQ_MAX / 3 + 1));
	unsigned char *out = NULL;
	size_t n = 0, pad = 0, inlen;
	uint32_t acc = 0;
	int bits = 0, rc = OC_EINVAL;

	if (der != NULL)
		*der = NULL;
	if (len != NULL)
		*len = 0;
	if (tail == NULL || der == NULL || len == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少 OCSP 请求 / no OCSP "
		    "request");
	while (*tail == '/')
		tail++;
	inlen = strnlen(tail, max_in + 1);
	if (inlen > max_in)
		return oc_err_set(err, OC_ETOOBIG, "OCSP 请求太大 / OCSP request "
		    "too big (at most %d bytes)", OC_OCSP_REQ_MAX);
	if (inlen == 0)
		return oc_err_set(err, OC_EINVAL, "OCSP 请求为空 / empty OCSP "
		    "request");
	if ((out = malloc(inlen * 3 / 4 + 3)) == NULL)
		return oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
	for (size_t i = 0; i < inlen; i++) {
		unsigned char ch = (unsigned char)tail[i];
		int v;

		if (ch == '%') {
			int h, l;

			if (i + 2 >= inlen || (h = hex_value((unsigned char)
			    tail[i + 1])) < 0 || (l = hex_value((unsigned char)
			    tail[i + 2])) < 0)
				goto bad;
			ch = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (ch == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(ch)) < 0)
			goto bad;    /* data after padding, or not base64 */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero and fewer than a byte; at most two
	 * '=' and only where they belong. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || pad > 2 ||
	    (pad > 0 && (pad != (size_t)(bits == 4 ? 2 : bits == 2 ? 1 : 9))))
		goto bad;
	if (n == 0)
		goto bad;
	if (n > OC_OCSP_REQ_MAX) {
		rc = oc_err_set(err, OC_ETOOBIG, "OCSP 请求太大 / OCSP request "
		    "too big (at most %d bytes)", OC_OCSP_REQ_MAX);
		goto out;
	}
	*der = out;
	*len = n;
	out = NULL;
	rc = 0;
	goto out;
bad:
	rc = oc_err_set(err, OC_EINVAL, "OCSP GET 请求不是有效的 base64 / the "
	    "OCSP GET request is not valid base64");
out:
	free(out);
	return rc;
}

/* ---- requests ---- */

void
oc_ocsp_request_free(struct oc_ocsp_request *req)
{
	if (req == NULL)
		return;
	free(req->ids);
	free(req);
}

/* The nonce: extnValue is normally a DER OCTET STRING around the value
 * (RFC 6960 4.4.1, OpenSSL, NSS); a few old clients send the bare value.
 * 1..OC_OCSP_NONCE_MAX octets either way (RFC 9654). */
static int
take_nonce(struct oc_ocsp_request *r, const ASN1_OCTET_STRING *ev,
    struct oc_err *err)
{
	const unsigned char *d = ASN1_STRING_get0_data(ev), *p;
	int n = ASN1_STRING_length(ev), tag, cls, ret;
	long clen;

	if (n <= 0 || (size_t)n > sizeof(r->nonce_ext))
		return oc_err_set(err, OC_EINVAL, "OCSP 请求的 nonce 长度无效 / "
		    "OCSP request nonce length invalid (1 to %d octets)",
		    OC_OCSP_NONCE_MAX);
	memcpy(r->nonce_ext, d, (size_t)n);
	r->nonce_ext_len = (size_t)n;
	p = r->nonce_ext;
	ret = ASN1_get_object(&p, &clen, &tag, &cls, n);
	if (!(ret & 0x80) && ret == 0 && tag == V_ASN1_OCTET_STRING &&
	    cls == V_ASN1_UNIVERSAL && (size_t)(p - r->nonce_ext) +
	    (size_t)clen == (size_t)n) {
		r->nonce = p;
		r->nonce_len = (size_t)clen;
	} else {
		ERR_clear_error();
		r->nonce = r->nonce_ext;
		r->nonce_len = (size_t)n;
	}
	if (r->nonce_len == 0 || r->nonce_len > OC_OCSP_NONCE_MAX)
		return oc_err_set(err, OC_EINVAL, "OCSP 请求的 nonce 长度无效 / "
		    "OCSP request nonce length invalid (1 to %d octets)",
		    OC_OCSP_NONCE_MAX);
	r->has_nonce = true;
	return 0;
}

static int
take_certid(struct oc_ocsp_certid *out, OCSP_CERTID *cid, struct oc_err *err)
{
	ASN1_OCTET_STRING *nh = NULL, *kh = NULL;
	ASN1_OBJECT *md = NULL;
	ASN1_INTEGER *sn = NULL;
	unsigned char *q;
	int n;

	memset(out, 0, sizeof(*out));
	if (cid == NULL || !OCSP_id_get0_info(&nh, &md, &kh, &sn, cid) ||
	    nh == NULL || md == NULL || kh == NULL || sn == NULL)
		return oc_err_set(err, OC_EINVAL, "OCSP 请求的 CertID 无效 / "
		    "malformed CertID in the OCSP request");
	switch (OBJ_obj2nid(md)) {
	case NID_sha1:
		out->hash = OC_OCSP_HASH_SHA1;
		break;
	case NID_sha256:
		out->hash = OC_OCSP_HASH_SHA256;
		break;
	default:
		out->hash = OC_OCSP_HASH_NONE;
	}
	if (ASN1_STRING_length(nh) < 0 || ASN1_STRING_length(kh) < 0 ||
	    (size_t)ASN1_STRING_length(nh) > sizeof(out->name_hash) ||
	    (size_t)ASN1_STRING_length(kh) > sizeof(out->key_hash))
		return oc_err_set(err, OC_EINVAL, "OCSP 请求的 CertID 哈希过长 / "
		    "CertID hash too long in the OCSP request");
	out->name_hash_len = (size_t)ASN1_STRING_length(nh);
	memcpy(out->name_hash, ASN1_STRING_get0_data(nh), out->name_hash_len);
	out->key_hash_len = (size_t)ASN1_STRING_length(kh);
	memcpy(out->key_hash, ASN1_STRING_get0_data(kh), out->key_hash_len);
	/* A serial no certificate of ours can have stays "": unknown. */
	if (oc_serial_hex(sn, out->serial) != 0)
		out->serial[0] = '\0';
	ERR_clear_error();
	if ((n = i2d_OCSP_CERTID(cid, NULL)) <= 0 || n > OC_OCSP_CERTID_MAX)
		return oc_err_set(err, OC_EINVAL, "OCSP 请求的 CertID 过长 / "
		    "CertID too long in the OCSP request");
	q = out->der;
	if (i2d_OCSP_CERTID(cid, &q) != n)
		return oc_err_openssl(err, OC_ECRYPTO, "无法编码 CertID / cannot "
		    "encode a CertID");
	out->der_len = (size_t)n;
	return 0;
}

struct oc_ocsp_request *
oc_ocsp_request_parse(const unsigned char *der, size_t len, struct oc_err *err)
{
	struct oc_ocsp_request *r = NULL;
	OCSP_REQUEST *req = NULL;
	const unsigned char *p;
	long clen;
	int tag, cls, ret, n, idx;

	if (der == NULL || len == 0) {
		oc_err_set(err, OC_EINVAL, "OCSP 请求为空 / empty OCSP request");
		goto bad;
	}
	if (len > OC_OCSP_REQ_MAX) {
		oc_err_set(err, OC_ETOOBIG, "OCSP 请求太大 / OCSP request too big "
		    "(at most %d bytes)", OC_OCSP_REQ_MAX);
		goto bad;
	}
	/* Exactly one definite-length SEQUENCE and nothing after it. */
	p = der;
	ret = ASN1_get_object(&p, &clen, &tag, &cls, (long)len);
	if ((ret & 0x80) || ret != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
	    (size_t)(p - der) + (size_t)clen != len) {
		oc_err_set(err, OC_EINVAL, "OCSP 请求不是有效的 DER / OCSP request "
		    "is not a single DER object");
		goto bad;
	}
	p = der;
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		oc_err_openssl(err, OC_EINVAL, "OCSP 请求格式无效 / malformed OCSP "
		    "request");
		goto bad;
	}
	n = OCSP_request_onereq_count(req);
	if (n <= 0 || n > OC_OCSP_MAX_IDS) {
		oc_err_set(err, OC_EINVAL, "OCSP 请求须含 1 到 %d 个证书标识 / an "
		    "OCSP request must name 1 to %d certificates", OC_OCSP_MAX_IDS,
		    OC_OCSP_MAX_IDS);
		goto bad;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->ids = calloc((size_t)n, sizeof(*r->ids))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto bad;
	}
	for (int i = 0; i < n; i++) {
		OCSP_ONEREQ *one = OCSP_request_onereq_get0(req, i);

		if (one == NULL || take_certid(&r->ids[i],
		    OCSP_onereq_get0_id(one), err) != 0)
			goto bad;
	}
	r->n = (size_t)n;
	idx = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	if (idx >= 0) {
		X509_EXTENSION *ext = OCSP_REQUEST_get_ext(req, idx);

		if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce,
		    idx) >= 0) {
			oc_err_set(err, OC_EINVAL, "OCSP 请求含两个 nonce / two "
			    "nonce extensions in the OCSP request");
			goto bad;
		}
		if (ext == NULL || take_nonce(r, X509_EXTENSION_get_data(ext),
		    err) != 0)
			goto bad;
	}
	r->is_signed = OCSP_request_is_signed(req) != 0;
	OCSP_REQUEST_free(req);
	ERR_clear_error();
	return r;
bad:
	OCSP_REQUEST_free(req);
	oc_ocsp_request_free(r);
	ERR_clear_error();
	return NULL;
}

/* ---- issuers ---- */

int
oc_ocsp_issuer_hashes(X509 *issuer, struct oc_ocsp_issuer_hashes *out,
    struct oc_err *err)
{
	unsigned int n1 = 0, n2 = 0, n3 = 0, n4 = 0;

	if (issuer == NULL || out == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少签发者证书 / issuer "
		    "certificate missing");
	if (!X509_NAME_digest(X509_get_subject_name(issuer), EVP_sha1(),
	    out->name_sha1, &n1) ||
	    !X509_pubkey_digest(issuer, EVP_sha1(), out->key_sha1, &n2) ||
	    !X509_NAME_digest(X509_get_subject_name(issuer), EVP_sha256(),
	    out->name_sha256, &n3) ||
	    !X509_pubkey_digest(issuer, EVP_sha256(), out->key_sha256, &n4) ||
	    n1 != 20 || n2 != 20 || n3 != 32 || n4 != 32)
		return oc_err_openssl(err, OC_ECRYPTO, "无法计算签发者哈希 / cannot "
		    "hash the issuer's name and key");
	return 0;
}

bool
oc_ocsp_certid_is_for_hashes(const struct oc_ocsp_certid *id,
    const struct oc_ocsp_issuer_hashes *h)
{
	const unsigned char *nh, *kh;
	size_t n;

	if (id == NULL || h == NULL)
		return false;
	switch (id->hash) {
	case OC_OCSP_HASH_SHA1:
		nh = h->name_sha1;
		kh = h->key_sha1;
		n = 20;
		break;
	case OC_OCSP_HASH_SHA256:
		nh = h->name_sha256;
		kh = h->key_sha256;
		n = 32;
		break;
	default:
		return false;
	}
	return id->name_hash_len == n && id->key_hash_len == n &&
	    memcmp(id->name_hash, nh, n) == 0 &&
	    memcmp(id->key_hash, kh, n) == 0;
}

bool
oc_ocsp_certid_is_for(const struct oc_ocsp_certid *id, X509 *issuer)
{
	struct oc_ocsp_issuer_hashes h;

	if (oc_ocsp_issuer_hashes(issuer, &h, NULL) != 0)
		return false;
	return oc_ocsp_certid_is_for_hashes(id, &h);
}

int
oc_ocsp_certid_find_issuer(const struct oc_ocsp_certid *id,
    X509 *const *issuers, size_t n)
{
	for (size_t i = 0; i < n && i < 0x7fffffff; i++)
		if (issuers[i] != NULL && oc_ocsp_certid_is_for(id, issuers[i]))
			return (int)i;
	return -1;
}

int
oc_ocsp_certid_make(X509 *issuer, enum oc_ocsp_hash hash,
    const char *serial_hex, struct oc_ocsp_certid *out, struct oc_err *err)
{
	OCSP_CERTID *cid = NULL;
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	char canon[43];
	int rc;

	if (issuer == NULL || out == NULL || (hash != OC_OCSP_HASH_SHA1 &&
	    hash != OC_OCSP_HASH_SHA256))
		return oc_err_set(err, OC_EINVAL, "CertID 参数无效 / bad CertID "
		    "arguments");
	if ((rc = oc_serial_canon(serial_hex, canon, err)) != 0)
		return rc;
	rc = OC_ECRYPTO;
	if (!BN_hex2bn(&bn, canon) || (sn = BN_to_ASN1_INTEGER(bn, NULL)) ==
	    NULL || (cid = OCSP_cert_id_new(hash == OC_OCSP_HASH_SHA1 ?
	    EVP_sha1() : EVP_sha256(), X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), sn)) == NULL) {
		oc_err_openssl(err, OC_ECRYPTO, "无法构造 CertID / cannot build "
		    "the CertID");
		goto out;
	}
	rc = take_certid(out, cid, err);
out:
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return rc;
}

/* The same CertID as oc_ocsp_certid_make, written from the issuer's
 * hashes computed once (oc_ocsp_issuer_hashes): no digest, no bignum, no
 * OpenSSL object per call, for the OCSP cache that makes two per
 * certificate it pre-signs.  Every element is short enough for one-octet
 * lengths (a SHA-256 CertID with a 20-octet serial is 108 octets). */
int
oc_ocsp_certid_from_hashes(const struct oc_ocsp_issuer_hashes *h,
    enum oc_ocsp_hash hash, const char *serial_hex,
    struct oc_ocsp_certid *out, struct oc_err *err)
{
	static const unsigned char alg_sha1[] = { 0x30, 0x09, 0x06, 0x05,
	    0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00 };
	static const unsigned char alg_sha256[] = { 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
	unsigned char sn[22], *d;
	const unsigned char *alg, *nh, *kh;
	size_t alglen, hl, nsn = 0, content, k = 0;
	char canon[43];
	int rc;

	if (h == NULL || out == NULL || (hash != OC_OCSP_HASH_SHA1 &&
	    hash != OC_OCSP_HASH_SHA256))
		return oc_err_set(err, OC_EINVAL, "CertID 参数无效 / bad CertID "
		    "arguments");
	if ((rc = oc_serial_canon(serial_hex, canon, err)) != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (hash == OC_OCSP_HASH_SHA1) {
		alg = alg_sha1;
		alglen = sizeof(alg_sha1);
		nh = h->name_sha1;
		kh = h->key_sha1;
		hl = 20;
	} else {
		alg = alg_sha256;
		alglen = sizeof(alg_sha256);
		nh = h->name_sha256;
		kh = h->key_sha256;
		hl = 32;
	}
	/* INTEGER contents: the canonical hex's octets (whole octets, at
	 * most 20, upper case) without leading zero octets, and one zero
	 * octet in front of a set high bit. */
	for (const char *p = canon; p[0] != '\0' && p[1] != '\0'; p += 2) {
		int hi = p[0] <= '9' ? p[0] - '0' : p[0] - 'A' + 10;
		int lo = p[1] <= '9' ? p[1] - '0' : p[1] - 'A' + 10;
		unsigned char b = (unsigned char)(hi << 4 | lo);

		if (nsn == 0 && b == 0)
			continue;
		if (nsn == 0 && (b & 0x80) != 0)
			sn[nsn++] = 0;
		if (nsn >= sizeof(sn))
			return oc_err_set(err, OC_EINVAL, "序列号超过20字节 / "
			    "serial number longer than 20 octets");
		sn[nsn++] = b;
	}
	if (nsn == 0)
		sn[nsn++] = 0;
	content = alglen + 2 + hl + 2 + hl + 2 + nsn;
	if (content >= 0x80 || content + 2 > sizeof(out->der))
		return oc_err_set(err, OC_EINTERNAL, "CertID 过长 / CertID too "
		    "long");
	d = out->der;
	d[k++] = 0x30;
	d[k++] = (unsigned char)content;
	memcpy(d + k, alg, alglen);
	k += alglen;
	d[k++] = V_ASN1_OCTET_STRING;
	d[k++] = (unsigned char)hl;
	memcpy(d + k, nh, hl);
	k += hl;
	d[k++] = V_ASN1_OCTET_STRING;
	d[k++] = (unsigned char)hl;
	memcpy(d + k, kh, hl);
	k += hl;
	d[k++] = V_ASN1_INTEGER;
	d[k++] = (unsigned char)nsn;
	memcpy(d + k, sn, nsn);
	k += nsn;
	out->der_len = k;
	out->hash = hash;
	memcpy(out->name_hash, nh, hl);
	out->name_hash_len = hl;
	memcpy(out->key_hash, kh, hl);
	out->key_hash_len = hl;
	memcpy(out->serial, canon, sizeof(out->serial));
	return 0;
}

/* ---- a small DER writer ---- */

#define DW_MAX (4u * 1024 * 1024)

struct dw {
	unsigned char *p;
	size_t len, cap;
	int err;
};

static void
dw_reserve(struct dw *w, size_t n)
{
	unsigned char *q;
	size_t cap;

	if (w->err != 0)
		return;
	if (n > DW_MAX - w->len) {
		w->err = OC_ETOOBIG;
		return;
	}
	if (w->len + n <= w->cap)
		return;
	cap = w->cap != 0 ? w->cap : 2048;
	while (cap < w->len + n)
		cap *= 2;
	if ((q = OPENSSL_realloc(w->p, cap)) == NULL) {
		w->err = OC_ENOMEM;
		return;
	}
	w->p = q;
	w->cap = cap;
}

static void
dw_put(struct dw *w, const void *b, size_t n)
{
	dw_reserve(w, n);
	if (w->err != 0 || n == 0)
		return;
	memcpy(w->p + w->len, b, n);
	w->len += n;
}

/* Write a tag; the returned mark is where its length will go. */
static size_t
dw_open(struct dw *w, unsigned char tag)
{
	dw_put(w, &tag, 1);
	return w->len;
}

/* Everything written since dw_open(mark) is the element's content: insert
 * its length octets at the mark. */
static void
dw_close(struct dw *w, size_t mark)
{
	unsigned char hdr[sizeof(size_t) + 1];
	size_t clen, hl = 0, k = 0, v;

	if (w->err != 0)
		return;
	clen = w->len - mark;
	if (clen < 0x80) {
		hdr[hl++] = (unsigned char)clen;
	} else {
		for (v = clen; v > 0; v >>= 8)
			k++;
		hdr[hl++] = (unsigned char)(0x80 | k);
		while (k > 0) {
			k--;
			hdr[hl++] = (unsigned char)(clen >> (8 * k));
		}
	}
	dw_reserve(w, hl);
	if (w->err != 0)
		return;
	memmove(w->p + mark + hl, w->p + mark, clen);
	memcpy(w->p + mark, hdr, hl);
	w->len += hl;
}

static void
dw_tlv(struct dw *w, unsigned char tag, const void *c, size_t n)
{
	size_t m = dw_open(w, tag);

	dw_put(w, c, n);
	dw_close(w, m);
}

/* GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 4.1.2.5.2: UTC, no
 * fractions). */
static void
dw_gtime(struct dw *w, time_t t)
{
	char s[32];
	struct tm tm;

	if (w->err != 0)
		return;
	if (t < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec) != 15) {
		w->err = OC_EINVAL;
		return;
	}
	dw_tlv(w, V_ASN1_GENERALIZEDTIME, s, 15);
}

/* id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2 and id-pkix-ocsp-basic
 * 1.3.6.1.5.5.7.48.1.1, as OBJECT IDENTIFIER TLVs. */
static const unsigned char oid_nonce[] = { 0x06, 0x09, 0x2b, 0x06, 0x01,
    0x05, 0x05, 0x07, 0x30, 0x01, 0x02 };
static const unsigned char oid_basic[] = { 0x06, 0x09, 0x2b, 0x06, 0x01,
    0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };

static void
dw_single(struct dw *w, const struct oc_ocsp_single *s)
{
	size_t sr, m, m2;
	unsigned char reason;

	sr = dw_open(w, 0x30);
	dw_put(w, s->id->der, s->id->der_len);
	switch (s->status) {
	case OC_OCSP_GOOD:
		dw_put(w, "\x80\x00", 2);            /* [0] IMPLICIT NULL */
		break;
	case OC_OCSP_UNKNOWN:
		dw_put(w, "\x82\x00", 2);            /* [2] IMPLICIT NULL */
		break;
	case OC_OCSP_REVOKED:
		m = dw_open(w, 0xa1);                /* [1] IMPLICIT RevokedInfo */
		dw_gtime(w, s->revoked_at);
		if (s->reason > 0) {
			reason = (unsigned char)s->reason;
			m2 = dw_open(w, 0xa0);       /* [0] EXPLICIT CRLReason */
			dw_tlv(w, V_ASN1_ENUMERATED, &reason, 1);
			dw_close(w, m2);
		}
		dw_close(w, m);
		break;
	}
	dw_gtime(w, s->this_update);
	if (s->next_update != 0) {
		m = dw_open(w, 0xa0);                /* [0] EXPLICIT */
		dw_gtime(w, s->next_update);
		dw_close(w, m);
	}
	dw_close(w, sr);
}

/* ---- checking what we built ---- */

/* The contents of the OCTET STRING that carries the BasicOCSPResponse in
 * der, an OCSPResponse d2i_OCSP_RESPONSE has already accepted (so the
 * layout is known to hold): SEQUENCE { ENUMERATED, [0] { SEQUENCE { OID,
 * OCTET STRING } } }.  Borrowed from der; false if the walk fails. */
static bool
basic_bytes(const unsigned char *der, size_t len, const unsigned char **out,
    size_t *outlen)
{
	const unsigned char *p = der, *end = der + len, *start;
	long n;
	int tag, xclass, i, ret;

	for (i = 0; i < 6; i++) {
		start = p;
		ret = ASN1_get_object(&p, &n, &tag, &xclass, end - p);
		if ((ret & 0x80) != 0 || n < 0 || n > end - p)
			return false;
		switch (i) {
		case 0:         /* OCSPResponse */
		case 2:         /* [0] EXPLICIT */
		case 3:         /* ResponseBytes */
			continue;
		case 1:         /* responseStatus */
			p += n;
			continue;
		case 4:         /* responseType: id-pkix-ocsp-basic */
			if (tag != V_ASN1_OBJECT || p - start + n !=
			    (long)sizeof(oid_basic) ||
			    memcmp(start, oid_basic, sizeof(oid_basic)) != 0)
				return false;
			p += n;
			continue;
		}
		if (tag != V_ASN1_OCTET_STRING || p + n != end)
			return false;
		*out = p;
		*outlen = (size_t)n;
		return true;
	}
	return false;
}

/* The elements of the BasicOCSPResponse in b (basic_bytes): the whole
 * tbsResponseData, signatureAlgorithm and signature TLVs, one after the
 * other, and the contents of certs [0] EXPLICIT; false unless b is exactly
 * one SEQUENCE of those four definite-length elements. */
static bool
basic_split(const unsigned char *b, size_t blen, const unsigned char **head,
    size_t *headlen, const unsigned char **tbs, size_t *tbslen,
    const unsigned char **certs, size_t *certslen)
{
	const unsigned char *p = b, *end = b + blen, *start;
	long n;
	int tag, xclass, i, ret;

	ret = ASN1_get_object(&p, &n, &tag, &xclass, (long)blen);
	if ((ret & 0x80) != 0 || ret != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL ||
	    n != end - p)
		return false;
	*head = p;
	for (i = 0; i < 4; i++) {
		start = p;
		ret = ASN1_get_object(&p, &n, &tag, &xclass, end - p);
		if ((ret & 0x80) != 0 || n < 0 || n > end - p)
			return false;
		if (i == 0) {
			*tbs = start;
			*tbslen = (size_t)(p - start + n);
		}
		if (i == 3) {
			if (ret != V_ASN1_CONSTRUCTED || tag != 0 ||
			    xclass != V_ASN1_CONTEXT_SPECIFIC || p + n != end)
				return false;
			*headlen = (size_t)(start - *head);
			*certs = p;
			*certslen = (size_t)n;
			return true;
		}
		p += n;
	}
	return false;
}

/* oc__ocsp_verifier (internal.h): an EVP_MD_CTX after EVP_DigestVerifyInit
 * and before any data, set up as oc_verify_tbs sets up its own, that each
 * check copies. */
struct oc__ocsp_verifier {
	EVP_PKEY *pub;                 /* the responder certificate's key */
	EVP_PKEY *key;                 /* pub, or its SM2 copy */
	EVP_PKEY_CTX *pctx;            /* owned: EVP_MD_CTX_set_pkey_ctx */
	EVP_MD_CTX *base;
	EVP_MD_CTX *work;
};

void
oc__ocsp_verifier_free(struct oc__ocsp_verifier *v)
{
	if (v == NULL)
		return;
	EVP_MD_CTX_free(v->work);
	EVP_MD_CTX_free(v->base);
	EVP_PKEY_CTX_free(v->pctx);
	EVP_PKEY_free(v->key);
	EVP_PKEY_free(v->pub);
	free(v);
}

struct oc__ocsp_verifier *
oc__ocsp_verifier_new(X509 *responder, struct oc_err *err)
{
	struct oc__ocsp_verifier *v = NULL;
	EVP_PKEY *pub;
	enum oc_algo a;

	if (responder == NULL || (pub = X509_get0_pubkey(responder)) ==
	    NULL || (a = oc_algo_of_pkey(pub)) == OC_ALGO_NONE) {
		oc_err_set(err, OC_EINVAL, "不支持的公钥类型 / unsupported "
		    "public key type for verification");
		goto bad;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto bad;
	}
	if (!EVP_PKEY_up_ref(pub)) {
		oc_err_openssl(err, OC_ECRYPTO, "无法引用公钥 / cannot reference "
		    "the public key");
		goto bad;
	}
	v->pub = pub;
	if (a == OC_ALGO_SM2 && !EVP_PKEY_is_a(pub, "SM2")) {
		if ((v->key = oc__pkey_public_dup(pub)) == NULL ||
		    !EVP_PKEY_is_a(v->key, "SM2")) {
			oc_err_openssl(err, OC_ECRYPTO, "SM2 公钥无法使用 / "
			    "cannot use SM2 public key");
			goto bad;
		}
	} else {
		if (!EVP_PKEY_up_ref(pub)) {
			oc_err_openssl(err, OC_ECRYPTO, "无法引用公钥 / cannot "
			    "reference the public key");
			goto bad;
		}
		v->key = pub;
	}
	if ((v->base = EVP_MD_CTX_new()) == NULL ||
	    (v->work = EVP_MD_CTX_new()) == NULL ||
	    (v->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, v->key, NULL)) ==
	    NULL) {
		oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto bad;
	}
	if (a == OC_ALGO_SM2 && EVP_PKEY_CTX_set1_id(v->pctx, OC_SM2_DISTID,
	    OC_SM2_DISTID_LEN) <= 0) {
		oc_err_openssl(err, OC_ECRYPTO, "无法设置 SM2 标识 / cannot "
		    "set the SM2 distinguishing ID");
		goto bad;
	}
	EVP_MD_CTX_set_pkey_ctx(v->base, v->pctx);
	if (EVP_DigestVerifyInit(v->base, NULL, a == OC_ALGO_SM2 ? EVP_sm3() :
	    EVP_sha256(), NULL, v->key) != 1) {
		oc_err_openssl(err, OC_ECRYPTO, "验签初始化失败 / cannot "
		    "initialise verification");
		goto bad;
	}
	return v;
bad:
	oc__ocsp_verifier_free(v);
	return NULL;
}

/* oc_verify_tbs(pub, ...) with v, or without it if v is NULL. */
static int
verify_sig(struct oc__ocsp_verifier *v, EVP_PKEY *pub,
    const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
    size_t siglen, struct oc_err *err)
{
	if (v == NULL)
		return oc_verify_tbs(pub, tbs, tbslen, sig, siglen, err);
	if (v->pub != pub)
		return oc_err_set(err, OC_EINVAL, "验签上下文与 OCSP 响应者证书不符 / "
		    "the verify context is not for the OCSP responder "
		    "certificate's key");
	if (EVP_MD_CTX_copy_ex(v->work, v->base) != 1)
		return oc_err_openssl(err, OC_ECRYPTO, "验签初始化失败 / cannot "
		    "initialise verification");
	if (EVP_DigestVerify(v->work, sig, siglen, tbs, tbslen) != 1)
		return oc_err_openssl(err, OC_ECRYPTO, "签名无效 / signature does "
		    "not verify");
	return 0;
}

/* Parse the finished response back, and check that OpenSSL's own
 * encoding of its ResponseData is the very bytes that were signed and that
 * the signature verifies under the responder certificate's key.
 *
 * The OCSPResponse is decoded in full, but of the BasicOCSPResponse only
 * its first three fields (tbsResponseData, signatureAlgorithm, signature:
 * copied into a SEQUENCE of their own, certs being OPTIONAL): the certs
 * field must be SEQUENCE { the responder certificate's DER, certder } byte
 * for byte, so decoding it again (an X509, and with OpenSSL 3.0 a decoder
 * set-up for its key, more CPU than the rest of this check) would prove
 * nothing more.  The signature is checked with the responder key passed
 * in. */
static int
check_response(const unsigned char *der, size_t len, const unsigned char *tbs,
    size_t tbslen, enum oc_algo algo, X509 *responder,
    struct oc__ocsp_verifier *v,
    const unsigned char *certder, size_t certlen, size_t nsingles,
    struct oc_err *err)
{
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	const ASN1_OCTET_STRING *sig;
	unsigned char *enc = NULL, *copy = NULL, *c, seqhdr[8];
	const unsigned char *p = der, *b = NULL, *q, *head = NULL, *rd = NULL,
	    *certs = NULL;
	size_t blen = 0, headlen = 0, rdlen = 0, certslen = 0;
	int enclen, hl, rc = OC_ECRYPTO;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len ||
	    OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    !basic_bytes(der, len, &b, &blen) ||
	    !basic_split(b, blen, &head, &headlen, &rd, &rdlen, &certs,
	    &certslen) || (hl = ASN1_object_size(1, (long)headlen,
	    V_ASN1_SEQUENCE)) <= 0 || (copy = OPENSSL_malloc((size_t)hl)) ==
	    NULL ||
	    (c = copy, ASN1_put_object(&c, 1, (long)headlen, V_ASN1_SEQUENCE,
	    V_ASN1_UNIVERSAL), memcpy(c, head, headlen),
	    q = copy, bs = d2i_OCSP_BASICRESP(NULL, &q, hl)) == NULL ||
	    q != copy + hl ||
	    OCSP_resp_count(bs) != (int)nsingles) {
		rc = oc_err_openssl(err, OC_EINTERNAL, "构造的 OCSP 响应无法解析 / "
		    "the OCSP response built does not parse");
		goto out;
	}
	/* certs [0] EXPLICIT SEQUENCE OF Certificate: just the responder's. */
	c = seqhdr;
	if (rdlen != tbslen || memcmp(rd, tbs, tbslen) != 0 ||
	    ASN1_object_size(1, (long)certlen, V_ASN1_SEQUENCE) !=
	    (int)certslen || (ASN1_put_object(&c, 1, (long)certlen,
	    V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL), (size_t)(c - seqhdr) +
	    certlen != certslen) || memcmp(certs, seqhdr, (size_t)(c -
	    seqhdr)) != 0 || memcmp(certs + (c - seqhdr), certder,
	    certlen) != 0) {
		rc = oc_err_set(err, OC_EINTERNAL, "构造的 OCSP 响应无法解析 / "
		    "the OCSP response built does not parse");
		goto out;
	}
	if ((enclen = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs),
	    &enc)) <= 0 || (size_t)enclen != tbslen ||
	    memcmp(enc, tbs, tbslen) != 0) {
		rc = oc_err_openssl(err, OC_EINTERNAL, "OCSP 响应数据的编码不一致 / "
		    "the OCSP ResponseData does not re-encode to the signed "
		    "bytes");
		goto out;
	}
	if (oc__sigalg_algo(OCSP_resp_get0_tbs_sigalg(bs)) != algo ||
	    (sig = OCSP_resp_get0_signature(bs)) == NULL) {
		rc = oc_err_set(err, OC_EINTERNAL, "OCSP 响应的签名算法不符 / the "
		    "OCSP response's signature algorithm is wrong");
		goto out;
	}
	if ((rc = verify_sig(v, X509_get0_pubkey(responder), enc,
	    (size_t)enclen, ASN1_STRING_get0_data(sig),
	    (size_t)ASN1_STRING_length(sig), err)) != 0) {
		oc_err_detail(err, " (OCSP response signature)");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_free(enc);
	OPENSSL_free(copy);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return rc;
}

/* ---- responses ---- */

int
oc_ocsp_response_build(const struct oc_ocsp_responder *r,
    const struct oc_ocsp_single *singles, size_t n,
    const unsigned char *nonce_ext, size_t nonce_ext_len, time_t produced_at,
    unsigned char **out, size_t *outlen, struct oc_err *err)
{
	return oc__ocsp_response_build_v(r, NULL, singles, n, nonce_ext,
	    nonce_ext_len, produced_at, out, outlen, err);
}

int
oc__ocsp_response_build_v(const struct oc_ocsp_responder *r,
    struct oc__ocsp_verifier *v, const struct oc_ocsp_single *singles,
    size_t n, const unsigned char *nonce_ext, size_t nonce_ext_len,
    time_t produced_at, unsigned char **out, size_t *outlen,
    struct oc_err *err)
{
	struct dw w = { NULL, 0, 0, 0 };
	X509_ALGOR *alg = NULL;
	unsigned char *algder = NULL, *certder = NULL, *sig = NULL, *tbs = NULL;
	unsigned char keyhash[20];
	unsigned int khlen = 0;
	size_t siglen = 0, m_resp, m_bytes, m_seq, m_oct, m_basic, m_tbs, m, m2,
	    m3, tbs_off, tbslen;
	int alglen, certlen, rc = OC_EINVAL;
	enum oc_algo algo;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (r == NULL || r->cert == NULL || r->signer == NULL ||
	    singles == NULL || n == 0 || n > OC_OCSP_MAX_IDS || out == NULL ||
	    outlen == NULL || (nonce_ext == NULL && nonce_ext_len > 0) ||
	    nonce_ext_len > OC_OCSP_NONCE_MAX + 4 || produced_at <= 0) {
		rc = oc_err_set(err, OC_EINVAL, "OCSP 响应参数无效 / bad OCSP "
		    "response arguments");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct oc_ocsp_single *s = &singles[i];

		if (s->id == NULL || s->id->der_len == 0 ||
		    s->id->der_len > OC_OCSP_CERTID_MAX ||
		    (s->status != OC_OCSP_GOOD && s->status != OC_OCSP_REVOKED &&
		    s->status != OC_OCSP_UNKNOWN) || s->this_update <= 0 ||
		    (s->next_update != 0 && s->next_update <= s->this_update) ||
		    (s->status == OC_OCSP_REVOKED && (s->revoked_at <= 0 ||
		    s->reason < -1 || (s->reason >= 0 &&
		    oc_reason_name(s->reason) == NULL)))) {
			rc = oc_err_set(err, OC_EINVAL, "第 %zu 个单项响应无效 / "
			    "single response %zu is invalid", i + 1, i + 1);
			goto out;
		}
	}
	algo = oc_signer_algo(r->signer);
	if (EVP_PKEY_eq(X509_get0_pubkey(r->cert),
	    oc_signer_get0_pubkey(r->signer)) != 1) {
		rc = oc_err_set(err, OC_EINVAL, "签名密钥与 OCSP 响应者证书不符 / the "
		    "signer's key does not match the OCSP responder certificate");
		goto out;
	}
	ERR_clear_error();
	if ((alg = oc_algo_sigalg_new(algo)) == NULL ||
	    (alglen = i2d_X509_ALGOR(alg, &algder)) <= 0 ||
	    (certlen = i2d_X509(r->cert, &certder)) <= 0 ||
	    !X509_pubkey_digest(r->cert, EVP_sha1(), keyhash, &khlen) ||
	    khlen != sizeof(keyhash)) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "无法准备 OCSP 响应 / cannot "
		    "prepare the OCSP response");
		goto out;
	}

	m_resp = dw_open(&w, 0x30);                  /* OCSPResponse */
	dw_put(&w, "\x0a\x01\x00", 3);               /* successful */
	m_bytes = dw_open(&w, 0xa0);                 /* [0] EXPLICIT */
	m_seq = dw_open(&w, 0x30);                   /* ResponseBytes */
	dw_put(&w, oid_basic, sizeof(oid_basic));
	m_oct = dw_open(&w, 0x04);
	m_basic = dw_open(&w, 0x30);                 /* BasicOCSPResponse */

	tbs_off = w.len;
	m_tbs = dw_open(&w, 0x30);                   /* ResponseData */
	m = dw_open(&w, 0xa2);                       /* byKey [2] EXPLICIT */
	dw_tlv(&w, V_ASN1_OCTET_STRING, keyhash, sizeof(keyhash));
	dw_close(&w, m);
	dw_gtime(&w, produced_at);
	m = dw_open(&w, 0x30);                       /* responses */
	for (size_t i = 0; i < n; i++)
		dw_single(&w, &singles[i]);
	dw_close(&w, m);
	if (nonce_ext != NULL) {
		m = dw_open(&w, 0xa1);               /* [1] EXPLICIT Extensions */
		m2 = dw_open(&w, 0x30);
		m3 = dw_open(&w, 0x30);              /* Extension */
		dw_put(&w, oid_nonce, sizeof(oid_nonce));
		dw_tlv(&w, V_ASN1_OCTET_STRING, nonce_ext, nonce_ext_len);
		dw_close(&w, m3);
		dw_close(&w, m2);
		dw_close(&w, m);
	}
	dw_close(&w, m_tbs);
	if (w.err != 0) {
		rc = oc_err_set(err, w.err, "无法编码 OCSP 响应数据 / cannot encode "
		    "the OCSP ResponseData");
		goto out;
	}
	tbslen = w.len - tbs_off;
	/* Later closes insert length octets in front of the ResponseData and
	 * move it: sign, and later check, a copy. */
	if ((tbs = OPENSSL_memdup(w.p + tbs_off, tbslen)) == NULL) {
		rc = oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if ((rc = oc_signer_sign(r->signer, tbs, tbslen, &sig, &siglen,
	    err)) != 0)
		goto out;
	dw_put(&w, algder, (size_t)alglen);
	m = dw_open(&w, V_ASN1_BIT_STRING);
	dw_put(&w, "\x00", 1);                       /* no unused bits */
	dw_put(&w, sig, siglen);
	dw_close(&w, m);
	m = dw_open(&w, 0xa0);                       /* certs [0] EXPLICIT */
	m2 = dw_open(&w, 0x30);
	dw_put(&w, certder, (size_t)certlen);
	dw_close(&w, m2);
	dw_close(&w, m);
	dw_close(&w, m_basic);
	dw_close(&w, m_oct);
	dw_close(&w, m_seq);
	dw_close(&w, m_bytes);
	dw_close(&w, m_resp);
	if (w.err != 0) {
		rc = oc_err_set(err, w.err, "无法组装 OCSP 响应 / cannot assemble "
		    "the OCSP response");
		goto out;
	}
	if ((rc = check_response(w.p, w.len, tbs, tbslen, algo, r->cert, v,
	    certder, (size_t)certlen, n, err)) != 0)
		goto out;
	*out = w.p;
	*outlen = w.len;
	w.p = NULL;
	rc = 0;
out:
	OPENSSL_free(w.p);
	OPENSSL_free(tbs);
	OPENSSL_free(sig);
	OPENSSL_free(certder);
	OPENSSL_free(algder);
	X509_ALGOR_free(alg);
	return rc;
}

/*
 * csr.c — certificate signing requests: strict parsing of what an
 * applicant sends, and building one for a key on a USB key or in memory.
 *
 * Parsing refuses, each with its own message: more than 64 KiB, neither
 * PEM nor DER, a PEM label other than CERTIFICATE REQUEST (or the old NEW
 * CERTIFICATE REQUEST), anything but whitespace after the PEM block or
 * anything at all after the DER, a version other than v1, a public key
 * that does not decode, and a self-signature that does not verify (SM2
 * with the GM/T default ID set on the request, as OpenSSL 3.0 has none).
 * The CA uses nothing of a CSR but its public key; the subject and any
 * requested extensions are ignored at issuing time.
 *
 * P-256 and SM2 keys take a shorter road.  OpenSSL 3.0's d2i_X509_REQ
 * decodes the public key with a freshly set-up OSSL_DECODER chain, about
 * 0.1 ms, more than a P-256 verification.  For a SubjectPublicKeyInfo of
 * id-ecPublicKey on prime256v1 or on the SM2 curve the request is parsed
 * in a library context that has only the null provider (so the key is
 * left undecoded), the key is made from the curve and point with legacy
 * methods (the curve's parameters copied from a key made once with
 * d2i_KeyParams, the point read with d2i_PublicKey: no decoder; on the
 * SM2 curve the key is an "SM2" key, as the decoder's would be), the
 * self-signature verified with it (SM2: with the GM/T default ID, as on
 * the general road), and the key then put into the request.  Such a key
 * also encodes itself without the encoder, so the certificate issued for
 * it need not be parsed back either (issue.c).  The checks are the same.
 *
 * Building: CertificationRequestInfo has no AlgorithmIdentifier of its own,
 * so it is i2d_re_X509_REQ_tbs → oc_signer_sign → assemble with the
 * signer's algorithm, then parsed back through oc_csr_parse, which checks
 * our own signature like anybody else's.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "onecert/pki.h"
#include "internal.h"

/* oc__libctx_nokeys (internal.h). */
static OSSL_LIB_CTX *nokeys;

static void
nokeys_init(void)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();

	if (ctx != NULL && OSSL_PROVIDER_load(ctx, "null") == NULL) {
		OSSL_LIB_CTX_free(ctx);
		ctx = NULL;
	}
	nokeys = ctx;
}

OSSL_LIB_CTX *
oc__libctx_nokeys(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, nokeys_init);
	return nokeys;
}

/* The curves of the short road as legacy-method keys holding only their
 * parameters, made once: a subject key then starts as a copy of these
 * (EVP_PKEY_copy_parameters duplicates the group, where d2i_KeyParams
 * would build it again from the curve's name: 15 us less per request). */
static EVP_PKEY *curve_p256, *curve_sm2;

static EVP_PKEY *
curve_new(int nid)
{
	unsigned char params[16], *q = params;
	const unsigned char *p = params;
	ASN1_OBJECT *obj = OBJ_nid2obj(nid);
	int n;

	if (obj == NULL || i2d_ASN1_OBJECT(obj, NULL) > (int)sizeof(params) ||
	    (n = i2d_ASN1_OBJECT(obj, &q)) <= 0)
		return NULL;
	return d2i_KeyParams(EVP_PKEY_EC, NULL, &p, n);
}

static void
curves_init(void)
{
	curve_p256 = curve_new(NID_X9_62_prime256v1);
	curve_sm2 = curve_new(NID_sm2);
	/* 3.0's EVP_PKEY_assign makes a key on the SM2 curve an
	 * EVP_PKEY_SM2 one, the type SM2 signatures need. */
	if (curve_sm2 != NULL && EVP_PKEY_get_id(curve_sm2) != EVP_PKEY_SM2) {
		EVP_PKEY_free(curve_sm2);
		curve_sm2 = NULL;
	}
	ERR_clear_error();
}

/* include/onecert/pki.h; *other set: take the general road. */
EVP_PKEY *
oc_spki_ec_key(X509_PUBKEY *spki, bool *other)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	ASN1_OBJECT *kalg;
	const ASN1_OBJECT *curve;
	const unsigned char *pk, *p;
	const void *pval;
	X509_ALGOR *pa;
	EVP_PKEY *key = NULL, *tmpl;
	int pklen, ptype;

	*other = true;
	if (!X509_PUBKEY_get0_param(&kalg, &pk, &pklen, &pa, spki) || pa == NULL ||
	    OBJ_obj2nid(kalg) != NID_X9_62_id_ecPublicKey)
		return NULL;
	X509_ALGOR_get0(&curve, &ptype, &pval, pa);
	if (ptype != V_ASN1_OBJECT)
		return NULL;
	pthread_once(&once, curves_init);
	switch (OBJ_obj2nid(pval)) {
	case NID_X9_62_prime256v1:
		tmpl = curve_p256;
		break;
	case NID_sm2:
		tmpl = curve_sm2;
		break;
	default:
		tmpl = NULL;
	}
	if (tmpl == NULL)
		return NULL;
	*other = false;
	if ((key = EVP_PKEY_new()) == NULL ||
	    !EVP_PKEY_copy_parameters(key, tmpl)) {
		EVP_PKEY_free(key);
		return NULL;
	}
	p = pk;
	/* a one-byte point is the point at infinity, no key at all */
	if (pklen < 2 || d2i_PublicKey(EVP_PKEY_get_id(key), &key, &p, pklen) == NULL ||
	    p != pk + pklen) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* The short road (above): a verified request holding its P-256 or SM2
 * key, or NULL with *other set when this is neither (parse it the general
 * way), or NULL with err set. */
static X509_REQ *
parse_short(const unsigned char *der, size_t derlen, bool *other,
    struct oc_err *err)
{
	const unsigned char *p = der;
	OSSL_LIB_CTX *ctx = oc__libctx_nokeys();
	X509_REQ *req = NULL, *res = NULL;
	ASN1_OCTET_STRING *id;
	EVP_PKEY *key = NULL;

	*other = true;
	if (ctx == NULL)
		return NULL;
	if ((req = (X509_REQ *)ASN1_item_d2i_ex(NULL, &p, (long)derlen,
	    ASN1_ITEM_rptr(X509_REQ), ctx, NULL)) == NULL ||
	    p != der + derlen)
		goto out;       /* the general road says what is wrong */
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1)
		goto out;       /* refused on the general road */
	if ((key = oc_spki_ec_key(X509_REQ_get_X509_PUBKEY(req), other)) == NULL) {
		if (!*other)
			oc_err_openssl(err, OC_EINVAL, "CSR 公钥无法解析 / the CSR's "
			    "public key cannot be decoded");
		goto out;
	}
	if (X509_REQ_get_signature_nid(req) == NID_SM2_with_SM3) {
		if ((id = oc__sm2_distid_new()) == NULL) {
			oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		X509_REQ_set0_distinguishing_id(req, id);
	}
	/* The signature covers the request as received: verify it before
	 * the key is put in (which re-encodes the request). */
	if (X509_REQ_verify_ex(req, key, NULL, NULL) != 1) {
		oc_err_openssl(err, OC_EINVAL, "CSR 签名无效 / CSR signature does "
		    "not verify");
		goto out;
	}
	if (!X509_REQ_set_pubkey(req, key)) {
		oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	res = req;
	req = NULL;
out:
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	return res;
}

X509_REQ *
oc_csr_parse(const unsigned char *data, size_t len, struct oc_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	X509_REQ *req = NULL, *res = NULL;
	ASN1_OCTET_STRING *id;
	EVP_PKEY *pub;
	bool other;

	if (len > OC__CSR_MAX) {
		oc_err_set(err, OC_ETOOBIG, "CSR 太大（最大 64 KiB） / CSR too big "
		    "(64 KiB at most)");
		goto out;
	}
	if (oc__pem_or_der(data, len, "CERTIFICATE REQUEST",
	    "NEW CERTIFICATE REQUEST", "CSR", &der, &derlen, err) != 0)
		goto out;
	if ((res = parse_short(der, derlen, &other, err)) != NULL || !other)
		goto out;
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		oc_err_openssl(err, OC_EINVAL, "CSR 格式无效 / malformed CSR");
		goto out;
	}
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		oc_err_set(err, OC_EINVAL, "CSR 版本无效（应为 v1） / CSR version "
		    "must be v1");
		goto out;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL) {
		oc_err_openssl(err, OC_EINVAL, "CSR 公钥无法解析 / the CSR's public "
		    "key cannot be decoded");
		goto out;
	}
	if (X509_REQ_get_signature_nid(req) == NID_SM2_with_SM3) {
		if ((id = oc__sm2_distid_new()) == NULL) {
			oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
			goto out;
		}
		X509_REQ_set0_distinguishing_id(req, id);
	}
	if (X509_REQ_verify(req, pub) != 1) {
		oc_err_openssl(err, OC_EINVAL, "CSR 签名无效 / CSR signature does "
		    "not verify");
		goto out;
	}
	res = req;
	req = NULL;
out:
	X509_REQ_free(req);
	OPENSSL_free(der);
	ERR_clear_error();
	return res;
}

X509_REQ *
oc_csr_build(const struct oc_cert_subject *subject, struct oc_signer *signer,
    struct oc_err *err)
{
	X509_REQ *req = NULL, *res = NULL;
	X509_NAME *name = NULL;
	unsigned char *tbs = NULL, *der = NULL;
	size_t derlen = 0;
	int tbslen;

	if (signer == NULL || oc_signer_get0_pubkey(signer) == NULL) {
		oc_err_set(err, OC_EINVAL, "缺少签名密钥 / signer missing");
		goto out;
	}
	if (oc__subject_check(subject, OC_PROFILE_NONE, err) != 0)
		goto out;
	if ((req = X509_REQ_new()) == NULL ||
	    (name = oc__subject_name_new(subject)) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, oc_signer_get0_pubkey(signer)) ||
	    (tbslen = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		oc_err_openssl(err, OC_ECRYPTO, "无法构造 CSR / cannot build the "
		    "CSR");
		goto out;
	}
	if (oc__sign_assemble(signer, tbs, (size_t)tbslen, &der, &derlen,
	    err) != 0)
		goto out;
	res = oc_csr_parse(der, derlen, err);
out:
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return res;
}

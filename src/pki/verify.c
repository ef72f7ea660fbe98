/*
 * verify.c — signature checks over exact encodings, and chain
 * verification that works for SM2.
 *
 * OpenSSL 3.0 and SM2: X509_verify and X509_verify_cert use a
 * certificate's distinguishing ID only when one was set on that X509 with
 * X509_set0_distinguishing_id; otherwise SM2 runs with an empty ID and no
 * GM/T certificate verifies.  oc_chain_verify therefore works on copies of
 * the caller's SM2-signed certificates (so that shared trust anchors are
 * never written to, which would race between threads) and sets the ID on
 * every copy; other certificates are used as they are.  CRLs have no such setter in 3.0 at all: X509_CRL_verify
 * always uses the empty ID, so an SM2 CRL fails with "CRL signature
 * failure".  The verify callback catches exactly that error and checks the
 * CRL's signature itself (oc__crl_verify_sig, with the ID) against the
 * same issuer certificate OpenSSL picked; only if that succeeds is the
 * error cleared.  Everything else — time checks, scope, revocation
 * entries — stays OpenSSL's.
 *
 * Revocation: with CRLs given, the leaf must be covered by one
 * ("unable to get certificate CRL" otherwise); intermediate CAs are checked
 * when a CRL of their issuer is given, and passed over when none is.
 * Anchors may be roots or issuing CAs (X509_V_FLAG_PARTIAL_CHAIN).
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "onecert/pki.h"
#include "internal.h"

static int
verify_signed(const unsigned char *der, size_t len, EVP_PKEY *pub,
    const char *what, struct oc_err *err)
{
	struct oc__signed_parts parts;
	X509_ALGOR *outer = NULL, *inner = NULL;
	const unsigned char *p;
	enum oc_algo a;
	int rc;

	if ((rc = oc__der_split_signed(der, len, &parts, err)) != 0)
		goto out;
	p = parts.alg;
	outer = d2i_X509_ALGOR(NULL, &p, (long)parts.alglen);
	inner = oc__der_tbs_sigalg(parts.tbs, parts.tbslen);
	if (outer == NULL || inner == NULL || X509_ALGOR_cmp(outer, inner) != 0) {
		rc = oc_err_set(err, OC_EINVAL, "%s的签名算法前后不一致 / %s: the "
		    "signature algorithm inside and outside differ", what, what);
		goto out;
	}
	a = oc__sigalg_algo(outer);
	if (a == OC_ALGO_NONE || a != oc_algo_of_pkey(pub)) {
		rc = oc_err_set(err, OC_EINVAL, "%s的签名算法与签发者密钥不符 / %s: "
		    "signature algorithm does not match the issuer's key", what,
		    what);
		goto out;
	}
	rc = oc_verify_tbs(pub, parts.tbs, parts.tbslen, parts.sig,
	    parts.siglen, err);
out:
	X509_ALGOR_free(outer);
	X509_ALGOR_free(inner);
	ERR_clear_error();
	return rc;
}

int
oc__cert_verify_sig(X509 *cert, EVP_PKEY *issuer_pub, struct oc_err *err)
{
	unsigned char *der = NULL;
	int n, rc;

	if (cert == NULL || issuer_pub == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少证书或公钥 / certificate or "
		    "key missing");
	/* i2d of a parsed certificate gives back the received TBS bytes:
	 * the TBSCertificate's encoding is cached by d2i. */
	if ((n = i2d_X509(cert, &der)) <= 0)
		return oc_err_openssl(err, OC_ECRYPTO, "无法编码证书 / cannot "
		    "encode the certificate");
	rc = verify_signed(der, (size_t)n, issuer_pub, "证书", err);
	OPENSSL_free(der);
	return rc;
}

int
oc__crl_verify_sig(X509_CRL *crl, EVP_PKEY *issuer_pub, struct oc_err *err)
{
	unsigned char *der = NULL;
	int n, rc;

	if (crl == NULL || issuer_pub == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少 CRL 或公钥 / CRL or key "
		    "missing");
	if ((n = i2d_X509_CRL(crl, &der)) <= 0)
		return oc_err_openssl(err, OC_ECRYPTO, "无法编码 CRL / cannot "
		    "encode the CRL");
	rc = verify_signed(der, (size_t)n, issuer_pub, "CRL", err);
	OPENSSL_free(der);
	return rc;
}

/* A reference to x that X509_verify can check (the caller frees it):
 * an SM2-signed certificate is copied and the copy gets the ID; any other
 * is x itself, one more reference.  Copying costs a full decode (OpenSSL
 * 3.0 sets up its key decoders afresh each time, about 0.1 ms), and
 * verification writes to a certificate only through OpenSSL's own locked
 * caches (extensions, signature checked), so sharing is safe. */
static X509 *
dup_for_verify(X509 *x)
{
	ASN1_OCTET_STRING *id;
	X509 *d;

	if (X509_get_signature_nid(x) != NID_SM2_with_SM3)
		return X509_up_ref(x) == 1 ? x : NULL;
	if ((d = X509_dup(x)) == NULL)
		return NULL;
	if ((id = oc__sm2_distid_new()) == NULL) {
		X509_free(d);
		return NULL;
	}
	X509_set0_distinguishing_id(d, id);
	return d;
}

/* The certificate OpenSSL's check_crl() takes as the CRL's issuer. */
static X509 *
crl_issuer(X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	X509 *iss = X509_STORE_CTX_get0_current_issuer(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	int n = chain != NULL ? sk_X509_num(chain) : 0;

	if (iss != NULL)
		return iss;
	if (n == 0)
		return NULL;
	if (depth + 1 < n)
		return sk_X509_value(chain, depth + 1);
	return sk_X509_value(chain, n - 1);
}

static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	int e = X509_STORE_CTX_get_error(ctx);
	X509_CRL *crl;
	X509 *iss;
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;

	if (ok)
		return ok;
	if (e == X509_V_ERR_CRL_SIGNATURE_FAILURE &&
	    (crl = X509_STORE_CTX_get0_current_crl(ctx)) != NULL &&
	    (iss = crl_issuer(ctx)) != NULL) {
		X509_CRL_get0_signature(crl, NULL, &alg);
		if (alg != NULL)
			X509_ALGOR_get0(&obj, NULL, NULL, alg);
		if (obj != NULL && OBJ_obj2nid(obj) == NID_SM2_with_SM3 &&
		    oc__crl_verify_sig(crl, X509_get0_pubkey(iss), NULL) == 0) {
			X509_STORE_CTX_set_error(ctx, X509_V_OK);
			return 1;
		}
	}
	if (e == X509_V_ERR_UNABLE_TO_GET_CRL &&
	    X509_STORE_CTX_get_error_depth(ctx) > 0) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return 0;
}

int
oc_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted,
    STACK_OF(X509) *anchors, STACK_OF(X509_CRL) *crls, time_t at,
    int purpose, struct oc_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	STACK_OF(X509) *untr = NULL;
	X509 *lf = NULL, *d;
	unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
	int rc = OC_ECRYPTO, e;

	if (leaf == NULL || anchors == NULL || sk_X509_num(anchors) == 0) {
		rc = oc_err_set(err, OC_EINVAL, "缺少证书或信任锚 / certificate or "
		    "trust anchors missing");
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL ||
	    (untr = sk_X509_new_null()) == NULL ||
	    (lf = dup_for_verify(leaf)) == NULL) {
		rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(anchors); i++) {
		if ((d = dup_for_verify(sk_X509_value(anchors, i))) == NULL) {
			rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of "
			    "memory");
			goto out;
		}
		/* The store takes its own reference. */
		if (!X509_STORE_add_cert(store, d)) {
			X509_free(d);
			rc = oc_err_openssl(err, OC_ECRYPTO, "无法添加信任锚 / cannot "
			    "add a trust anchor");
			goto out;
		}
		X509_free(d);
	}
	for (int i = 0; untrusted != NULL && i < sk_X509_num(untrusted); i++) {
		if ((d = dup_for_verify(sk_X509_value(untrusted, i))) == NULL ||
		    !sk_X509_push(untr, d)) {
			X509_free(d);
			rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of "
			    "memory");
			goto out;
		}
	}
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, store, lf, untr)) {
		rc = oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	if (at != 0)
		X509_VERIFY_PARAM_set_time(param, at);
	if (purpose != 0 && !X509_STORE_CTX_set_purpose(ctx, purpose)) {
		rc = oc_err_openssl(err, OC_EINVAL, "证书用途无效 / unknown "
		    "certificate purpose %d", purpose);
		goto out;
	}
	if (crls != NULL && sk_X509_CRL_num(crls) > 0) {
		X509_STORE_CTX_set0_crls(ctx, crls);
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	}
	X509_VERIFY_PARAM_set_flags(param, flags);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) != 1) {
		e = X509_STORE_CTX_get_error(ctx);
		rc = oc_err_set(err, OC_EINVAL, "证书链验证失败：%s（深度 %d） / "
		    "certificate chain does not verify: %s (depth %d)",
		    X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx),
		    X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untr, X509_free);
	X509_free(lf);
	ERR_clear_error();
	return rc;
}

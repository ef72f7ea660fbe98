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
 * Building: CertificationRequestInfo has no AlgorithmIdentifier of its own,
 * so it is i2d_re_X509_REQ_tbs → oc_signer_sign → assemble with the
 * signer's algorithm, then parsed back through oc_csr_parse, which checks
 * our own signature like anybody else's.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "onecert/pki.h"
#include "internal.h"

X509_REQ *
oc_csr_parse(const unsigned char *data, size_t len, struct oc_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	X509_REQ *req = NULL, *res = NULL;
	ASN1_OCTET_STRING *id;
	EVP_PKEY *pub;

	if (len > OC__CSR_MAX) {
		oc_err_set(err, OC_ETOOBIG, "CSR 太大（最大 64 KiB） / CSR too big "
		    "(64 KiB at most)");
		goto out;
	}
	if (oc__pem_or_der(data, len, "CERTIFICATE REQUEST",
	    "NEW CERTIFICATE REQUEST", "CSR", &der, &derlen, err) != 0)
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

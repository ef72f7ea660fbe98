/*
 * crl.c — full CRLs (v2, with authorityKeyIdentifier and cRLNumber) signed
 * by an oc_signer, and the RFC 5280 reason codes.
 *
 * The TBSCertList carries its own copy of the signature
 * AlgorithmIdentifier and, unlike certificates (X509_get0_tbs_sigalg),
 * OpenSSL 3.0 offers no way at all to reach it: X509_CRL_sign* fills it
 * only while signing with a key in this process.  Rather than signing once
 * with a throwaway key to get the field filled, we start from a skeleton:
 * a minimal CertificateList DER whose only meaningful content is our
 * AlgorithmIdentifier in both places (crl_skeleton), parsed with
 * d2i_X509_CRL.  Everything else is then set with the ordinary setters
 * (issuer, times, revoked entries, extensions), i2d_re_X509_CRL_tbs
 * re-encodes the TBS from the fields, the oc_signer signs those bytes, and
 * the assembled DER is parsed again.  No extra key, no extra signature,
 * and the result is checked against the issuer's key before it is
 * returned.
 *
 * Reason codes: -1 and 0 (unspecified) emit no reasonCode extension (RFC
 * 5280 5.3.1: "the reason code extension SHOULD be absent instead of using
 * the unspecified (0) reasonCode value").
 */
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/pki.h"
#include "internal.h"

static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};
#define NREASONS ((int)(sizeof(reasons) / sizeof(reasons[0])))

int
oc_reason_parse(const char *name, int *code)
{
	if (name == NULL || code == NULL)
		return OC_EINVAL;
	for (int i = 0; i < NREASONS; i++)
		if (reasons[i] != NULL && strcasecmp(name, reasons[i]) == 0) {
			*code = i;
			return 0;
		}
	/* Decimal codes too, for scripts. */
	if (name[0] >= '0' && name[0] <= '9' && (name[1] == '\0' ||
	    (name[2] == '\0' && name[1] >= '0' && name[1] <= '9'))) {
		int c = name[1] == '\0' ? name[0] - '0' :
		    (name[0] - '0') * 10 + name[1] - '0';

		if (c < NREASONS && reasons[c] != NULL) {
			*code = c;
			return 0;
		}
	}
	return OC_EINVAL;
}

const char *
oc_reason_name(int code)
{
	if (code < 0 || code >= NREASONS || reasons[code] == NULL)
		return NULL;
	return reasons[code];
}

/* CertificateList { TBSCertList { v2, alg, Name {}, UTCTime }, alg,
 * BIT STRING } parsed into an X509_CRL. */
static X509_CRL *
crl_skeleton(const X509_ALGOR *alg)
{
	static const unsigned char version[] = { 0x02, 0x01, 0x01 };
	static const unsigned char empty_name[] = { 0x30, 0x00 };
	static const unsigned char time0[] = { 0x17, 0x0d, '7', '0', '0', '1',
	    '0', '1', '0', '0', '0', '0', '0', '0', 'Z' };
	static const unsigned char dummy_sig[] = { 0x00 };
	unsigned char *algder = NULL, *body = NULL, *tbs = NULL, *der = NULL;
	const unsigned char *p;
	size_t tbslen, derlen, blen;
	X509_CRL *crl = NULL;
	int alglen;

	if ((alglen = i2d_X509_ALGOR(alg, &algder)) <= 0)
		goto out;
	blen = sizeof(version) + (size_t)alglen + sizeof(empty_name) +
	    sizeof(time0);
	if ((body = OPENSSL_malloc(blen)) == NULL)
		goto out;
	memcpy(body, version, sizeof(version));
	memcpy(body + sizeof(version), algder, (size_t)alglen);
	memcpy(body + sizeof(version) + alglen, empty_name, sizeof(empty_name));
	memcpy(body + sizeof(version) + alglen + sizeof(empty_name), time0,
	    sizeof(time0));
	if (oc__der_wrap(V_ASN1_SEQUENCE, body, blen, &tbs, &tbslen) != 0 ||
	    oc_der_signed(tbs, tbslen, alg, dummy_sig, sizeof(dummy_sig), &der,
	    &derlen) != 0)
		goto out;
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)derlen);
out:
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	OPENSSL_free(body);
	OPENSSL_free(algder);
	return crl;
}

static int
add_entry(X509_CRL *crl, const struct oc_crl_entry *e, struct oc_err *err)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;
	BIGNUM *bn = NULL;
	char hex[43];
	int rc;

	if ((rc = oc_serial_canon(e->serial_hex, hex, err)) != 0)
		goto out;
	rc = OC_EINVAL;
	if (strcmp(hex, "00") == 0) {
		oc_err_set(err, OC_EINVAL, "序列号不能为 0 / serial number must "
		    "not be zero");
		goto out;
	}
	if (e->revoked_at <= 0) {
		oc_err_set(err, OC_EINVAL, "撤销时间无效 / revocation time "
		    "invalid");
		goto out;
	}
	if (e->reason < -1 || (e->reason >= 0 && oc_reason_name(e->reason) ==
	    NULL)) {
		oc_err_set(err, OC_EINVAL, "撤销原因代码 %d 无效 / revocation "
		    "reason code %d is invalid", e->reason, e->reason);
		goto out;
	}
	if (!BN_hex2bn(&bn, hex) || (serial = BN_to_ASN1_INTEGER(bn,
	    NULL)) == NULL || (when = ASN1_TIME_set(NULL, e->revoked_at)) ==
	    NULL || (rev = X509_REVOKED_new()) == NULL ||
	    !X509_REVOKED_set_serialNumber(rev, serial) ||
	    !X509_REVOKED_set_revocationDate(rev, when) ||
	    (e->reason > 0 && ((reason = ASN1_ENUMERATED_new()) == NULL ||
	    !ASN1_ENUMERATED_set(reason, e->reason) ||
	    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0,
	    X509V3_ADD_DEFAULT) != 1)) ||
	    !X509_CRL_add0_revoked(crl, rev)) {
		rc = oc_err_openssl(err, OC_ECRYPTO, "无法构造 CRL 条目 / cannot "
		    "build a CRL entry");
		goto out;
	}
	rev = NULL;   /* the CRL owns it now */
	rc = 0;
out:
	ASN1_ENUMERATED_free(reason);
	X509_REVOKED_free(rev);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rc;
}

static int
add_crl_exts(X509_CRL *crl, X509 *issuer, long long number)
{
	AUTHORITY_KEYID *akid = NULL;
	const ASN1_OCTET_STRING *ski;
	ASN1_INTEGER *num = NULL;
	unsigned char id[20];
	int rc = OC_ECRYPTO;

	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	if ((ski = X509_get0_subject_key_id(issuer)) != NULL) {
		if (!ASN1_OCTET_STRING_set(akid->keyid, ASN1_STRING_get0_data(ski),
		    ASN1_STRING_length(ski)))
			goto out;
	} else if (oc__key_id(issuer, id) != 0 ||
	    !ASN1_OCTET_STRING_set(akid->keyid, id, 20)) {
		goto out;
	}
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(num, number))
		goto out;
	if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_DEFAULT) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* After X509_CRL_sort: refuse the same serial twice. */
static bool
has_duplicates(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);

	for (int i = 1; i < sk_X509_REVOKED_num(revs); i++)
		if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i - 1)),
		    X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i))) == 0)
			return true;
	return false;
}

X509_CRL *
oc_crl_build(const struct oc_cert_issuer *iss,
    const struct oc_crl_entry *entries, size_t n, long long crl_number,
    time_t this_update, time_t next_update, struct oc_err *err)
{
	X509_CRL *crl = NULL, *res = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_TIME *tu = NULL, *nu = NULL;
	unsigned char *tbs = NULL, *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	enum oc_algo a;
	int tbslen;

	if (iss == NULL || iss->cert == NULL || iss->signer == NULL ||
	    (entries == NULL && n > 0)) {
		oc_err_set(err, OC_EINVAL, "缺少签发者 / issuer missing");
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(iss->cert),
	    oc_signer_get0_pubkey(iss->signer)) != 1) {
		oc_err_set(err, OC_EINVAL, "签名密钥与签发者证书不符 / the signer's "
		    "key does not match the issuer certificate");
		goto out;
	}
	if (X509_check_ca(iss->cert) == 0 ||
	    !(X509_get_key_usage(iss->cert) & KU_CRL_SIGN)) {
		oc_err_set(err, OC_EINVAL, "签发者证书不能签发 CRL / the issuer "
		    "certificate may not sign CRLs");
		goto out;
	}
	if (crl_number < 0 || this_update <= 0 || next_update <= this_update) {
		oc_err_set(err, OC_EINVAL, "CRL 编号或时间无效 / CRL number or "
		    "update times invalid");
		goto out;
	}
	a = oc_signer_algo(iss->signer);
	if ((alg = oc_algo_sigalg_new(a)) == NULL ||
	    (crl = crl_skeleton(alg)) == NULL ||
	    (tu = ASN1_TIME_set(NULL, this_update)) == NULL ||
	    (nu = ASN1_TIME_set(NULL, next_update)) == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(iss->cert)) ||
	    !X509_CRL_set1_lastUpdate(crl, tu) ||
	    !X509_CRL_set1_nextUpdate(crl, nu)) {
		oc_err_openssl(err, OC_ECRYPTO, "无法构造 CRL / cannot build the "
		    "CRL");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (add_entry(crl, &entries[i], err) != 0)
			goto out;
	if (!X509_CRL_sort(crl)) {
		oc_err_openssl(err, OC_ECRYPTO, "无法排序 CRL / cannot sort the "
		    "CRL");
		goto out;
	}
	if (has_duplicates(crl)) {
		oc_err_set(err, OC_EINVAL, "CRL 中有重复的序列号 / the same serial "
		    "number appears twice");
		goto out;
	}
	if (add_crl_exts(crl, iss->cert, crl_number) != 0 ||
	    (tbslen = i2d_re_X509_CRL_tbs(crl, &tbs)) <= 0) {
		oc_err_openssl(err, OC_ECRYPTO, "无法编码 CRL / cannot encode the "
		    "CRL");
		goto out;
	}
	if (oc__sign_assemble(iss->signer, tbs, (size_t)tbslen, &der, &derlen,
	    err) != 0)
		goto out;
	p = der;
	if ((res = d2i_X509_CRL(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		oc_err_openssl(err, OC_ECRYPTO, "签名后的 CRL 无法解析 / the signed "
		    "CRL does not parse");
		X509_CRL_free(res);
		res = NULL;
		goto out;
	}
	if (oc__crl_verify_sig(res, X509_get0_pubkey(iss->cert), err) != 0) {
		X509_CRL_free(res);
		res = NULL;
		goto out;
	}
out:
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	ASN1_TIME_free(tu);
	ASN1_TIME_free(nu);
	X509_ALGOR_free(alg);
	X509_CRL_free(crl);
	return res;
}

X509_CRL *
oc_crl_parse(const unsigned char *data, size_t len, struct oc_err *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	X509_CRL *crl = NULL;

	if (len > OC__CRL_MAX) {
		oc_err_set(err, OC_ETOOBIG, "CRL 太大 / CRL too big");
		return NULL;
	}
	if (oc__pem_or_der(data, len, "X509 CRL", NULL, "CRL", &der, &derlen,
	    err) != 0)
		return NULL;
	p = der;
	if ((crl = d2i_X509_CRL(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		X509_CRL_free(crl);
		crl = NULL;
		oc_err_openssl(err, OC_EINVAL, "CRL 格式无效 / malformed CRL");
	}
	OPENSSL_free(der);
	return crl;
}

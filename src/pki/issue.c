/*
 * issue.c — oc_cert_issue: a certificate of one of our profiles (SPEC
 * §3.2) from verified enrollment data, signed by an oc_signer.
 *
 * Shape: check the template (clear messages, nothing signed yet), build
 * the X509 with OpenSSL's setters and our extension builders (ext.c), put
 * the signature AlgorithmIdentifier into the TBSCertificate, take the TBS
 * DER with i2d_re_X509_tbs, have the signer sign it, assemble
 * SEQUENCE { tbs, alg, BIT STRING } (der.c), and lint the result
 * (lint.c).  The result is the object just built with the signature put
 * into it, once its encoding has been checked to be the signed bytes
 * exactly, when that object holds a decoded public key (the subject key
 * is a legacy-method key, as oc_csr_parse makes for P-256 and SM2);
 * otherwise the signed bytes are parsed back with d2i_X509, whose key
 * decoding costs more in OpenSSL 3.0 than a P-256 signature.  X509_sign
 * is never called: the CA key may be in a PKCS#11 token or in the
 * separate signer process, and the signer interface is the one place
 * that knows how to reach it.
 *
 * Which extensions each profile gets:
 *   root        BC CA (critical), KU keyCertSign+cRLSign (critical), SKI,
 *               AKI = own SKI
 *   issuing     BC CA pathlen 0, KU keyCertSign+cRLSign, SKI, AKI, CDP,
 *               AIA, certificatePolicies anyPolicy
 *   enterprise  BC CA:FALSE, KU digitalSignature+nonRepudiation, EKU
 *               clientAuth+emailProtection, SKI, AKI, SAN (email, when
 *               given), CDP, AIA, policy OC_OID_POLICY_ENTERPRISE, GM/T
 *               0015 .4 (required) and .3 .5 .2 (when given), unique ID
 *   personal    as enterprise but GM/T .1 IdentityCode (required; [0]
 *               EXPLICIT PrintableString, an 18-character resident ID) and
 *               policy OC_OID_POLICY_PERSONAL
 *   ocsp        BC CA:FALSE, KU digitalSignature, EKU OCSPSigning,
 *               id-pkix-ocsp-nocheck, SKI, AKI, policy OC_OID_POLICY_SERVICE
 *   tls-server  BC CA:FALSE, KU digitalSignature (+keyEncipherment for
 *               RSA), EKU serverAuth, SKI, AKI, SAN (required), CDP, AIA,
 *               policy OC_OID_POLICY_SERVICE
 * BC and KU are critical, everything else is not.  The unique ID
 * (OC_OID_UNIQUE_ID, PrintableString) is required for enterprise and
 * personal certificates and added to any other profile when given.
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/ident.h"
#include "onecert/pki.h"
#include "internal.h"

static bool
is_holder(enum oc_profile p)
{
	return p == OC_PROFILE_ENTERPRISE || p == OC_PROFILE_PERSONAL;
}

/* ---- subject ---- */

/* The parts of s appended to name (oc__subject_name_new); 0 or
 * OC_ENOMEM. */
static int
subject_name_add(X509_NAME *name, const struct oc_cert_subject *s)
{
	static const struct { int nid; size_t off; } parts[] = {
		{ NID_stateOrProvinceName, offsetof(struct oc_cert_subject, st) },
		{ NID_localityName, offsetof(struct oc_cert_subject, l) },
		{ NID_organizationName, offsetof(struct oc_cert_subject, o) },
		{ NID_organizationalUnitName, offsetof(struct oc_cert_subject, ou) },
		{ NID_commonName, offsetof(struct oc_cert_subject, cn) },
	};

	if (s == NULL)
		return 0;
	if (s->c != NULL && !X509_NAME_add_entry_by_NID(name, NID_countryName,
	    V_ASN1_PRINTABLESTRING, (const unsigned char *)s->c, -1, -1, 0))
		return OC_ENOMEM;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *v = *(const char *const *)((const char *)s +
		    parts[i].off);

		/* V_ASN1_UTF8STRING (not MBSTRING_UTF8): the bytes are
		 * stored as they are, as a UTF8String, whatever the global
		 * string mask says. */
		if (v != NULL && !X509_NAME_add_entry_by_NID(name, parts[i].nid,
		    V_ASN1_UTF8STRING, (const unsigned char *)v, -1, -1, 0))
			return OC_ENOMEM;
	}
	return 0;
}

X509_NAME *
oc__subject_name_new(const struct oc_cert_subject *s)
{
	X509_NAME *name;

	if ((name = X509_NAME_new()) == NULL)
		return NULL;
	if (subject_name_add(name, s) != 0) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

static int
check_attr(const char *v, const char *zh, const char *en, size_t ub,
    struct oc_err *err)
{
	if (v != NULL && !oc__utf8_ok(v, ub))
		return oc_err_set(err, OC_EINVAL, "主题%s无效（需为 1–%zu 个字符的 "
		    "UTF-8 文本，无控制字符，首尾无空格） / subject %s is invalid "
		    "(must be 1 to %zu characters of UTF-8 without control "
		    "characters or surrounding spaces)", zh, ub, en, ub);
	return 0;
}

int
oc__subject_check(const struct oc_cert_subject *s, enum oc_profile p,
    struct oc_err *err)
{
	int rc;

	if (s == NULL)
		return p == OC_PROFILE_NONE ? 0 : oc_err_set(err, OC_EINVAL,
		    "缺少证书主题 / subject missing");
	if (s->c != NULL && (strlen(s->c) != 2 || s->c[0] < 'A' ||
	    s->c[0] > 'Z' || s->c[1] < 'A' || s->c[1] > 'Z'))
		return oc_err_set(err, OC_EINVAL, "国家代码应为两个大写字母 / "
		    "country must be two upper-case letters (ISO 3166)");
	if ((rc = check_attr(s->st, "省份(ST)", "ST", OC__UB_PLACE, err)) ||
	    (rc = check_attr(s->l, "城市(L)", "L", OC__UB_PLACE, err)) ||
	    (rc = check_attr(s->o, "单位(O)", "O", OC__UB_NAME, err)) ||
	    (rc = check_attr(s->ou, "部门(OU)", "OU", OC__UB_NAME, err)) ||
	    (rc = check_attr(s->cn, "名称(CN)", "CN", OC__UB_NAME, err)))
		return rc;
	if (p == OC_PROFILE_NONE)
		return 0;
	if (s->cn == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少通用名(CN) / subject CN "
		    "missing");
	if (is_holder(p) && s->c != NULL && strcmp(s->c, "CN") != 0)
		return oc_err_set(err, OC_EINVAL, "国家代码必须是 CN / country "
		    "must be CN");
	if (p == OC_PROFILE_ENTERPRISE) {
		if (s->st == NULL || s->l == NULL)
			return oc_err_set(err, OC_EINVAL, "法人证书需要省份(ST)和城市(L) "
			    "/ an enterprise certificate needs ST and L");
		if (s->o != NULL && strcmp(s->o, s->cn) != 0)
			return oc_err_set(err, OC_EINVAL, "法人证书的单位(O)与名称(CN) "
			    "必须都是登记的企业名称 / enterprise certificate: O and "
			    "CN must both be the registered company name");
	}
	return 0;
}

/* ---- template ---- */

static int
check_ident(const struct oc_cert_template *t, struct oc_err *err)
{
	const struct oc_cert_ident *id = &t->ident;
	const char *other[3] = { id->insurance_no, id->ic_reg_no, id->tax_no };
	int rc;

	if (t->profile == OC_PROFILE_ENTERPRISE) {
		if (id->identity_code != NULL)
			return oc_err_set(err, OC_EINVAL, "法人证书不带身份证号 / an "
			    "enterprise certificate carries no IdentityCode");
		if (id->org_code == NULL)
			return oc_err_set(err, OC_EINVAL, "法人证书需要统一社会信用代码或"
			    "组织机构代码 / an enterprise certificate needs the "
			    "unified social credit code or organization code");
		if (strlen(id->org_code) == 18)
			rc = oc_uscc_check(id->org_code, err);
		else
			rc = oc_orgcode_check(id->org_code, err);
		if (rc != 0)
			return rc;
		for (int i = 0; i < 3; i++)
			if (other[i] != NULL &&
			    !oc__printable_ok(other[i], OC__UB_IDENT))
				return oc_err_set(err, OC_EINVAL, "工商注册号、税号或"
				    "社保号含不允许的字符 / IC registration, tax or "
				    "insurance number: only letters, digits and "
				    "' ()+,-./:=? allowed, at most %d", OC__UB_IDENT);
		return 0;
	}
	if (t->profile == OC_PROFILE_PERSONAL) {
		if (id->org_code != NULL || id->ic_reg_no != NULL ||
		    id->tax_no != NULL || id->insurance_no != NULL)
			return oc_err_set(err, OC_EINVAL, "个人证书只带身份证号 / a "
			    "personal certificate carries only the IdentityCode");
		if (!oc__resident_id_ok(id->identity_code))
			return oc_err_set(err, OC_EINVAL, "身份证号码无效（18位，末位"
			    "校验码） / resident identity card number is invalid "
			    "(18 characters with a GB 11643 check character)");
		return 0;
	}
	if (id->identity_code != NULL || id->org_code != NULL ||
	    id->ic_reg_no != NULL || id->tax_no != NULL ||
	    id->insurance_no != NULL)
		return oc_err_set(err, OC_EINVAL, "%s 证书不带 GM/T 0015 身份扩展 / "
		    "a %s certificate carries no GM/T 0015 identity extension",
		    oc_profile_name(t->profile), oc_profile_name(t->profile));
	return 0;
}

static int
check_serial(const struct oc_cert_template *t, struct oc_err *err)
{
	size_t i = 0, n;

	if (t->serial == NULL)
		return 0;
	while (i < t->serial_len && t->serial[i] == 0)
		i++;
	n = t->serial_len - i;
	if (n == 0)
		return oc_err_set(err, OC_EINVAL, "序列号不能为 0 / serial number "
		    "must not be zero");
	if (n + ((t->serial[i] & 0x80) ? 1 : 0) > 20)
		return oc_err_set(err, OC_EINVAL, "序列号超过20字节 / serial number "
		    "longer than 20 octets");
	return 0;
}

static int
check_template(const struct oc_cert_template *t,
    const struct oc_cert_issuer *iss, struct oc_err *err)
{
	EVP_PKEY *spub;
	enum oc_algo ca_algo;
	int rc;

	if (t == NULL || iss == NULL || iss->signer == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少模板或签发者 / template or "
		    "issuer missing");
	if (strcmp(oc_profile_name(t->profile), "none") == 0)
		return oc_err_set(err, OC_EINVAL, "证书类型无效 / unknown "
		    "certificate profile");
	if (t->pubkey == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少公钥 / public key missing");
	spub = oc_signer_get0_pubkey(iss->signer);
	ca_algo = oc_signer_algo(iss->signer);
	if (spub == NULL || ca_algo == OC_ALGO_NONE)
		return oc_err_set(err, OC_EINVAL, "签发者的签名密钥不可用 / the "
		    "issuer's signer has no usable key");
	if (t->profile == OC_PROFILE_ROOT) {
		if (iss->cert != NULL)
			return oc_err_set(err, OC_EINVAL, "根证书是自签名的，不应给出签发"
			    "者证书 / a root is self-signed: no issuer certificate");
		if (EVP_PKEY_eq(t->pubkey, spub) != 1)
			return oc_err_set(err, OC_EINVAL, "根证书的公钥必须是签名者的公钥 "
			    "/ a root's public key must be the signer's own key");
	} else {
		if (iss->cert == NULL)
			return oc_err_set(err, OC_EINVAL, "缺少签发者证书（只有根证书是自"
			    "签名的） / issuer certificate missing (only a root is "
			    "self-signed)");
		if (EVP_PKEY_eq(X509_get0_pubkey(iss->cert), spub) != 1)
			return oc_err_set(err, OC_EINVAL, "签名密钥与签发者证书不符 / "
			    "the signer's key does not match the issuer "
			    "certificate");
		if (X509_check_ca(iss->cert) == 0 ||
		    !(X509_get_key_usage(iss->cert) & KU_KEY_CERT_SIGN))
			return oc_err_set(err, OC_EINVAL, "签发者证书不是 CA 证书 / the "
			    "issuer certificate is not a CA certificate");
		if (t->profile == OC_PROFILE_ISSUING &&
		    X509_get_pathlen(iss->cert) == 0)
			return oc_err_set(err, OC_EINVAL, "签发者的路径长度约束为 0，不能"
			    "签发 CA 证书 / the issuer's pathLenConstraint 0 forbids "
			    "a CA certificate below it");
	}
	if ((rc = oc_key_check(t->pubkey, t->profile, ca_algo, err)) != 0)
		return rc;
	if (t->spki != NULL && EVP_PKEY_eq(X509_PUBKEY_get0(t->spki),
	    t->pubkey) != 1)
		return oc_err_set(err, OC_EINVAL, "模板的 SubjectPublicKeyInfo 与"
		    "公钥不符 / the template's SubjectPublicKeyInfo does not hold "
		    "its public key");
	if ((rc = oc__subject_check(&t->subject, t->profile, err)) != 0)
		return rc;
	if ((rc = check_ident(t, err)) != 0)
		return rc;
	if (is_holder(t->profile) && t->unique_id == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少证书唯一标识 / certificate "
		    "unique ID missing");
	if (t->unique_id != NULL && !oc__printable_ok(t->unique_id, OC__UB_IDENT))
		return oc_err_set(err, OC_EINVAL, "证书唯一标识含不允许的字符 / "
		    "unique ID: only letters, digits and ' ()+,-./:=? allowed, "
		    "at most %d", OC__UB_IDENT);
	if (t->profile == OC_PROFILE_TLS_SERVER && t->n_san == 0)
		return oc_err_set(err, OC_EINVAL, "TLS 服务器证书需要至少一个域名或 "
		    "IP 地址 / a TLS server certificate needs at least one DNS "
		    "name or IP address");
	if (t->profile != OC_PROFILE_TLS_SERVER && t->n_san > 0)
		return oc_err_set(err, OC_EINVAL, "只有 TLS 服务器证书带域名 / only "
		    "TLS server certificates carry DNS names or IP addresses");
	if (t->email != NULL && !is_holder(t->profile))
		return oc_err_set(err, OC_EINVAL, "只有法人和个人证书带电子邮件地址 / "
		    "only enterprise and personal certificates carry an email "
		    "address");
	if (t->not_before <= 0 || t->not_after <= t->not_before)
		return oc_err_set(err, OC_EINVAL, "有效期无效 / validity is invalid "
		    "(not_after must be after not_before)");
	if (iss->cert != NULL &&
	    (ASN1_TIME_cmp_time_t(X509_get0_notBefore(iss->cert),
	    t->not_before) > 0 ||
	    ASN1_TIME_cmp_time_t(X509_get0_notAfter(iss->cert),
	    t->not_after) < 0))
		return oc_err_set(err, OC_EPROFILE, "有效期超出签发者证书的有效期 / "
		    "validity reaches outside the issuer certificate's validity");
	return check_serial(t, err);
}

/* ---- building ---- */

/* The organization code as stored: an 18-character USCC as is, a
 * 9-character organization code without its dash. */
static void
org_code_canon(const char *in, char out[19])
{
	size_t n = strlen(in);

	if (n == 10 && in[8] == '-') {
		memcpy(out, in, 8);
		out[8] = in[9];
		out[9] = '\0';
		return;
	}
	memcpy(out, in, n + 1);
}

static int
add_profile_extensions(X509 *x, const struct oc_cert_template *t,
    const struct oc_cert_issuer *iss, enum oc_algo ca_algo)
{
	X509 *issuer = iss->cert != NULL ? iss->cert : x;
	const struct oc_cert_ident *id = &t->ident;
	static const int eku_holder[] = { NID_client_auth, NID_email_protect };
	static const int eku_ocsp[] = { NID_OCSP_sign };
	static const int eku_tls[] = { NID_server_auth };
	char org[19];
	int rc;

	switch (t->profile) {
	case OC_PROFILE_ROOT:
	case OC_PROFILE_ISSUING:
		if ((rc = oc__ext_add_basic_constraints(x, true,
		    t->profile == OC_PROFILE_ISSUING ? 0 : -1)) ||
		    (rc = oc__ext_add_key_usage(x, KU_KEY_CERT_SIGN |
		    KU_CRL_SIGN)))
			return rc;
		break;
	case OC_PROFILE_ENTERPRISE:
	case OC_PROFILE_PERSONAL:
		if ((rc = oc__ext_add_basic_constraints(x, false, -1)) ||
		    (rc = oc__ext_add_key_usage(x, KU_DIGITAL_SIGNATURE |
		    KU_NON_REPUDIATION)) ||
		    (rc = oc__ext_add_eku(x, eku_holder, 2)))
			return rc;
		break;
	case OC_PROFILE_OCSP:
		if ((rc = oc__ext_add_basic_constraints(x, false, -1)) ||
		    (rc = oc__ext_add_key_usage(x, KU_DIGITAL_SIGNATURE)) ||
		    (rc = oc__ext_add_eku(x, eku_ocsp, 1)))
			return rc;
		break;
	case OC_PROFILE_TLS_SERVER:
		if ((rc = oc__ext_add_basic_constraints(x, false, -1)) ||
		    (rc = oc__ext_add_key_usage(x, KU_DIGITAL_SIGNATURE |
		    (ca_algo == OC_ALGO_RSA ? KU_KEY_ENCIPHERMENT : 0))) ||
		    (rc = oc__ext_add_eku(x, eku_tls, 1)))
			return rc;
		break;
	default:
		return OC_EINVAL;
	}
	if ((rc = oc__ext_add_ski(x)) != 0 || (rc = oc__ext_add_aki(x,
	    issuer)) != 0)
		return rc;
	if ((rc = oc__ext_add_san(x, t->san, t->n_san, t->email)) != 0)
		return rc;
	if (t->profile != OC_PROFILE_ROOT && t->profile != OC_PROFILE_OCSP) {
		if (iss->crl_url != NULL &&
		    (rc = oc__ext_add_cdp(x, iss->crl_url)) != 0)
			return rc;
		if ((rc = oc__ext_add_aia(x, iss->ocsp_url,
		    iss->ca_issuers_url)) != 0)
			return rc;
	}
	switch (t->profile) {
	case OC_PROFILE_ISSUING:
		rc = oc__ext_add_policy(x, OID_ANY_POLICY);
		break;
	case OC_PROFILE_ENTERPRISE:
		rc = oc__ext_add_policy(x, OC_OID_POLICY_ENTERPRISE);
		break;
	case OC_PROFILE_PERSONAL:
		rc = oc__ext_add_policy(x, OC_OID_POLICY_PERSONAL);
		break;
	case OC_PROFILE_OCSP:
	case OC_PROFILE_TLS_SERVER:
		rc = oc__ext_add_policy(x, OC_OID_POLICY_SERVICE);
		break;
	default:
		rc = 0;
	}
	if (rc != 0)
		return rc;
	if (t->profile == OC_PROFILE_OCSP && (rc = oc__ext_add_ocsp_nocheck(x)))
		return rc;
	if (t->profile == OC_PROFILE_ENTERPRISE) {
		org_code_canon(id->org_code, org);
		if ((rc = oc__ext_add_printable(x, OC_OID_GMT_ORG_CODE, org)) ||
		    (id->ic_reg_no != NULL && (rc = oc__ext_add_printable(x,
		    OC_OID_GMT_IC_REG_NO, id->ic_reg_no))) ||
		    (id->tax_no != NULL && (rc = oc__ext_add_printable(x,
		    OC_OID_GMT_TAX_NO, id->tax_no))) ||
		    (id->insurance_no != NULL && (rc = oc__ext_add_printable(x,
		    OC_OID_GMT_INSURANCE_NO, id->insurance_no))))
			return rc;
	}
	if (t->profile == OC_PROFILE_PERSONAL &&
	    (rc = oc__ext_add_identity_code(x, id->identity_code)) != 0)
		return rc;
	if (t->unique_id != NULL &&
	    (rc = oc__ext_add_printable(x, OC_OID_UNIQUE_ID, t->unique_id)))
		return rc;
	return 0;
}

static int
set_serial(X509 *x, const struct oc_cert_template *t)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	int rc = OC_ECRYPTO;

	if (t->serial == NULL) {
		ai = oc__serial_random();
	} else if ((bn = BN_bin2bn(t->serial, (int)t->serial_len,
	    NULL)) != NULL) {
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	}
	if (ai != NULL && X509_set_serialNumber(x, ai))
		rc = 0;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

/*
 * The subject's key into x.  X509_set_pubkey on a provider key (every key
 * OpenSSL 3.0 decodes) runs the encoder to make the SubjectPublicKeyInfo
 * and the decoder to read it back, far more work than the signature.  So
 * when the template carries the SPKI it was received in (the CSR's), its
 * algorithm and key bits are copied as they are instead.  Only the
 * parameter shapes our keys have are copied: a curve OID (EC, SM2), NULL
 * or absent (RSA).  x then holds no decoded key: the signed certificate
 * is parsed back (oc_cert_issue).
 */
static int
set_pubkey(X509 *x, const struct oc_cert_template *t)
{
	ASN1_OBJECT *pkalg = NULL, *obj = NULL;
	const ASN1_OBJECT *aobj;
	const unsigned char *pk;
	const void *pval;
	void *param = NULL;
	unsigned char *penc = NULL;
	X509_ALGOR *pa;
	int pklen, ptype;

	/* A key with a legacy method (oc_csr_parse's P-256 and SM2 keys)
	 * encodes itself without the encoder, and x then holds the key
	 * decoded. */
	if (t->spki == NULL || EVP_PKEY_get0_asn1(t->pubkey) != NULL)
		return X509_set_pubkey(x, t->pubkey) ? 0 : OC_ECRYPTO;
	if (!X509_PUBKEY_get0_param(&pkalg, &pk, &pklen, &pa, t->spki) ||
	    pa == NULL || pklen <= 0)
		return OC_ECRYPTO;
	X509_ALGOR_get0(&aobj, &ptype, &pval, pa);
	if (ptype == V_ASN1_OBJECT) {
		if ((param = OBJ_dup(pval)) == NULL)
			return OC_ECRYPTO;
	} else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
		return OC_ECRYPTO;
	}
	if ((obj = OBJ_dup(aobj)) == NULL ||
	    (penc = OPENSSL_memdup(pk, (size_t)pklen)) == NULL ||
	    !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj, ptype, param,
	    penc, pklen)) {
		ASN1_OBJECT_free(obj);
		ASN1_OBJECT_free(param);
		OPENSSL_free(penc);
		return OC_ECRYPTO;
	}
	return 0;
}

static int
set_validity(X509 *x, time_t nb, time_t na)
{
	ASN1_TIME *a = NULL, *b = NULL;
	int rc = OC_ECRYPTO;

	/* ASN1_TIME_set picks UTCTime through 2049 and GeneralizedTime from
	 * 2050, as RFC 5280 4.1.2.5 asks. */
	if ((a = ASN1_TIME_set(NULL, nb)) != NULL &&
	    (b = ASN1_TIME_set(NULL, na)) != NULL &&
	    X509_set1_notBefore(x, a) && X509_set1_notAfter(x, b))
		rc = 0;
	ASN1_TIME_free(a);
	ASN1_TIME_free(b);
	return rc;
}

/*
 * The built certificate x made into the signed one, without parsing the
 * signed bytes back: when x holds its subject key decoded, the signature
 * and its AlgorithmIdentifier are written into x (through the pointers
 * X509_get0_signature returns, as the TBS algorithm is written in
 * oc_cert_issue: 3.0 has no setter), and x is taken only if it now
 * encodes to exactly the signed DER.  tbs is x's TBSCertificate as
 * i2d_re_X509_tbs encoded it just before signing; only the outer
 * algorithm and signature have been written since, so x's encoding is
 * that TBS, that algorithm and that signature in a SEQUENCE — assembled
 * here without encoding the TBS again (an i2d_X509 of a built
 * certificate re-encodes every field: ~11 µs for P-256).  x (returned) or
 * NULL (x untouched in substance: parse der instead).
 */
static X509 *
adopt_signed(X509 *x, const unsigned char *tbs, size_t tbslen,
    const unsigned char *der, size_t derlen)
{
	struct oc__signed_parts sp;
	const ASN1_BIT_STRING *psig;
	const X509_ALGOR *palg;
	X509_ALGOR *alg = NULL;
	const unsigned char *p;
	unsigned char *enc = NULL;
	size_t enclen = 0;
	EVP_PKEY *pub;
	bool same = false;

	ERR_set_mark();
	pub = X509_get0_pubkey(x);
	ERR_pop_to_mark();
	if (pub == NULL || oc__der_split_signed(der, derlen, &sp, NULL) != 0)
		return NULL;
	p = sp.alg;
	if ((alg = d2i_X509_ALGOR(NULL, &p, (long)sp.alglen)) == NULL)
		return NULL;
	X509_get0_signature(&psig, &palg, x);
	if (X509_ALGOR_copy((X509_ALGOR *)palg, alg) &&
	    ASN1_BIT_STRING_set((ASN1_BIT_STRING *)psig, (unsigned char *)sp.sig,
	    (int)sp.siglen)) {
		/* 0 unused bits, said explicitly: without the flag, i2d
		 * would drop trailing zero bits of the signature. */
		ASN1_BIT_STRING *bs = (ASN1_BIT_STRING *)psig;

		bs->flags = (bs->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT;
		same = oc_der_signed(tbs, tbslen, palg, bs->data, (size_t)bs->length,
		    &enc, &enclen) == 0 && enclen == derlen &&
		    memcmp(enc, der, derlen) == 0;
	}
	OPENSSL_free(enc);
	X509_ALGOR_free(alg);
	ERR_clear_error();
	return same ? x : NULL;
}

X509 *
oc_cert_issue(const struct oc_cert_template *t,
    const struct oc_cert_issuer *iss, struct oc_err *err)
{
	return oc_cert_issue_der(t, iss, NULL, NULL, err);
}

X509 *
oc_cert_issue_der(const struct oc_cert_template *t,
    const struct oc_cert_issuer *iss, unsigned char **der_out,
    size_t *derlen_out, struct oc_err *err)
{
	X509 *x = NULL, *res = NULL;
	X509_ALGOR *alg = NULL;
	unsigned char *tbs = NULL, *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	enum oc_algo ca_algo;
	struct oc_cert_subject s;
	bool adopted = false;
	int tbslen, rc;

	if (check_template(t, iss, err) != 0)
		goto out;
	ca_algo = oc_signer_algo(iss->signer);
	s = t->subject;
	if (is_holder(t->profile) && s.c == NULL)
		s.c = "CN";
	if (t->profile == OC_PROFILE_ENTERPRISE && s.o == NULL)
		s.o = s.cn;
	/* The subject is written into x's own name (X509_set_subject_name
	 * would copy it: an encode and a decode). */
	if ((x = X509_new()) == NULL ||
	    subject_name_add(X509_get_subject_name(x), &s) != 0) {
		oc_err_openssl(err, OC_ENOMEM, "内存不足 / out of memory");
		goto out;
	}
	if (!X509_set_version(x, X509_VERSION_3) || set_serial(x, t) != 0 ||
	    !X509_set_issuer_name(x, iss->cert != NULL ?
	    X509_get_subject_name(iss->cert) : X509_get_subject_name(x)) ||
	    set_validity(x, t->not_before, t->not_after) != 0 ||
	    set_pubkey(x, t) != 0) {
		oc_err_openssl(err, OC_ECRYPTO, "无法构造证书 / cannot build the "
		    "certificate");
		goto out;
	}
	if ((rc = add_profile_extensions(x, t, iss, ca_algo)) != 0) {
		if (rc == OC_EINVAL)
			oc_err_set(err, OC_EINVAL, "扩展的值无效（URL、域名或邮件地址） "
			    "/ an extension value is invalid (URL, DNS name, IP "
			    "address or email address)");
		else
			oc_err_openssl(err, rc, "无法构造证书扩展 / cannot build "
			    "the certificate extensions");
		goto out;
	}
	/*
	 * The TBSCertificate carries its own copy of the signature
	 * AlgorithmIdentifier.  OpenSSL fills it only inside X509_sign*,
	 * which needs the private key in this process; 3.0 has no setter, and
	 * X509_get0_tbs_sigalg returns a const pointer to the very field.
	 * Writing through it is how we put our algorithm there without the
	 * key.  It is safe: the field is a plain X509_ALGOR owned by the
	 * certificate, and i2d_re_X509_tbs below re-encodes the TBS from its
	 * fields, so nothing cached goes stale.
	 */
	if ((alg = oc_algo_sigalg_new(ca_algo)) == NULL ||
	    !X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg)) {
		oc_err_openssl(err, OC_ECRYPTO, "无法设置签名算法 / cannot set the "
		    "signature algorithm");
		goto out;
	}
	if ((tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		oc_err_openssl(err, OC_ECRYPTO, "无法编码证书 / cannot encode the "
		    "certificate");
		goto out;
	}
	if (oc__sign_assemble(iss->signer, tbs, (size_t)tbslen, &der, &derlen,
	    err) != 0)
		goto out;
	if ((res = adopt_signed(x, tbs, (size_t)tbslen, der, derlen)) != NULL) {
		x = NULL;
		adopted = true;
		goto lint;
	}
	p = der;
	if ((res = d2i_X509(NULL, &p, (long)derlen)) == NULL ||
	    p != der + derlen) {
		oc_err_openssl(err, OC_ECRYPTO, "签名后的证书无法解析 / the signed "
		    "certificate does not parse");
		X509_free(res);
		res = NULL;
		goto out;
	}
lint:
	/* check_template has run oc_key_check on this very key; an adopted
	 * res encodes to der exactly (adopt_signed compared them), so the
	 * lint checks the signature over der instead of encoding res again. */
	if (oc__cert_lint(res, t->profile, iss->cert, true,
	    adopted ? der : NULL, adopted ? derlen : 0, err) != 0) {
		X509_free(res);
		res = NULL;
		goto out;
	}
	/* res encodes to der: adopted, compared; parsed, its encoding is
	 * the one d2i read (and cached). */
	if (der_out != NULL) {
		*der_out = der;
		*derlen_out = derlen;
		der = NULL;
	}
out:
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	X509_ALGOR_free(alg);
	X509_free(x);
	return res;
}

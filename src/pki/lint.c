/*
 * lint.c — oc_cert_lint, our pre-issuance linter.  oc_cert_issue runs it
 * on every certificate before returning it; it also runs standalone (the
 * CLI, tests).  It checks a certificate against the profile it claims, as
 * encoded, with no trust in how it was built.  The first broken rule wins;
 * the message names the rule in brackets, e.g. "[ku-critical]".
 *
 * Rules (issuer NULL = self-signed: the certificate is its own issuer):
 *  version        X.509 v3.
 *  serial         positive, non-zero, at least 64 bits, at most 20 octets.
 *  sigalg         outer and TBS AlgorithmIdentifier equal, one of ours
 *                 (ecdsa-with-SHA256 / SM2-with-SM3 without parameters,
 *                 sha256WithRSAEncryption with NULL), of the issuer key's
 *                 algorithm.
 *  validity       notBefore < notAfter; UTCTime before 2050 and
 *                 GeneralizedTime from 2050 (RFC 5280 4.1.2.5); inside the
 *                 issuer's validity.
 *  issuer-name    issuer = the issuer's subject (own subject when
 *                 self-signed).
 *  issuer-ca      the issuer has basicConstraints CA:TRUE and keyCertSign;
 *                 for a CA certificate, no pathLenConstraint 0.
 *  subject        CN present once, UTF8String; C (if present) a two-letter
 *                 PrintableString, and CN for enterprise/personal; other
 *                 attributes UTF8String, none twice; enterprise: ST, L, O
 *                 present and O = CN.
 *  ext-dup        no extension twice.
 *  ext-critical   only basicConstraints and keyUsage are critical.
 *  bc             basicConstraints present and critical; CA:TRUE for
 *                 root/issuing, CA:FALSE otherwise; pathLen 0 for issuing,
 *                 absent otherwise.
 *  ku             keyUsage present and critical, exactly: root/issuing
 *                 keyCertSign+cRLSign; enterprise/personal
 *                 digitalSignature+nonRepudiation; OCSP digitalSignature;
 *                 TLS digitalSignature (+keyEncipherment for RSA).
 *  eku            CA: absent; enterprise/personal: clientAuth, optionally
 *                 emailProtection, nothing else; OCSP: exactly OCSPSigning;
 *                 TLS: exactly serverAuth.
 *  ski            present; the SHA-1 key identifier of the public key.
 *  aki            keyIdentifier only, = the issuer's SKI; a root's may be
 *                 absent, else = its own SKI.
 *  san            TLS: present, only DNS names and IP addresses;
 *                 enterprise/personal: optional, only an email address;
 *                 others: absent.
 *  cdp-aia        root/OCSP: neither; others: if present, CDP fullName
 *                 http(s) URIs, AIA only OCSP/caIssuers http(s) URIs.
 *  policy         enterprise/personal/OCSP+TLS: our policy OID for the
 *                 profile; issuing: anyPolicy; root: none required.
 *  gmt            enterprise: 1.2.156.10260.4.1.4 present, a PrintableString
 *                 holding a valid USCC (18) or organization code (9) by
 *                 check digit; .2 .3 .5 PrintableString when present; no .1.
 *                 personal: .1 present, [0] EXPLICIT or IMPLICIT
 *                 PrintableString with a valid 18-character resident ID;
 *                 no .2–.5.  Other profiles: none of them.
 *  unique-id      enterprise/personal: present; wherever present:
 *                 non-critical PrintableString of 1–64 characters.
 *  ocsp-nocheck   OCSP: present, NULL value; others: absent.
 *  key            oc_key_check for the profile and the issuer's algorithm
 *                 (from oc_cert_issue, whose template check has just run
 *                 oc_key_check on the same key: type, curve and size only,
 *                 without validating the key a second time).
 *  signature      verifies under the issuer's key over the encoded TBS
 *                 (SM2 with the distinguishing ID).  From oc_cert_issue,
 *                 over the signed DER it has just checked the certificate
 *                 encodes to, which saves encoding it once more.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/ident.h"
#include "onecert/pki.h"
#include "internal.h"

struct lint {
	X509 *cert;
	X509 *issuer;          /* cert itself when self-signed */
	EVP_PKEY *issuer_pub;
	enum oc_algo ca_algo;
	enum oc_profile profile;
	bool key_checked;      /* the key passed oc_key_check just before */
	const unsigned char *der;  /* i2d_X509(cert), or NULL: encode it */
	size_t derlen;
	struct oc_err *err;
};

static int
fail(struct lint *l, const char *rule, const char *zh, const char *en)
{
	return oc_err_set(l->err, OC_EPROFILE, "证书不符合%s规范 [%s]：%s / "
	    "certificate breaks the %s profile [%s]: %s",
	    oc_profile_name(l->profile), rule, zh, oc_profile_name(l->profile),
	    rule, en);
}

static bool
is_ca(enum oc_profile p)
{
	return p == OC_PROFILE_ROOT || p == OC_PROFILE_ISSUING;
}

static bool
is_holder(enum oc_profile p)
{
	return p == OC_PROFILE_ENTERPRISE || p == OC_PROFILE_PERSONAL;
}

/* An extension by dotted OID, or NULL. */
static X509_EXTENSION *
ext_by_oid(X509 *x, const char *oid)
{
	ASN1_OBJECT *tmp;
	const ASN1_OBJECT *obj;
	int idx;

	if ((obj = oc__oid(oid, &tmp)) == NULL)
		return NULL;
	idx = X509_get_ext_by_OBJ(x, obj, -1);
	ASN1_OBJECT_free(tmp);
	return idx < 0 ? NULL : X509_get_ext(x, idx);
}

static int
rule_version(struct lint *l)
{
	if (X509_get_version(l->cert) != X509_VERSION_3)
		return fail(l, "version", "必须是 X.509 v3", "must be X.509 v3");
	return 0;
}

static int
rule_serial(struct lint *l)
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(l->cert);
	BIGNUM *bn;
	int bits, neg;

	if (ai == NULL || (bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL)
		return fail(l, "serial", "序列号无法解析", "serial number does not "
		    "parse");
	bits = BN_num_bits(bn);
	neg = BN_is_negative(bn);
	BN_free(bn);
	if (neg || bits == 0)
		return fail(l, "serial", "序列号必须为正数", "serial number must be "
		    "positive");
	if (bits < 64)
		return fail(l, "serial", "序列号至少64位", "serial number must have "
		    "at least 64 bits");
	if (bits > 159)
		return fail(l, "serial", "序列号超过20字节", "serial number longer "
		    "than 20 octets");
	return 0;
}

static int
rule_sigalg(struct lint *l)
{
	const X509_ALGOR *outer = NULL, *inner;
	const ASN1_BIT_STRING *sig = NULL;

	X509_get0_signature(&sig, &outer, l->cert);
	inner = X509_get0_tbs_sigalg(l->cert);
	if (outer == NULL || inner == NULL || X509_ALGOR_cmp(outer, inner) != 0)
		return fail(l, "sigalg", "内外签名算法不一致", "the signature "
		    "algorithm inside and outside the TBS differ");
	if (oc__sigalg_algo(outer) == OC_ALGO_NONE)
		return fail(l, "sigalg", "签名算法不是 ecdsa-with-SHA256、"
		    "SM2-with-SM3 或 sha256WithRSAEncryption", "signature algorithm "
		    "is not ecdsa-with-SHA256, SM2-with-SM3 or "
		    "sha256WithRSAEncryption with the right parameters");
	if (oc__sigalg_algo(outer) != l->ca_algo)
		return fail(l, "sigalg", "签名算法与签发者密钥不符", "signature "
		    "algorithm does not match the issuer's key");
	return 0;
}

static int
time_form_ok(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	if (tm.tm_year + 1900 < 2050)
		return ASN1_STRING_type(t) == V_ASN1_UTCTIME;
	return ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME;
}

static int
rule_validity(struct lint *l)
{
	const ASN1_TIME *nb = X509_get0_notBefore(l->cert);
	const ASN1_TIME *na = X509_get0_notAfter(l->cert);

	if (nb == NULL || na == NULL || ASN1_TIME_compare(nb, na) != -1)
		return fail(l, "validity", "起始时间必须早于截止时间", "notBefore "
		    "must be before notAfter");
	if (!time_form_ok(nb) || !time_form_ok(na))
		return fail(l, "validity", "时间编码不符合 RFC 5280", "time encoding "
		    "breaks RFC 5280 (UTCTime before 2050, GeneralizedTime "
		    "after)");
	if (l->issuer != l->cert &&
	    (ASN1_TIME_compare(nb, X509_get0_notBefore(l->issuer)) < 0 ||
	    ASN1_TIME_compare(na, X509_get0_notAfter(l->issuer)) > 0))
		return fail(l, "validity", "有效期超出签发者证书的有效期", "validity "
		    "reaches outside the issuer certificate's validity");
	return 0;
}

static int
rule_issuer(struct lint *l)
{
	if (X509_NAME_cmp(X509_get_issuer_name(l->cert),
	    X509_get_subject_name(l->issuer)) != 0)
		return fail(l, "issuer-name", "颁发者名称与签发者证书的主题不符",
		    "issuer name differs from the issuer certificate's subject");
	if (l->issuer != l->cert &&
	    (X509_check_ca(l->issuer) == 0 ||
	    !(X509_get_key_usage(l->issuer) & KU_KEY_CERT_SIGN)))
		return fail(l, "issuer-ca", "签发者不是 CA 证书", "the issuer is not a "
		    "CA certificate");
	if (l->issuer != l->cert && is_ca(l->profile) &&
	    X509_get_pathlen(l->issuer) == 0)
		return fail(l, "issuer-ca", "签发者的路径长度约束为 0", "the issuer's "
		    "pathLenConstraint 0 forbids a CA certificate below it");
	return 0;
}

static int
rule_subject(struct lint *l)
{
	const X509_NAME *name = X509_get_subject_name(l->cert);
	char cn[256], o[256];
	int n = X509_NAME_entry_count(name);

	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ne);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(ne);
		int nid = OBJ_obj2nid(obj);

		if (X509_NAME_get_index_by_OBJ(name, obj, i) >= 0)
			return fail(l, "subject", "主题属性重复", "a subject attribute "
			    "appears twice");
		if (nid == NID_countryName) {
			const unsigned char *d = ASN1_STRING_get0_data(v);

			if (ASN1_STRING_type(v) != V_ASN1_PRINTABLESTRING ||
			    ASN1_STRING_length(v) != 2 || d[0] < 'A' ||
			    d[0] > 'Z' || d[1] < 'A' || d[1] > 'Z')
				return fail(l, "subject", "国家(C)必须是两个大写字母的 "
				    "PrintableString", "C must be a two-letter "
				    "PrintableString");
			if (is_holder(l->profile) && memcmp(d, "CN", 2) != 0)
				return fail(l, "subject", "国家(C)必须是 CN",
				    "C must be CN");
		} else if (ASN1_STRING_type(v) != V_ASN1_UTF8STRING) {
			return fail(l, "subject", "主题属性必须是 UTF8String",
			    "subject attributes must be UTF8String");
		}
	}
	if (oc_cert_subject_string(l->cert, NID_commonName, cn, sizeof(cn)) != 0)
		return fail(l, "subject", "缺少通用名(CN)", "CN missing");
	if (is_holder(l->profile) &&
	    X509_NAME_get_index_by_NID(name, NID_countryName, -1) < 0)
		return fail(l, "subject", "缺少国家(C)", "C missing");
	if (l->profile == OC_PROFILE_ENTERPRISE) {
		if (X509_NAME_get_index_by_NID(name, NID_stateOrProvinceName,
		    -1) < 0 ||
		    X509_NAME_get_index_by_NID(name, NID_localityName, -1) < 0)
			return fail(l, "subject", "缺少省份(ST)或城市(L)", "ST or L "
			    "missing");
		if (oc_cert_subject_string(l->cert, NID_organizationName, o,
		    sizeof(o)) != 0)
			return fail(l, "subject", "缺少单位(O)", "O missing");
		if (strcmp(o, cn) != 0)
			return fail(l, "subject", "单位(O)必须与名称(CN)相同，均为企业"
			    "名称", "O must equal CN (the registered company "
			    "name)");
	}
	return 0;
}

static int
rule_extensions(struct lint *l)
{
	int n = X509_get_ext_count(l->cert);

	for (int i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(l->cert, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(e);
		int nid = OBJ_obj2nid(obj);

		if (X509_get_ext_by_OBJ(l->cert, obj, i) >= 0)
			return fail(l, "ext-dup", "扩展重复", "an extension appears "
			    "twice");
		if (X509_EXTENSION_get_critical(e) &&
		    nid != NID_basic_constraints && nid != NID_key_usage)
			return fail(l, "ext-critical", "只有基本约束和密钥用法可以是"
			    "关键扩展", "only basicConstraints and keyUsage may be "
			    "critical");
	}
	return 0;
}

static int
rule_bc(struct lint *l)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1, rc = 0;

	bc = X509_get_ext_d2i(l->cert, NID_basic_constraints, &crit, NULL);
	if (bc == NULL)
		return fail(l, "bc", "缺少基本约束", "basicConstraints missing");
	if (crit != 1)
		rc = fail(l, "bc", "基本约束必须是关键扩展", "basicConstraints must "
		    "be critical");
	else if ((bc->ca != 0) != is_ca(l->profile))
		rc = fail(l, "bc", is_ca(l->profile) ? "CA 证书必须 CA:TRUE" :
		    "终端证书必须 CA:FALSE", is_ca(l->profile) ? "a CA certificate "
		    "needs CA:TRUE" : "an end-entity certificate needs CA:FALSE");
	else if (l->profile == OC_PROFILE_ISSUING &&
	    (bc->pathlen == NULL || ASN1_INTEGER_get(bc->pathlen) != 0))
		rc = fail(l, "bc", "中级 CA 的路径长度必须为 0", "an issuing CA needs "
		    "pathLenConstraint 0");
	else if (l->profile != OC_PROFILE_ISSUING && bc->pathlen != NULL)
		rc = fail(l, "bc", "不应有路径长度约束", "pathLenConstraint must be "
		    "absent");
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int
rule_ku(struct lint *l)
{
	ASN1_BIT_STRING *ku;
	int crit = -1, rc = 0, want, have = 0;
	static const int masks[9] = { KU_DIGITAL_SIGNATURE, KU_NON_REPUDIATION,
	    KU_KEY_ENCIPHERMENT, KU_DATA_ENCIPHERMENT, KU_KEY_AGREEMENT,
	    KU_KEY_CERT_SIGN, KU_CRL_SIGN, KU_ENCIPHER_ONLY, KU_DECIPHER_ONLY };

	switch (l->profile) {
	case OC_PROFILE_ROOT:
	case OC_PROFILE_ISSUING:
		want = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
		break;
	case OC_PROFILE_ENTERPRISE:
	case OC_PROFILE_PERSONAL:
		want = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
		break;
	case OC_PROFILE_TLS_SERVER:
		want = KU_DIGITAL_SIGNATURE | (l->ca_algo == OC_ALGO_RSA ?
		    KU_KEY_ENCIPHERMENT : 0);
		break;
	default:
		want = KU_DIGITAL_SIGNATURE;
	}
	ku = X509_get_ext_d2i(l->cert, NID_key_usage, &crit, NULL);
	if (ku == NULL)
		return fail(l, "ku", "缺少密钥用法", "keyUsage missing");
	for (int i = 0; i < 16; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i))
			have |= i < 9 ? masks[i] : 0x10000;
	if (crit != 1)
		rc = fail(l, "ku-critical", "密钥用法必须是关键扩展", "keyUsage must "
		    "be critical");
	else if (have != want)
		rc = fail(l, "ku", "密钥用法不符合该类证书", "keyUsage bits are wrong "
		    "for this profile");
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int
rule_eku(struct lint *l)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = -1, rc = 0, n, client = 0, email = 0, ocsp = 0, server = 0;
	int other = 0;

	eku = X509_get_ext_d2i(l->cert, NID_ext_key_usage, &crit, NULL);
	if (eku == NULL) {
		if (is_ca(l->profile))
			return 0;
		return fail(l, "eku", "缺少扩展密钥用法", "extendedKeyUsage "
		    "missing");
	}
	n = sk_ASN1_OBJECT_num(eku);
	for (int i = 0; i < n; i++) {
		switch (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i))) {
		case NID_client_auth:
			client++;
			break;
		case NID_email_protect:
			email++;
			break;
		case NID_OCSP_sign:
			ocsp++;
			break;
		case NID_server_auth:
			server++;
			break;
		default:
			other++;
		}
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	switch (l->profile) {
	case OC_PROFILE_ROOT:
	case OC_PROFILE_ISSUING:
		rc = fail(l, "eku", "CA 证书不带扩展密钥用法", "a CA certificate "
		    "carries no extendedKeyUsage");
		break;
	case OC_PROFILE_ENTERPRISE:
	case OC_PROFILE_PERSONAL:
		if (client != 1 || email > 1 || ocsp || server || other)
			rc = fail(l, "eku", "扩展密钥用法必须是客户端认证（可加安全电子"
			    "邮件）", "extendedKeyUsage must be clientAuth "
			    "(optionally emailProtection) and nothing else");
		break;
	case OC_PROFILE_OCSP:
		if (ocsp != 1 || n != 1)
			rc = fail(l, "eku", "扩展密钥用法必须只有 OCSP 签名",
			    "extendedKeyUsage must be OCSPSigning only");
		break;
	case OC_PROFILE_TLS_SERVER:
		if (server != 1 || n != 1)
			rc = fail(l, "eku", "扩展密钥用法必须只有服务器认证",
			    "extendedKeyUsage must be serverAuth only");
		break;
	default:
		break;
	}
	if (rc == 0 && crit == 1)
		rc = fail(l, "ext-critical", "扩展密钥用法不应是关键扩展",
		    "extendedKeyUsage must not be critical");
	return rc;
}

static int
rule_ski_aki(struct lint *l)
{
	const ASN1_OCTET_STRING *iski;
	ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *akid;
	unsigned char id[20];
	int crit = -1, rc = 0;
	bool same;

	/* The extension alone, as X509_get0_subject_key_id would decode it:
	 * that call first fills OpenSSL's cache of the whole certificate
	 * (every extension decoded and a SHA-1 over a fresh encoding of the
	 * certificate), which nothing on the issuing path needs. */
	ski = X509_get_ext_d2i(l->cert, NID_subject_key_identifier, &crit,
	    NULL);
	if (ski == NULL)
		return fail(l, "ski", "缺少主体密钥标识", "subjectKeyIdentifier "
		    "missing");
	same = oc__key_id(l->cert, id) == 0 && ASN1_STRING_length(ski) == 20 &&
	    memcmp(ASN1_STRING_get0_data(ski), id, 20) == 0;
	ASN1_OCTET_STRING_free(ski);
	if (!same)
		return fail(l, "ski", "主体密钥标识与公钥不符", "subjectKeyIdentifier "
		    "does not match the public key");
	crit = -1;
	akid = X509_get_ext_d2i(l->cert, NID_authority_key_identifier, &crit,
	    NULL);
	if (akid == NULL) {
		if (crit == -2)
			return fail(l, "ext-dup", "扩展重复", "an extension appears "
			    "twice");
		if (l->profile == OC_PROFILE_ROOT && l->issuer == l->cert)
			return 0;
		return fail(l, "aki", "缺少颁发机构密钥标识", "authorityKeyIdentifier "
		    "missing");
	}
	if (akid->keyid == NULL || akid->issuer != NULL || akid->serial != NULL) {
		rc = fail(l, "aki", "颁发机构密钥标识只应含 keyIdentifier",
		    "authorityKeyIdentifier must hold keyIdentifier only");
		goto out;
	}
	iski = X509_get0_subject_key_id(l->issuer);
	if (iski == NULL) {
		if (oc__key_id(l->issuer, id) != 0 ||
		    ASN1_STRING_length(akid->keyid) != 20 ||
		    memcmp(ASN1_STRING_get0_data(akid->keyid), id, 20) != 0)
			rc = fail(l, "aki", "颁发机构密钥标识与签发者不符",
			    "authorityKeyIdentifier does not match the issuer");
	} else if (ASN1_OCTET_STRING_cmp(akid->keyid, iski) != 0) {
		rc = fail(l, "aki", "颁发机构密钥标识与签发者的主体密钥标识不符",
		    "authorityKeyIdentifier does not match the issuer's "
		    "subjectKeyIdentifier");
	}
out:
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static bool
uri_ok(const GENERAL_NAME *gn)
{
	const ASN1_IA5STRING *u;
	const char *s;
	int n;

	if (gn->type != GEN_URI)
		return false;
	u = gn->d.uniformResourceIdentifier;
	s = (const char *)ASN1_STRING_get0_data(u);
	n = ASN1_STRING_length(u);
	if (n < 8 || memchr(s, '\0', (size_t)n) != NULL)
		return false;
	for (int i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int
rule_san(struct lint *l)
{
	GENERAL_NAMES *gns;
	int crit = -1, rc = 0, n;

	gns = X509_get_ext_d2i(l->cert, NID_subject_alt_name, &crit, NULL);
	if (gns == NULL) {
		if (l->profile == OC_PROFILE_TLS_SERVER)
			return fail(l, "san", "TLS 服务器证书缺少主体备用名称",
			    "subjectAltName missing");
		return 0;
	}
	n = sk_GENERAL_NAME_num(gns);
	if (n == 0)
		rc = fail(l, "san", "主体备用名称为空", "subjectAltName is empty");
	for (int i = 0; rc == 0 && i < n; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);

		switch (l->profile) {
		case OC_PROFILE_TLS_SERVER:
			if (gn->type == GEN_IPADD) {
				int len = ASN1_STRING_length(gn->d.iPAddress);

				if (len != 4 && len != 16)
					rc = fail(l, "san", "IP 地址无效", "bad IP "
					    "address");
			} else if (gn->type == GEN_DNS) {
				char buf[256];
				int len = ASN1_STRING_length(gn->d.dNSName);

				if (len <= 0 || len >= (int)sizeof(buf)) {
					rc = fail(l, "san", "域名无效", "bad DNS "
					    "name");
					break;
				}
				memcpy(buf, ASN1_STRING_get0_data(gn->d.dNSName),
				    (size_t)len);
				buf[len] = '\0';
				if (strlen(buf) != (size_t)len ||
				    !oc__dns_name_ok(buf))
					rc = fail(l, "san", "域名无效", "bad DNS "
					    "name");
			} else {
				rc = fail(l, "san", "只允许域名和 IP 地址", "only DNS "
				    "names and IP addresses allowed");
			}
			break;
		case OC_PROFILE_ENTERPRISE:
		case OC_PROFILE_PERSONAL:
			if (gn->type != GEN_EMAIL || n != 1)
				rc = fail(l, "san", "只允许一个电子邮件地址", "only one "
				    "email address allowed");
			break;
		default:
			rc = fail(l, "san", "该类证书不带主体备用名称", "this profile "
			    "carries no subjectAltName");
		}
	}
	GENERAL_NAMES_free(gns);
	return rc;
}

static int
rule_cdp_aia(struct lint *l)
{
	CRL_DIST_POINTS *cdp;
	AUTHORITY_INFO_ACCESS *aia;
	int crit = -1, rc = 0;
	bool none = l->profile == OC_PROFILE_ROOT ||
	    l->profile == OC_PROFILE_OCSP;

	cdp = X509_get_ext_d2i(l->cert, NID_crl_distribution_points, &crit,
	    NULL);
	if (cdp != NULL) {
		if (none)
			rc = fail(l, "cdp-aia", "该类证书不带 CRL 分发点", "this profile "
			    "carries no CRL distribution point");
		for (int i = 0; rc == 0 && i < sk_DIST_POINT_num(cdp); i++) {
			DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

			if (dp->distpoint == NULL || dp->distpoint->type != 0 ||
			    dp->reasons != NULL || dp->CRLissuer != NULL)
				rc = fail(l, "cdp-aia", "CRL 分发点必须是 fullName",
				    "CRL distribution point must be a fullName");
			for (int j = 0; rc == 0 && j < sk_GENERAL_NAME_num(
			    dp->distpoint->name.fullname); j++)
				if (!uri_ok(sk_GENERAL_NAME_value(
				    dp->distpoint->name.fullname, j)))
					rc = fail(l, "cdp-aia", "CRL 分发点必须是 "
					    "http(s) URL", "CRL distribution point "
					    "must be an http(s) URL");
		}
		CRL_DIST_POINTS_free(cdp);
		if (rc != 0)
			return rc;
	}
	aia = X509_get_ext_d2i(l->cert, NID_info_access, &crit, NULL);
	if (aia != NULL) {
		if (none)
			rc = fail(l, "cdp-aia", "该类证书不带颁发机构信息访问",
			    "this profile carries no authorityInfoAccess");
		for (int i = 0; rc == 0 && i < sk_ACCESS_DESCRIPTION_num(aia);
		    i++) {
			ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
			int m = OBJ_obj2nid(ad->method);

			if ((m != NID_ad_OCSP && m != NID_ad_ca_issuers) ||
			    !uri_ok(ad->location))
				rc = fail(l, "cdp-aia", "颁发机构信息访问只允许 OCSP 和 "
				    "caIssuers 的 http(s) URL", "authorityInfoAccess "
				    "allows only OCSP and caIssuers http(s) URLs");
		}
		AUTHORITY_INFO_ACCESS_free(aia);
	}
	return rc;
}

static int
rule_policy(struct lint *l)
{
	CERTIFICATEPOLICIES *pols;
	ASN1_OBJECT *tmp = NULL;
	const ASN1_OBJECT *want;
	const char *oid;
	int crit = -1, rc = 0;
	bool found = false;

	switch (l->profile) {
	case OC_PROFILE_ISSUING:
		oid = OID_ANY_POLICY;
		break;
	case OC_PROFILE_ENTERPRISE:
		oid = OC_OID_POLICY_ENTERPRISE;
		break;
	case OC_PROFILE_PERSONAL:
		oid = OC_OID_POLICY_PERSONAL;
		break;
	case OC_PROFILE_OCSP:
	case OC_PROFILE_TLS_SERVER:
		oid = OC_OID_POLICY_SERVICE;
		break;
	default:
		return 0;
	}
	pols = X509_get_ext_d2i(l->cert, NID_certificate_policies, &crit, NULL);
	if (pols == NULL)
		return fail(l, "policy", "缺少证书策略", "certificatePolicies "
		    "missing");
	if ((want = oc__oid(oid, &tmp)) != NULL)
		for (int i = 0; i < sk_POLICYINFO_num(pols); i++)
			if (OBJ_cmp(sk_POLICYINFO_value(pols, i)->policyid,
			    want) == 0)
				found = true;
	if (!found)
		rc = fail(l, "policy", "证书策略不是该类证书的策略", "certificate "
		    "policy is not this profile's");
	ASN1_OBJECT_free(tmp);
	CERTIFICATEPOLICIES_free(pols);
	return rc;
}

/* The extnValue must be exactly one DER PrintableString (tag 0x13). */
static bool
printable_ext(X509_EXTENSION *e, char *out, size_t cap)
{
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	const unsigned char *d = ASN1_STRING_get0_data(v), *p = d;
	ASN1_STRING *ps;
	int len = ASN1_STRING_length(v);
	bool ok;

	if (len < 2 || d[0] != V_ASN1_PRINTABLESTRING)
		return false;
	ps = d2i_ASN1_PRINTABLESTRING(NULL, &p, len);
	ok = ps != NULL && p == d + len &&
	    (size_t)ASN1_STRING_length(ps) < cap;
	if (ok) {
		memcpy(out, ASN1_STRING_get0_data(ps),
		    (size_t)ASN1_STRING_length(ps));
		out[ASN1_STRING_length(ps)] = '\0';
		ok = oc__printable_ok(out, OC__UB_IDENT);
	}
	ASN1_STRING_free(ps);
	ERR_clear_error();
	return ok;
}

static int
rule_gmt(struct lint *l)
{
	static const char *const oids[5] = { OC_OID_GMT_IDENTITY_CODE,
	    OC_OID_GMT_INSURANCE_NO, OC_OID_GMT_IC_REG_NO, OC_OID_GMT_ORG_CODE,
	    OC_OID_GMT_TAX_NO };
	X509_EXTENSION *e[5];
	char buf[OC__UB_IDENT + 1];
	const unsigned char *d;

	for (int i = 0; i < 5; i++)
		e[i] = ext_by_oid(l->cert, oids[i]);
	if (!is_holder(l->profile)) {
		for (int i = 0; i < 5; i++)
			if (e[i] != NULL)
				return fail(l, "gmt", "该类证书不带 GM/T 0015 身份扩展",
				    "this profile carries no GM/T 0015 identity "
				    "extension");
		return 0;
	}
	if (l->profile == OC_PROFILE_PERSONAL) {
		if (e[1] || e[2] || e[3] || e[4])
			return fail(l, "gmt", "个人证书只带身份证号扩展", "a personal "
			    "certificate carries only the IdentityCode");
		if (e[0] == NULL)
			return fail(l, "gmt", "缺少身份证号扩展 (1.2.156.10260.4.1.1)",
			    "IdentityCode (1.2.156.10260.4.1.1) missing");
		d = ASN1_STRING_get0_data(X509_EXTENSION_get_data(e[0]));
		if (ASN1_STRING_length(X509_EXTENSION_get_data(e[0])) < 2 ||
		    (d[0] != 0xa0 && d[0] != 0x80) ||
		    oc_cert_ext_string(l->cert, OC_OID_GMT_IDENTITY_CODE, buf,
		    sizeof(buf), NULL) != 0 || !oc__resident_id_ok(buf))
			return fail(l, "gmt", "身份证号扩展必须是 [0] PrintableString "
			    "形式的有效18位身份证号码", "IdentityCode must be a [0] "
			    "PrintableString holding a valid 18-character resident "
			    "ID number");
		if (d[0] == 0xa0 && d[2] != V_ASN1_PRINTABLESTRING)
			return fail(l, "gmt", "身份证号必须是 PrintableString",
			    "IdentityCode must be a PrintableString");
		return 0;
	}
	/* enterprise */
	if (e[0] != NULL)
		return fail(l, "gmt", "法人证书不带身份证号扩展", "an enterprise "
		    "certificate carries no IdentityCode");
	if (e[3] == NULL)
		return fail(l, "gmt", "缺少机构代码扩展 (1.2.156.10260.4.1.4)",
		    "OrganizationCode (1.2.156.10260.4.1.4) missing");
	if (!printable_ext(e[3], buf, sizeof(buf)))
		return fail(l, "gmt", "机构代码扩展必须是 PrintableString",
		    "OrganizationCode must be a DER PrintableString");
	if (!(strlen(buf) == 18 ? oc_uscc_valid(buf) :
	    strlen(buf) == 9 && oc_orgcode_valid(buf)))
		return fail(l, "gmt", "机构代码的校验位错误（应为18位统一社会信用代码"
		    "或9位组织机构代码）", "OrganizationCode fails its check digit "
		    "(must be an 18-character USCC or a 9-character "
		    "organization code)");
	for (int i = 1; i <= 4; i++)
		if (i != 3 && e[i] != NULL && !printable_ext(e[i], buf,
		    sizeof(buf)))
			return fail(l, "gmt", "GM/T 0015 身份扩展必须是 "
			    "PrintableString", "GM/T 0015 identity extensions "
			    "must be DER PrintableStrings");
	return 0;
}

static int
rule_unique_id(struct lint *l)
{
	X509_EXTENSION *e = ext_by_oid(l->cert, OC_OID_UNIQUE_ID);
	char buf[OC__UB_IDENT + 1];

	if (e == NULL) {
		if (is_holder(l->profile))
			return fail(l, "unique-id", "缺少证书唯一标识", "certificate "
			    "unique ID missing");
		return 0;
	}
	if (!printable_ext(e, buf, sizeof(buf)))
		return fail(l, "unique-id", "证书唯一标识必须是1–64个字符的 "
		    "PrintableString", "unique ID must be a PrintableString of "
		    "1 to 64 characters");
	return 0;
}

static int
rule_nocheck(struct lint *l)
{
	int idx = X509_get_ext_by_NID(l->cert, NID_id_pkix_OCSP_noCheck, -1);
	const ASN1_OCTET_STRING *v;

	if (l->profile != OC_PROFILE_OCSP) {
		if (idx >= 0)
			return fail(l, "ocsp-nocheck", "只有 OCSP 证书带 "
			    "ocsp-nocheck", "only an OCSP responder carries "
			    "id-pkix-ocsp-nocheck");
		return 0;
	}
	if (idx < 0)
		return fail(l, "ocsp-nocheck", "缺少 id-pkix-ocsp-nocheck",
		    "id-pkix-ocsp-nocheck missing");
	v = X509_EXTENSION_get_data(X509_get_ext(l->cert, idx));
	if (ASN1_STRING_length(v) != 2 ||
	    memcmp(ASN1_STRING_get0_data(v), "\x05\x00", 2) != 0)
		return fail(l, "ocsp-nocheck", "id-pkix-ocsp-nocheck 的值必须是 "
		    "NULL", "id-pkix-ocsp-nocheck must hold NULL");
	return 0;
}

static int
rule_key(struct lint *l)
{
	struct oc_err kerr;
	EVP_PKEY *pub = X509_get0_pubkey(l->cert);

	oc_err_clear(&kerr);
	if (oc__key_check(pub, l->profile, l->ca_algo, !l->key_checked,
	    &kerr) != 0) {
		fail(l, "key", "公钥不符合要求", "public key not allowed");
		oc_err_detail(l->err, "%s", kerr.msg);
		return OC_EPROFILE;
	}
	return 0;
}

/*
 * The verification set-up for an issuer's key (oc__sigctx_new), made the
 * first time a certificate is linted against that issuer certificate and
 * kept with it (ex_data, freed with the certificate): the issuing CA's
 * certificate lives as long as its oc_ca handle and checks every
 * certificate the handle issues.
 */
struct vctx {
	EVP_PKEY *pub;         /* the key it was made for (a reference) */
	EVP_MD_CTX *base;
};

static int vctx_idx = -1;
static pthread_mutex_t vctx_mu = PTHREAD_MUTEX_INITIALIZER;

static void
vctx_release(struct vctx *v)
{
	if (v == NULL)
		return;
	EVP_MD_CTX_free(v->base);
	EVP_PKEY_free(v->pub);
	free(v);
}

static void
vctx_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	vctx_release(ptr);
}

/* A copy of a certificate (X509_dup copies ex_data pointers) starts
 * without: the set-up belongs to the one certificate that frees it. */
static int
vctx_dup(CRYPTO_EX_DATA *to, const CRYPTO_EX_DATA *from, void **from_d,
    int idx, long argl, void *argp)
{
	(void)to;
	(void)from;
	(void)idx;
	(void)argl;
	(void)argp;
	*from_d = NULL;
	return 1;
}

static void
vctx_init(void)
{
	vctx_idx = X509_get_ex_new_index(0, NULL, NULL, vctx_dup, vctx_free);
}

/* A copy of the set-up for pub, the key of issuer (made and kept with
 * issuer the first time, made again if issuer's key has changed since),
 * to verify one signature with; NULL when it cannot be had (then verify
 * the usual way).  Caller frees it. */
static EVP_MD_CTX *
issuer_vctx(X509 *issuer, EVP_PKEY *pub)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct vctx *v, *nv = NULL;
	EVP_MD_CTX *mctx = NULL;

	pthread_once(&once, vctx_init);
	if (vctx_idx < 0)
		return NULL;
	pthread_mutex_lock(&vctx_mu);
	if ((v = X509_get_ex_data(issuer, vctx_idx)) == NULL || v->pub != pub) {
		if ((nv = calloc(1, sizeof(*nv))) == NULL ||
		    !EVP_PKEY_up_ref(pub))
			goto out;
		nv->pub = pub;
		if ((nv->base = oc__sigctx_new(pub, false)) == NULL ||
		    !X509_set_ex_data(issuer, vctx_idx, nv))
			goto out;
		vctx_release(v);
		v = nv;
		nv = NULL;
	}
	mctx = oc__sigctx_copy(v->base);
out:
	pthread_mutex_unlock(&vctx_mu);
	vctx_release(nv);
	ERR_clear_error();
	return mctx;
}

/* The signature of der (l->der) under the issuer's key, as
 * oc__cert_verify_sig checks that of an X509: outer and TBS
 * AlgorithmIdentifier equal, ours and of the issuer key's algorithm. */
static int
verify_der(struct lint *l, struct oc_err *err)
{
	struct oc__signed_parts sp;
	X509_ALGOR *outer = NULL, *inner = NULL;
	EVP_MD_CTX *v = NULL;
	const unsigned char *p;
	enum oc_algo a;
	int rc;

	if ((rc = oc__der_split_signed(l->der, l->derlen, &sp, err)) != 0)
		return rc;
	p = sp.alg;
	outer = d2i_X509_ALGOR(NULL, &p, (long)sp.alglen);
	inner = oc__der_tbs_sigalg(sp.tbs, sp.tbslen);
	if (outer == NULL || inner == NULL || X509_ALGOR_cmp(outer, inner) != 0)
		rc = oc_err_set(err, OC_EINVAL, "证书的签名算法前后不一致 / "
		    "certificate: the signature algorithm inside and outside "
		    "differ");
	else if ((a = oc__sigalg_algo(outer)) == OC_ALGO_NONE ||
	    a != oc_algo_of_pkey(l->issuer_pub))
		rc = oc_err_set(err, OC_EINVAL, "证书的签名算法与签发者密钥不符 / "
		    "certificate: signature algorithm does not match the "
		    "issuer's key");
	else if ((v = issuer_vctx(l->issuer, l->issuer_pub)) != NULL)
		rc = oc__verify_tbs_with(v, sp.tbs, sp.tbslen, sp.sig,
		    sp.siglen, err);
	else
		rc = oc_verify_tbs(l->issuer_pub, sp.tbs, sp.tbslen, sp.sig,
		    sp.siglen, err);
	EVP_MD_CTX_free(v);
	X509_ALGOR_free(outer);
	X509_ALGOR_free(inner);
	ERR_clear_error();
	return rc;
}

static int
rule_signature(struct lint *l)
{
	struct oc_err serr;
	int rc;

	oc_err_clear(&serr);
	if (l->der != NULL)
		rc = verify_der(l, &serr);
	else
		rc = oc__cert_verify_sig(l->cert, l->issuer_pub, &serr);
	if (rc != 0) {
		fail(l, "signature", "签名无效", "signature does not verify");
		oc_err_detail(l->err, "%s %s", serr.msg, serr.detail);
		return OC_EPROFILE;
	}
	return 0;
}

int
oc_cert_lint(X509 *cert, enum oc_profile profile, X509 *issuer,
    struct oc_err *err)
{
	return oc__cert_lint(cert, profile, issuer, false, NULL, 0, err);
}

int
oc__cert_lint(X509 *cert, enum oc_profile profile, X509 *issuer,
    bool key_checked, const unsigned char *der, size_t derlen,
    struct oc_err *err)
{
	static int (*const rules[])(struct lint *) = {
		rule_version, rule_serial, rule_sigalg, rule_validity,
		rule_issuer, rule_subject, rule_extensions, rule_bc, rule_ku,
		rule_eku, rule_ski_aki, rule_san, rule_cdp_aia, rule_policy,
		rule_gmt, rule_unique_id, rule_nocheck, rule_key,
		rule_signature,
	};
	struct lint l;
	int rc;

	if (cert == NULL || strcmp(oc_profile_name(profile), "none") == 0)
		return oc_err_set(err, OC_EINVAL, "缺少证书或证书类型 / certificate "
		    "or profile missing");
	if ((profile == OC_PROFILE_ROOT) != (issuer == NULL))
		return oc_err_set(err, OC_EINVAL, "只有根证书是自签名的 / only a "
		    "root certificate is self-signed (issuer NULL)");
	memset(&l, 0, sizeof(l));
	l.cert = cert;
	l.issuer = issuer != NULL ? issuer : cert;
	l.issuer_pub = X509_get0_pubkey(l.issuer);
	l.ca_algo = oc_algo_of_pkey(l.issuer_pub);
	l.profile = profile;
	l.key_checked = key_checked;
	l.der = der;
	l.derlen = derlen;
	l.err = err;
	if (l.issuer_pub == NULL || l.ca_algo == OC_ALGO_NONE)
		return fail(&l, "key", "签发者公钥不支持", "the issuer's public key "
		    "is not supported");
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if ((rc = rules[i](&l)) != 0)
			return rc;
	return 0;
}

/*
 * ext.c — building and reading the extensions of our profiles, and the
 * checks on strings that go into certificates.
 *
 * Every extension is built from OpenSSL objects (BASIC_CONSTRAINTS,
 * AUTHORITY_KEYID, DIST_POINT, …) and added with X509_add1_ext_i2d, never
 * from config strings: config strings need escaping that breaks on Chinese
 * text and commas in URLs.  OIDs OpenSSL does not know (GM/T 0015, our
 * unique-ID arc) are made with OBJ_txt2obj(…, 1) and added with
 * X509_EXTENSION_create_by_OBJ; their extnValue is the DER of one
 * PrintableString, or for the personal IdentityCode (a CHOICE of tagged
 * alternatives) a [0] EXPLICIT PrintableString, the residenterCardNumber.
 *
 * Reading (oc_cert_ext_string) is lenient where real certificates differ:
 * PrintableString, UTF8String, IA5String, BMPString, an OCTET STRING of
 * text or of one of those, and [n] EXPLICIT or [n] IMPLICIT tagging for
 * the IdentityCode CHOICE.  Whatever comes out is valid UTF-8 with no
 * control characters, so a hostile certificate cannot forge log lines or
 * break the page that shows it.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/pki.h"
#include "internal.h"

/* The dotted OIDs of our profiles, converted once: OBJ_txt2obj reads a
 * 2.25 arc through a BIGNUM, some microseconds a call, and building and
 * linting a certificate made a dozen and a half calls. */
static const char *const oid_text[] = {
	OC_OID_UNIQUE_ID, OC_OID_POLICY_ENTERPRISE, OC_OID_POLICY_PERSONAL,
	OC_OID_POLICY_SERVICE, OID_ANY_POLICY, OC_OID_GMT_IDENTITY_CODE,
	OC_OID_GMT_INSURANCE_NO, OC_OID_GMT_IC_REG_NO, OC_OID_GMT_ORG_CODE,
	OC_OID_GMT_TAX_NO,
};
static ASN1_OBJECT *oid_obj[sizeof(oid_text) / sizeof(oid_text[0])];

static void
oids_init(void)
{
	for (size_t i = 0; i < sizeof(oid_text) / sizeof(oid_text[0]); i++)
		oid_obj[i] = OBJ_txt2obj(oid_text[i], 1);
}

/* internal.h */
const ASN1_OBJECT *
oc__oid(const char *oid, ASN1_OBJECT **tmp)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	*tmp = NULL;
	pthread_once(&once, oids_init);
	for (size_t i = 0; i < sizeof(oid_text) / sizeof(oid_text[0]); i++)
		if (oid_obj[i] != NULL && strcmp(oid, oid_text[i]) == 0)
			return oid_obj[i];
	return *tmp = OBJ_txt2obj(oid, 1);
}

/* ---- string checks ---- */

bool
oc__printable_ok(const char *s, size_t maxlen)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > maxlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL)
			continue;
		return false;
	}
	return true;
}

/* Number of characters in n bytes of clean UTF-8 (no control characters,
 * no surrogates, no line/paragraph separators or BOM), or -1. */
static long
utf8_scan(const unsigned char *p, size_t n)
{
	unsigned long v;
	long chars = 0;
	int k;

	if (n > 0x7fffffff)
		return -1;
	while (n > 0) {
		k = UTF8_getc(p, (int)n, &v);
		if (k <= 0)
			return -1;
		if (v < 0x20 || (v >= 0x7f && v < 0xa0) ||
		    (v >= 0xd800 && v < 0xe000) || v > 0x10ffff ||
		    v == 0x2028 || v == 0x2029 || v == 0xfeff)
			return -1;
		p += k;
		n -= (size_t)k;
		chars++;
	}
	return chars;
}

bool
oc__utf8_ok(const char *s, size_t maxchars)
{
	size_t n;
	long chars;

	if (s == NULL || (n = strlen(s)) == 0)
		return false;
	if (s[0] == ' ' || s[n - 1] == ' ')
		return false;
	chars = utf8_scan((const unsigned char *)s, n);
	return chars > 0 && (size_t)chars <= maxchars;
}

bool
oc__dns_name_ok(const char *s)
{
	size_t n, label = 0, i = 0;

	if (s == NULL || (n = strlen(s)) == 0 || n > 253)
		return false;
	if (n > 2 && s[0] == '*' && s[1] == '.')
		i = 2;
	for (; i <= n; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

bool
oc__resident_id_ok(const char *s)
{
	static const int w[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5,
	    8, 4, 2 };
	static const char check[] = "10X98765432";
	int sum = 0;

	if (s == NULL || strlen(s) != 18)
		return false;
	for (int i = 0; i < 17; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		sum += (s[i] - '0') * w[i];
	}
	return s[17] == check[sum % 11];
}

/* http(s) URL of printable ASCII without spaces. */
static bool
url_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) < 8 || n > 1024)
		return false;
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* ---- builders ---- */

static GENERAL_NAME *
gn_ia5(int type, const char *s)
{
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *ia5 = NULL;

	if ((gn = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, s, -1)) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(ia5);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, type, ia5);
	return gn;
}

int
oc__ext_add_basic_constraints(X509 *x, bool ca, int pathlen)
{
	BASIC_CONSTRAINTS *bc;
	int rc = OC_ECRYPTO;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return OC_ENOMEM;
	bc->ca = ca ? 0xff : 0;
	if (ca && pathlen >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, pathlen))
			goto out;
	}
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

int
oc__ext_add_key_usage(X509 *x, int bits)
{
	/* KU_* masks of x509v3.h → bit positions of RFC 5280's KeyUsage. */
	static const struct { int mask, bit; } map[] = {
		{ KU_DIGITAL_SIGNATURE, 0 }, { KU_NON_REPUDIATION, 1 },
		{ KU_KEY_ENCIPHERMENT, 2 }, { KU_DATA_ENCIPHERMENT, 3 },
		{ KU_KEY_AGREEMENT, 4 }, { KU_KEY_CERT_SIGN, 5 },
		{ KU_CRL_SIGN, 6 },
	};
	ASN1_BIT_STRING *ku;
	int rc = OC_ECRYPTO;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return OC_ENOMEM;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if ((bits & map[i].mask) &&
		    !ASN1_BIT_STRING_set_bit(ku, map[i].bit, 1))
			goto out;
	if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

int
oc__ext_add_eku(X509 *x, const int *nids, size_t n)
{
	EXTENDED_KEY_USAGE *eku;
	int rc = OC_ECRYPTO;

	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
		return OC_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(nids[i])))
			goto out;
	if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	/* OBJ_nid2obj objects are static; pop_free is still right. */
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

int
oc__key_id(X509 *x, unsigned char out[20])
{
	unsigned int len = 0;

	if (X509_pubkey_digest(x, EVP_sha1(), out, &len) != 1 || len != 20)
		return OC_ECRYPTO;
	return 0;
}

int
oc__ext_add_ski(X509 *x)
{
	ASN1_OCTET_STRING *ski;
	unsigned char id[20];
	int rc = OC_ECRYPTO;

	if ((ski = ASN1_OCTET_STRING_new()) == NULL)
		return OC_ENOMEM;
	if (oc__key_id(x, id) != 0 || !ASN1_OCTET_STRING_set(ski, id, 20))
		goto out;
	if (X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

int
oc__ext_add_aki(X509 *x, X509 *issuer)
{
	AUTHORITY_KEYID *akid;
	const ASN1_OCTET_STRING *iski;
	unsigned char id[20];
	int rc = OC_ECRYPTO;

	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		return OC_ENOMEM;
	if ((akid->keyid = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	iski = issuer != x ? X509_get0_subject_key_id(issuer) : NULL;
	if (iski != NULL) {
		if (!ASN1_OCTET_STRING_set(akid->keyid,
		    ASN1_STRING_get0_data(iski), ASN1_STRING_length(iski)))
			goto out;
	} else {
		if (oc__key_id(issuer, id) != 0 ||
		    !ASN1_OCTET_STRING_set(akid->keyid, id, 20))
			goto out;
	}
	if (X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	AUTHORITY_KEYID_free(akid);
	return rc;
}

int
oc__ext_add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = NULL;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	int rc = OC_ECRYPTO;

	if (!url_ok(url))
		return OC_EINVAL;
	if ((cdp = sk_DIST_POINT_new_null()) == NULL ||
	    (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = gn_ia5(GEN_URI, url)) == NULL)
		goto out;
	dp->distpoint->type = 0;   /* fullName */
	if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (!sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	if (X509_add1_ext_i2d(x, NID_crl_distribution_points, cdp, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	return rc;
}

static int
aia_push(AUTHORITY_INFO_ACCESS *aia, int method, const char *url)
{
	ACCESS_DESCRIPTION *ad;
	GENERAL_NAME *gn;

	if ((ad = ACCESS_DESCRIPTION_new()) == NULL)
		return OC_ENOMEM;
	if ((gn = gn_ia5(GEN_URI, url)) == NULL) {
		ACCESS_DESCRIPTION_free(ad);
		return OC_ENOMEM;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(method);
	GENERAL_NAME_free(ad->location);
	ad->location = gn;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
		ACCESS_DESCRIPTION_free(ad);
		return OC_ENOMEM;
	}
	return 0;
}

int
oc__ext_add_aia(X509 *x, const char *ocsp_url, const char *ca_issuers_url)
{
	AUTHORITY_INFO_ACCESS *aia;
	int rc = OC_EINVAL;

	if (ocsp_url == NULL && ca_issuers_url == NULL)
		return 0;
	if ((ocsp_url != NULL && !url_ok(ocsp_url)) ||
	    (ca_issuers_url != NULL && !url_ok(ca_issuers_url)))
		return OC_EINVAL;
	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL)
		return OC_ENOMEM;
	if (ocsp_url != NULL && (rc = aia_push(aia, NID_ad_OCSP, ocsp_url)) != 0)
		goto out;
	if (ca_issuers_url != NULL &&
	    (rc = aia_push(aia, NID_ad_ca_issuers, ca_issuers_url)) != 0)
		goto out;
	rc = OC_ECRYPTO;
	if (X509_add1_ext_i2d(x, NID_info_access, aia, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	sk_ACCESS_DESCRIPTION_pop_free(aia, ACCESS_DESCRIPTION_free);
	return rc;
}

int
oc__ext_add_policy(X509 *x, const char *oid)
{
	CERTIFICATEPOLICIES *pols = NULL;
	POLICYINFO *pi = NULL;
	ASN1_OBJECT *obj = NULL, *tmp;
	const ASN1_OBJECT *o;
	int rc = OC_ECRYPTO;

	if ((o = oc__oid(oid, &tmp)) == NULL) {
		rc = OC_EINVAL;
		goto out;
	}
	if ((obj = tmp != NULL ? tmp : OBJ_dup(o)) == NULL)
		goto out;
	if ((pols = sk_POLICYINFO_new_null()) == NULL ||
	    (pi = POLICYINFO_new()) == NULL)
		goto out;
	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = obj;
	obj = NULL;
	if (!sk_POLICYINFO_push(pols, pi))
		goto out;
	pi = NULL;
	if (X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	ASN1_OBJECT_free(obj);
	POLICYINFO_free(pi);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	return rc;
}

int
oc__ext_add_san(X509 *x, const char *const *san, size_t n, const char *email)
{
	GENERAL_NAMES *gns;
	GENERAL_NAME *gn = NULL;
	ASN1_OCTET_STRING *ip;
	int rc = OC_EINVAL;

	if (n == 0 && email == NULL)
		return 0;
	if ((gns = GENERAL_NAMES_new()) == NULL)
		return OC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (san[i] == NULL)
			goto out;
		if ((ip = a2i_IPADDRESS(san[i])) != NULL) {
			ERR_clear_error();
			if ((gn = GENERAL_NAME_new()) == NULL) {
				ASN1_OCTET_STRING_free(ip);
				rc = OC_ENOMEM;
				goto out;
			}
			GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		} else {
			ERR_clear_error();
			if (!oc__dns_name_ok(san[i]))
				goto out;
			if ((gn = gn_ia5(GEN_DNS, san[i])) == NULL) {
				rc = OC_ENOMEM;
				goto out;
			}
		}
		if (!sk_GENERAL_NAME_push(gns, gn)) {
			rc = OC_ENOMEM;
			goto out;
		}
		gn = NULL;
	}
	if (email != NULL) {
		const char *at = strchr(email, '@');

		if (at == NULL || at == email || strchr(at + 1, '@') != NULL ||
		    !oc__dns_name_ok(at + 1) || strlen(email) > 254)
			goto out;
		for (const char *p = email; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				goto out;
		if ((gn = gn_ia5(GEN_EMAIL, email)) == NULL ||
		    !sk_GENERAL_NAME_push(gns, gn)) {
			rc = OC_ENOMEM;
			goto out;
		}
		gn = NULL;
	}
	rc = OC_ECRYPTO;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gns, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gns);
	return rc;
}

int
oc__ext_add_ocsp_nocheck(X509 *x)
{
	ASN1_NULL *nul;
	int rc = OC_ECRYPTO;

	if ((nul = ASN1_NULL_new()) == NULL)
		return OC_ENOMEM;
	if (X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, nul, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
	ASN1_NULL_free(nul);
	return rc;
}

/* Add an extension with the given OID and raw extnValue bytes. */
static int
add_raw(X509 *x, const char *oid, const unsigned char *der, size_t len)
{
	ASN1_OBJECT *tmp = NULL;
	const ASN1_OBJECT *obj;
	ASN1_OCTET_STRING *oct = NULL;
	X509_EXTENSION *ext = NULL;
	int rc = OC_ECRYPTO;

	if ((obj = oc__oid(oid, &tmp)) == NULL) {
		rc = OC_EINVAL;
		goto out;
	}
	if (X509_get_ext_by_OBJ(x, obj, -1) >= 0) {
		rc = OC_EEXIST;
		goto out;
	}
	if ((oct = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(oct, der, (int)len) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, oct)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(oct);
	ASN1_OBJECT_free(tmp);
	return rc;
}

/* DER of a PrintableString; *der OPENSSL_malloc'd. */
static int
printable_der(const char *value, unsigned char **der, int *len)
{
	ASN1_STRING *ps;
	int rc = OC_ECRYPTO;

	*der = NULL;
	if ((ps = ASN1_STRING_type_new(V_ASN1_PRINTABLESTRING)) == NULL)
		return OC_ENOMEM;
	if (ASN1_STRING_set(ps, value, -1) &&
	    (*len = i2d_ASN1_PRINTABLESTRING(ps, der)) > 0)
		rc = 0;
	ASN1_STRING_free(ps);
	return rc;
}

int
oc__ext_add_printable(X509 *x, const char *oid, const char *value)
{
	unsigned char *der = NULL;
	int len = 0, rc;

	if (!oc__printable_ok(value, OC__UB_IDENT))
		return OC_EINVAL;
	if ((rc = printable_der(value, &der, &len)) == 0)
		rc = add_raw(x, oid, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

int
oc__ext_add_identity_code(X509 *x, const char *value)
{
	unsigned char *inner = NULL, *buf = NULL, *p;
	int ilen = 0, total, rc;

	if (!oc__printable_ok(value, OC__UB_IDENT))
		return OC_EINVAL;
	if ((rc = printable_der(value, &inner, &ilen)) != 0)
		goto out;
	rc = OC_ENOMEM;
	total = ASN1_object_size(1, ilen, 0);
	if (total <= 0 || (buf = OPENSSL_malloc((size_t)total)) == NULL)
		goto out;
	p = buf;
	/* residenterCardNumber [0] EXPLICIT PrintableString */
	ASN1_put_object(&p, 1, ilen, 0, V_ASN1_CONTEXT_SPECIFIC);
	memcpy(p, inner, (size_t)ilen);
	rc = add_raw(x, OC_OID_GMT_IDENTITY_CODE, buf, (size_t)total);
out:
	OPENSSL_free(buf);
	OPENSSL_free(inner);
	return rc;
}

/* ---- readers ---- */

/* Copy text of n bytes into out (cap bytes with the NUL), checking it is
 * clean UTF-8. */
/* Copy text of n bytes into out (cap bytes with the NUL), checking it is
 * clean UTF-8. */
static int
put_text(const unsigned char *s, size_t n, char *out, size_t cap,
    struct oc_err *err)
{
	if (n == 0)
		return oc_err_set(err, OC_EINVAL, "扩展值为空 / empty extension "
		    "value");
	if (utf8_scan(s, n) < 0)
		return oc_err_set(err, OC_EINVAL, "扩展值不是有效文本 / extension "
		    "value is not valid text");
	if (n + 1 > cap)
		return oc_err_set(err, OC_ETOOBIG, "扩展值太长 / extension value "
		    "too long (%zu bytes)", n);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static bool
is_string_tag(int tag)
{
	return tag == V_ASN1_PRINTABLESTRING || tag == V_ASN1_UTF8STRING ||
	    tag == V_ASN1_IA5STRING || tag == V_ASN1_BMPSTRING ||
	    tag == V_ASN1_VISIBLESTRING || tag == V_ASN1_T61STRING;
}

/* Decode one TLV (exactly filling len) as a string. */
static int
decode_string(const unsigned char *der, size_t len, int depth, char *out,
    size_t cap, struct oc_err *err)
{
	const unsigned char *p = der, *start = der;
	long clen;
	int tag, cls, r, rc;

	if (depth > 2 || len == 0 || len > 0x7fffffff)
		goto bad;
	r = ASN1_get_object(&p, &clen, &tag, &cls, (long)len);
	if (r & 0x80 || (r & 0x01) ||
	    (size_t)(p - start) + (size_t)clen != len) {
		ERR_clear_error();
		goto bad;
	}
	if (cls == V_ASN1_UNIVERSAL && !(r & V_ASN1_CONSTRUCTED) &&
	    is_string_tag(tag)) {
		const unsigned char *q = start;
		ASN1_TYPE *at = NULL;
		unsigned char *utf8 = NULL;
		int n;

		if (tag == V_ASN1_UTF8STRING || tag == V_ASN1_PRINTABLESTRING ||
		    tag == V_ASN1_IA5STRING || tag == V_ASN1_VISIBLESTRING)
			return put_text(p, (size_t)clen, out, cap, err);
		at = d2i_ASN1_TYPE(NULL, &q, (long)len);
		if (at == NULL || ASN1_TYPE_get(at) != tag ||
		    (n = ASN1_STRING_to_UTF8(&utf8, at->value.asn1_string)) < 0) {
			ASN1_TYPE_free(at);
			ERR_clear_error();
			goto bad;
		}
		rc = put_text(utf8, (size_t)n, out, cap, err);
		OPENSSL_free(utf8);
		ASN1_TYPE_free(at);
		return rc;
	}
	if (cls == V_ASN1_UNIVERSAL && tag == V_ASN1_OCTET_STRING &&
	    !(r & V_ASN1_CONSTRUCTED)) {
		/* Either text, or one nested string TLV. */
		if (clen >= 2 && (p[0] == V_ASN1_PRINTABLESTRING ||
		    p[0] == V_ASN1_UTF8STRING || p[0] == V_ASN1_IA5STRING) &&
		    decode_string(p, (size_t)clen, depth + 1, out, cap,
		    NULL) == 0)
			return 0;
		return put_text(p, (size_t)clen, out, cap, err);
	}
	if (cls == V_ASN1_CONTEXT_SPECIFIC && tag <= 2) {
		if (r & V_ASN1_CONSTRUCTED)        /* EXPLICIT */
			return decode_string(p, (size_t)clen, depth + 1, out,
			    cap, err);
		return put_text(p, (size_t)clen, out, cap, err);  /* IMPLICIT */
	}
bad:
	return oc_err_set(err, OC_EINVAL, "扩展值不是可识别的字符串 / extension "
	    "value is not a recognised string");
}

int
oc_cert_ext_string(X509 *cert, const char *oid, char *out, size_t cap,
    struct oc_err *err)
{
	ASN1_OBJECT *tmp = NULL;
	const ASN1_OBJECT *obj;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *val;
	int idx, rc;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (cert == NULL || oid == NULL || out == NULL || cap == 0)
		return oc_err_set(err, OC_EINVAL, "参数无效 / bad arguments");
	if ((obj = oc__oid(oid, &tmp)) == NULL) {
		rc = oc_err_set(err, OC_EINVAL, "OID 无效：%.64s / bad OID: %.64s",
		    oid, oid);
		goto out;
	}
	if ((idx = X509_get_ext_by_OBJ(cert, obj, -1)) < 0) {
		rc = oc_err_set(err, OC_ENOTFOUND, "证书没有扩展 %s / the "
		    "certificate has no extension %s", oid, oid);
		goto out;
	}
	if (X509_get_ext_by_OBJ(cert, obj, idx) >= 0) {
		rc = oc_err_set(err, OC_EINVAL, "证书中扩展 %s 重复 / extension "
		    "%s appears more than once", oid, oid);
		goto out;
	}
	ext = X509_get_ext(cert, idx);
	val = X509_EXTENSION_get_data(ext);
	rc = decode_string(ASN1_STRING_get0_data(val),
	    (size_t)ASN1_STRING_length(val), 0, out, cap, err);
	if (rc != 0 && rc != OC_ETOOBIG)
		oc_err_detail(err, "extension %s", oid);
out:
	if (rc != 0)
		out[0] = '\0';
	ASN1_OBJECT_free(tmp);
	return rc;
}

int
oc_cert_subject_string(X509 *cert, int nid, char *out, size_t cap)
{
	const X509_NAME *name;
	const X509_NAME_ENTRY *ne;
	unsigned char *utf8 = NULL;
	int idx, n, rc = OC_EINVAL;

	if (out == NULL || cap == 0)
		return OC_EINVAL;
	out[0] = '\0';
	if (cert == NULL || (name = X509_get_subject_name(cert)) == NULL)
		return OC_EINVAL;
	if ((idx = X509_NAME_get_index_by_NID(name, nid, -1)) < 0)
		return OC_ENOTFOUND;
	ne = X509_NAME_get_entry(name, idx);
	if ((n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(ne))) < 0) {
		ERR_clear_error();
		return OC_EINVAL;
	}
	if (utf8_scan(utf8, (size_t)n) < 0)
		goto out;
	if ((size_t)n + 1 > cap) {
		rc = OC_ETOOBIG;
		goto out;
	}
	memcpy(out, utf8, (size_t)n);
	out[n] = '\0';
	rc = 0;
out:
	OPENSSL_free(utf8);
	return rc;
}

/*
 * test_pki_lint.c — every oc_cert_lint rule refusing a certificate that
 * breaks it.  Each bad certificate starts as a good one issued by
 * oc_cert_issue, is changed with plain OpenSSL setters, and is re-signed
 * by the issuing CA (pki_helpers.h: resign), so the lint sees a validly
 * signed certificate with exactly one thing wrong, and must name the rule.
 */
#include "pki_helpers.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "onecert/error.h"

static struct hier H;        /* EC hierarchy, shared by the tests */
static X509 *ENT, *PER, *OCSP, *TLS;

static int
setup(void **state)
{
	(void)state;
	hier_make(&H, OC_ALGO_EC);
	ENT = issue_leaf(&H, OC_PROFILE_ENTERPRISE, NULL);
	PER = issue_leaf(&H, OC_PROFILE_PERSONAL, NULL);
	OCSP = issue_leaf(&H, OC_PROFILE_OCSP, NULL);
	TLS = issue_leaf(&H, OC_PROFILE_TLS_SERVER, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ENT);
	X509_free(PER);
	X509_free(OCSP);
	X509_free(TLS);
	hier_free(&H);
	return 0;
}

/* Lint bad (owned, freed here) as profile p under issuer; expect the
 * rule's name in the message. */
static void
expect_rule(X509 *bad, enum oc_profile p, X509 *issuer, const char *rule)
{
	struct oc_err err;
	char want[64];
	int rc;

	oc_err_clear(&err);
	snprintf(want, sizeof(want), "[%s]", rule);
	rc = oc_cert_lint(bad, p, issuer, &err);
	X509_free(bad);
	if (rc != OC_EPROFILE)
		fail_msg("lint %s: rc %d (%s), expected refusal by %s",
		    oc_profile_name(p), rc, err.msg, want);
	if (strstr(err.msg, want) == NULL)
		fail_msg("lint refused by the wrong rule: '%s', expected %s",
		    err.msg, want);
}

/* A fresh copy of good with the change fn applied, re-signed by the
 * issuing CA. */
static X509 *
changed(X509 *good, void (*fn)(X509 *))
{
	X509 *x = X509_dup(good), *out;

	assert_non_null(x);
	fn(x);
	out = resign(x, H.ca_s);
	X509_free(x);
	return out;
}

static void
del_ext(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
}

static void
del_ext_oid(X509 *x, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i = X509_get_ext_by_OBJ(x, o, -1);

	assert_true(i >= 0);
	X509_EXTENSION_free(X509_delete_ext(x, i));
	ASN1_OBJECT_free(o);
}

static void
set_crit(X509 *x, int nid, int crit)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	assert_true(X509_EXTENSION_set_critical(X509_get_ext(x, i), crit));
}

/* Replace (or add) a GM/T-style extension with raw extnValue bytes. */
static void
put_raw_ext(X509 *x, const char *oid, const unsigned char *der, int len)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;
	int i;

	if ((i = X509_get_ext_by_OBJ(x, o, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	ASN1_OCTET_STRING_set(v, der, len);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(o);
}

static void
put_printable_ext(X509 *x, const char *oid, const char *s, int type)
{
	ASN1_STRING *str = ASN1_STRING_type_new(type);
	ASN1_TYPE *t = ASN1_TYPE_new();
	unsigned char *der = NULL;
	int len;

	ASN1_STRING_set(str, s, -1);
	ASN1_TYPE_set(t, type, str);   /* t owns str */
	len = i2d_ASN1_TYPE(t, &der);
	assert_true(len > 0);
	put_raw_ext(x, oid, der, len);
	OPENSSL_free(der);
	ASN1_TYPE_free(t);
}

/* ---- the good ones pass ---- */

static void
test_good_certificates_pass(void **state)
{
	struct oc_err err;

	(void)state;
	oc_err_clear(&err);
	assert_int_equal(oc_cert_lint(H.root, OC_PROFILE_ROOT, NULL, &err), 0);
	assert_int_equal(oc_cert_lint(H.ca, OC_PROFILE_ISSUING, H.root, &err),
	    0);
	assert_int_equal(oc_cert_lint(ENT, OC_PROFILE_ENTERPRISE, H.ca, &err),
	    0);
	assert_int_equal(oc_cert_lint(PER, OC_PROFILE_PERSONAL, H.ca, &err), 0);
	assert_int_equal(oc_cert_lint(OCSP, OC_PROFILE_OCSP, H.ca, &err), 0);
	assert_int_equal(oc_cert_lint(TLS, OC_PROFILE_TLS_SERVER, H.ca, &err),
	    0);
	/* Re-signing alone changes nothing the lint cares about. */
	{
		X509 *x = X509_dup(ENT), *y = resign(x, H.ca_s);

		assert_int_equal(oc_cert_lint(y, OC_PROFILE_ENTERPRISE, H.ca,
		    &err), 0);
		X509_free(x);
		X509_free(y);
	}
	/* A certificate linted as another profile is refused. */
	assert_int_equal(oc_cert_lint(ENT, OC_PROFILE_PERSONAL, H.ca, &err),
	    OC_EPROFILE);
	assert_int_equal(oc_cert_lint(TLS, OC_PROFILE_ENTERPRISE, H.ca, &err),
	    OC_EPROFILE);
	/* A root needs issuer NULL, others an issuer. */
	assert_int_equal(oc_cert_lint(ENT, OC_PROFILE_ENTERPRISE, NULL, &err),
	    OC_EINVAL);
}

/* ---- one test per rule ---- */

static void ch_version(X509 *x) { X509_set_version(x, X509_VERSION_1); }

static void
test_version(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_version), OC_PROFILE_ENTERPRISE, H.ca,
	    "version");
}

static void
set_serial_bytes(X509 *x, const unsigned char *b, int n, int neg)
{
	BIGNUM *bn = BN_bin2bn(b, n, NULL);
	ASN1_INTEGER *ai;

	BN_set_negative(bn, neg);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	assert_true(X509_set_serialNumber(x, ai));
	ASN1_INTEGER_free(ai);
	BN_free(bn);
}

static void
ch_serial_neg(X509 *x)
{
	unsigned char b[16];

	RAND_bytes(b, sizeof(b));
	b[0] |= 0x40;
	set_serial_bytes(x, b, 16, 1);
}

static void
ch_serial_short(X509 *x)
{
	static const unsigned char b[] = { 0x12, 0x34, 0x56 };

	set_serial_bytes(x, b, sizeof(b), 0);
}

static void
ch_serial_long(X509 *x)
{
	unsigned char b[21];

	memset(b, 0x5a, sizeof(b));
	set_serial_bytes(x, b, sizeof(b), 0);
}

static void
ch_serial_zero(X509 *x)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();

	ASN1_INTEGER_set(ai, 0);
	X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
}

static void
test_serial(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_serial_neg), OC_PROFILE_ENTERPRISE, H.ca,
	    "serial");
	expect_rule(changed(ENT, ch_serial_short), OC_PROFILE_ENTERPRISE, H.ca,
	    "serial");
	expect_rule(changed(ENT, ch_serial_long), OC_PROFILE_ENTERPRISE, H.ca,
	    "serial");
	expect_rule(changed(ENT, ch_serial_zero), OC_PROFILE_ENTERPRISE, H.ca,
	    "serial");
}

static void
test_sigalg(void **state)
{
	X509_ALGOR *sha384 = X509_ALGOR_new();
	X509_ALGOR *rsa = oc_algo_sigalg_new(OC_ALGO_RSA);
	X509 *x;

	(void)state;
	/* Outer AlgorithmIdentifier differs from the TBS one. */
	X509_ALGOR_set0(sha384, OBJ_nid2obj(NID_ecdsa_with_SHA384),
	    V_ASN1_UNDEF, NULL);
	x = X509_dup(ENT);
	expect_rule(resign_alg(x, H.ca_s, sha384), OC_PROFILE_ENTERPRISE, H.ca,
	    "sigalg");
	X509_free(x);
	/* Both say RSA, the issuer key is EC. */
	x = X509_dup(ENT);
	{
		X509 *y = resign(x, H.ca_s);
		unsigned char *tbs = NULL, *der = NULL, *sig = NULL;
		size_t siglen, derlen;
		const unsigned char *p;
		int n;

		X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(y), rsa);
		n = i2d_re_X509_tbs(y, &tbs);
		assert_int_equal(oc_signer_sign(H.ca_s, tbs, (size_t)n, &sig,
		    &siglen, NULL), 0);
		assert_int_equal(oc_der_signed(tbs, (size_t)n, rsa, sig, siglen,
		    &der, &derlen), 0);
		p = der;
		expect_rule(d2i_X509(NULL, &p, (long)derlen),
		    OC_PROFILE_ENTERPRISE, H.ca, "sigalg");
		OPENSSL_free(tbs);
		OPENSSL_free(der);
		OPENSSL_free(sig);
		X509_free(y);
	}
	X509_free(x);
	X509_ALGOR_free(sha384);
	X509_ALGOR_free(rsa);
}

static void
ch_validity_long(X509 *x)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, H.now + 20 * 365 * T_DAY);

	X509_set1_notAfter(x, t);
	ASN1_TIME_free(t);
}

static void
ch_validity_inverted(X509 *x)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, H.now - 2 * T_DAY);

	X509_set1_notAfter(x, t);
	ASN1_TIME_free(t);
}

static void
ch_validity_gentime(X509 *x)
{
	/* 2030 as GeneralizedTime: RFC 5280 wants UTCTime before 2050. */
	ASN1_TIME *t = ASN1_TIME_new();

	ASN1_GENERALIZEDTIME_set_string(t, "20300101000000Z");
	X509_set1_notAfter(x, t);
	ASN1_TIME_free(t);
}

static void
test_validity(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_validity_long), OC_PROFILE_ENTERPRISE, H.ca,
	    "validity");
	expect_rule(changed(ENT, ch_validity_inverted), OC_PROFILE_ENTERPRISE,
	    H.ca, "validity");
	expect_rule(changed(ENT, ch_validity_gentime), OC_PROFILE_ENTERPRISE,
	    H.ca, "validity");
}

static void
ch_issuer(X509 *x)
{
	X509_set_issuer_name(x, X509_get_subject_name(H.root));
}

static void
test_issuer_name(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_issuer), OC_PROFILE_ENTERPRISE, H.ca,
	    "issuer-name");
}

static void
test_issuer_ca(void **state)
{
	struct oc_err err;
	EVP_PKEY *k = NULL;
	X509 *ent2 = issue_leaf(&H, OC_PROFILE_ENTERPRISE, &k), *x, *bad;
	struct oc_signer *s = oc_signer_from_pkey(k, &err);

	(void)state;
	/* A certificate "issued" by an enterprise certificate. */
	x = X509_dup(ENT);
	X509_set_issuer_name(x, X509_get_subject_name(ent2));
	bad = resign(x, s);
	expect_rule(bad, OC_PROFILE_ENTERPRISE, ent2, "issuer-ca");
	X509_free(x);
	/* A CA certificate under the issuing CA (pathLenConstraint 0). */
	x = X509_dup(H.ca);
	X509_set_issuer_name(x, X509_get_subject_name(H.ca));
	{
		AUTHORITY_KEYID *a = AUTHORITY_KEYID_new();

		a->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(H.ca));
		X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x,
		    NID_authority_key_identifier, -1)));
		X509_add1_ext_i2d(x, NID_authority_key_identifier, a, 0,
		    X509V3_ADD_DEFAULT);
		AUTHORITY_KEYID_free(a);
	}
	expect_rule(resign(x, H.ca_s), OC_PROFILE_ISSUING, H.ca, "issuer-ca");
	X509_free(x);
	oc_signer_free(s);
	EVP_PKEY_free(k);
	X509_free(ent2);
}

static X509_NAME *
name_of(const char *c, const char *o, const char *cn, int cn_type)
{
	X509_NAME *n = X509_NAME_new();

	if (c != NULL)
		X509_NAME_add_entry_by_NID(n, NID_countryName,
		    V_ASN1_PRINTABLESTRING, (const unsigned char *)c, -1, -1, 0);
	X509_NAME_add_entry_by_NID(n, NID_stateOrProvinceName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"上海市", -1, -1, 0);
	X509_NAME_add_entry_by_NID(n, NID_localityName, V_ASN1_UTF8STRING,
	    (const unsigned char *)"上海市", -1, -1, 0);
	if (o != NULL)
		X509_NAME_add_entry_by_NID(n, NID_organizationName,
		    V_ASN1_UTF8STRING, (const unsigned char *)o, -1, -1, 0);
	if (cn != NULL)
		X509_NAME_add_entry_by_NID(n, NID_commonName, cn_type,
		    (const unsigned char *)cn, -1, -1, 0);
	return n;
}

static void
ch_subject_o_ne_cn(X509 *x)
{
	X509_NAME *n = name_of("CN", "另一家公司", T_COMPANY, V_ASN1_UTF8STRING);

	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}

static void
ch_subject_no_c(X509 *x)
{
	X509_NAME *n = name_of(NULL, T_COMPANY, T_COMPANY, V_ASN1_UTF8STRING);

	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}

static void
ch_subject_c_us(X509 *x)
{
	X509_NAME *n = name_of("US", T_COMPANY, T_COMPANY, V_ASN1_UTF8STRING);

	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}

static void
ch_subject_printable_cn(X509 *x)
{
	X509_NAME *n = name_of("CN", "ACME", "ACME", V_ASN1_PRINTABLESTRING);

	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}

static void
ch_subject_no_cn(X509 *x)
{
	X509_NAME *n = name_of("CN", T_COMPANY, NULL, 0);

	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}

static void
test_subject(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_subject_o_ne_cn), OC_PROFILE_ENTERPRISE,
	    H.ca, "subject");
	expect_rule(changed(ENT, ch_subject_no_c), OC_PROFILE_ENTERPRISE, H.ca,
	    "subject");
	expect_rule(changed(ENT, ch_subject_c_us), OC_PROFILE_ENTERPRISE, H.ca,
	    "subject");
	expect_rule(changed(ENT, ch_subject_printable_cn), OC_PROFILE_ENTERPRISE,
	    H.ca, "subject");
	expect_rule(changed(ENT, ch_subject_no_cn), OC_PROFILE_ENTERPRISE, H.ca,
	    "subject");
}

static void
ch_dup_ext(X509 *x)
{
	X509_EXTENSION *e = X509_EXTENSION_dup(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_subject_key_identifier, -1)));

	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static void
test_ext_dup(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_dup_ext), OC_PROFILE_ENTERPRISE, H.ca,
	    "ext-dup");
}

static void ch_eku_crit(X509 *x) { set_crit(x, NID_ext_key_usage, 1); }
static void ch_aia_crit(X509 *x) { set_crit(x, NID_info_access, 1); }

static void
test_ext_critical(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_eku_crit), OC_PROFILE_ENTERPRISE, H.ca,
	    "ext-critical");
	expect_rule(changed(ENT, ch_aia_crit), OC_PROFILE_ENTERPRISE, H.ca,
	    "ext-critical");
}

static void ch_bc_gone(X509 *x) { del_ext(x, NID_basic_constraints); }
static void ch_bc_noncrit(X509 *x) { set_crit(x, NID_basic_constraints, 0); }

static void
ch_bc_ca_true(X509 *x)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

	bc->ca = 0xff;
	del_ext(x, NID_basic_constraints);
	X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT);
	BASIC_CONSTRAINTS_free(bc);
}

static void
ch_bc_no_pathlen(X509 *x)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

	bc->ca = 0xff;
	del_ext(x, NID_basic_constraints);
	X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT);
	BASIC_CONSTRAINTS_free(bc);
}

static void
test_bc(void **state)
{
	X509 *ca_copy, *bad;

	(void)state;
	expect_rule(changed(ENT, ch_bc_gone), OC_PROFILE_ENTERPRISE, H.ca, "bc");
	expect_rule(changed(ENT, ch_bc_noncrit), OC_PROFILE_ENTERPRISE, H.ca,
	    "bc");
	expect_rule(changed(ENT, ch_bc_ca_true), OC_PROFILE_ENTERPRISE, H.ca,
	    "bc");
	/* An issuing CA without pathLenConstraint 0 (signed by the root). */
	ca_copy = X509_dup(H.ca);
	ch_bc_no_pathlen(ca_copy);
	bad = resign(ca_copy, H.root_s);
	expect_rule(bad, OC_PROFILE_ISSUING, H.root, "bc");
	X509_free(ca_copy);
}

static void ch_ku_gone(X509 *x) { del_ext(x, NID_key_usage); }
static void ch_ku_noncrit(X509 *x) { set_crit(x, NID_key_usage, 0); }

static void
ch_ku_extra(X509 *x)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();

	ASN1_BIT_STRING_set_bit(ku, 0, 1);
	ASN1_BIT_STRING_set_bit(ku, 1, 1);
	ASN1_BIT_STRING_set_bit(ku, 2, 1);   /* keyEncipherment */
	del_ext(x, NID_key_usage);
	X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT);
	ASN1_BIT_STRING_free(ku);
}

static void
test_ku(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_ku_gone), OC_PROFILE_ENTERPRISE, H.ca, "ku");
	expect_rule(changed(ENT, ch_ku_noncrit), OC_PROFILE_ENTERPRISE, H.ca,
	    "ku-critical");
	expect_rule(changed(ENT, ch_ku_extra), OC_PROFILE_ENTERPRISE, H.ca, "ku");
}

static void
ch_eku_server(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();

	sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth));
	del_ext(x, NID_ext_key_usage);
	X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT);
	sk_ASN1_OBJECT_free(eku);
}

static void ch_eku_gone(X509 *x) { del_ext(x, NID_ext_key_usage); }

static void
test_eku(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_eku_server), OC_PROFILE_ENTERPRISE, H.ca,
	    "eku");
	expect_rule(changed(ENT, ch_eku_gone), OC_PROFILE_ENTERPRISE, H.ca,
	    "eku");
	/* An OCSP responder with serverAuth instead of OCSPSigning. */
	expect_rule(changed(OCSP, ch_eku_server), OC_PROFILE_OCSP, H.ca, "eku");
}

static void
ch_ski_wrong(X509 *x)
{
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
	unsigned char b[20];

	RAND_bytes(b, sizeof(b));
	ASN1_OCTET_STRING_set(s, b, sizeof(b));
	del_ext(x, NID_subject_key_identifier);
	X509_add1_ext_i2d(x, NID_subject_key_identifier, s, 0,
	    X509V3_ADD_DEFAULT);
	ASN1_OCTET_STRING_free(s);
}

static void ch_ski_gone(X509 *x) { del_ext(x, NID_subject_key_identifier); }

static void
ch_aki_wrong(X509 *x)
{
	AUTHORITY_KEYID *a = AUTHORITY_KEYID_new();
	unsigned char b[20];

	RAND_bytes(b, sizeof(b));
	a->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(a->keyid, b, sizeof(b));
	del_ext(x, NID_authority_key_identifier);
	X509_add1_ext_i2d(x, NID_authority_key_identifier, a, 0,
	    X509V3_ADD_DEFAULT);
	AUTHORITY_KEYID_free(a);
}

static void ch_aki_gone(X509 *x) { del_ext(x, NID_authority_key_identifier); }

static void
test_ski_aki(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_ski_wrong), OC_PROFILE_ENTERPRISE, H.ca,
	    "ski");
	expect_rule(changed(ENT, ch_ski_gone), OC_PROFILE_ENTERPRISE, H.ca,
	    "ski");
	expect_rule(changed(ENT, ch_aki_wrong), OC_PROFILE_ENTERPRISE, H.ca,
	    "aki");
	expect_rule(changed(ENT, ch_aki_gone), OC_PROFILE_ENTERPRISE, H.ca,
	    "aki");
}

static void
ch_san_dns(X509 *x)
{
	GENERAL_NAMES *g = GENERAL_NAMES_new();
	GENERAL_NAME *n = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, "www.example.com", -1);
	GENERAL_NAME_set0_value(n, GEN_DNS, s);
	sk_GENERAL_NAME_push(g, n);
	X509_add1_ext_i2d(x, NID_subject_alt_name, g, 0, X509V3_ADD_DEFAULT);
	GENERAL_NAMES_free(g);
}

static void ch_san_gone(X509 *x) { del_ext(x, NID_subject_alt_name); }

static void
test_san(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_san_dns), OC_PROFILE_ENTERPRISE, H.ca,
	    "san");
	expect_rule(changed(TLS, ch_san_gone), OC_PROFILE_TLS_SERVER, H.ca,
	    "san");
}

static void
add_cdp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *n = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, url, -1);
	GENERAL_NAME_set0_value(n, GEN_URI, s);
	dp->distpoint = DIST_POINT_NAME_new();
	dp->distpoint->type = 0;
	dp->distpoint->name.fullname = GENERAL_NAMES_new();
	sk_GENERAL_NAME_push(dp->distpoint->name.fullname, n);
	sk_DIST_POINT_push(cdp, dp);
	X509_add1_ext_i2d(x, NID_crl_distribution_points, cdp, 0,
	    X509V3_ADD_DEFAULT);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
}

static void
ch_cdp_ldap(X509 *x)
{
	del_ext(x, NID_crl_distribution_points);
	add_cdp(x, "ldap://ldap.example.com/cn=crl");
}

static void
ch_cdp_add(X509 *x)
{
	add_cdp(x, T_CRL_URL);
}

static void
test_cdp_aia(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_cdp_ldap), OC_PROFILE_ENTERPRISE, H.ca,
	    "cdp-aia");
	/* An OCSP responder carries no CDP. */
	expect_rule(changed(OCSP, ch_cdp_add), OC_PROFILE_OCSP, H.ca,
	    "cdp-aia");
}

static void
ch_policy_personal(X509 *x)
{
	CERTIFICATEPOLICIES *p = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();

	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = OBJ_txt2obj(OC_OID_POLICY_PERSONAL, 1);
	sk_POLICYINFO_push(p, pi);
	del_ext(x, NID_certificate_policies);
	X509_add1_ext_i2d(x, NID_certificate_policies, p, 0, X509V3_ADD_DEFAULT);
	sk_POLICYINFO_pop_free(p, POLICYINFO_free);
}

static void
test_policy(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_policy_personal), OC_PROFILE_ENTERPRISE,
	    H.ca, "policy");
}

static void
ch_org_bad_check(X509 *x)
{
	put_printable_ext(x, OC_OID_GMT_ORG_CODE, "91310115MA1FL8XY7M",
	    V_ASN1_PRINTABLESTRING);
}

static void
ch_org_utf8(X509 *x)
{
	put_printable_ext(x, OC_OID_GMT_ORG_CODE, T_USCC, V_ASN1_UTF8STRING);
}

static void ch_org_gone(X509 *x) { del_ext_oid(x, OC_OID_GMT_ORG_CODE); }

static void
ch_org_old_bad(X509 *x)
{
	put_printable_ext(x, OC_OID_GMT_ORG_CODE, "MA1FL8XY8",
	    V_ASN1_PRINTABLESTRING);
}

static void
ch_id_bad(X509 *x)
{
	/* [0] EXPLICIT PrintableString with a wrong check character. */
	static const unsigned char der[] = { 0xa0, 0x14, 0x13, 0x12, '1', '1',
	    '0', '1', '0', '5', '1', '9', '4', '9', '1', '2', '3', '1', '0',
	    '0', '2', '1' };

	put_raw_ext(x, OC_OID_GMT_IDENTITY_CODE, der, sizeof(der));
}

static void
ch_id_implicit(X509 *x)
{
	/* [0] IMPLICIT: accepted when reading. */
	static const unsigned char der[] = { 0x80, 0x12, '1', '1', '0', '1',
	    '0', '5', '1', '9', '4', '9', '1', '2', '3', '1', '0', '0', '2',
	    'X' };

	put_raw_ext(x, OC_OID_GMT_IDENTITY_CODE, der, sizeof(der));
}

static void
ch_org_on_personal(X509 *x)
{
	put_printable_ext(x, OC_OID_GMT_ORG_CODE, T_USCC,
	    V_ASN1_PRINTABLESTRING);
}

static void
test_gmt(void **state)
{
	struct oc_err err;
	X509 *x;

	(void)state;
	expect_rule(changed(ENT, ch_org_bad_check), OC_PROFILE_ENTERPRISE, H.ca,
	    "gmt");
	expect_rule(changed(ENT, ch_org_old_bad), OC_PROFILE_ENTERPRISE, H.ca,
	    "gmt");
	expect_rule(changed(ENT, ch_org_utf8), OC_PROFILE_ENTERPRISE, H.ca,
	    "gmt");
	expect_rule(changed(ENT, ch_org_gone), OC_PROFILE_ENTERPRISE, H.ca,
	    "gmt");
	expect_rule(changed(PER, ch_id_bad), OC_PROFILE_PERSONAL, H.ca, "gmt");
	expect_rule(changed(PER, ch_org_on_personal), OC_PROFILE_PERSONAL, H.ca,
	    "gmt");
	expect_rule(changed(TLS, ch_org_on_personal), OC_PROFILE_TLS_SERVER,
	    H.ca, "gmt");
	/* IMPLICIT tagging of the IdentityCode is accepted. */
	x = changed(PER, ch_id_implicit);
	oc_err_clear(&err);
	assert_int_equal(oc_cert_lint(x, OC_PROFILE_PERSONAL, H.ca, &err), 0);
	X509_free(x);
}

static void ch_uid_gone(X509 *x) { del_ext_oid(x, OC_OID_UNIQUE_ID); }

static void
ch_uid_utf8(X509 *x)
{
	put_printable_ext(x, OC_OID_UNIQUE_ID, "OC20250101ABCDEFGHJK",
	    V_ASN1_UTF8STRING);
}

static void
test_unique_id(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_uid_gone), OC_PROFILE_ENTERPRISE, H.ca,
	    "unique-id");
	expect_rule(changed(PER, ch_uid_gone), OC_PROFILE_PERSONAL, H.ca,
	    "unique-id");
	expect_rule(changed(ENT, ch_uid_utf8), OC_PROFILE_ENTERPRISE, H.ca,
	    "unique-id");
}

static void
ch_nocheck_add(X509 *x)
{
	ASN1_NULL *n = ASN1_NULL_new();

	X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, n, 0, X509V3_ADD_DEFAULT);
	ASN1_NULL_free(n);
}

static void ch_nocheck_gone(X509 *x) { del_ext(x, NID_id_pkix_OCSP_noCheck); }

static void
test_ocsp_nocheck(void **state)
{
	(void)state;
	expect_rule(changed(ENT, ch_nocheck_add), OC_PROFILE_ENTERPRISE, H.ca,
	    "ocsp-nocheck");
	expect_rule(changed(OCSP, ch_nocheck_gone), OC_PROFILE_OCSP, H.ca,
	    "ocsp-nocheck");
}

static EVP_PKEY *key_p384;

static void ch_key_p384(X509 *x) { X509_set_pubkey(x, key_p384); }

static void
test_key(void **state)
{
	EVP_PKEY *sm2 = oc_pkey_generate(OC_ALGO_SM2, 0, NULL);
	X509 *x, *bad;

	(void)state;
	key_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(key_p384);
	/* SKI would mismatch first; drop and recompute it after the swap. */
	x = X509_dup(ENT);
	ch_key_p384(x);
	del_ext(x, NID_subject_key_identifier);
	{
		ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
		unsigned char md[20];
		unsigned int len;

		X509_pubkey_digest(x, EVP_sha1(), md, &len);
		ASN1_OCTET_STRING_set(s, md, 20);
		X509_add1_ext_i2d(x, NID_subject_key_identifier, s, 0,
		    X509V3_ADD_DEFAULT);
		ASN1_OCTET_STRING_free(s);
	}
	bad = resign(x, H.ca_s);
	expect_rule(bad, OC_PROFILE_ENTERPRISE, H.ca, "key");
	X509_free(x);
	/* An SM2 key under the P-256 CA. */
	x = X509_dup(ENT);
	X509_set_pubkey(x, sm2);
	del_ext(x, NID_subject_key_identifier);
	{
		ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
		unsigned char md[20];
		unsigned int len;

		X509_pubkey_digest(x, EVP_sha1(), md, &len);
		ASN1_OCTET_STRING_set(s, md, 20);
		X509_add1_ext_i2d(x, NID_subject_key_identifier, s, 0,
		    X509V3_ADD_DEFAULT);
		ASN1_OCTET_STRING_free(s);
	}
	bad = resign(x, H.ca_s);
	expect_rule(bad, OC_PROFILE_ENTERPRISE, H.ca, "key");
	X509_free(x);
	EVP_PKEY_free(key_p384);
	EVP_PKEY_free(sm2);
}

static void
test_signature(void **state)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *x;
	int n;

	(void)state;
	/* One bit of the signature flipped. */
	n = i2d_X509(ENT, &der);
	der[n - 3] ^= 0x10;
	p = der;
	x = d2i_X509(NULL, &p, n);
	assert_non_null(x);
	expect_rule(x, OC_PROFILE_ENTERPRISE, H.ca, "signature");
	OPENSSL_free(der);
	/* Signed by the root's key, not the issuing CA's. */
	x = X509_dup(ENT);
	expect_rule(resign(x, H.root_s), OC_PROFILE_ENTERPRISE, H.ca,
	    "signature");
	X509_free(x);
}

/* SM2: a signature made with OpenSSL 3.0's default (empty) ID, instead of
 * 1234567812345678, is refused. */
static void
test_signature_sm2_without_distid(void **state)
{
	struct hier h;
	X509 *ent, *x;
	EVP_MD_CTX *m;
	struct oc_err err;

	(void)state;
	hier_make(&h, OC_ALGO_SM2);
	ent = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);
	oc_err_clear(&err);
	assert_int_equal(oc_cert_lint(ent, OC_PROFILE_ENTERPRISE, h.ca, &err),
	    0);
	x = X509_dup(ent);
	m = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sm3(), NULL, h.ca_key),
	    1);
	assert_true(X509_sign_ctx(x, m) > 0);
	EVP_MD_CTX_free(m);
	{
		unsigned char *der = NULL;
		const unsigned char *p;
		int n = i2d_X509(x, &der);

		p = der;
		expect_rule(d2i_X509(NULL, &p, n), OC_PROFILE_ENTERPRISE, h.ca,
		    "signature");
		OPENSSL_free(der);
	}
	X509_free(x);
	X509_free(ent);
	hier_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_certificates_pass),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_sigalg),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_issuer_name),
		cmocka_unit_test(test_issuer_ca),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_ext_dup),
		cmocka_unit_test(test_ext_critical),
		cmocka_unit_test(test_bc),
		cmocka_unit_test(test_ku),
		cmocka_unit_test(test_eku),
		cmocka_unit_test(test_ski_aki),
		cmocka_unit_test(test_san),
		cmocka_unit_test(test_cdp_aia),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_gmt),
		cmocka_unit_test(test_unique_id),
		cmocka_unit_test(test_ocsp_nocheck),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_signature_sm2_without_distid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

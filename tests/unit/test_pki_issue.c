/*
 * test_pki_issue.c — issuing every profile under each algorithm, chain
 * verification (with SM2's distinguishing ID), the GM/T 0015 and unique-ID
 * extensions read back, revocation through a CRL, and templates refused.
 *
 * Set ONECERT_PKI_EXPORT=dir to have the hierarchies written out as PEM
 * for tests/unit/data/pki-openssl-check.sh (openssl verify / asn1parse /
 * pkeyutl as independent judges).
 */
#include "pki_helpers.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "onecert/error.h"

static void
export_pem(const char *algo, const char *name, X509 *x, X509_CRL *crl,
    EVP_PKEY *key)
{
	const char *dir = getenv("ONECERT_PKI_EXPORT");
	char path[1024];
	FILE *f;

	if (dir == NULL || dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, algo);
	mkdir(dir, 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s.pem", dir, algo, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (x != NULL)
		PEM_write_X509(f, x);
	if (crl != NULL)
		PEM_write_X509_CRL(f, crl);
	if (key != NULL)
		PEM_write_PUBKEY(f, key);
	fclose(f);
}

static void
check_string_types(X509 *x, bool holder)
{
	const X509_NAME *n = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(n, NID_countryName, -1);
	const ASN1_STRING *v;

	if (holder || i >= 0) {
		assert_true(i >= 0);
		v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
		assert_int_equal(ASN1_STRING_type(v), V_ASN1_PRINTABLESTRING);
	}
	i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
	assert_true(i >= 0);
	v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	assert_int_equal(ASN1_STRING_type(v), V_ASN1_UTF8STRING);
}

static void
check_common(X509 *x, enum oc_algo a)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	int crit = -1;
	ASN1_BIT_STRING *ku;

	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) > 64 && BN_num_bits(bn) <= 128);
	BN_free(bn);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_get_signature_nid(x), a == OC_ALGO_EC ?
	    NID_ecdsa_with_SHA256 : a == OC_ALGO_SM2 ? NID_SM2_with_SM3 :
	    NID_sha256WithRSAEncryption);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	ASN1_BIT_STRING_free(ku);
	assert_non_null(X509_get0_subject_key_id(x));
}

static void
hierarchy(enum oc_algo a)
{
	struct hier h;
	struct oc_err err;
	X509 *ent, *per, *ocsp, *tls, *other_root;
	EVP_PKEY *ent_key = NULL;
	STACK_OF(X509) *anchors;
	STACK_OF(X509_CRL) *crls;
	X509_CRL *crl, *root_crl;
	struct oc_crl_entry entries[2];
	char buf[256], serial[43];
	const char *an = oc_algo_name(a);

	oc_err_clear(&err);
	hier_make(&h, a);
	check_common(h.root, a);
	check_common(h.ca, a);
	assert_int_equal(X509_check_ca(h.root), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(h.root),
	    X509_get_subject_name(h.root)), 0);

	/* Root alone, and the issuing CA under it. */
	anchors = sk_X509_new_null();
	sk_X509_push(anchors, h.root);
	assert_int_equal(oc_chain_verify(h.root, NULL, anchors, NULL, 0, 0,
	    &err), 0);
	assert_int_equal(oc_chain_verify(h.ca, NULL, anchors, NULL, 0, 0,
	    &err), 0);

	ent = issue_leaf(&h, OC_PROFILE_ENTERPRISE, &ent_key);
	per = issue_leaf(&h, OC_PROFILE_PERSONAL, NULL);
	ocsp = issue_leaf(&h, OC_PROFILE_OCSP, NULL);
	tls = issue_leaf(&h, OC_PROFILE_TLS_SERVER, NULL);
	for (X509 *const *p = (X509 *const[]){ ent, per, ocsp, tls, NULL };
	    *p != NULL; p++)
		check_common(*p, a);
	check_string_types(ent, true);
	check_string_types(per, true);

	/* Chains verify, with the purpose each certificate is for. */
	assert_int_equal(verify3(&h, ent, NULL, X509_PURPOSE_SSL_CLIENT,
	    &err), 0);
	assert_int_equal(verify3(&h, per, NULL, X509_PURPOSE_SSL_CLIENT,
	    &err), 0);
	assert_int_equal(verify3(&h, ocsp, NULL, X509_PURPOSE_OCSP_HELPER,
	    &err), 0);
	assert_int_equal(verify3(&h, tls, NULL, X509_PURPOSE_SSL_SERVER,
	    &err), 0);
	/* …and not for a purpose they are not for. */
	assert_int_equal(verify3(&h, ent, NULL, X509_PURPOSE_SSL_SERVER,
	    &err), OC_EINVAL);
	if (strstr(err.msg, "unsuitable certificate purpose") == NULL)
		fail_msg("%s", err.msg);
	/* Without the issuing CA there is no chain. */
	assert_int_equal(oc_chain_verify(ent, NULL, anchors, NULL, 0, 0,
	    &err), OC_EINVAL);
	assert_non_null(strstr(err.msg, "unable to get local issuer"));
	/* The issuing CA as the anchor (partial chain) is enough. */
	{
		STACK_OF(X509) *ca_only = sk_X509_new_null();

		sk_X509_push(ca_only, h.ca);
		assert_int_equal(oc_chain_verify(ent, NULL, ca_only, NULL, 0,
		    0, &err), 0);
		sk_X509_free(ca_only);
	}
	/* Expired at a time after notAfter. */
	{
		STACK_OF(X509) *untr = sk_X509_new_null();

		sk_X509_push(untr, h.ca);
		assert_int_equal(oc_chain_verify(ent, untr, anchors, NULL,
		    h.now + 400 * T_DAY, 0, &err), OC_EINVAL);
		assert_non_null(strstr(err.msg, "certificate has expired"));
		sk_X509_free(untr);
	}

	/* GM/T 0015 and unique-ID extensions read back. */
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_GMT_ORG_CODE, buf,
	    sizeof(buf), &err), 0);
	assert_string_equal(buf, T_USCC);
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_GMT_IC_REG_NO, buf,
	    sizeof(buf), &err), 0);
	assert_string_equal(buf, "310115000000001");
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_GMT_TAX_NO, buf,
	    sizeof(buf), &err), 0);
	assert_string_equal(buf, "91310115MA1FL8XY7N");
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_GMT_INSURANCE_NO, buf,
	    sizeof(buf), &err), 0);
	assert_string_equal(buf, "SB0001");
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_UNIQUE_ID, buf,
	    sizeof(buf), &err), 0);
	assert_int_equal(strlen(buf), OC_UID_LEN);
	assert_memory_equal(buf, "OC", 2);
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_GMT_IDENTITY_CODE, buf,
	    sizeof(buf), &err), OC_ENOTFOUND);
	assert_int_equal(oc_cert_ext_string(per, OC_OID_GMT_IDENTITY_CODE, buf,
	    sizeof(buf), &err), 0);
	assert_string_equal(buf, T_PERSON_ID);
	assert_int_equal(oc_cert_ext_string(per, OC_OID_UNIQUE_ID, buf,
	    sizeof(buf), &err), 0);
	assert_int_equal(oc_cert_ext_string(tls, OC_OID_UNIQUE_ID, buf,
	    sizeof(buf), &err), OC_ENOTFOUND);
	assert_int_equal(oc_cert_subject_string(ent, NID_commonName, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, T_COMPANY);
	assert_int_equal(oc_cert_subject_string(ent, NID_organizationName, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, T_COMPANY);
	assert_int_equal(oc_cert_subject_string(per, NID_commonName, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "张三");
	assert_int_equal(oc_cert_subject_string(per, NID_organizationName, buf,
	    sizeof(buf)), OC_ENOTFOUND);
	/* Too small a buffer is refused, not truncated. */
	assert_int_equal(oc_cert_subject_string(ent, NID_commonName, buf, 8),
	    OC_ETOOBIG);
	assert_int_equal(oc_cert_ext_string(ent, OC_OID_GMT_ORG_CODE, buf, 18,
	    &err), OC_ETOOBIG);

	/* OCSP: nocheck present; TLS: SAN present. */
	assert_true(X509_get_ext_by_NID(ocsp, NID_id_pkix_OCSP_noCheck, -1) >=
	    0);
	assert_true(X509_get_ext_by_NID(tls, NID_subject_alt_name, -1) >= 0);
	assert_int_equal(X509_check_host(tls, "ca.onecert.test", 0, 0, NULL),
	    1);
	assert_int_equal(X509_check_ip_asc(tls, "127.0.0.1", 0), 1);

	/* Revocation: a CRL naming the enterprise certificate. */
	assert_int_equal(oc_serial_hex(X509_get0_serialNumber(ent), serial), 0);
	entries[0].serial_hex = serial;
	entries[0].revoked_at = h.now - 30;
	entries[0].reason = 1;   /* keyCompromise */
	entries[1].serial_hex = "0x01:23:45:67:89:AB:CD:EF";
	entries[1].revoked_at = h.now - 3600;
	entries[1].reason = -1;
	crl = oc_crl_build(&h.ca_iss, entries, 2, 7, h.now - 60,
	    h.now + 7 * T_DAY, &err);
	if (crl == NULL)
		fail_msg("crl: %s | %s", err.msg, err.detail);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_get_signature_nid(crl),
	    X509_get_signature_nid(h.ca));
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	{
		ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number,
		    NULL, NULL);
		AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl,
		    NID_authority_key_identifier, NULL, NULL);
		X509_REVOKED *rev = NULL;
		ASN1_ENUMERATED *reason;

		assert_non_null(num);
		assert_int_equal(ASN1_INTEGER_get(num), 7);
		assert_non_null(akid);
		assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid,
		    X509_get0_subject_key_id(h.ca)), 0);
		assert_int_equal(X509_CRL_get0_by_serial(crl, &rev,
		    X509_get0_serialNumber(ent)), 1);
		reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL,
		    NULL);
		assert_non_null(reason);
		assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
		ASN1_ENUMERATED_free(reason);
		ASN1_INTEGER_free(num);
		AUTHORITY_KEYID_free(akid);
	}
	/* OpenSSL itself checks EC and RSA CRL signatures; SM2 it cannot
	 * (3.0 has no distinguishing ID for CRLs) — oc_chain_verify can. */
	if (a != OC_ALGO_SM2)
		assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(h.ca)), 1);
	else
		assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(h.ca)), 0);
	ERR_clear_error();
	crls = sk_X509_CRL_new_null();
	sk_X509_CRL_push(crls, crl);
	assert_int_equal(verify3(&h, ent, crls, X509_PURPOSE_SSL_CLIENT, &err),
	    OC_EINVAL);
	assert_non_null(strstr(err.msg, "certificate revoked"));
	/* The personal certificate is not on the CRL: it verifies, and the
	 * CRL's (SM2) signature was checked along the way. */
	assert_int_equal(verify3(&h, per, crls, X509_PURPOSE_SSL_CLIENT, &err),
	    0);
	/* A CRL whose signature is broken is refused. */
	{
		unsigned char *der = NULL, *q;
		const unsigned char *p;
		int n = i2d_X509_CRL(crl, &der);
		X509_CRL *bad;
		STACK_OF(X509_CRL) *bads = sk_X509_CRL_new_null();

		q = der + n - 5;
		*q ^= 0x01;
		p = der;
		bad = d2i_X509_CRL(NULL, &p, n);
		assert_non_null(bad);
		sk_X509_CRL_push(bads, bad);
		assert_int_equal(verify3(&h, per, bads, 0, &err), OC_EINVAL);
		assert_non_null(strstr(err.msg, "CRL signature failure"));
		sk_X509_CRL_pop_free(bads, X509_CRL_free);
		OPENSSL_free(der);
	}
	/* Only the root's CRL: the leaf has none, which fails closed. */
	root_crl = oc_crl_build(&h.root_iss, NULL, 0, 1, h.now - 60,
	    h.now + 30 * T_DAY, &err);
	assert_non_null(root_crl);
	{
		STACK_OF(X509_CRL) *rc = sk_X509_CRL_new_null();

		sk_X509_CRL_push(rc, root_crl);
		assert_int_equal(verify3(&h, per, rc, 0, &err), OC_EINVAL);
		assert_non_null(strstr(err.msg, "unable to get certificate CRL"));
		/* Both CRLs: the issuing CA is checked too, and passes. */
		sk_X509_CRL_push(rc, crl);
		assert_int_equal(verify3(&h, per, rc, 0, &err), 0);
		sk_X509_CRL_free(rc);
	}
	/* A root CRL revoking the issuing CA takes every leaf with it. */
	{
		STACK_OF(X509_CRL) *rc = sk_X509_CRL_new_null();
		struct oc_crl_entry ce;
		char ca_serial[43];
		X509_CRL *revoke_ca;

		assert_int_equal(oc_serial_hex(X509_get0_serialNumber(h.ca),
		    ca_serial), 0);
		ce.serial_hex = ca_serial;
		ce.revoked_at = h.now - 10;
		ce.reason = 2;   /* cACompromise */
		revoke_ca = oc_crl_build(&h.root_iss, &ce, 1, 2, h.now - 60,
		    h.now + 30 * T_DAY, &err);
		assert_non_null(revoke_ca);
		sk_X509_CRL_push(rc, revoke_ca);
		sk_X509_CRL_push(rc, crl);
		assert_int_equal(verify3(&h, per, rc, 0, &err), OC_EINVAL);
		assert_non_null(strstr(err.msg, "certificate revoked"));
		assert_non_null(strstr(err.msg, "depth 1"));
		sk_X509_CRL_free(rc);
		X509_CRL_free(revoke_ca);
	}
	/* The CRL round-trips through PEM. */
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *data;
		long n;
		X509_CRL *back;

		PEM_write_bio_X509_CRL(b, crl);
		n = BIO_get_mem_data(b, &data);
		back = oc_crl_parse((unsigned char *)data, (size_t)n, &err);
		assert_non_null(back);
		assert_int_equal(X509_CRL_cmp(back, crl), 0);
		X509_CRL_free(back);
		BIO_free(b);
	}

	/* Another hierarchy's root is not a trust anchor for this one. */
	{
		struct hier h2;

		hier_make(&h2, a);
		other_root = h2.root;
		assert_int_equal(verify3(&h2, ent, NULL, 0, &err), OC_EINVAL);
		(void)other_root;
		hier_free(&h2);
	}

	export_pem(an, "root", h.root, NULL, NULL);
	export_pem(an, "issuing", h.ca, NULL, NULL);
	export_pem(an, "enterprise", ent, NULL, NULL);
	export_pem(an, "personal", per, NULL, NULL);
	export_pem(an, "ocsp", ocsp, NULL, NULL);
	export_pem(an, "tls", tls, NULL, NULL);
	export_pem(an, "issuing-crl", NULL, crl, NULL);
	export_pem(an, "root-crl", NULL, root_crl, NULL);
	export_pem(an, "issuing-pub", NULL, NULL, X509_get0_pubkey(h.ca));
	export_pem(an, "root-pub", NULL, NULL, X509_get0_pubkey(h.root));

	sk_X509_CRL_free(crls);
	X509_CRL_free(crl);
	X509_CRL_free(root_crl);
	sk_X509_free(anchors);
	X509_free(ent);
	X509_free(per);
	X509_free(ocsp);
	X509_free(tls);
	EVP_PKEY_free(ent_key);
	hier_free(&h);
}

static void
test_hierarchy_ec(void **state)
{
	(void)state;
	hierarchy(OC_ALGO_EC);
}

static void
test_hierarchy_sm2(void **state)
{
	(void)state;
	hierarchy(OC_ALGO_SM2);
}

static void
test_hierarchy_rsa(void **state)
{
	(void)state;
	hierarchy(OC_ALGO_RSA);
}

/* The OpenSSL 3.0 quirk oc_chain_verify exists for: an SM2 certificate
 * does not verify without the distinguishing ID set on the X509. */
static void
test_sm2_needs_distid(void **state)
{
	struct hier h;
	X509 *ent, *copy;
	ASN1_OCTET_STRING *id;

	(void)state;
	hier_make(&h, OC_ALGO_SM2);
	ent = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);
	copy = X509_dup(ent);
	assert_int_equal(X509_verify(copy, X509_get0_pubkey(h.ca)), 0);
	ERR_clear_error();
	id = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(id, (const unsigned char *)OC_SM2_DISTID,
	    OC_SM2_DISTID_LEN);
	X509_set0_distinguishing_id(copy, id);
	assert_int_equal(X509_verify(copy, X509_get0_pubkey(h.ca)), 1);
	/* oc_chain_verify did not write an ID into the caller's object. */
	assert_null(X509_get0_distinguishing_id(ent));
	X509_free(copy);
	X509_free(ent);
	hier_free(&h);
}

static void
expect_refused(struct hier *h, struct oc_cert_template *t, int code,
    const char *needle)
{
	struct oc_err err;
	X509 *x;

	oc_err_clear(&err);
	x = oc_cert_issue(t, &h->ca_iss, &err);
	if (x != NULL)
		fail_msg("issued although it should be refused (%s)", needle);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void
test_templates_refused(void **state)
{
	struct hier h;
	struct oc_cert_template t;
	struct oc_err err;
	char uid[OC_UID_LEN + 1];
	EVP_PKEY *key, *sm2;
	X509 *x;

	(void)state;
	oc_err_clear(&err);
	hier_make(&h, OC_ALGO_EC);
	key = oc_pkey_generate(OC_ALGO_EC, 0, &err);
	sm2 = oc_pkey_generate(OC_ALGO_SM2, 0, &err);

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.ident.org_code = NULL;
	expect_refused(&h, &t, OC_EINVAL, "organization code");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.ident.org_code = "91310115MA1FL8XY7M";   /* wrong check char */
	expect_refused(&h, &t, OC_EINVAL, "check character");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.subject.o = "另一家公司";
	expect_refused(&h, &t, OC_EINVAL, "O and CN");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.subject.st = NULL;
	expect_refused(&h, &t, OC_EINVAL, "ST and L");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.subject.cn = "bad\nname";
	t.subject.o = t.subject.cn;
	expect_refused(&h, &t, OC_EINVAL, "O is invalid");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.unique_id = NULL;
	expect_refused(&h, &t, OC_EINVAL, "unique ID");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.unique_id = "中文";
	expect_refused(&h, &t, OC_EINVAL, "unique ID");

	leaf_template(&t, OC_PROFILE_PERSONAL, key, &h, uid);
	t.ident.identity_code = "110105194912310021";
	expect_refused(&h, &t, OC_EINVAL, "resident identity");

	leaf_template(&t, OC_PROFILE_TLS_SERVER, key, &h, uid);
	t.n_san = 0;
	expect_refused(&h, &t, OC_EINVAL, "DNS name");

	{
		static const char *const bad[] = { "bad name.example" };

		leaf_template(&t, OC_PROFILE_TLS_SERVER, key, &h, uid);
		t.san = bad;
		t.n_san = 1;
		expect_refused(&h, &t, OC_EINVAL, "invalid");
	}

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.not_after = h.now + 20 * 365 * T_DAY;
	expect_refused(&h, &t, OC_EPROFILE, "outside the issuer");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	t.not_after = t.not_before;
	expect_refused(&h, &t, OC_EINVAL, "validity");

	leaf_template(&t, OC_PROFILE_ENTERPRISE, sm2, &h, uid);
	expect_refused(&h, &t, OC_EINVAL, "does not match the CA");

	{
		static const unsigned char zero[4] = { 0 };

		leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
		t.serial = zero;
		t.serial_len = sizeof(zero);
		expect_refused(&h, &t, OC_EINVAL, "zero");
	}
	{
		/* A short serial passes the template but not the lint. */
		static const unsigned char shortsn[4] = { 1, 2, 3, 4 };

		leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
		t.serial = shortsn;
		t.serial_len = sizeof(shortsn);
		expect_refused(&h, &t, OC_EPROFILE, "[serial]");
	}
	{
		/* An explicit long serial is used as given. */
		static const unsigned char sn[10] = { 0x80, 1, 2, 3, 4, 5, 6,
		    7, 8, 9 };
		char hex[43];

		leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
		t.serial = sn;
		t.serial_len = sizeof(sn);
		x = oc_cert_issue(&t, &h.ca_iss, &err);
		assert_non_null(x);
		assert_int_equal(oc_serial_hex(X509_get0_serialNumber(x), hex),
		    0);
		assert_string_equal(hex, "80010203040506070809");
		X509_free(x);
	}

	/* A leaf cannot be self-signed, a root cannot have an issuer. */
	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	x = oc_cert_issue(&t, &(struct oc_cert_issuer){ .signer = h.ca_s },
	    &err);
	assert_null(x);
	assert_non_null(strstr(err.msg, "issuer certificate missing"));
	memset(&t, 0, sizeof(t));
	t.profile = OC_PROFILE_ROOT;
	t.pubkey = h.root_key;
	t.subject.cn = "x";
	t.not_before = h.now;
	t.not_after = h.now + T_DAY;
	x = oc_cert_issue(&t, &h.root_iss, &err);
	assert_null(x);
	assert_non_null(strstr(err.msg, "self-signed"));
	/* The signer must hold the issuer certificate's key. */
	leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
	x = oc_cert_issue(&t, &(struct oc_cert_issuer){ .cert = h.ca,
	    .signer = h.root_s }, &err);
	assert_null(x);
	assert_non_null(strstr(err.msg, "does not match the issuer"));
	/* An end-entity certificate cannot issue. */
	{
		X509 *ent = issue_leaf(&h, OC_PROFILE_ENTERPRISE, NULL);

		leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
		x = oc_cert_issue(&t, &(struct oc_cert_issuer){ .cert = ent,
		    .signer = h.ca_s }, &err);
		assert_null(x);
		X509_free(ent);
	}
	/* No CA below the issuing CA (pathLenConstraint 0). */
	memset(&t, 0, sizeof(t));
	t.profile = OC_PROFILE_ISSUING;
	t.pubkey = key;
	t.subject.cn = "sub-CA";
	t.not_before = h.now;
	t.not_after = h.now + T_DAY;
	expect_refused(&h, &t, OC_EINVAL, "pathLenConstraint 0");
	/* Old 9-character organization code with a dash: stored without. */
	{
		char buf[32];

		leaf_template(&t, OC_PROFILE_ENTERPRISE, key, &h, uid);
		t.ident.org_code = "MA1FL8XY-7";
		x = oc_cert_issue(&t, &h.ca_iss, &err);
		if (x == NULL)
			fail_msg("%s", err.msg);
		assert_int_equal(oc_cert_ext_string(x, OC_OID_GMT_ORG_CODE, buf,
		    sizeof(buf), &err), 0);
		assert_string_equal(buf, "MA1FL8XY7");
		X509_free(x);
	}

	EVP_PKEY_free(key);
	EVP_PKEY_free(sm2);
	hier_free(&h);
}

/* A fresh key of algorithm a in *key and a request for it, subject CN cn,
 * signed with it. */
static X509_REQ *
key_and_csr(enum oc_algo a, const char *cn, EVP_PKEY **key,
    struct oc_err *err)
{
	struct oc_cert_subject subj = { .cn = cn };
	struct oc_signer *s;
	X509_REQ *req;

	assert_non_null(*key = oc_pkey_generate(a, 0, err));
	assert_non_null(s = oc_signer_from_pkey(*key, err));
	assert_non_null(req = oc_csr_build(&subj, s, err));
	oc_signer_free(s);
	return req;
}

/* A template carrying the CSR's SubjectPublicKeyInfo: the certificate
 * holds those very bytes — the same bytes X509_set_pubkey would have
 * encoded — and an SPKI of another key than the template's is refused. */
static void
spki_copied(enum oc_algo a)
{
	struct hier h;
	struct oc_cert_template t;
	struct oc_err err;
	char uid[OC_UID_LEN + 1];
	EVP_PKEY *key, *other;
	X509_REQ *req, *other_req;
	X509 *x, *y;
	unsigned char *a1 = NULL, *a2 = NULL, *a3 = NULL;
	int n1, n2, n3;

	hier_make(&h, a);
	oc_err_clear(&err);
	req = key_and_csr(a, "x", &key, &err);
	other_req = key_and_csr(a, "y", &other, &err);

	leaf_template(&t, OC_PROFILE_ENTERPRISE, X509_REQ_get0_pubkey(req), &h, uid);
	t.spki = X509_REQ_get_X509_PUBKEY(req);
	if ((x = oc_cert_issue(&t, &h.ca_iss, &err)) == NULL)
		fail_msg("%s %s", err.msg, err.detail);
	t.spki = NULL;
	assert_non_null(y = oc_cert_issue(&t, &h.ca_iss, &err));
	n1 = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &a1);
	n2 = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a2);
	n3 = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(y), &a3);
	assert_true(n1 > 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(a1, a2, (size_t)n1);
	assert_int_equal(n1, n3);
	assert_memory_equal(a1, a3, (size_t)n1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	assert_int_equal(oc_cert_lint(x, OC_PROFILE_ENTERPRISE, h.ca, &err), 0);

	t.spki = X509_REQ_get_X509_PUBKEY(other_req);
	assert_null(oc_cert_issue(&t, &h.ca_iss, &err));
	assert_int_equal(err.code, OC_EINVAL);

	OPENSSL_free(a1);
	OPENSSL_free(a2);
	OPENSSL_free(a3);
	X509_free(x);
	X509_free(y);
	X509_REQ_free(req);
	X509_REQ_free(other_req);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	hier_free(&h);
}

static void
test_spki_copied(void **state)
{
	(void)state;
	spki_copied(OC_ALGO_EC);
	spki_copied(OC_ALGO_SM2);
	spki_copied(OC_ALGO_RSA);
}

/* The TBSCertificate TLV of a certificate's DER. */
static void
tbs_of(const unsigned char *der, int n, const unsigned char **tbs,
    long *tbslen)
{
	const unsigned char *p = der, *start;
	long len;
	int tag, xclass;

	assert_int_equal(ASN1_get_object(&p, &len, &tag, &xclass, n),
	    V_ASN1_CONSTRUCTED);
	start = p;
	assert_int_equal(ASN1_get_object(&p, &len, &tag, &xclass,
	    n - (p - der)), V_ASN1_CONSTRUCTED);
	*tbs = start;
	*tbslen = (long)(p - start) + len;
}

/* P-256 and SM2 requests take the short road (oc_csr_parse makes the key
 * without OpenSSL's decoder, oc_cert_issue puts the signature into the
 * certificate it built instead of parsing it back): the certificate is
 * byte for byte the one the general road makes from the same request
 * decoded by d2i_X509_REQ (same serial, unique ID and validity; only the
 * signature differs, ECDSA and SM2 being randomised), and both verify and
 * pass the lint. */
static void
short_road(enum oc_algo a)
{
	static const unsigned char serial[16] = { 0x5a, 1, 2, 3, 4, 5, 6, 7,
	    8, 9, 10, 11, 12, 13, 14, 15 };
	struct hier h;
	struct oc_cert_template t;
	struct oc_err err;
	char uid[OC_UID_LEN + 1];
	EVP_PKEY *key, *k1, *k2;
	X509_REQ *req, *r1, *r2;
	X509 *x1, *x2;
	unsigned char *der = NULL, *d1 = NULL, *d2 = NULL, *s1 = NULL, *s2 = NULL;
	const unsigned char *p, *t1, *t2;
	size_t sl1 = 0, sl2 = 0;
	long l1, l2;
	int n, n1, n2;

	hier_make(&h, a);
	oc_err_clear(&err);
	req = key_and_csr(a, "x", &key, &err);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);

	/* The short road: a legacy-method key (it has an ASN.1 method),
	 * for SM2 one of type "SM2". */
	assert_non_null(r1 = oc_csr_parse(der, (size_t)n, &err));
	k1 = X509_REQ_get0_pubkey(r1);
	assert_non_null(EVP_PKEY_get0_asn1(k1));
	assert_int_equal(oc_algo_of_pkey(k1), a);
	if (a == OC_ALGO_SM2)
		assert_true(EVP_PKEY_is_a(k1, "SM2"));
	assert_int_equal(EVP_PKEY_eq(k1, key), 1);
	/* The general road's request: OpenSSL's decoder makes the key. */
	p = der;
	assert_non_null(r2 = d2i_X509_REQ(NULL, &p, n));
	k2 = X509_REQ_get0_pubkey(r2);
	assert_null(EVP_PKEY_get0_asn1(k2));

	leaf_template(&t, OC_PROFILE_ENTERPRISE, k1, &h, uid);
	t.spki = X509_REQ_get_X509_PUBKEY(r1);
	t.serial = serial;
	t.serial_len = sizeof(serial);
	if ((x1 = oc_cert_issue_der(&t, &h.ca_iss, &s1, &sl1, &err)) == NULL)
		fail_msg("%s %s", err.msg, err.detail);
	t.pubkey = k2;
	t.spki = X509_REQ_get_X509_PUBKEY(r2);
	if ((x2 = oc_cert_issue_der(&t, &h.ca_iss, &s2, &sl2, &err)) == NULL)
		fail_msg("%s %s", err.msg, err.detail);
	/* x1 holds the request's key object itself, x2 one decoded again. */
	assert_ptr_equal(X509_get0_pubkey(x1), k1);
	assert_ptr_not_equal(X509_get0_pubkey(x2), k2);

	n1 = i2d_X509(x1, &d1);
	n2 = i2d_X509(x2, &d2);
	/* The DER handed out with each (the signed bytes, which the store
	 * keeps and the RA API sends) is what the certificate encodes to, on
	 * both roads: adopted, and parsed back. */
	assert_int_equal(sl1, (size_t)n1);
	assert_memory_equal(s1, d1, sl1);
	assert_int_equal(sl2, (size_t)n2);
	assert_memory_equal(s2, d2, sl2);
	tbs_of(d1, n1, &t1, &l1);
	tbs_of(d2, n2, &t2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(t1, t2, (size_t)l1);
	assert_int_equal(verify3(&h, x1, NULL, 0, &err), 0);
	assert_int_equal(verify3(&h, x2, NULL, 0, &err), 0);
	assert_int_equal(oc_cert_lint(x1, OC_PROFILE_ENTERPRISE, h.ca, &err),
	    0);
	assert_int_equal(oc_cert_lint(x2, OC_PROFILE_ENTERPRISE, h.ca, &err),
	    0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x1), key), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x2), key), 1);

	OPENSSL_free(der);
	OPENSSL_free(d1);
	OPENSSL_free(d2);
	OPENSSL_free(s1);
	OPENSSL_free(s2);
	X509_free(x1);
	X509_free(x2);
	X509_REQ_free(req);
	X509_REQ_free(r1);
	X509_REQ_free(r2);
	EVP_PKEY_free(key);
	hier_free(&h);
}

static void
test_short_road(void **state)
{
	(void)state;
	short_road(OC_ALGO_EC);
	short_road(OC_ALGO_SM2);
}

/* A signer that answers with another key's signature (its pub is the
 * issuing CA's, so the template check passes): the lint's check of the
 * signature stops the certificate, after good ones have been issued
 * with the same issuer (whose verification set-up the lint keeps). */
static int
lying_sign(struct oc_signer *s, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen, struct oc_err *err)
{
	return oc_signer_sign(s->impl, tbs, tbslen, sig, siglen, err);
}

static const struct oc_signer_ops lying_ops = {
	.name = "lying",
	.sign = lying_sign,
};

static void
signer_fault(enum oc_algo a)
{
	struct hier h;
	struct oc_cert_template t;
	struct oc_cert_issuer iss;
	struct oc_signer lie, *other_s;
	struct oc_err err;
	char uid[OC_UID_LEN + 1];
	EVP_PKEY *key, *other;
	X509_REQ *req;
	X509 *x;

	hier_make(&h, a);
	oc_err_clear(&err);
	req = key_and_csr(a, "x", &key, &err);
	assert_non_null(other = oc_pkey_generate(a, 0, &err));
	assert_non_null(other_s = oc_signer_from_pkey(other, &err));
	leaf_template(&t, OC_PROFILE_ENTERPRISE, X509_REQ_get0_pubkey(req), &h, uid);
	t.spki = X509_REQ_get_X509_PUBKEY(req);
	for (int i = 0; i < 2; i++) {
		assert_non_null(x = oc_cert_issue(&t, &h.ca_iss, &err));
		X509_free(x);
	}
	lie = (struct oc_signer){ .ops = &lying_ops, .algo = a,
	    .pub = oc_signer_get0_pubkey(h.ca_s), .impl = other_s };
	iss = h.ca_iss;
	iss.signer = &lie;
	oc_err_clear(&err);
	assert_null(oc_cert_issue(&t, &iss, &err));
	assert_int_equal(err.code, OC_EPROFILE);
	assert_non_null(strstr(err.msg, "[signature]"));
	/* The honest signer still issues. */
	assert_non_null(x = oc_cert_issue(&t, &h.ca_iss, &err));
	X509_free(x);

	X509_REQ_free(req);
	oc_signer_free(other_s);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	hier_free(&h);
}

static void
test_signer_fault(void **state)
{
	(void)state;
	signer_fault(OC_ALGO_EC);
	signer_fault(OC_ALGO_SM2);
	signer_fault(OC_ALGO_RSA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hierarchy_ec),
		cmocka_unit_test(test_hierarchy_sm2),
		cmocka_unit_test(test_hierarchy_rsa),
		cmocka_unit_test(test_sm2_needs_distid),
		cmocka_unit_test(test_templates_refused),
		cmocka_unit_test(test_spki_copied),
		cmocka_unit_test(test_short_road),
		cmocka_unit_test(test_signer_fault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

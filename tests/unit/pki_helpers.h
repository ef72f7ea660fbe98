/*
 * pki_helpers.h — shared by the tests/unit/test_pki_*.c programs: an
 * in-memory CA hierarchy per algorithm (root + issuing CA, file signers),
 * templates for each leaf profile, and re-signing a certificate that a
 * test has deliberately broken with OpenSSL setters (so that the lint sees
 * a validly signed but badly shaped certificate).
 *
 * Everything is static inline so that each test program uses what it
 * needs without unused-function warnings.
 */
#ifndef ONECERT_TEST_PKI_HELPERS_H
#define ONECERT_TEST_PKI_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/pki.h"
#include "onecert/signer.h"

#define T_CRL_URL   "http://127.0.0.1:8080/crl/issuing.crl"
#define T_OCSP_URL  "http://127.0.0.1:8080/ocsp"
#define T_CAISS_URL "http://127.0.0.1:8080/ca/issuing.cer"
#define T_COMPANY   "上海一证通测试有限公司"
#define T_USCC      "91310115MA1FL8XY7N"
#define T_PERSON_ID "11010519491231002X"
#define T_DAY       86400

struct hier {
	enum oc_algo a;
	EVP_PKEY *root_key, *ca_key;
	struct oc_signer *root_s, *ca_s;
	X509 *root, *ca;
	struct oc_cert_issuer root_iss, ca_iss;
	time_t now;
};

static inline void
hier_make(struct hier *h, enum oc_algo a)
{
	struct oc_err err;
	struct oc_cert_template t;

	memset(h, 0, sizeof(*h));
	oc_err_clear(&err);
	h->a = a;
	h->now = time(NULL);
	h->root_key = oc_pkey_generate(a, 0, &err);
	assert_non_null(h->root_key);
	h->ca_key = oc_pkey_generate(a, 0, &err);
	assert_non_null(h->ca_key);
	h->root_s = oc_signer_from_pkey(h->root_key, &err);
	assert_non_null(h->root_s);
	h->ca_s = oc_signer_from_pkey(h->ca_key, &err);
	assert_non_null(h->ca_s);

	memset(&t, 0, sizeof(t));
	t.profile = OC_PROFILE_ROOT;
	t.pubkey = h->root_key;
	t.subject.c = "CN";
	t.subject.o = "onecert 测试";
	t.subject.cn = a == OC_ALGO_SM2 ? "onecert 测试根 CA (SM2)" :
	    a == OC_ALGO_EC ? "onecert 测试根 CA (P-256)" :
	    "onecert 测试根 CA (RSA)";
	t.not_before = h->now - T_DAY;
	t.not_after = h->now + 3650 * T_DAY;
	h->root_iss.signer = h->root_s;
	h->root = oc_cert_issue(&t, &h->root_iss, &err);
	if (h->root == NULL)
		fail_msg("root: %s | %s", err.msg, err.detail);
	h->root_iss.cert = h->root;
	h->root_iss.crl_url = "http://127.0.0.1:8080/crl/root.crl";
	h->root_iss.ca_issuers_url = "http://127.0.0.1:8080/ca/root.cer";

	memset(&t, 0, sizeof(t));
	t.profile = OC_PROFILE_ISSUING;
	t.pubkey = h->ca_key;
	t.subject.c = "CN";
	t.subject.o = "onecert 测试";
	t.subject.cn = "onecert 测试签发 CA";
	t.not_before = h->now - T_DAY;
	t.not_after = h->now + 1825 * T_DAY;
	h->ca = oc_cert_issue(&t, &h->root_iss, &err);
	if (h->ca == NULL)
		fail_msg("issuing: %s | %s", err.msg, err.detail);
	h->ca_iss.cert = h->ca;
	h->ca_iss.signer = h->ca_s;
	h->ca_iss.crl_url = T_CRL_URL;
	h->ca_iss.ocsp_url = T_OCSP_URL;
	h->ca_iss.ca_issuers_url = T_CAISS_URL;
}

static inline void
hier_free(struct hier *h)
{
	X509_free(h->root);
	X509_free(h->ca);
	oc_signer_free(h->root_s);
	oc_signer_free(h->ca_s);
	EVP_PKEY_free(h->root_key);
	EVP_PKEY_free(h->ca_key);
}

/* A template for a leaf profile with sensible values; uid must hold
 * OC_UID_LEN + 1 bytes. */
static inline void
leaf_template(struct oc_cert_template *t, enum oc_profile p, EVP_PKEY *key,
    const struct hier *h, char *uid)
{
	static const char *const san[] = { "ca.onecert.test", "127.0.0.1" };

	memset(t, 0, sizeof(*t));
	t->profile = p;
	t->pubkey = key;
	t->not_before = h->now - 60;
	t->not_after = h->now + 365 * T_DAY;
	t->subject.c = "CN";
	switch (p) {
	case OC_PROFILE_ENTERPRISE:
		t->subject.st = "上海市";
		t->subject.l = "上海市";
		t->subject.o = T_COMPANY;
		t->subject.cn = T_COMPANY;
		t->ident.org_code = T_USCC;
		t->ident.ic_reg_no = "310115000000001";
		t->ident.tax_no = "91310115MA1FL8XY7N";
		t->ident.insurance_no = "SB0001";
		break;
	case OC_PROFILE_PERSONAL:
		t->subject.cn = "张三";
		t->ident.identity_code = T_PERSON_ID;
		break;
	case OC_PROFILE_OCSP:
		t->subject.cn = "onecert OCSP 响应者";
		break;
	case OC_PROFILE_TLS_SERVER:
		t->subject.cn = "ca.onecert.test";
		t->san = san;
		t->n_san = 2;
		break;
	default:
		break;
	}
	if (p == OC_PROFILE_ENTERPRISE || p == OC_PROFILE_PERSONAL) {
		assert_int_equal(oc_unique_id_new(uid), 0);
		t->unique_id = uid;
	}
}

/* Issue a leaf of profile p with a fresh key; *key_out gets the key. */
static inline X509 *
issue_leaf(struct hier *h, enum oc_profile p, EVP_PKEY **key_out)
{
	struct oc_cert_template t;
	struct oc_err err;
	char uid[OC_UID_LEN + 1];
	EVP_PKEY *key;
	X509 *x;

	oc_err_clear(&err);
	key = oc_pkey_generate(h->a, 0, &err);
	assert_non_null(key);
	leaf_template(&t, p, key, h, uid);
	x = oc_cert_issue(&t, &h->ca_iss, &err);
	if (x == NULL)
		fail_msg("%s: %s | %s", oc_profile_name(p), err.msg, err.detail);
	if (key_out != NULL)
		*key_out = key;
	else
		EVP_PKEY_free(key);
	return x;
}

/* Re-sign a (modified) certificate with s the way oc_cert_issue does, and
 * return the parsed result.  Works on x itself (i2d_re_X509_tbs re-encodes
 * whatever the test changed, even through setters that do not mark the
 * cached encoding stale), so x's TBS signature algorithm is overwritten. */
static inline X509 *
resign_alg(X509 *x, struct oc_signer *s, const X509_ALGOR *outer)
{
	X509 *out;
	X509_ALGOR *alg = oc_algo_sigalg_new(oc_signer_algo(s));
	unsigned char *tbs = NULL, *sig = NULL, *der = NULL;
	const unsigned char *p;
	size_t siglen = 0, derlen = 0;
	int tbslen;

	assert_non_null(alg);
	assert_true(X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg));
	tbslen = i2d_re_X509_tbs(x, &tbs);
	assert_true(tbslen > 0);
	assert_int_equal(oc_signer_sign(s, tbs, (size_t)tbslen, &sig, &siglen,
	    NULL), 0);
	assert_int_equal(oc_der_signed(tbs, (size_t)tbslen, outer != NULL ?
	    outer : alg, sig, siglen, &der, &derlen), 0);
	p = der;
	out = d2i_X509(NULL, &p, (long)derlen);
	assert_non_null(out);
	OPENSSL_free(tbs);
	OPENSSL_free(sig);
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	return out;
}

static inline X509 *
resign(X509 *x, struct oc_signer *s)
{
	return resign_alg(x, s, NULL);
}

/* Verify leaf → ca → root with root as the only anchor. */
static inline int
verify3(struct hier *h, X509 *leaf, STACK_OF(X509_CRL) *crls, int purpose,
    struct oc_err *err)
{
	STACK_OF(X509) *anchors = sk_X509_new_null(), *untr = sk_X509_new_null();
	int rc;

	assert_non_null(anchors);
	assert_non_null(untr);
	sk_X509_push(anchors, h->root);
	sk_X509_push(untr, h->ca);
	rc = oc_chain_verify(leaf, untr, anchors, crls, 0, purpose, err);
	sk_X509_free(anchors);
	sk_X509_free(untr);
	return rc;
}

#endif

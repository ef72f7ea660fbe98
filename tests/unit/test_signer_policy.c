/*
 * test_signer_policy.c — what the signer process lets each CA key sign,
 * whatever the calling process sends it (src/ca/signerproc.c): the root
 * key CRLs only, the issuing key CRLs and end-entity v3 certificates, the
 * OCSP key OCSP responses only.  Each refusal here is a to-be-signed blob
 * a compromised network process could send: a v1 certificate (which opens
 * like a CRL), a CA certificate, certificates whose extensions say CA in
 * other ways, and structures that are neither.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/ca.h"
#include "onecert/log.h"
#include "onecert/pki.h"
#include "onecert/signer.h"

static char dir[1024];
static struct oc_ca *ca;
static EVP_PKEY *key;
static const struct oc_actor op = { "op-policy", "unit" };

static int
setup(void **state)
{
	struct oc_ca_init_opts o = { .algo = OC_ALGO_EC, .dev_file_keys = true,
	    .actor = "op-policy" };
	const char *base = getenv("ONECERT_TEST_TMP");
	char cmd[1200];
	struct oc_err err;
	(void)state;

	if (base == NULL)
		base = "/tmp";
	mkdir(base, 0755);
	snprintf(dir, sizeof(dir), "%s/test_signer_policy.%ld", base, (long)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	o.dir = dir;
	if (oc_ca_init(&o, &err) != 0 || (ca = oc_ca_open(dir, &err)) == NULL) {
		fprintf(stderr, "CA: %s %s\n", err.msg, err.detail);
		return -1;
	}
	key = oc_pkey_generate(OC_ALGO_EC, 0, NULL);
	return key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[1200];
	(void)state;

	oc_ca_close(ca);
	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Ask the signer process to sign len bytes with "root", "issuing" or
 * "ocsp": 0 or the error code. */
static int
sign_with(const char *k, const unsigned char *tbs, size_t len)
{
	unsigned char *sig = NULL;
	size_t siglen = 0;
	struct oc_err err;
	int rc;

	oc_err_clear(&err);
	rc = oc_signer_sign(oc_ca_signer(ca, k), tbs, len, &sig, &siglen, &err);
	OPENSSL_free(sig);
	if (rc != 0)
		assert_non_null(strstr(err.msg, "signer policy"));
	return rc;
}

static int
sign_x509(const char *k, X509 *x)
{
	unsigned char *tbs = NULL;
	int n = i2d_re_X509_tbs(x, &tbs), rc;

	assert_true(n > 0);
	rc = sign_with(k, tbs, (size_t)n);
	OPENSSL_free(tbs);
	return rc;
}

static void
add_ext(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);

	assert_non_null(e);
	assert_true(X509_add_ext(x, e, -1));
	X509_EXTENSION_free(e);
}

/* A certificate of version v (X509_VERSION_1/3) issued in the issuing
 * CA's name to a fresh subject key, with the given extensions (nid,
 * value pairs, 0-terminated) — built by hand, as an attacker would. */
static X509 *
cert(long v, ...)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_ALGOR *alg = oc_algo_sigalg_new(OC_ALGO_EC);
	va_list ap;
	int nid;

	assert_non_null(x);
	assert_true(X509_set_version(x, v));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242));
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"www.victim.example", -1, -1, 0));
	assert_true(X509_set_subject_name(x, n));
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(oc_ca_get0_issuing(ca))));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_true(X509_set_pubkey(x, key));
	assert_true(X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg));
	va_start(ap, v);
	while ((nid = va_arg(ap, int)) != 0)
		add_ext(x, nid, va_arg(ap, const char *));
	va_end(ap);
	X509_NAME_free(n);
	X509_ALGOR_free(alg);
	return x;
}

static void
test_root_signs_crls_only(void **state)
{
	X509 *v1 = cert(X509_VERSION_1, 0);
	X509 *ee = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE", 0);
	X509_CRL *crl;
	(void)state;

	/* a v1 certificate opens with an INTEGER, like a CRL: still refused */
	assert_int_equal(sign_x509("root", v1), OC_EPERM);
	assert_int_equal(sign_x509("root", ee), OC_EPERM);
	assert_non_null(crl = oc_ca_crl(ca, &op, NULL));     /* root CRL too */
	X509_CRL_free(crl);
	X509_free(v1);
	X509_free(ee);
}

static void
test_issuing_signs_end_entities_only(void **state)
{
	X509 *ok = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE",
	    NID_key_usage, "critical,digitalSignature,nonRepudiation", 0);
	X509 *no_ku = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE", 0);
	X509 *v1 = cert(X509_VERSION_1, 0);
	X509 *ca_cert = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:TRUE", 0);
	X509 *no_bc = cert(X509_VERSION_3, NID_key_usage, "critical,digitalSignature", 0);
	X509 *no_ext = cert(X509_VERSION_3, 0);
	X509 *ku_sign = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE",
	    NID_key_usage, "critical,keyCertSign", 0);
	X509 *ku_crl = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE",
	    NID_key_usage, "critical,digitalSignature,cRLSign", 0);
	X509 *two_bc = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE",
	    NID_basic_constraints, "critical,CA:TRUE", 0);
	X509 *ns = cert(X509_VERSION_3, NID_basic_constraints, "critical,CA:FALSE",
	    NID_netscape_cert_type, "sslCA", 0);
	(void)state;

	assert_int_equal(sign_x509("issuing", ok), 0);
	assert_int_equal(sign_x509("issuing", no_ku), 0);
	assert_int_equal(sign_x509("issuing", v1), OC_EPERM);
	assert_int_equal(sign_x509("issuing", ca_cert), OC_EPERM);
	assert_int_equal(sign_x509("issuing", no_bc), OC_EPERM);
	assert_int_equal(sign_x509("issuing", no_ext), OC_EPERM);
	assert_int_equal(sign_x509("issuing", ku_sign), OC_EPERM);
	assert_int_equal(sign_x509("issuing", ku_crl), OC_EPERM);
	assert_int_equal(sign_x509("issuing", two_bc), OC_EPERM);
	assert_int_equal(sign_x509("issuing", ns), OC_EPERM);
	/* the OCSP key signs no certificate */
	assert_int_equal(sign_x509("ocsp", ok), OC_EPERM);
	X509_free(ok);
	X509_free(no_ku);
	X509_free(v1);
	X509_free(ca_cert);
	X509_free(no_bc);
	X509_free(no_ext);
	X509_free(ku_sign);
	X509_free(ku_crl);
	X509_free(two_bc);
	X509_free(ns);
}

static void
test_not_a_structure(void **state)
{
	static const unsigned char junk[] = "not DER at all";
	/* SEQUENCE { INTEGER 1 } and a truncated SEQUENCE */
	static const unsigned char short_seq[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	static const unsigned char truncated[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01 };
	/* SEQUENCE with an indefinite length (BER, not DER) */
	static const unsigned char indefinite[] = { 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00 };
	const char *keys[] = { "root", "issuing", "ocsp" };
	(void)state;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(sign_with(keys[i], junk, sizeof(junk)), OC_EPERM);
		assert_int_equal(sign_with(keys[i], short_seq, sizeof(short_seq)), OC_EPERM);
		assert_int_equal(sign_with(keys[i], truncated, sizeof(truncated)), OC_EPERM);
		assert_int_equal(sign_with(keys[i], indefinite, sizeof(indefinite)), OC_EPERM);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_signs_crls_only),
		cmocka_unit_test(test_issuing_signs_end_entities_only),
		cmocka_unit_test(test_not_a_structure),
	};

	oc_log_set_level(OC_LOG_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_pki_misc.c — the small parts of src/pki: algorithm names and
 * AlgorithmIdentifier bytes, signing and verifying (SM2 against OpenSSL
 * directly, with and without the ID), the file signer, key checks, unique
 * IDs, serial text forms, reason codes, the DER envelope, reading
 * extension strings in every encoding real certificates use, and
 * certificate parsing and loading.
 */
#include "pki_helpers.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include "onecert/error.h"

/* ---- algorithms ---- */

static void
expect_algor_der(enum oc_algo a, const unsigned char *want, size_t n)
{
	X509_ALGOR *alg = oc_algo_sigalg_new(a);
	unsigned char *der = NULL;
	int len;

	assert_non_null(alg);
	len = i2d_X509_ALGOR(alg, &der);
	assert_int_equal(len, (int)n);
	assert_memory_equal(der, want, n);
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
}

static void
test_algo(void **state)
{
	static const unsigned char ec[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	static const unsigned char sm2[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	    0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75 };
	static const unsigned char rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a,
	    0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	enum oc_algo a;
	EVP_PKEY *k;

	(void)state;
	assert_string_equal(oc_algo_name(OC_ALGO_EC), "ec");
	assert_string_equal(oc_algo_name(OC_ALGO_SM2), "sm2");
	assert_string_equal(oc_algo_name(OC_ALGO_RSA), "rsa");
	assert_int_equal(oc_algo_parse("SM2", &a), 0);
	assert_int_equal(a, OC_ALGO_SM2);
	assert_int_equal(oc_algo_parse("rsa", &a), 0);
	assert_int_equal(a, OC_ALGO_RSA);
	assert_int_equal(oc_algo_parse("ec", &a), 0);
	assert_int_equal(a, OC_ALGO_EC);
	assert_int_equal(oc_algo_parse("dsa", &a), OC_EINVAL);
	assert_null(oc_algo_sigalg_new(OC_ALGO_NONE));
	expect_algor_der(OC_ALGO_EC, ec, sizeof(ec));
	expect_algor_der(OC_ALGO_SM2, sm2, sizeof(sm2));
	expect_algor_der(OC_ALGO_RSA, rsa, sizeof(rsa));

	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_int_equal(oc_algo_of_pkey(k), OC_ALGO_NONE);
	EVP_PKEY_free(k);
	/* An "EC" key on the SM2 curve is an SM2 key. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "SM2");
	assert_non_null(k);
	assert_false(EVP_PKEY_is_a(k, "SM2"));
	assert_int_equal(oc_algo_of_pkey(k), OC_ALGO_SM2);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_int_equal(oc_algo_of_pkey(k), OC_ALGO_NONE);
	EVP_PKEY_free(k);
	assert_null(oc_pkey_generate(OC_ALGO_RSA, 1024, NULL));
	assert_null(oc_pkey_generate(OC_ALGO_NONE, 0, NULL));

	{
		enum oc_profile p;

		assert_int_equal(oc_profile_parse("enterprise", &p), 0);
		assert_int_equal(p, OC_PROFILE_ENTERPRISE);
		assert_int_equal(oc_profile_parse("tls-server", &p), 0);
		assert_int_equal(p, OC_PROFILE_TLS_SERVER);
		assert_string_equal(oc_profile_name(OC_PROFILE_OCSP), "ocsp");
		assert_string_equal(oc_profile_name(OC_PROFILE_ISSUING),
		    "issuing");
		assert_int_equal(oc_profile_parse("bogus", &p), OC_EINVAL);
	}
}

/* ---- signing ---- */

/* Verify with OpenSSL directly (not our code): SM2 with an explicit ID,
 * or none. */
static int
raw_verify(EVP_PKEY *pub, const char *id, const unsigned char *tbs,
    size_t tbslen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	int r;

	if (id != NULL)
		assert_true(EVP_PKEY_CTX_set1_id(pc, id, strlen(id)) > 0);
	EVP_MD_CTX_set_pkey_ctx(m, pc);
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_PKEY_is_a(pub,
	    "SM2") ? EVP_sm3() : EVP_sha256(), NULL, pub), 1);
	r = EVP_DigestVerify(m, sig, siglen, tbs, tbslen);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return r;
}

static void
sign_verify(enum oc_algo a)
{
	static const unsigned char msg[] = "to be signed: 一证通";
	struct oc_err err;
	EVP_PKEY *key = oc_pkey_generate(a, 0, &err);
	struct oc_signer *s = oc_signer_from_pkey(key, &err);
	EVP_PKEY *pub;
	unsigned char *sig = NULL;
	size_t siglen = 0;

	assert_non_null(s);
	assert_int_equal(oc_signer_algo(s), a);
	pub = oc_signer_get0_pubkey(s);
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(pub, key), 1);
	assert_int_equal(oc_signer_sign(s, msg, sizeof(msg), &sig, &siglen,
	    &err), 0);
	if (a == OC_ALGO_RSA)
		assert_int_equal(siglen, 256);
	else
		assert_int_equal(sig[0], 0x30);   /* DER ECDSA-Sig-Value */
	assert_int_equal(oc_verify_tbs(pub, msg, sizeof(msg), sig, siglen,
	    &err), 0);
	assert_int_equal(oc_verify_tbs(pub, msg, sizeof(msg) - 1, sig, siglen,
	    &err), OC_ECRYPTO);
	if (a == OC_ALGO_SM2) {
		/* Interoperable: OpenSSL verifies with the GM/T ID, and not
		 * with 3.0's default (empty) one. */
		assert_int_equal(raw_verify(pub, OC_SM2_DISTID, msg,
		    sizeof(msg), sig, siglen), 1);
		assert_int_not_equal(raw_verify(pub, NULL, msg, sizeof(msg),
		    sig, siglen), 1);
	} else {
		assert_int_equal(raw_verify(pub, NULL, msg, sizeof(msg), sig,
		    siglen), 1);
	}
	OPENSSL_free(sig);
	oc_signer_free(s);
	EVP_PKEY_free(key);
}

static void test_sign_ec(void **state) { (void)state; sign_verify(OC_ALGO_EC); }
static void test_sign_sm2(void **state) { (void)state; sign_verify(OC_ALGO_SM2); }
static void test_sign_rsa(void **state) { (void)state; sign_verify(OC_ALGO_RSA); }

static void
test_signer_edge_cases(void **state)
{
	static const unsigned char msg[] = "x";
	struct oc_err err;
	EVP_PKEY *k, *pub;
	struct oc_signer *s;
	unsigned char *sig = NULL;
	size_t siglen;

	(void)state;
	oc_err_clear(&err);
	/* A public-only key cannot sign. */
	k = oc_pkey_generate(OC_ALGO_EC, 0, NULL);
	{
		unsigned char *der = NULL;
		const unsigned char *p;
		int n = i2d_PUBKEY(k, &der);

		p = der;
		pub = d2i_PUBKEY(NULL, &p, n);
		OPENSSL_free(der);
	}
	assert_null(oc_signer_from_pkey(pub, &err));
	assert_non_null(strstr(err.msg, "no private part"));
	/* The signer's public key is public only. */
	s = oc_signer_from_pkey(k, &err);
	{
		BIGNUM *bn = NULL;

		assert_int_equal(EVP_PKEY_get_bn_param(oc_signer_get0_pubkey(s),
		    OSSL_PKEY_PARAM_PRIV_KEY, &bn), 0);
		ERR_clear_error();
	}
	oc_signer_free(s);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(k);
	/* P-384 is not one of ours. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_null(oc_signer_from_pkey(k, &err));
	EVP_PKEY_free(k);
	/* An "EC"-typed SM2-curve key signs SM2, not ECDSA. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "SM2");
	s = oc_signer_from_pkey(k, &err);
	assert_non_null(s);
	assert_int_equal(oc_signer_algo(s), OC_ALGO_SM2);
	assert_true(EVP_PKEY_is_a(oc_signer_get0_pubkey(s), "SM2"));
	assert_int_equal(oc_signer_sign(s, msg, 1, &sig, &siglen, &err), 0);
	assert_int_equal(raw_verify(oc_signer_get0_pubkey(s), OC_SM2_DISTID,
	    msg, 1, sig, siglen), 1);
	assert_int_equal(oc_verify_tbs(k, msg, 1, sig, siglen, &err), 0);
	OPENSSL_free(sig);
	oc_signer_free(s);
	EVP_PKEY_free(k);
	oc_signer_free(NULL);
	assert_int_equal(oc_signer_sign(NULL, msg, 1, &sig, &siglen, &err),
	    OC_EINVAL);
}

static const char *
tmpdir(void)
{
	static char dir[512];
	const char *base = getenv("ONECERT_TEST_TMP");

	snprintf(dir, sizeof(dir), "%s/pki-misc-%ld",
	    base != NULL ? base : "/tmp", (long)getpid());
	if (base != NULL)
		mkdir(base, 0700);
	mkdir(dir, 0700);
	return dir;
}

static void
test_signer_file(void **state)
{
	static const unsigned char msg[] = "file signer";
	struct oc_err err;
	EVP_PKEY *k = oc_pkey_generate(OC_ALGO_SM2, 0, NULL);
	struct oc_signer *s;
	char plain[600], enc[600];
	unsigned char *sig = NULL;
	size_t siglen;
	FILE *f;

	(void)state;
	oc_err_clear(&err);
	snprintf(plain, sizeof(plain), "%s/plain.pem", tmpdir());
	snprintf(enc, sizeof(enc), "%s/enc.pem", tmpdir());
	f = fopen(plain, "w");
	assert_true(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	f = fopen(enc, "w");
	assert_true(PEM_write_PKCS8PrivateKey(f, k, EVP_aes_256_cbc(), NULL, 0,
	    NULL, (void *)"s3cret"));
	fclose(f);

	s = oc_signer_file_open(plain, NULL, &err);
	assert_non_null(s);
	assert_int_equal(oc_signer_algo(s), OC_ALGO_SM2);
	assert_int_equal(oc_signer_sign(s, msg, sizeof(msg), &sig, &siglen,
	    &err), 0);
	assert_int_equal(oc_verify_tbs(k, msg, sizeof(msg), sig, siglen, &err),
	    0);
	OPENSSL_free(sig);
	oc_signer_free(s);
	s = oc_signer_file_open(enc, "s3cret", &err);
	assert_non_null(s);
	oc_signer_free(s);
	/* Wrong passphrase, no passphrase (never a terminal prompt). */
	assert_null(oc_signer_file_open(enc, "wrong", &err));
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	assert_null(oc_signer_file_open(enc, NULL, &err));
	assert_null(oc_signer_file_open("/nonexistent/key.pem", NULL, &err));
	assert_int_equal(err.code, OC_EIO);
	unlink(plain);
	unlink(enc);
	rmdir(tmpdir());
	EVP_PKEY_free(k);
}

/* ---- key checks ---- */

static EVP_PKEY *
rsa_with_e(int bits, unsigned int e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *k = NULL;

	BN_set_word(bn, e);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, bn), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(c);
	return k;
}

static void
expect_key(EVP_PKEY *k, enum oc_profile p, enum oc_algo ca, int rc,
    const char *needle)
{
	struct oc_err err;

	oc_err_clear(&err);
	assert_int_equal(oc_key_check(k, p, ca, &err), rc);
	if (needle != NULL && strstr(err.msg, needle) == NULL)
		fail_msg("'%s' lacks '%s'", err.msg, needle);
}

static void
test_key_check(void **state)
{
	EVP_PKEY *ec = oc_pkey_generate(OC_ALGO_EC, 0, NULL);
	EVP_PKEY *sm2 = oc_pkey_generate(OC_ALGO_SM2, 0, NULL);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *r1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *r2048 = oc_pkey_generate(OC_ALGO_RSA, 2048, NULL);
	EVP_PKEY *r4096 = oc_pkey_generate(OC_ALGO_RSA, 4096, NULL);
	EVP_PKEY *e3 = rsa_with_e(2048, 3);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	(void)state;
	expect_key(ec, OC_PROFILE_ENTERPRISE, OC_ALGO_EC, 0, NULL);
	expect_key(sm2, OC_PROFILE_ENTERPRISE, OC_ALGO_SM2, 0, NULL);
	expect_key(r2048, OC_PROFILE_ENTERPRISE, OC_ALGO_RSA, 0, NULL);
	expect_key(p384, OC_PROFILE_ENTERPRISE, OC_ALGO_EC, OC_EINVAL,
	    "secp384r1");
	expect_key(k256, OC_PROFILE_ENTERPRISE, OC_ALGO_EC, OC_EINVAL,
	    "secp256k1");
	expect_key(r1024, OC_PROFILE_ENTERPRISE, OC_ALGO_RSA, OC_EINVAL,
	    "RSA key size 1024");
	expect_key(r4096, OC_PROFILE_ENTERPRISE, OC_ALGO_RSA, OC_EINVAL,
	    "RSA key size 4096");
	expect_key(r4096, OC_PROFILE_ROOT, OC_ALGO_RSA, 0, NULL);
	expect_key(r4096, OC_PROFILE_ISSUING, OC_ALGO_RSA, 0, NULL);
	expect_key(e3, OC_PROFILE_ENTERPRISE, OC_ALGO_RSA, OC_EINVAL,
	    "exponent");
	/* CA and key algorithms must match. */
	expect_key(sm2, OC_PROFILE_ENTERPRISE, OC_ALGO_EC, OC_EINVAL,
	    "does not match the CA's algorithm ec");
	expect_key(ec, OC_PROFILE_ENTERPRISE, OC_ALGO_SM2, OC_EINVAL,
	    "does not match");
	expect_key(r2048, OC_PROFILE_TLS_SERVER, OC_ALGO_EC, OC_EINVAL,
	    "does not match");
	expect_key(ed, OC_PROFILE_ENTERPRISE, OC_ALGO_EC, OC_EINVAL,
	    "not allowed");
	expect_key(NULL, OC_PROFILE_ENTERPRISE, OC_ALGO_EC, OC_EINVAL, NULL);
	expect_key(ec, OC_PROFILE_NONE, OC_ALGO_EC, OC_EINVAL, NULL);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(sm2);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(r1024);
	EVP_PKEY_free(r2048);
	EVP_PKEY_free(r4096);
	EVP_PKEY_free(e3);
	EVP_PKEY_free(ed);
}

/* ---- identifiers ---- */

static void
test_unique_id(void **state)
{
	static const char crock[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char a[OC_UID_LEN + 1], b[OC_UID_LEN + 1], date[64];
	time_t now = time(NULL) + 8 * 3600;
	struct tm tm;

	(void)state;
	assert_int_equal(oc_unique_id_new(a), 0);
	assert_int_equal(oc_unique_id_new(b), 0);
	assert_int_equal(strlen(a), OC_UID_LEN);
	assert_string_not_equal(a, b);
	gmtime_r(&now, &tm);
	snprintf(date, sizeof(date), "OC%04d%02d%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday);
	/* (Could straddle midnight CST; then one of the two matches.) */
	assert_true(memcmp(a, date, 10) == 0 || memcmp(b, date, 10) == 0);
	for (int i = 10; i < OC_UID_LEN; i++)
		assert_non_null(strchr(crock, a[i]));
}

static void
expect_canon(const char *in, int rc, const char *want)
{
	char out[43];

	assert_int_equal(oc_serial_canon(in, out, NULL), rc);
	if (rc == 0)
		assert_string_equal(out, want);
}

static void
test_serial_text(void **state)
{
	ASN1_INTEGER *ai = ASN1_INTEGER_new();
	char out[43];
	BIGNUM *bn = NULL;

	(void)state;
	ASN1_INTEGER_set(ai, 0xff);
	assert_int_equal(oc_serial_hex(ai, out), 0);
	assert_string_equal(out, "FF");
	ASN1_INTEGER_set(ai, 0x0102);
	assert_int_equal(oc_serial_hex(ai, out), 0);
	assert_string_equal(out, "0102");
	ASN1_INTEGER_set(ai, -5);
	assert_int_equal(oc_serial_hex(ai, out), OC_EINVAL);
	BN_hex2bn(&bn, "0102030405060708090A0B0C0D0E0F1011121314");
	BN_to_ASN1_INTEGER(bn, ai);
	assert_int_equal(oc_serial_hex(ai, out), 0);
	assert_string_equal(out, "0102030405060708090A0B0C0D0E0F1011121314");
	BN_free(bn);
	ASN1_INTEGER_free(ai);

	expect_canon("0x00:ff:1a", 0, "FF1A");
	expect_canon("abc", 0, "0ABC");
	expect_canon("0X0ABC", 0, "0ABC");
	expect_canon("00", 0, "00");
	expect_canon("0102030405060708090a0b0c0d0e0f1011121314", 0,
	    "0102030405060708090A0B0C0D0E0F1011121314");
	expect_canon("000000102030405060708090a0b0c0d0e0f1011121314", 0,
	    "0102030405060708090A0B0C0D0E0F1011121314");
	expect_canon("FF0102030405060708090a0b0c0d0e0f1011121314", OC_EINVAL,
	    NULL);
	expect_canon("", OC_EINVAL, NULL);
	expect_canon("0x", OC_EINVAL, NULL);
	expect_canon(":", OC_EINVAL, NULL);
	expect_canon("12 34", OC_EINVAL, NULL);
	expect_canon("xyz", OC_EINVAL, NULL);
	expect_canon("-12", OC_EINVAL, NULL);
	expect_canon(NULL, OC_EINVAL, NULL);
}

static void
test_reasons(void **state)
{
	int c;

	(void)state;
	assert_int_equal(oc_reason_parse("keyCompromise", &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(oc_reason_parse("superseded", &c), 0);
	assert_int_equal(c, 4);
	assert_int_equal(oc_reason_parse("AACOMPROMISE", &c), 0);
	assert_int_equal(c, 10);
	assert_int_equal(oc_reason_parse("6", &c), 0);
	assert_int_equal(c, 6);
	assert_int_equal(oc_reason_parse("7", &c), OC_EINVAL);
	assert_int_equal(oc_reason_parse("11", &c), OC_EINVAL);
	assert_int_equal(oc_reason_parse("lost", &c), OC_EINVAL);
	assert_string_equal(oc_reason_name(5), "cessationOfOperation");
	assert_null(oc_reason_name(7));
	assert_null(oc_reason_name(-1));
	assert_null(oc_reason_name(11));
}

/* ---- DER envelope ---- */

static void
test_der_signed(void **state)
{
	X509_ALGOR *alg = oc_algo_sigalg_new(OC_ALGO_EC);
	unsigned char tbs[300], sig[5] = { 1, 2, 0, 0, 0 }, *out = NULL;
	size_t n = 0;

	(void)state;
	/* 300-byte TBS: long-form lengths; a signature ending in zero
	 * octets keeps them (OpenSSL's BIT STRING encoder would not). */
	tbs[0] = 0x30;
	tbs[1] = 0x82;
	tbs[2] = 0x01;
	tbs[3] = 0x28;
	memset(tbs + 4, 0x05, sizeof(tbs) - 4);
	assert_int_equal(oc_der_signed(tbs, sizeof(tbs), alg, sig, sizeof(sig),
	    &out, &n), 0);
	assert_int_equal(n, 4 + 300 + 12 + 2 + 1 + 5);
	assert_memory_equal(out, "\x30\x82\x01\x40", 4);
	assert_memory_equal(out + 4, tbs, sizeof(tbs));
	assert_memory_equal(out + n - 8, "\x03\x06\x00\x01\x02\x00\x00\x00", 8);
	OPENSSL_free(out);
	assert_int_equal(oc_der_signed(tbs, sizeof(tbs), alg, sig, 0, &out,
	    &n), OC_EINVAL);
	X509_ALGOR_free(alg);
}

/* ---- extension strings ---- */

static X509 *
cert_with_ext(const char *oid, const unsigned char *val, int len)
{
	X509 *x = X509_new();
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	ASN1_OCTET_STRING_set(v, val, len);
	e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(v);
	ASN1_OBJECT_free(o);
	return x;
}

static void
expect_ext(const char *oid, const void *val, int len, int rc,
    const char *want)
{
	X509 *x = cert_with_ext(oid, val, len);
	char out[64];

	assert_int_equal(oc_cert_ext_string(x, oid, out, sizeof(out), NULL),
	    rc);
	if (rc == 0)
		assert_string_equal(out, want);
	else
		assert_string_equal(out, "");
	X509_free(x);
}

static void
test_ext_strings(void **state)
{
	const char *id = OC_OID_GMT_IDENTITY_CODE;

	(void)state;
	/* IdentityCode: [0] EXPLICIT PrintableString, [0] IMPLICIT,
	 * [1] EXPLICIT UTF8String, [2] IMPLICIT. */
	expect_ext(id, "\xa0\x05\x13\x03" "123", 7, 0, "123");
	expect_ext(id, "\x80\x03" "123", 5, 0, "123");
	expect_ext(id, "\xa1\x05\x0c\x03" "abc", 7, 0, "abc");
	expect_ext(id, "\x82\x02" "P1", 4, 0, "P1");
	/* Plain strings of each kind. */
	expect_ext(OC_OID_GMT_ORG_CODE, "\x13\x03" "ABC", 5, 0, "ABC");
	expect_ext(OC_OID_GMT_ORG_CODE, "\x0c\x06" "\xe4\xb8\x8a\xe6\xb5\xb7",
	    8, 0, "上海");
	expect_ext(OC_OID_GMT_ORG_CODE, "\x16\x03" "xyz", 5, 0, "xyz");
	expect_ext(OC_OID_GMT_ORG_CODE, "\x1e\x04\x4e\x0a\x6d\x77", 6, 0,
	    "上海");   /* BMPString */
	/* SHECA-style: OCTET STRING of text, or of a PrintableString. */
	expect_ext(OC_OID_SHECA_UNIQUE_ID, "\x04\x04" "U123", 6, 0, "U123");
	expect_ext(OC_OID_SHECA_UNIQUE_ID, "\x04\x06\x13\x04" "U123", 8, 0,
	    "U123");
	/* Refused: an INTEGER, a trailing byte, a control character, a
	 * truncated value, a NUL, invalid UTF-8. */
	expect_ext(OC_OID_GMT_ORG_CODE, "\x02\x01\x05", 3, OC_EINVAL, NULL);
	expect_ext(OC_OID_GMT_ORG_CODE, "\x13\x01" "A" "B", 4, OC_EINVAL, NULL);
	expect_ext(OC_OID_GMT_ORG_CODE, "\x0c\x02" "A\n", 4, OC_EINVAL, NULL);
	expect_ext(OC_OID_GMT_ORG_CODE, "\x13\x05" "AB", 4, OC_EINVAL, NULL);
	expect_ext(OC_OID_GMT_ORG_CODE, "\x13\x03" "A\0B", 5, OC_EINVAL, NULL);
	expect_ext(OC_OID_GMT_ORG_CODE, "\x0c\x02\xc3\x28", 4, OC_EINVAL, NULL);
	expect_ext(id, "\xa5\x05\x13\x03" "123", 7, OC_EINVAL, NULL);
	/* Absent, a bad OID, too small a buffer. */
	{
		X509 *x = cert_with_ext(OC_OID_GMT_ORG_CODE,
		    (const unsigned char *)"\x13\x03" "ABC", 5);
		char out[4];

		assert_int_equal(oc_cert_ext_string(x, OC_OID_UNIQUE_ID, out,
		    sizeof(out), NULL), OC_ENOTFOUND);
		assert_int_equal(oc_cert_ext_string(x, "not an oid", out,
		    sizeof(out), NULL), OC_EINVAL);
		assert_int_equal(oc_cert_ext_string(x, OC_OID_GMT_ORG_CODE, out,
		    3, NULL), OC_ETOOBIG);
		assert_int_equal(oc_cert_ext_string(x, OC_OID_GMT_ORG_CODE, out,
		    4, NULL), 0);
		assert_string_equal(out, "ABC");
		X509_free(x);
	}
}

/* ---- certificate parsing and loading ---- */

static void
write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static void
test_cert_parse(void **state)
{
	struct hier h;
	struct oc_err err;
	unsigned char *der = NULL;
	char *pem, path[600];
	long plen;
	int n;
	BIO *b = BIO_new(BIO_s_mem());
	X509 *x;
	STACK_OF(X509) *sk;

	(void)state;
	oc_err_clear(&err);
	hier_make(&h, OC_ALGO_EC);
	n = i2d_X509(h.root, &der);
	PEM_write_bio_X509(b, h.root);
	{
		char *p;

		plen = BIO_get_mem_data(b, &p);
		pem = malloc((size_t)plen);
		memcpy(pem, p, (size_t)plen);
	}

	x = oc_cert_parse(der, (size_t)n, &err);
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, h.root), 0);
	X509_free(x);
	x = oc_cert_parse((unsigned char *)pem, (size_t)plen, &err);
	assert_non_null(x);
	X509_free(x);
	/* Trailing garbage after DER. */
	{
		unsigned char *d2 = OPENSSL_malloc((size_t)n + 2);

		memcpy(d2, der, (size_t)n);
		d2[n] = 0x30;
		d2[n + 1] = 0x00;
		assert_null(oc_cert_parse(d2, (size_t)n + 2, &err));
		assert_non_null(strstr(err.msg, "trailing data"));
		OPENSSL_free(d2);
	}
	assert_null(oc_cert_parse((const unsigned char *)"\x30\x03\x02\x01\x01",
	    5, &err));
	assert_non_null(strstr(err.msg, "malformed certificate"));

	/* Files: a bundle with text between blocks; one certificate; a
	 * bundle given to the one-certificate loader; a private key in a
	 * bundle; an empty file; a DER file. */
	snprintf(path, sizeof(path), "%s/bundle.pem", tmpdir());
	PEM_write_bio_X509(b, h.ca);
	{
		char *all;
		long alen = BIO_get_mem_data(b, &all);
		char *txt = malloc((size_t)alen + 64);

		memcpy(txt, "subject=root\n", 13);
		memcpy(txt + 13, all, (size_t)alen);
		write_file(path, txt, (size_t)alen + 13);
		free(txt);
	}
	sk = oc_certs_load_file(path, &err);
	assert_non_null(sk);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), h.ca), 0);
	sk_X509_pop_free(sk, X509_free);
	assert_null(oc_cert_load_file(path, &err));
	assert_non_null(strstr(err.msg, "holds 2 certificates"));

	write_file(path, pem, (size_t)plen);
	x = oc_cert_load_file(path, &err);
	assert_non_null(x);
	X509_free(x);
	write_file(path, der, (size_t)n);
	x = oc_cert_load_file(path, &err);
	assert_non_null(x);
	X509_free(x);
	{
		BIO *kb = BIO_new(BIO_s_mem());
		char *kd;
		long kl;

		PEM_write_bio_X509(kb, h.root);
		PEM_write_bio_PrivateKey(kb, h.root_key, NULL, NULL, 0, NULL,
		    NULL);
		kl = BIO_get_mem_data(kb, &kd);
		write_file(path, kd, (size_t)kl);
		assert_null(oc_certs_load_file(path, &err));
		assert_non_null(strstr(err.msg, "not a certificate"));
		BIO_free(kb);
	}
	write_file(path, "", 0);
	assert_null(oc_certs_load_file(path, &err));
	unlink(path);
	rmdir(tmpdir());

	OPENSSL_free(der);
	free(pem);
	BIO_free(b);
	hier_free(&h);
}

static void
test_chain_verify_args(void **state)
{
	struct oc_err err;
	STACK_OF(X509) *empty = sk_X509_new_null();
	X509 *x = X509_new();

	(void)state;
	assert_int_equal(oc_chain_verify(NULL, NULL, empty, NULL, 0, 0, &err),
	    OC_EINVAL);
	assert_int_equal(oc_chain_verify(x, NULL, empty, NULL, 0, 0, &err),
	    OC_EINVAL);
	assert_int_equal(oc_chain_verify(x, NULL, NULL, NULL, 0, 0, &err),
	    OC_EINVAL);
	X509_free(x);
	sk_X509_free(empty);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_algo),
		cmocka_unit_test(test_sign_ec),
		cmocka_unit_test(test_sign_sm2),
		cmocka_unit_test(test_sign_rsa),
		cmocka_unit_test(test_signer_edge_cases),
		cmocka_unit_test(test_signer_file),
		cmocka_unit_test(test_key_check),
		cmocka_unit_test(test_unique_id),
		cmocka_unit_test(test_serial_text),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_der_signed),
		cmocka_unit_test(test_ext_strings),
		cmocka_unit_test(test_cert_parse),
		cmocka_unit_test(test_chain_verify_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pki_csr.c — CSRs: built by our signer and parsed back for each
 * algorithm, issued from, made by OpenSSL itself, and refused for each
 * kind of bad input with its own message.
 */
#include "pki_helpers.h"

#include <stdlib.h>

#include <openssl/core_names.h>

#include "onecert/error.h"

static unsigned char *
csr_der(X509_REQ *r, int *n)
{
	unsigned char *der = NULL;

	*n = i2d_X509_REQ(r, &der);
	assert_true(*n > 0);
	return der;
}

static char *
csr_pem(X509_REQ *r, size_t *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *copy;
	long len;

	assert_true(PEM_write_bio_X509_REQ(b, r));
	len = BIO_get_mem_data(b, &data);
	copy = malloc((size_t)len + 1);
	memcpy(copy, data, (size_t)len);
	copy[len] = '\0';
	*n = (size_t)len;
	BIO_free(b);
	return copy;
}

static void
expect_csr_refused(const unsigned char *data, size_t len, int code,
    const char *needle)
{
	struct oc_err err;
	X509_REQ *r;

	oc_err_clear(&err);
	r = oc_csr_parse(data, len, &err);
	if (r != NULL)
		fail_msg("CSR accepted, expected '%s'", needle);
	assert_int_equal(err.code, code);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

/* One byte of X of the EC public key in the request der changed, so the
 * point is not on the curve: refused as a key, before its signature is
 * looked at.  Changed back, der parses again. */
static void
expect_off_curve_refused(unsigned char *der, int n)
{
	struct oc_err err;
	X509_REQ *back;
	int i;

	for (i = 0; i + 4 < n; i++)
		if (memcmp(der + i, "\x03\x42\x00\x04", 4) == 0)
			break;
	assert_true(i + 4 + 64 <= n);
	der[i + 10] ^= 0x01;
	expect_csr_refused(der, (size_t)n, OC_EINVAL,
	    "public key cannot be decoded");
	der[i + 10] ^= 0x01;
	back = oc_csr_parse(der, (size_t)n, &err);
	assert_non_null(back);
	X509_REQ_free(back);
}

static void
round_trip(enum oc_algo a)
{
	struct oc_err err;
	struct oc_cert_subject subj = { .c = "CN", .o = T_COMPANY,
	    .cn = T_COMPANY };
	EVP_PKEY *key;
	struct oc_signer *s;
	X509_REQ *req, *back;
	unsigned char *der;
	char *pem, buf[128];
	size_t plen;
	int n;

	oc_err_clear(&err);
	key = oc_pkey_generate(a, 0, &err);
	s = oc_signer_from_pkey(key, &err);
	assert_non_null(s);
	req = oc_csr_build(&subj, s, &err);
	if (req == NULL)
		fail_msg("%s: %s | %s", oc_algo_name(a), err.msg, err.detail);
	assert_int_equal(X509_REQ_get_signature_nid(req), a == OC_ALGO_EC ?
	    NID_ecdsa_with_SHA256 : a == OC_ALGO_SM2 ? NID_SM2_with_SM3 :
	    NID_sha256WithRSAEncryption);

	/* DER and PEM both parse; the key and subject survive.  P-256 and
	 * SM2 keys come by the short road (csr.c): a key with a legacy ASN.1
	 * method, for SM2 one of type "SM2". */
	der = csr_der(req, &n);
	back = oc_csr_parse(der, (size_t)n, &err);
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(back), key), 1);
	assert_int_equal(oc_algo_of_pkey(X509_REQ_get0_pubkey(back)), a);
	if (a != OC_ALGO_RSA)
		assert_non_null(EVP_PKEY_get0_asn1(X509_REQ_get0_pubkey(back)));
	if (a == OC_ALGO_SM2)
		assert_true(EVP_PKEY_is_a(X509_REQ_get0_pubkey(back), "SM2"));
	{
		X509_NAME *nm = X509_REQ_get_subject_name(back);
		int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
		unsigned char *u = NULL;

		assert_true(i >= 0);
		assert_true(ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(nm, i))) > 0);
		assert_string_equal((char *)u, T_COMPANY);
		OPENSSL_free(u);
	}
	X509_REQ_free(back);
	pem = csr_pem(req, &plen);
	back = oc_csr_parse((unsigned char *)pem, plen, &err);
	assert_non_null(back);
	X509_REQ_free(back);

	/* Issue from the CSR's key. */
	{
		struct hier h;
		struct oc_cert_template t;
		char uid[OC_UID_LEN + 1];
		X509 *x;

		hier_make(&h, a);
		back = oc_csr_parse(der, (size_t)n, &err);
		leaf_template(&t, OC_PROFILE_ENTERPRISE,
		    X509_REQ_get0_pubkey(back), &h, uid);
		x = oc_cert_issue(&t, &h.ca_iss, &err);
		if (x == NULL)
			fail_msg("%s", err.msg);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
		assert_int_equal(verify3(&h, x, NULL, 0, &err), 0);
		assert_int_equal(oc_cert_subject_string(x, NID_commonName, buf,
		    sizeof(buf)), 0);
		X509_free(x);
		X509_REQ_free(back);
		hier_free(&h);
	}

	/* A flipped bit in the signature, and one in the subject. */
	der[n - 2] ^= 0x01;
	expect_csr_refused(der, (size_t)n, OC_EINVAL,
	    "CSR signature does not verify");
	der[n - 2] ^= 0x01;
	{
		unsigned char *p = der;
		int i;

		/* Find the UTF-8 company name and change one byte of it. */
		for (i = 0; i < n - 3; i++)
			if (memcmp(p + i, "上海", 6) == 0)
				break;
		assert_true(i < n - 3);
		p[i + 2] ^= 0x01;
		expect_csr_refused(der, (size_t)n, OC_EINVAL,
		    "CSR signature does not verify");
		p[i + 2] ^= 0x01;
	}
	/* Undamaged again: accepted (the test damaged what it meant to). */
	back = oc_csr_parse(der, (size_t)n, &err);
	assert_non_null(back);
	X509_REQ_free(back);

	free(pem);
	OPENSSL_free(der);
	X509_REQ_free(req);
	oc_signer_free(s);
	EVP_PKEY_free(key);
}

static void test_csr_ec(void **state) { (void)state; round_trip(OC_ALGO_EC); }
static void test_csr_sm2(void **state) { (void)state; round_trip(OC_ALGO_SM2); }
static void test_csr_rsa(void **state) { (void)state; round_trip(OC_ALGO_RSA); }

/* CSRs signed by OpenSSL's own X509_REQ_sign_ctx.  SM2 with the ID: good;
 * SM2 with 3.0's default empty ID: refused. */
static X509_REQ *
openssl_csr(EVP_PKEY *key, const EVP_MD *md, bool distid)
{
	X509_REQ *r = X509_REQ_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);

	X509_REQ_set_version(r, X509_REQ_VERSION_1);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
	    MBSTRING_UTF8, (const unsigned char *)"测试", -1, -1, 0);
	X509_REQ_set_pubkey(r, key);
	if (distid)
		assert_true(EVP_PKEY_CTX_set1_id(pc, OC_SM2_DISTID,
		    OC_SM2_DISTID_LEN) > 0);
	EVP_MD_CTX_set_pkey_ctx(m, pc);
	assert_int_equal(EVP_DigestSignInit(m, NULL, md, NULL, key), 1);
	assert_true(X509_REQ_sign_ctx(r, m) > 0);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	return r;
}

static void
test_csr_from_openssl(void **state)
{
	struct oc_err err;
	EVP_PKEY *ec = oc_pkey_generate(OC_ALGO_EC, 0, NULL);
	EVP_PKEY *sm2 = oc_pkey_generate(OC_ALGO_SM2, 0, NULL);
	X509_REQ *r, *back;
	unsigned char *der;
	int n;

	(void)state;
	oc_err_clear(&err);
	r = openssl_csr(ec, EVP_sha384(), false);
	der = csr_der(r, &n);
	back = oc_csr_parse(der, (size_t)n, &err);
	assert_non_null(back);
	X509_REQ_free(back);
	OPENSSL_free(der);
	X509_REQ_free(r);

	r = openssl_csr(sm2, EVP_sm3(), true);
	der = csr_der(r, &n);
	back = oc_csr_parse(der, (size_t)n, &err);
	if (back == NULL)
		fail_msg("%s | %s", err.msg, err.detail);
	X509_REQ_free(back);
	OPENSSL_free(der);
	X509_REQ_free(r);

	r = openssl_csr(sm2, EVP_sm3(), false);
	der = csr_der(r, &n);
	expect_csr_refused(der, (size_t)n, OC_EINVAL,
	    "CSR signature does not verify");
	OPENSSL_free(der);
	X509_REQ_free(r);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(sm2);
}

static void
test_csr_bad_input(void **state)
{
	struct oc_err err;
	EVP_PKEY *key = oc_pkey_generate(OC_ALGO_EC, 0, NULL);
	struct oc_signer *s = oc_signer_from_pkey(key, NULL);
	X509_REQ *req = oc_csr_build(NULL, s, &err), *back;
	unsigned char *der, *big;
	char *pem, *buf;
	size_t plen;
	int n;

	(void)state;
	assert_non_null(req);     /* an empty subject is fine */
	der = csr_der(req, &n);
	pem = csr_pem(req, &plen);
	buf = malloc(plen + 64);

	/* Too big. */
	big = calloc(1, 64 * 1024 + 1);
	memcpy(big, der, (size_t)n);
	expect_csr_refused(big, 64 * 1024 + 1, OC_ETOOBIG, "64 KiB");
	/* Empty, garbage. */
	expect_csr_refused((const unsigned char *)"", 0, OC_EINVAL, "empty");
	expect_csr_refused((const unsigned char *)"hello world", 11, OC_EINVAL,
	    "neither valid PEM nor DER");
	/* DER with one trailing byte. */
	memcpy(big, der, (size_t)n);
	big[n] = 0x00;
	expect_csr_refused(big, (size_t)n + 1, OC_EINVAL, "trailing data");
	/* DER cut short. */
	expect_csr_refused(der, (size_t)n - 1, OC_EINVAL,
	    "neither valid PEM nor DER");
	/* A P-256 point that is not on the curve (one byte of X changed):
	 * refused as a key, before its signature is looked at. */
	expect_off_curve_refused(der, n);
	/* PEM with text after it; with whitespace after it is fine. */
	memcpy(buf, pem, plen);
	memcpy(buf + plen, "garbage\n", 8);
	expect_csr_refused((unsigned char *)buf, plen + 8, OC_EINVAL,
	    "trailing data");
	memcpy(buf + plen, " \n\n", 3);
	back = oc_csr_parse((unsigned char *)buf, plen + 3, &err);
	assert_non_null(back);
	X509_REQ_free(back);
	/* Two CSRs in one PEM: the second is trailing data. */
	{
		char *two = malloc(2 * plen);

		memcpy(two, pem, plen);
		memcpy(two + plen, pem, plen);
		expect_csr_refused((unsigned char *)two, 2 * plen, OC_EINVAL,
		    "trailing data");
		free(two);
	}
	/* The wrong PEM label; the old label is accepted. */
	{
		char *lab = malloc(plen + 64);
		const char *p;
		size_t m;

		m = (size_t)snprintf(lab, plen + 64, "%s", pem);
		/* CERTIFICATE REQUEST → CERTIFICATE XXXXXXX */
		while ((p = strstr(lab, "CERTIFICATE REQUEST")) != NULL)
			memcpy((char *)p + 12, "XXXXXXX", 7);
		expect_csr_refused((unsigned char *)lab, m, OC_EINVAL,
		    "PEM label");
		m = (size_t)snprintf(lab, plen + 64, "%s", pem);
		{
			/* Rebuild with the old NEW CERTIFICATE REQUEST label. */
			BIO *b = BIO_new(BIO_s_mem());
			char *data;
			long len;

			PEM_write_bio_X509_REQ_NEW(b, req);
			len = BIO_get_mem_data(b, &data);
			assert_non_null(strstr(data, "NEW CERTIFICATE REQUEST"));
			back = oc_csr_parse((unsigned char *)data, (size_t)len,
			    &err);
			assert_non_null(back);
			X509_REQ_free(back);
			BIO_free(b);
		}
		(void)m;
		free(lab);
	}
	/* Broken base64 inside PEM. */
	{
		char *b64 = strdup(pem);
		char *mid = strchr(b64, '\n') + 5;

		*mid = '*';
		expect_csr_refused((unsigned char *)b64, plen, OC_EINVAL,
		    "malformed PEM");
		free(b64);
	}
	/* Version 2 (INTEGER 1): the first INTEGER of the request info. */
	{
		unsigned char *v = OPENSSL_memdup(der, (size_t)n);
		int i;

		for (i = 0; i < n - 3; i++)
			if (v[i] == 0x02 && v[i + 1] == 0x01 && v[i + 2] == 0x00)
				break;
		assert_true(i < n - 3);
		v[i + 2] = 0x01;
		expect_csr_refused(v, (size_t)n, OC_EINVAL, "version");
		OPENSSL_free(v);
	}

	free(big);
	free(buf);
	free(pem);
	OPENSSL_free(der);
	X509_REQ_free(req);
	oc_signer_free(s);
	EVP_PKEY_free(key);
}

/* On the short road (P-256, SM2) a point that is not on the curve is
 * refused as a key, and a request whose signature was made over other
 * bytes, or (SM2) without the distinguishing ID, is refused. */
static void
short_road_refused(enum oc_algo a)
{
	struct oc_err err;
	EVP_PKEY *key = oc_pkey_generate(a, 0, NULL);
	struct oc_signer *s = oc_signer_from_pkey(key, NULL);
	X509_REQ *req = oc_csr_build(NULL, s, &err);
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mctx;
	unsigned char *der;
	int n;

	assert_non_null(req);
	der = csr_der(req, &n);
	expect_off_curve_refused(der, n);
	OPENSSL_free(der);

	/* Signed by OpenSSL with the key but without the ID (SM2: Z over an
	 * empty ID): refused. */
	if (a == OC_ALGO_SM2) {
		assert_non_null(mctx = EVP_MD_CTX_new());
		assert_int_equal(EVP_DigestSignInit(mctx, &pctx, EVP_sm3(),
		    NULL, key), 1);
		assert_true(X509_REQ_sign_ctx(req, mctx) > 0);
		EVP_MD_CTX_free(mctx);
		der = csr_der(req, &n);
		expect_csr_refused(der, (size_t)n, OC_EINVAL,
		    "CSR signature does not verify");
		OPENSSL_free(der);
	}

	X509_REQ_free(req);
	oc_signer_free(s);
	EVP_PKEY_free(key);
}

static void
test_csr_short_road_refused(void **state)
{
	(void)state;
	short_road_refused(OC_ALGO_EC);
	short_road_refused(OC_ALGO_SM2);
}

/*
 * Requests built here byte by byte, so that the public key's BIT STRING
 * can hold what no encoder would write.  DER throughout: a tag, a length
 * (short or long form) and the contents.
 */
struct der {
	unsigned char b[4096];
	size_t n;
};

static void
der_put(struct der *d, const void *p, size_t n)
{
	assert_true(d->n + n <= sizeof(d->b));
	memcpy(d->b + d->n, p, n);
	d->n += n;
}

static void
der_tlv(struct der *d, unsigned char tag, const void *p, size_t n)
{
	unsigned char h[4] = { tag };
	size_t hn;

	if (n < 0x80) {
		h[1] = (unsigned char)n;
		hn = 2;
	} else if (n < 0x100) {
		h[1] = 0x81;
		h[2] = (unsigned char)n;
		hn = 3;
	} else {
		assert_true(n < 0x10000);
		h[1] = 0x82;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hn = 4;
	}
	der_put(d, h, hn);
	der_put(d, p, n);
}

/* The DER of an OpenSSL object through its i2d function, appended. */
#define DER_I2D(d, fn, obj) do {                                        \
	unsigned char *der_ = NULL;                                     \
	int n_ = fn(obj, &der_);                                        \
	assert_true(n_ > 0);                                            \
	der_put((d), der_, (size_t)n_);                                 \
	OPENSSL_free(der_);                                             \
} while (0)

/* The CertificationRequestInfo of tmpl (version, subject, no attributes)
 * with the subject public key point pt (the BIT STRING's contents after
 * its unused-bits byte) on tmpl's curve. */
static void
cri_with_point(struct der *cri, X509_REQ *tmpl, const unsigned char *pt,
    size_t ptlen)
{
	static const unsigned char v1[] = { 0x02, 0x01, 0x00 };
	static const unsigned char no_attrs[] = { 0xa0, 0x00 };
	struct der spki = { .n = 0 }, in = { .n = 0 }, bits = { .n = 0 };
	ASN1_OBJECT *kalg;
	const unsigned char *pk;
	X509_ALGOR *pa;
	int pklen;

	assert_true(X509_PUBKEY_get0_param(&kalg, &pk, &pklen, &pa,
	    X509_REQ_get_X509_PUBKEY(tmpl)));
	DER_I2D(&spki, i2d_X509_ALGOR, pa);
	der_put(&bits, "\x00", 1);
	der_put(&bits, pt, ptlen);
	der_tlv(&spki, 0x03, bits.b, bits.n);
	der_put(&in, v1, sizeof(v1));
	DER_I2D(&in, i2d_X509_NAME, X509_REQ_get_subject_name(tmpl));
	der_tlv(&in, 0x30, spki.b, spki.n);
	der_put(&in, no_attrs, sizeof(no_attrs));
	cri->n = 0;
	der_tlv(cri, 0x30, in.b, in.n);
}

/* A CertificationRequest: cri, tmpl's signature algorithm, and sig. */
static void
csr_assemble(struct der *csr, const struct der *cri, X509_REQ *tmpl,
    const unsigned char *sig, size_t siglen)
{
	struct der in = { .n = 0 }, bits = { .n = 0 };
	const ASN1_BIT_STRING *osig;
	const X509_ALGOR *alg;

	X509_REQ_get0_signature(tmpl, &osig, &alg);
	der_put(&in, cri->b, cri->n);
	DER_I2D(&in, i2d_X509_ALGOR, alg);
	der_put(&bits, "\x00", 1);
	der_put(&bits, sig, siglen);
	der_tlv(&in, 0x03, bits.b, bits.n);
	csr->n = 0;
	der_tlv(csr, 0x30, in.b, in.n);
}

/* key's signature over cri, as oc_csr_build signs (P-256: ECDSA with
 * SHA-256; SM2: SM3 with the GM/T default ID). */
static size_t
sign_cri(EVP_PKEY *key, enum oc_algo a, const struct der *cri,
    unsigned char *sig, size_t max)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	size_t n = max;

	if (a == OC_ALGO_SM2)
		assert_true(EVP_PKEY_CTX_set1_id(pc, OC_SM2_DISTID,
		    OC_SM2_DISTID_LEN) > 0);
	EVP_MD_CTX_set_pkey_ctx(m, pc);
	assert_int_equal(EVP_DigestSignInit(m, NULL, a == OC_ALGO_SM2 ?
	    EVP_sm3() : EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &n, cri->b, cri->n), 1);
	EVP_MD_CTX_free(m);
	EVP_PKEY_CTX_free(pc);
	return n;
}

/* key's public point, uncompressed (04, X, Y): the octets after the BIT
 * STRING's unused-bits byte. */
static size_t
point_of(EVP_PKEY *key, unsigned char *out, size_t max)
{
	size_t n = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(key,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out, max, &n), 1);
	assert_int_equal(n, 65);
	assert_int_equal(out[0], 0x04);
	return n;
}

/*
 * The point at infinity, a point off the curve and a compressed point, in
 * requests that are correct DER but for the key.  csr.c reads the key
 * before it looks at the signature, so the infinity and off-curve ones are
 * refused as keys ("cannot be decoded"), not as signatures, even though
 * their signature was made over other bytes; the compressed point is a key
 * like any other (no special case): a request signed over it is accepted
 * with the same key.
 */
static void
short_road_points(enum oc_algo a)
{
	static const unsigned char infinity[] = { 0x00 };
	struct oc_err err;
	EVP_PKEY *key = oc_pkey_generate(a, 0, NULL);
	struct oc_signer *s = oc_signer_from_pkey(key, NULL);
	X509_REQ *tmpl = oc_csr_build(NULL, s, &err), *back;
	const ASN1_BIT_STRING *osig;
	const X509_ALGOR *alg;
	struct der cri, csr;
	unsigned char *der, pt[133], sig[160];
	size_t ptn, sign;
	int n;

	assert_non_null(tmpl);
	X509_REQ_get0_signature(tmpl, &osig, &alg);

	/* The builder itself: with the real point and signature it gives
	 * back exactly the request oc_csr_build made, which is accepted. */
	ptn = point_of(key, pt, sizeof(pt));
	cri_with_point(&cri, tmpl, pt, ptn);
	csr_assemble(&csr, &cri, tmpl, ASN1_STRING_get0_data(osig),
	    (size_t)ASN1_STRING_length(osig));
	der = csr_der(tmpl, &n);
	assert_int_equal(csr.n, (size_t)n);
	assert_memory_equal(csr.b, der, csr.n);
	OPENSSL_free(der);
	back = oc_csr_parse(csr.b, csr.n, &err);
	assert_non_null(back);
	X509_REQ_free(back);

	/* The one-byte 0x00 encoding: no key at all.  The signature is the
	 * template's, and would not verify either; the message says the key
	 * was refused first. */
	cri_with_point(&cri, tmpl, infinity, sizeof(infinity));
	csr_assemble(&csr, &cri, tmpl, ASN1_STRING_get0_data(osig),
	    (size_t)ASN1_STRING_length(osig));
	expect_csr_refused(csr.b, csr.n, OC_EINVAL,
	    "public key cannot be decoded");
	/* … and so is it when the signature is the key's own over these
	 * very bytes (there is no key it could be checked with) */
	sign = sign_cri(key, a, &cri, sig, sizeof(sig));
	csr_assemble(&csr, &cri, tmpl, sig, sign);
	expect_csr_refused(csr.b, csr.n, OC_EINVAL,
	    "public key cannot be decoded");

	/* Off the curve: Y changed by one, signed over by the key. */
	pt[64] ^= 0x01;
	cri_with_point(&cri, tmpl, pt, ptn);
	sign = sign_cri(key, a, &cri, sig, sizeof(sig));
	csr_assemble(&csr, &cri, tmpl, sig, sign);
	expect_csr_refused(csr.b, csr.n, OC_EINVAL,
	    "public key cannot be decoded");

	/* Compressed (02 or 03 for Y's parity, then X; SEC 1 2.3.3):
	 * decoded to the same key, and the request, signed over that
	 * encoding, verifies. */
	ptn = point_of(key, pt, sizeof(pt));
	pt[0] = (unsigned char)(0x02 | (pt[64] & 0x01));
	ptn = 33;
	cri_with_point(&cri, tmpl, pt, ptn);
	sign = sign_cri(key, a, &cri, sig, sizeof(sig));
	csr_assemble(&csr, &cri, tmpl, sig, sign);
	oc_err_clear(&err);
	back = oc_csr_parse(csr.b, csr.n, &err);
	if (back == NULL)
		fail_msg("compressed point refused: %s | %s", err.msg, err.detail);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(back), key), 1);
	assert_int_equal(oc_algo_of_pkey(X509_REQ_get0_pubkey(back)), a);
	X509_REQ_free(back);
	/* The other parity names the point's negative, on the curve too:
	 * a key that decodes, so that request (the same signature, over
	 * other bytes, by another key) is refused by its signature. */
	pt[0] ^= 0x01;
	cri_with_point(&cri, tmpl, pt, ptn);
	csr_assemble(&csr, &cri, tmpl, sig, sign);
	expect_csr_refused(csr.b, csr.n, OC_EINVAL,
	    "CSR signature does not verify");

	X509_REQ_free(tmpl);
	oc_signer_free(s);
	EVP_PKEY_free(key);
}

static void
test_csr_short_road_points(void **state)
{
	(void)state;
	short_road_points(OC_ALGO_EC);
	short_road_points(OC_ALGO_SM2);
}

/* CSRs made by the openssl command (tests/unit/data): `openssl req -sm3
 * -sigopt distid:1234567812345678` is accepted; the same without the ID
 * (OpenSSL 3.0 then signs with an empty ID) is refused; a P-256 one with a
 * UTF-8 subject is accepted. */
static X509_REQ *
parse_data_file(const char *name, struct oc_err *err)
{
	const char *src = getenv("ONECERT_SOURCE_DIR");
	char path[1024];
	unsigned char buf[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/unit/data/%s",
	    src != NULL ? src : ONECERT_SOURCE_DIR, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return oc_csr_parse(buf, n, err);
}

static void
test_csr_from_openssl_command(void **state)
{
	struct oc_err err;
	X509_REQ *r;

	(void)state;
	oc_err_clear(&err);
	r = parse_data_file("csr-openssl-sm2-distid.pem", &err);
	if (r == NULL)
		fail_msg("%s | %s", err.msg, err.detail);
	assert_int_equal(oc_algo_of_pkey(X509_REQ_get0_pubkey(r)),
	    OC_ALGO_SM2);
	X509_REQ_free(r);
	r = parse_data_file("csr-openssl-sm2-noid.pem", &err);
	assert_null(r);
	assert_non_null(strstr(err.msg, "CSR signature does not verify"));
	r = parse_data_file("csr-openssl-ec.pem", &err);
	assert_non_null(r);
	assert_int_equal(oc_algo_of_pkey(X509_REQ_get0_pubkey(r)), OC_ALGO_EC);
	X509_REQ_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_ec),
		cmocka_unit_test(test_csr_sm2),
		cmocka_unit_test(test_csr_rsa),
		cmocka_unit_test(test_csr_from_openssl),
		cmocka_unit_test(test_csr_bad_input),
		cmocka_unit_test(test_csr_from_openssl_command),
		cmocka_unit_test(test_csr_short_road_refused),
		cmocka_unit_test(test_csr_short_road_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

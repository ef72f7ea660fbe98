/*
 * fuzz_csr.c — oc_csr_parse, the first thing an applicant's upload
 * reaches: PEM or DER, SM2 / EC / RSA, signature checked.
 *
 * On every input: parse.  On what parses: the public key goes through
 * oc_key_check for every profile and CA algorithm (as issuing would), and
 * the request, written back out as DER and as PEM by OpenSSL, must parse
 * again (a CSR we accept once we accept always).  On DER that OpenSSL
 * decodes as a request but we refuse (its signature, mostly): the key
 * goes through oc_key_check all the same, because an applicant can sign
 * any odd key they hold (explicit curve parameters, a point off the
 * curve, an even RSA exponent), and mutated keys seldom keep a valid
 * signature.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "onecert/pki.h"
#include "fuzz.h"

static void
reparse_der(X509_REQ *req)
{
	unsigned char *der = NULL;
	struct oc_err err;
	X509_REQ *again;
	int n;

	if ((n = i2d_X509_REQ(req, &der)) <= 0)
		return;
	oc_err_clear(&err);
	again = oc_csr_parse(der, (size_t)n, &err);
	if (again == NULL)
		fprintf(stderr, "DER round trip refused: %s | %s\n", err.msg,
		    err.detail);
	FUZZ_CHECK(again != NULL);
	X509_REQ_free(again);
	OPENSSL_free(der);
}

static void
reparse_pem(X509_REQ *req)
{
	BIO *bio;
	char *pem;
	long n;
	struct oc_err err;
	X509_REQ *again;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (PEM_write_bio_X509_REQ(bio, req) == 1 &&
	    (n = BIO_get_mem_data(bio, &pem)) > 0) {
		oc_err_clear(&err);
		again = oc_csr_parse((const unsigned char *)pem, (size_t)n, &err);
		FUZZ_CHECK(again != NULL);
		X509_REQ_free(again);
	}
	BIO_free(bio);
}

static void
check_key(EVP_PKEY *pub)
{
	static const enum oc_algo algos[] = { OC_ALGO_EC, OC_ALGO_SM2,
	    OC_ALGO_RSA };
	struct oc_err err;

	for (int p = OC_PROFILE_ROOT; p <= OC_PROFILE_TLS_SERVER; p++)
		for (size_t a = 0; a < sizeof(algos) / sizeof(algos[0]); a++) {
			oc_err_clear(&err);
			if (oc_key_check(pub, (enum oc_profile)p, algos[a],
			    &err) != 0)
				FUZZ_CHECK(err.msg[0] != '\0');
		}
	ERR_clear_error();
}

/* The key of whatever OpenSSL decodes as a request. */
static void
check_refused_key(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509_REQ *req;
	EVP_PKEY *pub;

	if (size > 64 * 1024 ||
	    (req = d2i_X509_REQ(NULL, &p, (long)size)) == NULL) {
		ERR_clear_error();
		return;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) != NULL)
		check_key(pub);
	X509_REQ_free(req);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oc_err err;
	X509_REQ *req;
	EVP_PKEY *pub;

	oc_err_clear(&err);
	req = oc_csr_parse(data, size, &err);
	if (req == NULL) {
		FUZZ_CHECK(err.code < 0 && err.msg[0] != '\0');
		ERR_clear_error();
		check_refused_key(data, size);
		return 0;
	}
	pub = X509_REQ_get0_pubkey(req);
	FUZZ_CHECK(pub != NULL);
	check_key(pub);
	reparse_der(req);
	reparse_pem(req);
	X509_REQ_free(req);
	ERR_clear_error();
	return 0;
}

/*
 * fuzz_ocsp.c — what an OCSP client sends the responder: the body of a
 * POST through oc_ocsp_request_parse, and the path of a GET through
 * oc_ocsp_get_decode (then the parser).
 *
 * On every input: parse it as a DER OCSPRequest; decode it as a GET tail
 * (cut at its first NUL) and parse what that gives; and base64-encode it
 * in the three ways clients write GET paths (plain, URL-encoded, without
 * padding) — each must decode back to exactly the input.  On what parses:
 * 1..OC_OCSP_MAX_IDS CertIDs, each serial "" or canonical
 * (oc_serial_canon leaves it unchanged), each re-encoded CertID within
 * bounds, a nonce of 1..OC_OCSP_NONCE_MAX octets inside what was
 * received; and every CertID is matched against the CA certificates of
 * cert_issuers.h (oc_ocsp_certid_find_issuer) without harm.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "onecert/ocsp.h"
#include "onecert/pki.h"
#include "cert_issuers.h"
#include "fuzz.h"

#define MAX_ISSUERS 8

static X509 *issuers[MAX_ISSUERS];
static int nissuers = -1;

static void
load_issuers(void)
{
	BIO *bio;
	X509 *x;

	nissuers = 0;
	if ((bio = BIO_new_mem_buf(fuzz_cert_issuers_pem, -1)) == NULL)
		abort();
	while (nissuers < MAX_ISSUERS &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		issuers[nissuers++] = x;
	BIO_free(bio);
	ERR_clear_error();
	FUZZ_CHECK(nissuers > 0);
}

static void
check_request(const struct oc_ocsp_request *r)
{
	FUZZ_CHECK(r->n >= 1 && r->n <= OC_OCSP_MAX_IDS && r->ids != NULL);
	for (size_t i = 0; i < r->n; i++) {
		const struct oc_ocsp_certid *id = &r->ids[i];
		char canon[43];
		int k;

		FUZZ_CHECK(id->name_hash_len <= sizeof(id->name_hash));
		FUZZ_CHECK(id->key_hash_len <= sizeof(id->key_hash));
		FUZZ_CHECK(id->der_len > 0 && id->der_len <= sizeof(id->der));
		FUZZ_CHECK(memchr(id->serial, '\0', sizeof(id->serial)) != NULL);
		if (id->serial[0] != '\0') {
			FUZZ_CHECK(oc_serial_canon(id->serial, canon, NULL) == 0);
			FUZZ_CHECK(strcmp(canon, id->serial) == 0);
		}
		k = oc_ocsp_certid_find_issuer(id, issuers, (size_t)nissuers);
		FUZZ_CHECK(k >= -1 && k < nissuers);
		if (k >= 0)
			FUZZ_CHECK(oc_ocsp_certid_is_for(id, issuers[k]));
	}
	if (r->has_nonce) {
		FUZZ_CHECK(r->nonce_len >= 1 && r->nonce_len <= OC_OCSP_NONCE_MAX);
		FUZZ_CHECK(r->nonce >= r->nonce_ext && r->nonce + r->nonce_len <=
		    r->nonce_ext + r->nonce_ext_len);
		FUZZ_CHECK(r->nonce_ext_len <= sizeof(r->nonce_ext));
	}
}

static void
parse(const unsigned char *der, size_t len)
{
	struct oc_ocsp_request *r;
	struct oc_err err;

	oc_err_clear(&err);
	if ((r = oc_ocsp_request_parse(der, len, &err)) == NULL) {
		FUZZ_CHECK(err.code < 0 && err.msg[0] != '\0');
		return;
	}
	check_request(r);
	oc_ocsp_request_free(r);
}

/* Base64 of data as a GET path: urlenc writes + / = as %2B %2F %3D;
 * nopad leaves the '=' out.  Caller frees. */
static char *
b64_path(const uint8_t *data, size_t size, int urlenc, int nopad)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(3 * (4 * (size / 3 + 1)) + 2), *o = out;

	if (out == NULL)
		abort();
	*o++ = '/';
	for (size_t i = 0; i < size; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		size_t n = size - i < 3 ? size - i : 3;
		char q[4];

		if (n > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (n > 2)
			v |= data[i + 2];
		q[0] = a[(v >> 18) & 63];
		q[1] = a[(v >> 12) & 63];
		q[2] = n > 1 ? a[(v >> 6) & 63] : '=';
		q[3] = n > 2 ? a[v & 63] : '=';
		for (int k = 0; k < 4; k++) {
			if (q[k] == '=' && nopad)
				continue;
			if (urlenc && (q[k] == '+' || q[k] == '/' || q[k] == '=')) {
				sprintf(o, "%%%02X", (unsigned char)q[k]);
				o += 3;
			} else {
				*o++ = q[k];
			}
		}
	}
	*o = '\0';
	return out;
}

static void
check_get_roundtrip(const uint8_t *data, size_t size)
{
	if (size == 0 || size > OC_OCSP_REQ_MAX)
		return;
	for (int mode = 0; mode < 3; mode++) {
		char *path;

		/* Base64 that starts with '/' (a first octet from 0xfc) is
		 * not URL-encoded in modes 0 and 2, and the decoder skips
		 * leading '/' as the path's: fine, as every OCSPRequest
		 * starts with 0x30 ("M"). */
		if (mode != 1 && data[0] >= 0xfc)
			continue;
		path = b64_path(data, size, mode == 1, mode == 2);
		unsigned char *der = NULL;
		size_t len = 0;
		struct oc_err err;
		int rc;

		oc_err_clear(&err);
		rc = oc_ocsp_get_decode(path, &der, &len, &err);
		if (rc != 0)
			fprintf(stderr, "GET path refused: %s: %s\n", path,
			    err.msg);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(len == size && memcmp(der, data, size) == 0);
		free(der);
		free(path);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oc_err err;
	unsigned char *der = NULL;
	size_t len = 0;
	char *tail;

	if (nissuers < 0)
		load_issuers();
	parse(data, size);

	tail = fuzz_cstr(data, size);
	oc_err_clear(&err);
	if (oc_ocsp_get_decode(tail, &der, &len, &err) == 0) {
		FUZZ_CHECK(der != NULL && len > 0 && len <= OC_OCSP_REQ_MAX);
		parse(der, len);
		free(der);
	} else {
		FUZZ_CHECK(der == NULL && len == 0 && err.msg[0] != '\0');
	}
	free(tail);

	check_get_roundtrip(data, size);
	ERR_clear_error();
	return 0;
}

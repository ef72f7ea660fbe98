/*
 * fuzz_cert.c — certificates from outside: oc_cert_parse (PEM or DER),
 * then on whatever parses the readers the CA and the hall apply to a
 * certificate someone presents, and oc_cert_lint, which must give an
 * answer — never a crash — for any certificate and any profile.
 *
 * On what parses:
 *  - oc_cert_ext_string for the GM/T 0015 OIDs, our unique-ID OID and
 *    SHECA's, with a roomy and with tiny output buffers: on success the
 *    output fits and is clean UTF-8 (ext.c promises no control
 *    characters);
 *  - oc_cert_subject_string for the usual attributes (same promise);
 *  - oc_serial_hex, and oc_serial_canon of its output gives it back;
 *  - oc_cert_lint for every profile: ROOT self-signed, the others with
 *    the certificate as its own issuer and with each of the CA
 *    certificates of cert_issuers.h (onecert's own EC, SM2 and RSA
 *    hierarchies, which issued the seed certificates: so mutants get past
 *    the issuer rules and reach every later rule); and the certificate
 *    as the issuer of those CA certificates (a hostile issuer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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
check_ext_strings(X509 *cert)
{
	static const char *const oids[] = {
		OC_OID_GMT_IDENTITY_CODE, OC_OID_GMT_INSURANCE_NO,
		OC_OID_GMT_IC_REG_NO, OC_OID_GMT_ORG_CODE, OC_OID_GMT_TAX_NO,
		OC_OID_UNIQUE_ID, OC_OID_SHECA_UNIQUE_ID,
	};
	static const size_t caps[] = { 256, 65, 19, 2, 1 };
	char out[256];
	struct oc_err err;

	for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++)
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			int rc;

			memset(out, 'x', sizeof(out));
			oc_err_clear(&err);
			rc = oc_cert_ext_string(cert, oids[i], out, caps[c], &err);
			/* Always a string, inside the buffer. */
			FUZZ_CHECK(memchr(out, '\0', caps[c]) != NULL);
			if (rc == 0) {
				FUZZ_CHECK(strlen(out) < caps[c]);
				FUZZ_CHECK(fuzz_clean_utf8(out));
			} else {
				FUZZ_CHECK(out[0] == '\0');
				FUZZ_CHECK(err.code == rc && err.msg[0] != '\0');
			}
		}
}

static void
check_subject(X509 *cert)
{
	static const int nids[] = { NID_commonName, NID_organizationName,
	    NID_organizationalUnitName, NID_countryName,
	    NID_stateOrProvinceName, NID_localityName, NID_serialNumber };
	char out[128];

	for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++) {
		memset(out, 'x', sizeof(out));
		if (oc_cert_subject_string(cert, nids[i], out, sizeof(out)) == 0) {
			FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
			FUZZ_CHECK(fuzz_clean_utf8(out));
		}
		if (oc_cert_subject_string(cert, nids[i], out, 3) == 0)
			FUZZ_CHECK(strlen(out) < 3 && fuzz_clean_utf8(out));
	}
}

static void
check_serial(X509 *cert)
{
	char hex[43], canon[43];
	struct oc_err err;

	if (oc_serial_hex(X509_get0_serialNumber(cert), hex) != 0)
		return;
	FUZZ_CHECK(strlen(hex) <= 42);
	oc_err_clear(&err);
	FUZZ_CHECK(oc_serial_canon(hex, canon, &err) == 0);
	FUZZ_CHECK(strcmp(hex, canon) == 0);
}

static void
lint(X509 *cert, enum oc_profile p, X509 *issuer)
{
	struct oc_err err;
	int rc;

	oc_err_clear(&err);
	rc = oc_cert_lint(cert, p, issuer, &err);
	FUZZ_CHECK(rc == 0 || (rc == err.code && err.msg[0] != '\0'));
	ERR_clear_error();
}

static void
check_lint(X509 *cert)
{
	lint(cert, OC_PROFILE_ROOT, NULL);
	for (int p = OC_PROFILE_ISSUING; p <= OC_PROFILE_TLS_SERVER; p++) {
		lint(cert, (enum oc_profile)p, cert);
		for (int i = 0; i < nissuers; i++)
			lint(cert, (enum oc_profile)p, issuers[i]);
	}
	for (int i = 0; i < nissuers; i++)
		lint(issuers[i], OC_PROFILE_ISSUING, cert);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oc_err err;
	X509 *cert;

	if (nissuers < 0)
		load_issuers();
	oc_err_clear(&err);
	if ((cert = oc_cert_parse(data, size, &err)) == NULL) {
		FUZZ_CHECK(err.code < 0 && err.msg[0] != '\0');
		ERR_clear_error();
		return 0;
	}
	check_ext_strings(cert);
	check_subject(cert);
	check_serial(cert);
	check_lint(cert);
	X509_free(cert);
	ERR_clear_error();
	return 0;
}

/*
 * internal.h — what the files of src/pki share and nobody else sees.
 *
 * Three families of helpers:
 *  - DER surgery (der.c): assembling and taking apart the
 *    SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } shape that
 *    certificates, CRLs and CSRs share, so that signatures are made and
 *    checked over the exact bytes that travel, with our own oc_signer /
 *    oc_verify_tbs and not OpenSSL's X509_sign/X509_verify (which know
 *    neither remote signers nor, for CRLs, SM2's distinguishing ID);
 *  - extension builders and readers (ext.c);
 *  - small checks on strings that go into certificates.
 * One exception to "nobody else": the OCSP response builder with a
 * verify context made once (ocsp.c), for the OCSP cache's refresh
 * (src/ca/ocsp_cache.c).
 */
#ifndef ONECERT_PKI_INTERNAL_H
#define ONECERT_PKI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/error.h"
#include "onecert/pki.h"
#include "onecert/signer.h"

/* Size limits for parsed input. */
#define OC__CSR_MAX   (64 * 1024)
#define OC__CERT_MAX  (256 * 1024)
#define OC__CRL_MAX   (32 * 1024 * 1024)

/* Subject attribute limits in characters (RFC 5280 upper bounds). */
#define OC__UB_NAME   64    /* CN, O, OU */
#define OC__UB_PLACE  128   /* ST, L */
#define OC__UB_IDENT  64    /* GM/T 0015 values and the unique ID */

/* ---- csr.c ---- */

/* A library context with only the null provider: an object d2i'd in it
 * (ASN1_item_d2i_ex) keeps its SubjectPublicKeyInfo undecoded, which in
 * OpenSSL 3.0 saves a decoder set-up that costs more than a P-256
 * verification.  Made on first use, kept for the process's life; NULL if
 * it cannot be made.  Borrowed. */
OSSL_LIB_CTX *oc__libctx_nokeys(void);

/* ---- der.c ---- */

/* The parts of a signed object (Certificate, CertificateList,
 * CertificationRequest), pointing into the caller's buffer. */
struct oc__signed_parts {
	const unsigned char *tbs;  /* the whole TBS TLV */
	size_t tbslen;
	const unsigned char *alg;  /* the whole AlgorithmIdentifier TLV */
	size_t alglen;
	const unsigned char *sig;  /* BIT STRING contents after the unused-bits octet */
	size_t siglen;
};
/* Split DER into its three parts; the DER must be exactly one SEQUENCE of
 * three definite-length elements with a BIT STRING of 0 unused bits. */
int oc__der_split_signed(const unsigned char *der, size_t len,
	struct oc__signed_parts *out, struct oc_err *err);
/* The signature AlgorithmIdentifier inside a TBSCertificate or TBSCertList
 * (after the optional version INTEGER).  Caller owns the result. */
X509_ALGOR *oc__der_tbs_sigalg(const unsigned char *tbs, size_t tbslen);
/* DER TLV with a universal constructed tag (V_ASN1_SEQUENCE) around in.
 * *out is OPENSSL_malloc'd. */
int oc__der_wrap(int tag, const unsigned char *in, size_t len,
	unsigned char **out, size_t *outlen);
/* Sign tbs with s and assemble the signed object with the signer's
 * algorithm identifier.  *out is OPENSSL_malloc'd. */
int oc__sign_assemble(struct oc_signer *s, const unsigned char *tbs,
	size_t tbslen, unsigned char **out, size_t *outlen, struct oc_err *err);
/* Read PEM (one block with label `label`, or label2 if not NULL) or DER
 * from data; refuse trailing bytes other than whitespace after PEM and any
 * trailing byte after DER.  *der is OPENSSL_malloc'd. */
int oc__pem_or_der(const unsigned char *data, size_t len, const char *label,
	const char *label2, const char *what, unsigned char **der, size_t *derlen,
	struct oc_err *err);

/* ---- serial.c ---- */

/* A fresh random 128-bit positive, non-zero serial.  Caller owns it. */
ASN1_INTEGER *oc__serial_random(void);

/* ---- signer.c ---- */

/* A public-only copy of pkey, decoded from its SubjectPublicKeyInfo (so an
 * EC key on the SM2 curve comes back as an "SM2" key).  Caller owns it. */
EVP_PKEY *oc__pkey_public_dup(EVP_PKEY *pkey);
/* Which of our algorithms a signature AlgorithmIdentifier is, with the
 * exact parameter encoding we emit (absent for ECDSA/SM2, NULL for RSA);
 * OC_ALGO_NONE for anything else. */
enum oc_algo oc__sigalg_algo(const X509_ALGOR *alg);
/* A new ASN1_OCTET_STRING holding OC_SM2_DISTID; caller owns it. */
ASN1_OCTET_STRING *oc__sm2_distid_new(void);
/* The set-up oc_verify_tbs (sign false) or the file signer (sign true)
 * makes for key before the first byte — digest, SM2 ID, and for SM2 the Z
 * value already hashed in — for a caller that uses one key many times:
 * each use works on a copy (oc__sigctx_copy).  key: EC, RSA, or an "SM2"
 * key.  NULL on failure.  Caller frees it with EVP_MD_CTX_free. */
EVP_MD_CTX *oc__sigctx_new(EVP_PKEY *key, bool sign);
/* A fresh copy of base to sign or verify with once; NULL on failure.
 * Safe with base shared between threads. */
EVP_MD_CTX *oc__sigctx_copy(const EVP_MD_CTX *base);
/* oc_verify_tbs with mctx, an unused copy of oc__sigctx_new(pub, false)
 * (oc__sigctx_copy), which it uses up; the caller frees it. */
int oc__verify_tbs_with(EVP_MD_CTX *mctx, const unsigned char *tbs,
	size_t tbslen, const unsigned char *sig, size_t siglen,
	struct oc_err *err);

/* ---- verify.c ---- */

/* Does cert's signature verify under issuer_pub?  Over the exact encoded
 * bytes; outer and inner AlgorithmIdentifier must be equal and ours, and
 * of the issuer key's algorithm.  0 or OC_ECRYPTO / OC_EINVAL. */
int oc__cert_verify_sig(X509 *cert, EVP_PKEY *issuer_pub, struct oc_err *err);
int oc__crl_verify_sig(X509_CRL *crl, EVP_PKEY *issuer_pub, struct oc_err *err);

/* ---- issue.c ---- */

/* Subject name from UTF-8 parts: C as PrintableString, the others as
 * UTF8String, in the order C, ST, L, O, OU, CN.  Values are not checked
 * here (oc__subject_check does).  Caller owns the result. */
X509_NAME *oc__subject_name_new(const struct oc_cert_subject *s);
/* Check subject values for a profile (NULL profile checks = CSR: anything
 * clean).  0 or OC_EINVAL with a message naming the attribute. */
int oc__subject_check(const struct oc_cert_subject *s, enum oc_profile p,
	struct oc_err *err);

/* ---- ext.c ---- */

bool oc__printable_ok(const char *s, size_t maxlen);
/* Valid UTF-8, no control characters, 1..maxchars characters. */
bool oc__utf8_ok(const char *s, size_t maxchars);
bool oc__dns_name_ok(const char *s);
/* 18 characters, 17 digits and a GB 11643 (ISO 7064 MOD 11-2) check
 * character 0-9 or X. */
bool oc__resident_id_ok(const char *s);

/* anyPolicy, RFC 5280 4.2.1.4 */
#define OID_ANY_POLICY "2.5.29.32.0"

/* oid (dotted) as an object: borrowed from a table of our profiles' OIDs
 * converted once, or (any other, or one that failed to convert) made now
 * with *tmp set for the caller to free.  NULL: not an OID. */
const ASN1_OBJECT *oc__oid(const char *oid, ASN1_OBJECT **tmp);
int oc__ext_add_basic_constraints(X509 *x, bool ca, int pathlen);
int oc__ext_add_key_usage(X509 *x, int bits);
int oc__ext_add_eku(X509 *x, const int *nids, size_t n);
int oc__ext_add_ski(X509 *x);
int oc__ext_add_aki(X509 *x, X509 *issuer);
int oc__ext_add_cdp(X509 *x, const char *url);
int oc__ext_add_aia(X509 *x, const char *ocsp_url, const char *ca_issuers_url);
int oc__ext_add_policy(X509 *x, const char *oid);
int oc__ext_add_san(X509 *x, const char *const *san, size_t n,
	const char *email);
int oc__ext_add_ocsp_nocheck(X509 *x);
/* A DER PrintableString as the extnValue of a non-critical extension. */
int oc__ext_add_printable(X509 *x, const char *oid, const char *value);
/* IdentityCode: [0] EXPLICIT PrintableString (residenterCardNumber). */
int oc__ext_add_identity_code(X509 *x, const char *value);
/* keyid bytes of a key: SHA-1 of the subjectPublicKey BIT STRING (RFC 5280
 * 4.2.1.2 method 1).  out must hold 20 bytes. */
int oc__key_id(X509 *x, unsigned char out[20]);

/* oc_key_check; validate false leaves out the check of the key's own
 * validity (EVP_PKEY_public_check), for a key that has just passed it. */
int oc__key_check(EVP_PKEY *key, enum oc_profile profile,
	enum oc_algo ca_algo, bool validate, struct oc_err *err);
/* oc_cert_lint; key_checked: the certificate carries a key that
 * oc_key_check accepted just before (oc_cert_issue), so the key rule
 * checks type and size but does not validate the key again — for RSA
 * that is a GCD with the small primes and a Miller-Rabin test of the
 * modulus, costlier than the signature.  der, when not NULL: exactly
 * what i2d_X509(cert) gives (oc_cert_issue has compared the two, or
 * parsed cert from der), whose signature the signature rule then checks
 * instead of encoding cert once more. */
int oc__cert_lint(X509 *cert, enum oc_profile profile, X509 *issuer,
	bool key_checked, const unsigned char *der, size_t derlen,
	struct oc_err *err);

/* Key usage bits as in the X509v3 KU_* masks of x509v3.h. */

/* ---- ocsp.c ---- */

struct oc_ocsp_responder;
struct oc_ocsp_single;

/* The signature check of oc_ocsp_response_build's self-check, set up
 * once for a responder certificate's key (what oc_verify_tbs does for
 * every call: key, digest and provider fetch, SM2 distinguishing ID) and
 * copied for each response, for a caller that signs many responses in a
 * row (the OCSP cache's refresh).  Holds a reference on the key; not for
 * two threads at once. */
struct oc__ocsp_verifier;
struct oc__ocsp_verifier *oc__ocsp_verifier_new(X509 *responder,
	struct oc_err *err);
void oc__ocsp_verifier_free(struct oc__ocsp_verifier *v);
/* oc_ocsp_response_build, checking the signature with v (NULL: as
 * oc_ocsp_response_build).  v must have been made for r->cert's key. */
int oc__ocsp_response_build_v(const struct oc_ocsp_responder *r,
	struct oc__ocsp_verifier *v, const struct oc_ocsp_single *singles,
	size_t n, const unsigned char *nonce_ext, size_t nonce_ext_len,
	time_t produced_at, unsigned char **out, size_t *outlen,
	struct oc_err *err);

#endif

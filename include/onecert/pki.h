/*
 * pki.h — certificate profiles, issuing, our pre-issuance lint, CSRs, CRLs
 * and chain verification (SPEC §3).
 *
 * Issuing never trusts the CSR for anything but its public key: the subject
 * and every extension come from the operator's verified enrollment data
 * (struct oc_cert_template) and the CA's configuration (struct
 * oc_cert_issuer).  oc_cert_issue builds the TBSCertificate with OpenSSL,
 * has the oc_signer sign its DER, assembles the certificate, and runs
 * oc_cert_lint on the result; a certificate that breaks its profile is
 * never returned.
 */
#ifndef ONECERT_PKI_H
#define ONECERT_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "onecert/error.h"
#include "onecert/signer.h"

/* OIDs (docs/oids.md).  Our arc is a UUID under 2.25 (X.667). */
#define OC_OID_ARC        "2.25.308479664714775115828738983118767978588"
#define OC_OID_UNIQUE_ID  OC_OID_ARC ".1"      /* 证书唯一标识 extension */
#define OC_OID_POLICY_ENTERPRISE OC_OID_ARC ".2.1"
#define OC_OID_POLICY_PERSONAL   OC_OID_ARC ".2.2"
#define OC_OID_POLICY_SERVICE    OC_OID_ARC ".2.3" /* OCSP and TLS server */
#define OC_OID_SHECA_UNIQUE_ID   "1.2.156.1.8888.148"
/* GM/T 0015-2012 identity extensions, arc 1.2.156.10260.4.1 */
#define OC_OID_GMT_IDENTITY_CODE   "1.2.156.10260.4.1.1"
#define OC_OID_GMT_INSURANCE_NO    "1.2.156.10260.4.1.2"
#define OC_OID_GMT_IC_REG_NO       "1.2.156.10260.4.1.3"
#define OC_OID_GMT_ORG_CODE        "1.2.156.10260.4.1.4"
#define OC_OID_GMT_TAX_NO          "1.2.156.10260.4.1.5"

enum oc_profile {
	OC_PROFILE_NONE = 0,
	OC_PROFILE_ROOT,        /* self-signed root CA */
	OC_PROFILE_ISSUING,     /* issuing (subordinate) CA, pathlen 0 */
	OC_PROFILE_ENTERPRISE,  /* 法人 certificate */
	OC_PROFILE_PERSONAL,    /* 个人 certificate (staff, individuals) */
	OC_PROFILE_OCSP,        /* OCSP responder */
	OC_PROFILE_TLS_SERVER,  /* the services' own TLS */
};
const char *oc_profile_name(enum oc_profile p);  /* "enterprise", … */
int oc_profile_parse(const char *s, enum oc_profile *out);

/* Subject, UTF-8; NULL = absent.  C is encoded PrintableString, the rest
 * UTF8String. */
struct oc_cert_subject {
	const char *c, *st, *l, *o, *ou, *cn;
};

/* GM/T 0015-2012 identity extensions (each a PrintableString). */
struct oc_cert_ident {
	const char *identity_code; /* .1 personal: CHOICE, emitted [0] EXPLICIT */
	const char *insurance_no;  /* .2 */
	const char *ic_reg_no;     /* .3 */
	const char *org_code;      /* .4 USCC (18) or organization code (9) */
	const char *tax_no;        /* .5 */
};

struct oc_cert_template {
	enum oc_profile profile;
	EVP_PKEY *pubkey;                 /* borrowed: the subject's key */
	/* Optional, borrowed: pubkey's SubjectPublicKeyInfo as received (a
	 * CSR's, X509_REQ_get_X509_PUBKEY).  Its bytes are copied into the
	 * certificate as they are, which spares OpenSSL 3.0 an encode and a
	 * decode of the key per certificate; it must hold pubkey (checked). */
	X509_PUBKEY *spki;
	struct oc_cert_subject subject;
	struct oc_cert_ident ident;
	const char *unique_id;            /* required for enterprise/personal */
	const char *const *san;           /* TLS server: DNS names or IP literals */
	size_t n_san;
	const char *email;                /* optional rfc822Name SAN */
	time_t not_before, not_after;
	/* NULL: 128 random bits (positive).  Else big-endian bytes. */
	const unsigned char *serial;
	size_t serial_len;
};

struct oc_cert_issuer {
	X509 *cert;                 /* borrowed; NULL when self-signing a root */
	struct oc_signer *signer;   /* borrowed */
	const char *crl_url;        /* CRL distribution point; NULL: none */
	const char *ocsp_url;       /* AIA OCSP; NULL: none */
	const char *ca_issuers_url; /* AIA caIssuers; NULL: none */
};

/* Caller owns the result.  OC_EPROFILE when the result would break the
 * profile, OC_EINVAL for a template that is incomplete. */
X509 *oc_cert_issue(const struct oc_cert_template *t,
	const struct oc_cert_issuer *iss, struct oc_err *err);
/* oc_cert_issue, and the certificate's DER (exactly what the result
 * encodes to; OPENSSL_malloc'd, the caller frees it) in *der, *derlen:
 * for a caller that stores or sends the bytes, so that it need not encode
 * the certificate again (i2d_X509 of a built certificate re-encodes every
 * field). */
X509 *oc_cert_issue_der(const struct oc_cert_template *t,
	const struct oc_cert_issuer *iss, unsigned char **der, size_t *derlen,
	struct oc_err *err);

/* Our pre-issuance lint: version, serial (positive, 64..160 bits),
 * signature algorithm of the issuer's key type, validity inside the
 * issuer's, subject per profile, every required extension present with the
 * right criticality and value, no unknown critical extension, no duplicate,
 * key type and size allowed, AKI = issuer SKI, GM/T org code check digit,
 * and the signature verifies.  issuer NULL = self-signed. */
int oc_cert_lint(X509 *cert, enum oc_profile profile, X509 *issuer,
	struct oc_err *err);

/* Is this public key allowed for a certificate of `profile` issued by a CA
 * of algorithm ca_algo?  ec: P-256; sm2: SM2 curve; rsa: 2048 or 3072 (and
 * 4096 for CA profiles). */
int oc_key_check(EVP_PKEY *key, enum oc_profile profile, enum oc_algo ca_algo,
	struct oc_err *err);

/* A new unique ID: "OC" + YYYYMMDD (CST) + 10 Crockford base32 chars
 * (50 random bits), 20 characters, PrintableString-safe. */
#define OC_UID_LEN 20
int oc_unique_id_new(char out[OC_UID_LEN + 1]);

/* Serial numbers as canonical upper-case hex (BN_bn2hex form, even length
 * as OpenSSL prints it).  parse accepts upper/lower case, optional 0x,
 * colons; OC_EINVAL on anything else or more than 20 octets. */
int oc_serial_hex(const ASN1_INTEGER *serial, char out[43]);
int oc_serial_canon(const char *in, char out[43], struct oc_err *err);

/* Read an extension's string value by OID (dotted).  Accepts
 * PrintableString, UTF8String, IA5String, OCTET STRING, and the
 * IdentityCode CHOICE with EXPLICIT or IMPLICIT tags.  OC_ENOTFOUND when
 * the certificate has no such extension. */
int oc_cert_ext_string(X509 *cert, const char *oid, char *out, size_t cap,
	struct oc_err *err);
/* A subject attribute (NID_commonName, …) as UTF-8. */
int oc_cert_subject_string(X509 *cert, int nid, char *out, size_t cap);

/* Parse a CSR, PEM or DER, at most 64 KiB; verify its self-signature (SM2
 * with the distinguishing ID).  Caller owns the result. */
X509_REQ *oc_csr_parse(const unsigned char *data, size_t len, struct oc_err *err);
/* The P-256 or SM2 key of spki made without OpenSSL 3.0's decoders (the
 * curve from a key made once, the point with d2i_PublicKey; an SM2-curve
 * key is of type EVP_PKEY_SM2), for a certificate or request parsed with
 * its key left undecoded.  NULL when spki is not id-ecPublicKey on one of
 * these curves (*other set: decode it the general way) or its point does
 * not decode (*other clear).  Caller owns the result. */
EVP_PKEY *oc_spki_ec_key(X509_PUBKEY *spki, bool *other);
/* Build and sign a CSR for `signer`'s key (e.g. on a USB key).  Subject
 * may be all NULL (the CA ignores it anyway). */
X509_REQ *oc_csr_build(const struct oc_cert_subject *subject,
	struct oc_signer *signer, struct oc_err *err);

/* Certificates and CRLs: parse PEM or DER; caller owns the result. */
X509 *oc_cert_parse(const unsigned char *data, size_t len, struct oc_err *err);
/* Load every certificate in a PEM file into a new stack. */
STACK_OF(X509) *oc_certs_load_file(const char *path, struct oc_err *err);
X509 *oc_cert_load_file(const char *path, struct oc_err *err);

/* A CRL, PEM or DER (at most 32 MiB, nothing after it).  Its signature
 * is not checked here (oc_chain_verify does).  Caller owns the result. */
X509_CRL *oc_crl_parse(const unsigned char *data, size_t len,
	struct oc_err *err);

/* RFC 5280 CRLReason codes and their names (keyCompromise, …). */
int oc_reason_parse(const char *name, int *code);
const char *oc_reason_name(int code);

struct oc_crl_entry {
	const char *serial_hex;
	time_t revoked_at;
	int reason;         /* RFC 5280 code; -1 = no reason extension */
};
/* Build and sign a full CRL v2 with AKI and cRLNumber.  Caller owns it. */
X509_CRL *oc_crl_build(const struct oc_cert_issuer *iss,
	const struct oc_crl_entry *entries, size_t n, long long crl_number,
	time_t this_update, time_t next_update, struct oc_err *err);

/* Chain verification that knows SM2's distinguishing ID (OpenSSL 3.0's
 * `openssl verify` cannot verify SM2 chains).  anchors: trusted roots (or
 * issuing CAs); untrusted: intermediates; crls may be NULL (then no
 * revocation check).  at = 0: now.  purpose: X509_PURPOSE_SSL_CLIENT etc.,
 * or 0 for none.  0 when the chain verifies, OC_EINVAL with OpenSSL's
 * reason ("certificate revoked", …) otherwise. */
int oc_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted,
	STACK_OF(X509) *anchors, STACK_OF(X509_CRL) *crls, time_t at,
	int purpose, struct oc_err *err);

/* Assemble SEQUENCE { tbs, alg, BIT STRING sig } — the shape of
 * Certificate, CertificateList and CertificationRequest.  *out is
 * OPENSSL_malloc'd. */
int oc_der_signed(const unsigned char *tbs, size_t tbslen, const X509_ALGOR *alg,
	const unsigned char *sig, size_t siglen, unsigned char **out, size_t *outlen);

#endif

/*
 * ocsp.h — the OCSP responder's engine (RFC 6960), SPEC §3.5.
 *
 * Two layers:
 *
 *  - src/pki/ocsp.c: parse an OCSPRequest (strict DER, at most 64 KiB),
 *    tell whether a CertID names a given issuing CA, and build a signed
 *    OCSPResponse for one or more certificates.  The ResponseData is
 *    written as DER by hand and signed through an oc_signer, so the
 *    responder's private key is never needed in this process (it lives in
 *    the signer process or a token, like every CA key).  Every response
 *    is parsed back and its signature checked against the responder
 *    certificate's key before it is returned.  The unsigned error
 *    responses are constants.
 *
 *  - src/ca/ocsp_cache.c: the pre-signed response cache of one issuing
 *    CA.  A refresh (at start, then every revocation_interval from a
 *    background thread) reads the CA's certificates issued or changed
 *    since the last one and signs responses for each one that is new,
 *    changed status, or comes within refresh_before of its nextUpdate:
 *    two responses, one for the SHA-1 CertID and one for the SHA-256
 *    CertID, each with that one SingleResponse, as clients ask with
 *    either and some expect exactly the one they asked for.  Answering a
 *    request for one known certificate without a nonce copies the
 *    pre-signed DER for its CertID out of an rwlock-protected hash table:
 *    no signature.  Only a nonce, several CertIDs in one request, a serial
 *    the cache does not know (answered `unknown`), or a CertID encoded
 *    otherwise than ours costs a live signature.
 *
 * Thread safety: the oc_ocsp_* parse/build functions are reentrant.  A
 * cache may be answered from any number of threads at once; refresh runs
 * one at a time (the background thread and explicit calls serialise).
 */
#ifndef ONECERT_OCSP_H
#define ONECERT_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>
#include "onecert/buf.h"
#include "onecert/error.h"
#include "onecert/signer.h"

/* Largest request accepted (GET and POST alike). */
#define OC_OCSP_REQ_MAX      (64 * 1024)
/* Most CertIDs one request may carry; more is answered malformedRequest. */
#define OC_OCSP_MAX_IDS      64
/* RFC 9654: a nonce is 1 to 128 octets; anything else is malformed. */
#define OC_OCSP_NONCE_MAX    128
/* A CertID's DER (SHA-256, 20-octet serial) is about 110 bytes. */
#define OC_OCSP_CERTID_MAX   256

/* OCSPResponseStatus (RFC 6960 4.2.1). */
enum oc_ocsp_resp_status {
	OC_OCSP_SUCCESSFUL = 0,
	OC_OCSP_MALFORMED = 1,      /* malformedRequest */
	OC_OCSP_INTERNAL_ERROR = 2, /* internalError */
	OC_OCSP_TRY_LATER = 3,      /* tryLater */
	OC_OCSP_SIG_REQUIRED = 5,   /* sigRequired (never sent by us) */
	OC_OCSP_UNAUTHORIZED = 6,   /* unauthorized: not our CA */
};

/* CertStatus. */
enum oc_ocsp_cert_status {
	OC_OCSP_GOOD = 0,
	OC_OCSP_REVOKED = 1,
	OC_OCSP_UNKNOWN = 2,
};

/* The CertID hash algorithms we answer for. */
enum oc_ocsp_hash {
	OC_OCSP_HASH_NONE = 0,      /* anything else: never matches an issuer */
	OC_OCSP_HASH_SHA1 = 1,
	OC_OCSP_HASH_SHA256 = 2,
};

struct oc_ocsp_certid {
	enum oc_ocsp_hash hash;
	unsigned char name_hash[64];    /* issuerNameHash */
	size_t name_hash_len;
	unsigned char key_hash[64];     /* issuerKeyHash */
	size_t key_hash_len;
	/* Canonical upper-case hex (oc_serial_hex); "" when the serial is
	 * not one a certificate of ours can have (negative, zero, over 20
	 * octets): such a CertID is answered `unknown`. */
	char serial[43];
	/* The CertID re-encoded as DER: what a response echoes back. */
	unsigned char der[OC_OCSP_CERTID_MAX];
	size_t der_len;
};

struct oc_ocsp_request {
	size_t n;                       /* 1..OC_OCSP_MAX_IDS */
	struct oc_ocsp_certid *ids;     /* owned, n entries */
	bool has_nonce;
	/* The nonce extension's extnValue exactly as received (normally a DER
	 * OCTET STRING around the nonce): what the response echoes. */
	unsigned char nonce_ext[OC_OCSP_NONCE_MAX + 4];
	size_t nonce_ext_len;
	/* The nonce value itself (inside the OCTET STRING, or the raw
	 * extnValue from clients that send it bare), 1..OC_OCSP_NONCE_MAX. */
	const unsigned char *nonce;     /* points into nonce_ext */
	size_t nonce_len;
	bool is_signed;                 /* the request carried a signature
	                                   (accepted, not checked) */
};

/* HTTP media types (RFC 6960 A.1). */
#define OC_OCSP_MIME_REQUEST  "application/ocsp-request"
#define OC_OCSP_MIME_RESPONSE "application/ocsp-response"

/* A GET request's path after the responder URL ("/ocsp/" + this): the
 * base64 DER, URL-encoded or not ("%2B", "%2F", "%3D" are decoded; a
 * space is taken for a '+' a form decoder turned into one; leading '/'
 * are skipped; padding may be missing).  *der is malloc'd (free()), at
 * most OC_OCSP_REQ_MAX bytes: OC_ETOOBIG beyond, OC_EINVAL for anything
 * that is not base64. */
int oc_ocsp_get_decode(const char *tail, unsigned char **der, size_t *len,
	struct oc_err *err);

/* Parse an OCSPRequest (DER only: GETs go through oc_ocsp_get_decode).
 * Refuses: empty or over OC_OCSP_REQ_MAX (OC_ETOOBIG), not exactly one
 * definite-length DER object (trailing bytes), no CertID or more than
 * OC_OCSP_MAX_IDS, a hash longer than 64 octets, two nonce extensions, a
 * nonce outside 1..OC_OCSP_NONCE_MAX — OC_EINVAL.  Caller owns the
 * result (oc_ocsp_request_free). */
struct oc_ocsp_request *oc_ocsp_request_parse(const unsigned char *der,
	size_t len, struct oc_err *err);
void oc_ocsp_request_free(struct oc_ocsp_request *req);

/* The hashes of an issuing CA certificate as CertIDs carry them:
 * issuerNameHash over the DER of its subject, issuerKeyHash over its
 * subjectPublicKey BIT STRING contents. */
struct oc_ocsp_issuer_hashes {
	unsigned char name_sha1[20], key_sha1[20];
	unsigned char name_sha256[32], key_sha256[32];
};
int oc_ocsp_issuer_hashes(X509 *issuer, struct oc_ocsp_issuer_hashes *out,
	struct oc_err *err);
/* Is this CertID for certificates issued by `issuer` (name hash and key
 * hash, with the CertID's own hash algorithm)?  Constant-time compare is
 * not needed: both hashes are public. */
bool oc_ocsp_certid_is_for(const struct oc_ocsp_certid *id, X509 *issuer);
bool oc_ocsp_certid_is_for_hashes(const struct oc_ocsp_certid *id,
	const struct oc_ocsp_issuer_hashes *h);
/* Which of my issuers is it for: the index into issuers[], or -1. */
int oc_ocsp_certid_find_issuer(const struct oc_ocsp_certid *id,
	X509 *const *issuers, size_t n);

/* Make the CertID that names certificate `serial_hex` of `issuer` (hash
 * algorithm with NULL parameters, as OpenSSL, NSS and Windows send it). */
int oc_ocsp_certid_make(X509 *issuer, enum oc_ocsp_hash hash,
	const char *serial_hex, struct oc_ocsp_certid *out, struct oc_err *err);
/* The same CertID (byte for byte) from the issuer's hashes computed once
 * by oc_ocsp_issuer_hashes: what the OCSP cache uses for the CertIDs
 * of the responses it pre-signs, one per hash. */
int oc_ocsp_certid_from_hashes(const struct oc_ocsp_issuer_hashes *h,
	enum oc_ocsp_hash hash, const char *serial_hex,
	struct oc_ocsp_certid *out, struct oc_err *err);

/* One SingleResponse. */
struct oc_ocsp_single {
	const struct oc_ocsp_certid *id;   /* borrowed: echoed as it is */
	enum oc_ocsp_cert_status status;
	time_t revoked_at;                 /* REVOKED: revocationTime */
	int reason;                        /* REVOKED: RFC 5280 code; -1 or 0
	                                      (unspecified): no reason field,
	                                      as in our CRLs */
	time_t this_update;
	time_t next_update;                /* 0: no nextUpdate */
};

/* Who signs: the responder certificate (delegated, id-kp-OCSPSigning, or
 * the CA itself) and the signer holding its key. */
struct oc_ocsp_responder {
	X509 *cert;                        /* borrowed; goes into certs */
	struct oc_signer *signer;          /* borrowed */
};

/* Build and sign a successful OCSPResponse (BasicOCSPResponse: responderID
 * byKey, producedAt, the single responses in order, the nonce extension
 * when nonce_ext is not NULL — the request's extnValue, echoed as is —
 * signatureAlgorithm of the signer's key, the responder certificate in
 * certs).  The result is parsed back and its signature verified against
 * the responder certificate's key before it is returned.  *out is
 * OPENSSL_malloc'd (OPENSSL_free). */
int oc_ocsp_response_build(const struct oc_ocsp_responder *r,
	const struct oc_ocsp_single *singles, size_t n,
	const unsigned char *nonce_ext, size_t nonce_ext_len, time_t produced_at,
	unsigned char **out, size_t *outlen, struct oc_err *err);

/* The unsigned OCSPResponse for an error status (malformedRequest,
 * internalError, tryLater, sigRequired, unauthorized): static storage.
 * NULL for OC_OCSP_SUCCESSFUL or an unknown value. */
const unsigned char *oc_ocsp_error_der(enum oc_ocsp_resp_status s,
	size_t *len);
const char *oc_ocsp_resp_status_name(enum oc_ocsp_resp_status s);

/* ---- the pre-signed response cache of one issuing CA ---- */

struct oc_ocsp_cache;

struct oc_ocsp_cache_opts {
	int validity;            /* s, nextUpdate − thisUpdate; 0 = 3600 */
	int refresh_before;      /* s: re-sign when less than this is left;
	                            0 = validity / 2 */
	int revocation_interval; /* s between store polls (new revocations,
	                            new certificates); 0 = 60 */
	int live_max;            /* live signatures in flight at once; 0 = 4.
	                            Beyond it a request gets tryLater, so a
	                            flood of nonces cannot tie up every
	                            worker behind the signer */
	long expired_grace;      /* s after a certificate's notAfter during
	                            which its responses are still pre-signed;
	                            after it the certificate is answered live
	                            (its status kept, as long as the store has
	                            it) and costs refreshes nothing.  0 = 7
	                            days; < 0: pre-signed forever */
	/* Tests only: the clock (NULL = time(NULL)). */
	time_t (*clock)(void);
};

/* A new cache for the certificates issued by `issuer` (ca = "issuing" in
 * the store).  The cache opens its own handle on store_uri ("sqlite:PATH",
 * a path, …) and uses it only while refreshing.  issuer and responder are
 * up-ref'd; signer is borrowed and must outlive the cache (it must hold
 * responder's key: checked).  The cache is empty until the first
 * oc_ocsp_cache_refresh; until then every request gets tryLater.
 * validity must be at least 60 s, refresh_before below validity, and
 * revocation_interval below refresh_before (else OC_EINVAL). */
struct oc_ocsp_cache *oc_ocsp_cache_new(const char *store_uri, X509 *issuer,
	X509 *responder, struct oc_signer *signer,
	const struct oc_ocsp_cache_opts *opts, struct oc_err *err);
/* Stops the background thread if running; NULL is fine. */
void oc_ocsp_cache_free(struct oc_ocsp_cache *c);

/* Read the issuing CA's certificates changed since the last refresh (all
 * of them the first time, or when the store's change number went back;
 * the responder's own skipped) and sign what is new or changed status,
 * then re-sign a bounded share of what nears its nextUpdate (all that is
 * urgent); certificates expired beyond expired_grace are recorded, not
 * signed; serials the store no longer has are forgotten only on such
 * a full listing (docs/ocsp.md).  On a signing or store failure the
 * entries already signed stay; the error is returned (and counted). */
int oc_ocsp_cache_refresh(struct oc_ocsp_cache *c, struct oc_err *err);
/* A background thread that refreshes every revocation_interval (and when
 * kicked).  oc_ocsp_cache_stop waits for a refresh in progress. */
int oc_ocsp_cache_start(struct oc_ocsp_cache *c, struct oc_err *err);
void oc_ocsp_cache_stop(struct oc_ocsp_cache *c);
/* Wake the background thread for a refresh now (e.g. right after a
 * revocation or an issue in this process committed).  Never blocks on a
 * refresh; kicks made while one runs, or shortly after, are coalesced
 * into one refresh. */
void oc_ocsp_cache_kick(struct oc_ocsp_cache *c);

/* What an answer was. */
struct oc_ocsp_answer {
	enum oc_ocsp_resp_status status;
	bool presigned;          /* served from the cache, nothing signed */
	bool live;               /* signed for this request */
	time_t this_update;      /* successful: of the (first) single response */
	time_t next_update;      /* successful: the earliest nextUpdate; for
	                            HTTP caching (RFC 5019 max-age) */
	time_t produced_at;
};

/* Answer an OCSPRequest (DER).  Always produces a response in *resp
 * (malloc'd: free() it): pre-signed for one known certificate without a
 * nonce; signed now for a nonce, several CertIDs, or a serial the CA has
 * not issued (`unknown`); malformedRequest for anything that does not
 * parse; unauthorized for a CertID of another CA or hash algorithm;
 * tryLater before the first refresh, when the status on hand is older
 * than its validity, or when live_max signatures are already in flight;
 * internalError when signing fails.  Returns 0, or OC_ENOMEM with *resp
 * NULL when not even the error response could be allocated.  info may be
 * NULL. */
int oc_ocsp_cache_answer(struct oc_ocsp_cache *c, const unsigned char *req,
	size_t len, unsigned char **resp, size_t *resp_len);
int oc_ocsp_cache_answer_ex(struct oc_ocsp_cache *c, const unsigned char *req,
	size_t len, unsigned char **resp, size_t *resp_len,
	struct oc_ocsp_answer *info);
/* The same without signing anything, for a caller that must not block (an
 * event loop): what oc_ocsp_cache_answer_ex would sign now (a nonce,
 * several CertIDs, an unknown serial, no pre-signed response) is not
 * answered: 0 with *resp NULL and *need_sign true; the caller asks
 * oc_ocsp_cache_answer_ex where it may block.  Everything else (pre-signed,
 * malformedRequest, unauthorized, tryLater) is answered as there. */
int oc_ocsp_cache_answer_nosign(struct oc_ocsp_cache *c, const unsigned char *req,
	size_t len, unsigned char **resp, size_t *resp_len,
	struct oc_ocsp_answer *info, bool *need_sign);

struct oc_ocsp_cache_stats {
	uint64_t hits;           /* answered from a pre-signed response */
	uint64_t live_signs;     /* responses signed for a request */
	uint64_t presigns;       /* certificates pre-signed (a response per hash) */
	uint64_t malformed;      /* malformedRequest sent */
	uint64_t unauthorized;   /* unauthorized sent */
	uint64_t try_later;      /* tryLater sent */
	uint64_t internal_errors;/* internalError sent */
	uint64_t unknown;        /* `unknown` answers (all live) */
	uint64_t refreshes, refresh_errors;
	uint64_t entries;        /* certificates in the cache */
	time_t last_refresh;     /* start of the last successful listing */
};
void oc_ocsp_cache_get_stats(struct oc_ocsp_cache *c,
	struct oc_ocsp_cache_stats *out);
/* Append the counters of n caches (at most 64) as Prometheus text for
 * /metrics: one HELP/TYPE per family, one sample per cache labelled
 * ca="labels[i]" (e.g. "sm2"). */
int oc_ocsp_cache_metrics(struct oc_ocsp_cache *const *caches,
	const char *const *labels, size_t n, struct oc_buf *out);

#endif

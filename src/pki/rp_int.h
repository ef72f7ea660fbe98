/*
 * rp_int.h — what the relying-party files (rp.c, rp_http.c, rp_ocsp.c,
 * rp_crl.c, rp_cache.c) share and nobody else sees.
 */
#ifndef ONECERT_PKI_RP_INT_H
#define ONECERT_PKI_RP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "onecert/error.h"
#include "onecert/rp.h"

/* ---- rp_http.c: a small HTTP/1.0 client on OpenSSL's ---- */

/* Largest OCSP response accepted (a responder may add a chain). */
#define OC__RP_OCSP_RESP_MAX (100 * 1024)

/* Fetch url (http:// only).  POST when req != NULL (with Content-Type
 * ctype), GET otherwise, following at most 3 redirects for GET.
 * expect_ctype: NULL = any.  The body must be one ASN.1 object of at most
 * max_len bytes.  timeout_s bounds the connection and the exchange each.
 * *body is OPENSSL_malloc'd.  OC_EIO when the server cannot be reached or
 * does not answer in time, OC_EINVAL for a bad URL or answer, OC_ETOOBIG
 * over max_len, OC_EUNSUPPORTED for https. */
int oc__rp_http_fetch(const char *url, const char *ctype,
	const unsigned char *req, size_t reqlen, const char *expect_ctype,
	size_t max_len, long timeout_s, unsigned char **body, size_t *len,
	struct oc_err *err);

/* ---- the revocation answer ---- */

enum oc__rp_cert_status {
	OC__RP_GOOD = 0,
	OC__RP_REVOKED = 1,
	OC__RP_UNKNOWN = 2,       /* OCSP `unknown` */
};

struct oc__rp_rev {
	enum oc__rp_cert_status status;
	int reason;               /* CRLReason or -1 */
	time_t revoked_at;
	time_t this_update;
	time_t next_update;       /* 0: none */
};

/* ---- rp_cache.c: OCSP answers per (issuer key, serial), LRU ---- */

struct oc__rp_cache;

struct oc__rp_key {
	unsigned char issuer[32];  /* SHA-256 of the issuer's public key bits */
	char serial[43];
};

struct oc__rp_cache *oc__rp_cache_new(size_t max_entries);
void oc__rp_cache_free(struct oc__rp_cache *c);
/* true and *out when a fresh entry exists (expires > now); an expired
 * entry is dropped. */
bool oc__rp_cache_get(struct oc__rp_cache *c, const struct oc__rp_key *k,
	time_t now, struct oc__rp_rev *out);
/* Insert or replace; the least recently used entry goes when full. */
void oc__rp_cache_put(struct oc__rp_cache *c, const struct oc__rp_key *k,
	const struct oc__rp_rev *v, time_t expires);
void oc__rp_cache_del(struct oc__rp_cache *c, const struct oc__rp_key *k);
void oc__rp_cache_clear(struct oc__rp_cache *c);
size_t oc__rp_cache_count(struct oc__rp_cache *c);

/* ---- the relying party ---- */

enum { OC__RP_AUTO = 0, OC__RP_OFF = 1, OC__RP_URL = 2 };

#define OC__RP_MAX_OIDS 8
#define OC__RP_MAX_EKU  8
#define OC__RP_BACKOFF_SLOTS 32
#define OC__RP_CRL_SLOTS 64

struct oc__rp_backoff {
	char url[256];
	time_t until;
};

struct oc__rp_crl_slot {
	char *url;                   /* NULL: free slot */
	unsigned char issuer[32];
	X509_CRL *crl;               /* verified; NULL while first fetched */
	time_t this_update, next_update;
	time_t expires;
	time_t used;                 /* for replacing the least used slot */
	bool fetching;               /* one thread is downloading it */
};

struct oc__rp_counters {
	atomic_ullong checks, accepted, refused;
	atomic_ullong ocsp_queries, ocsp_cache_hits, ocsp_failures,
	    ocsp_skipped;
	atomic_ullong crl_fallbacks, crl_downloads, crl_cache_hits,
	    crl_failures;
	atomic_ullong revocation_unknown, fail_open;
};

struct oc_rp {
	STACK_OF(X509) *anchors;
	STACK_OF(X509) *intermediates;

	int ocsp_mode;               /* auto, off, URL */
	char ocsp_url[256];
	long ocsp_timeout, ocsp_max_age, ocsp_backoff;
	bool ocsp_nonce;
	int crl_mode;                /* auto, off */
	long crl_timeout, crl_max_age;
	size_t crl_max_size;
	long clock_skew;
	bool fail_open;
	uint32_t ku_bits;            /* keyUsage bits required (KU_*) */
	char *uid_oids[OC__RP_MAX_OIDS];
	size_t n_uid;
	char *org_oids[OC__RP_MAX_OIDS];
	size_t n_org;
	ASN1_OBJECT *eku[OC__RP_MAX_EKU]; /* each required */
	size_t n_eku;

	struct oc__rp_cache *cache;

	pthread_mutex_t mu;          /* backoff[] and crl[] */
	pthread_cond_t crl_cv;       /* a CRL download finished */
	struct oc__rp_backoff backoff[OC__RP_BACKOFF_SLOTS];
	struct oc__rp_crl_slot crl[OC__RP_CRL_SLOTS];

	struct oc__rp_counters n;
};

#define OC__RP_INC(rp, field) \
	atomic_fetch_add_explicit(&(rp)->n.field, 1, memory_order_relaxed)

/* ---- rp_ocsp.c ---- */

/* Ask url about leaf (issued by issuer) and verify the answer: signer
 * (the issuer, or a delegated responder it issued with id-kp-OCSPSigning),
 * signature over the received tbsResponseData bytes (SM2 with the
 * distinguishing ID), nonce, thisUpdate/nextUpdate against now.  0 and
 * *out, or an error (the responder did not give a usable answer). */
int oc__rp_ocsp_query(struct oc_rp *rp, const char *url, X509 *leaf,
	X509 *issuer, time_t now, struct oc__rp_rev *out, struct oc_err *err);

/* Verify a signature over tbs made with the algorithm alg by pub: SM2
 * with SM3 and the distinguishing ID, else the digest alg names. */
int oc__rp_verify_sig(EVP_PKEY *pub, const X509_ALGOR *alg,
	const unsigned char *tbs, size_t tbslen, const unsigned char *sig,
	size_t siglen, struct oc_err *err);
/* Is x signed by issuer's key (SM2-aware)?  Name chaining and issuer
 * key usage are checked too (X509_check_issued). */
bool oc__rp_issued_by(X509 *x, X509 *issuer);
/* ASN1_TIME to time_t; false if malformed. */
bool oc__rp_time(const ASN1_TIME *t, time_t *out);

/* ---- rp_crl.c ---- */

/* Revocation by CRL: the leaf's CRL distribution points (http), the CRL
 * from the cache or downloaded, verified against issuer.  *from_cache
 * tells which.  0 and *out, or an error (no CRL usable). */
int oc__rp_crl_check(struct oc_rp *rp, X509 *leaf, X509 *issuer,
	const struct oc__rp_key *k, time_t now, struct oc__rp_rev *out,
	bool *from_cache, struct oc_err *err);
void oc__rp_crl_clear(struct oc_rp *rp);
size_t oc__rp_crl_count(struct oc_rp *rp);

#endif

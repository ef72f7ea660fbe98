/*
 * rp.h — the relying party's certificate check (SPEC §4.1): what the
 * service hall asks before it lets a certificate log in, and again every
 * few minutes during a session.
 *
 * The hall knows the CAs only through standard X.509, OCSP and CRL, set
 * up by configuration (docs/config.md, section [trust]): trust-anchor
 * files (roots and/or issuing CAs — several hierarchies, ours and real
 * ones such as SHECA's), optional intermediates, the OCSP and CRL
 * policy, and which extension OIDs carry the certificate's unique ID and
 * organization code.  A check, in this order:
 *
 *   1. chain to a configured anchor (oc_chain_verify: SM2-aware),
 *   2. validity period (expired / not yet valid, each with its own message),
 *   3. keyUsage digitalSignature and the configured extended key usage
 *      (clientAuth by default),
 *   4. the organization code / USCC read from the configured OIDs passes
 *      its check digits (GB 32100 / GB 11714),
 *   5. revocation: OCSP first (the AIA URL or a configured one; POST with
 *      a nonce; the response must be signed by the issuer or by a
 *      responder certificate with id-kp-OCSPSigning that the issuer
 *      issued; thisUpdate/nextUpdate sane), answers cached per
 *      (issuer, serial) until the earlier of nextUpdate and ocsp_max_age;
 *      when OCSP does not answer, the CRL from the CRL distribution point
 *      (signature checked against the issuer, SM2 included), cached until
 *      the earlier of its nextUpdate and crl_max_age; when neither
 *      answers: refused (revocation_unknown), unless fail_open.
 *
 * Thread safety: one struct oc_rp serves any number of threads at once
 * (the hall's workers).  Its caches are mutex-protected; network I/O is
 * done without holding any lock.  Checks block for up to the configured
 * timeouts while OCSP or CRL servers are asked: call them from worker
 * threads, never from an event loop.
 */
#ifndef ONECERT_RP_H
#define ONECERT_RP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>
#include "onecert/buf.h"
#include "onecert/config.h"
#include "onecert/error.h"

struct oc_rp;

/* The default configuration section. */
#define OC_RP_SECTION "trust"

/* Make a relying party from the keys of `section` (NULL = "trust") of cfg.
 * Relative file names in anchors/intermediates are taken from base_dir
 * (NULL = the current directory), typically the configuration file's
 * folder.  Every anchor and intermediate file is loaded now: a missing or
 * malformed file, an unknown key value or no anchor at all is OC_ECONFIG
 * with a message naming the key.  Caller owns the result (oc_rp_free). */
struct oc_rp *oc_rp_new(const struct oc_config *cfg, const char *section,
	const char *base_dir, struct oc_err *err);
void oc_rp_free(struct oc_rp *rp);

enum oc_rp_status {
	OC_RP_OK = 0,
	OC_RP_REVOKED,             /* revoked (reason and time in the result) */
	OC_RP_EXPIRED,             /* now > notAfter */
	OC_RP_NOT_YET_VALID,       /* now < notBefore */
	OC_RP_UNTRUSTED,           /* no chain to a configured anchor, bad
	                              signature, malformed certificate */
	OC_RP_WRONG_USAGE,         /* keyUsage / extendedKeyUsage */
	OC_RP_BAD_IDENTITY,        /* organization code / USCC fails its
	                              check digits */
	OC_RP_REVOCATION_UNKNOWN,  /* neither OCSP nor CRL answered (fail
	                              closed), or OCSP answered `unknown` */
};
/* "ok", "revoked", "expired", "not_yet_valid", "untrusted",
 * "wrong_usage", "bad_identity", "revocation_unknown". */
const char *oc_rp_status_name(enum oc_rp_status s);

/* Where the revocation answer came from. */
enum oc_rp_rev_source {
	OC_RP_REV_NONE = 0,        /* not reached (refused before), or both
	                              OCSP and CRL are configured off */
	OC_RP_REV_OCSP,            /* an OCSP response fetched for this check */
	OC_RP_REV_OCSP_CACHE,      /* a cached OCSP answer */
	OC_RP_REV_CRL,             /* a CRL downloaded for this check */
	OC_RP_REV_CRL_CACHE,       /* a cached CRL */
	OC_RP_REV_UNAVAILABLE,     /* nothing answered (fail_open decided) */
};
const char *oc_rp_rev_source_name(enum oc_rp_rev_source s);

#define OC_RP_STR_MAX 256          /* UTF-8 names, DNs */
#define OC_RP_ID_MAX  128          /* unique ID, organization code value */
#define OC_RP_OID_MAX 96

struct oc_rp_result {
	enum oc_rp_status status;
	/* For a person: Chinese, " / ", English.  Also copied to err->msg
	 * when the certificate is refused. */
	char message[512];

	/* The certificate, filled as far as it could be read (also for
	 * refused certificates, for the log). */
	char serial[43];               /* canonical upper-case hex */
	char subject_cn[OC_RP_STR_MAX];/* UTF-8; "" when absent */
	char subject_o[OC_RP_STR_MAX];
	char issuer[OC_RP_STR_MAX];    /* issuer DN, RFC 2253, UTF-8 */
	char issuer_cn[OC_RP_STR_MAX];
	time_t not_before, not_after;
	/* The unique ID from the first configured OID the certificate has;
	 * "" and "" when none. */
	char unique_id[OC_RP_ID_MAX];
	char unique_id_oid[OC_RP_OID_MAX];
	/* The organization code extension's value as written (USCC or
	 * organization code), from the first configured OID found. */
	char org_code_value[OC_RP_ID_MAX];
	char org_code_oid[OC_RP_OID_MAX];
	/* The 9-character organization code (embedded in the USCC, or the
	 * value without its dash); uscc the 18-character code or "". */
	char org_code[10];
	char uscc[19];

	/* Revocation. */
	enum oc_rp_rev_source rev_source;
	int revoked_reason;            /* RFC 5280 CRLReason; -1 = none given */
	time_t revoked_at;
	time_t rev_this_update;        /* of the OCSP response or CRL */
	time_t rev_next_update;        /* 0 = none given */
	/* fail_open let a certificate through whose revocation status no
	 * one could give: the hall should mark the session and re-check
	 * soon. */
	bool revocation_unchecked;
};

/* Check a client certificate.  chain_from_client (may be NULL) adds
 * untrusted intermediates to the configured ones.  now = 0: time(NULL).
 * Returns 0 when the certificate is accepted (out->status == OC_RP_OK),
 * OC_EPERM when it is refused (out->status says why, out->message and
 * err->msg say it to a person), OC_EINVAL for NULL arguments, OC_ENOMEM.
 * out is always filled as far as possible. */
int oc_rp_check(struct oc_rp *rp, X509 *cert,
	STACK_OF(X509) *chain_from_client, time_t now,
	struct oc_rp_result *out, struct oc_err *err);

/* The same check with this certificate's revocation state refreshed:
 * its cached OCSP answer is dropped and the responder asked now (even
 * inside a back-off after a failure).  A cached CRL is still used while
 * it is current: CRLs are shared by every certificate of an issuer, and
 * re-downloading one per session re-check would let sessions drive CRL
 * traffic.  For the hall's periodic session re-check. */
int oc_rp_recheck(struct oc_rp *rp, X509 *cert,
	STACK_OF(X509) *chain_from_client, time_t now,
	struct oc_rp_result *out, struct oc_err *err);

/* Forget every cached OCSP answer and CRL (e.g. an operator's command). */
void oc_rp_cache_clear(struct oc_rp *rp);

struct oc_rp_stats {
	uint64_t checks;            /* oc_rp_check + oc_rp_recheck calls */
	uint64_t accepted;
	uint64_t refused;           /* any status but ok */
	uint64_t ocsp_queries;      /* requests sent to OCSP responders */
	uint64_t ocsp_cache_hits;   /* answered from the OCSP cache */
	uint64_t ocsp_failures;     /* unreachable, timeout, error status, bad
	                               signature, stale, nonce mismatch */
	uint64_t ocsp_skipped;      /* not asked: responder in back-off */
	uint64_t crl_fallbacks;     /* revocation answered (or tried) by CRL
	                               because OCSP did not answer or is off */
	uint64_t crl_downloads;     /* CRLs fetched */
	uint64_t crl_cache_hits;
	uint64_t crl_failures;      /* download, parse, signature, stale */
	uint64_t revocation_unknown;/* neither answered */
	uint64_t fail_open;         /* of those, let through by fail_open */
	uint64_t ocsp_cache_entries;
	uint64_t crl_cache_entries;
};
void oc_rp_get_stats(struct oc_rp *rp, struct oc_rp_stats *out);
/* Append the counters as Prometheus text (onecert_rp_*) for /metrics. */
int oc_rp_metrics(struct oc_rp *rp, struct oc_buf *out);

#endif

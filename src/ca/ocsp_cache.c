/*
 * ocsp_cache.c — pre-signed OCSP responses for one issuing CA, so that
 * serving does not sign (SPEC §3.5).
 *
 * Shape.  A hash table keyed by serial (canonical hex) holds, per
 * certificate of the CA, the status last read from the store and two
 * pre-signed OCSPResponses, one per CertID hash a client may ask with:
 * SHA-1 (what `openssl ocsp`, browsers, Java and RFC 5019 clients send)
 * and SHA-256.  Each carries exactly one SingleResponse, for the CertID
 * the request named.  One response holding both CertIDs would cost half
 * the signatures, and RFC 6960 4.2.2.3 tolerates the extra SingleResponse,
 * but clients that expect the one they asked for break on it: Python's
 * `cryptography` (48) raises ValueError from the response's status
 * accessors, Go's ocsp.ParseResponse refuses "bad number of responses"
 * (docs/ocsp.md has the survey).  Readers take the table's rwlock shared
 * and copy the DER blob out; only a refresh takes it exclusively, briefly,
 * to swap entries in.
 *
 * Refresh (oc_ocsp_cache_refresh; at start, then every revocation_interval
 * from the background thread, or at once when kicked) reads from the store
 * only the certificates of the CA (ca = "issuing") issued or whose status
 * changed since the last refresh (oc_store_cert_changes, by the store's
 * change number, which writers take in commit order in the transaction of
 * the change: see store.h), and signs, outside the lock, the response of
 * each one that is new or changed status.  The first refresh reads every
 * certificate; so does one that finds the store's change number lower than
 * what it has read up to (another database: a backup restored), and that
 * one also forgets the serials it no longer lists.  The responder's own
 * certificate, which carries id-pkix-ocsp-nocheck, is skipped.  Responses
 * near their end are found without the store: every entry is on a list
 * ordered by when it is due (no response first, then by nextUpdate; a
 * response just signed goes to the tail, as its nextUpdate is the latest),
 * and a refresh re-signs from the head while less than refresh_before is
 * left — at most a budget of them per refresh, enough to re-sign the whole
 * list within the first half of refresh_before, plus the urgent ones (no
 * response, or less than refresh_before / 2 left), so that the responses
 * signed together at start-up are not all re-signed by one long refresh
 * that a revocation would wait behind.  A certificate expired for longer
 * than expired_grace is kept (its status) but off the due list and
 * without responses: answered live, so the refreshes' cost does not grow
 * with every certificate ever issued.  A refresh thus costs the changes
 * since the last one plus a bounded share of the responses due, not the
 * size of the CA.  Kicks (oc_ocsp_cache_kick: the RA API after a change
 * it committed) are coalesced, and a kicked refresh starts no sooner than
 * KICK_GAP_MS after the previous one ended.  Only refresh mutates the table
 * and the due list, and refreshes are serialised, so a refresh may read
 * them without the lock.  If signing fails (signer process gone) the
 * refresh still records the new status of every certificate whose status
 * changed and drops its pre-signed response, so a stale `good` is never
 * served for a revoked certificate; those are then answered live (or
 * internalError while the signer stays down), and re-signed from the head
 * of the due list once signing works again.  A pre-signed response past
 * its nextUpdate is never served.
 *
 * What is signed live, per request: a certificate expired beyond
 * expired_grace (with its status); a nonce (the response must echo it);
 * several CertIDs in one request (one signature covers them all); a
 * CertID encoded otherwise than the pre-signed one (certid_is_ours); a
 * serial the CA never issued, or issued after the last refresh — answered
 * `unknown` with nextUpdate at most revocation_interval ahead, so a
 * relying party that caches it asks again once the certificate is known.
 * `unknown` answers are not cached: the serials are the client's choice,
 * so a cache of them is either unbounded or flushable by the same client,
 * and it would not bound the signing cost.  What does bound it is
 * live_max: at most that many live signatures in flight, beyond which a
 * request gets tryLater at once, so a flood of nonces or bogus serials
 * cannot occupy every HTTP worker behind the signer (rate limiting per
 * client belongs to the HTTP layer).  Signer calls are serialised by
 * sign_mu, as the remote signer is one socket anyway.
 *
 * Answering.  A request for one known certificate without a nonce is
 * answered by copying its pre-signed DER out under the read lock.  What
 * such a request maps to (serial, CertID hash) depends only on its bytes
 * and on the issuer, so each thread remembers the last few request
 * encodings it has seen (a small direct-mapped table per thread, requests
 * up to MEMO_REQ_MAX bytes): the same bytes again skip the DER parse,
 * the largest part of serving a pre-signed answer.  The status and the
 * response are still read from the table every time; the memo only saves
 * the parse.
 *
 * thisUpdate of a pre-signed response is the start of the refresh that
 * produced it; of a live one, the start of the last successful refresh
 * (the status is known to be correct as of then: the store is read after
 * it).  Live answers are refused with tryLater once that refresh is older
 * than `validity`.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/log.h"
#include "onecert/ocsp.h"
#include "onecert/pki.h"
#include "onecert/store.h"
#include "pki/internal.h"

#define NHASH 2   /* pre-signed responses per certificate: SHA-1, SHA-256 */
#define MEMO_N       16     /* request encodings remembered per thread */
#define MEMO_REQ_MAX 256    /* … each at most this long */
/* A kicked refresh starts no sooner than this after the previous one
 * ended, so that a burst of kicks (RA API issuance under load: one per
 * certificate) makes one refresh per gap reading them all, not one
 * refresh per certificate. */
#define KICK_GAP_MS  200

struct entry {
	struct entry *next;            /* bucket chain */
	uint32_t h;
	char serial[43];
	enum oc_ocsp_cert_status status;   /* GOOD or REVOKED */
	time_t revoked_at;
	int reason;
	time_t next_update;            /* of der[]; 0 when none */
	time_t produced;               /* producedAt of der[] */
	/* The pre-signed responses, one per CertID hash (hash_index: SHA-1,
	 * SHA-256), each with the one SingleResponse for its CertID;
	 * OPENSSL_malloc'd, both or neither (NULL: none). */
	unsigned char *der[NHASH];
	size_t der_len[NHASH];
	time_t not_after;              /* of the certificate; 0: unknown */
	uint64_t gen;                  /* full listing last listed in */
	struct entry *due_prev, *due_next;  /* the due list (refresh only) */
	bool on_due;                   /* on it: not retired (expired_grace) */
};

struct oc_ocsp_cache {
	char *store_uri;
	struct oc_store *st;           /* refresh only (under refresh_mu) */
	X509 *issuer, *responder;      /* owned references */
	struct oc_signer *signer;      /* borrowed */
	struct oc_ocsp_responder resp;
	struct oc_ocsp_issuer_hashes ih;
	char responder_serial[43];
	time_t responder_not_after;    /* 0 when unreadable */
	time_t expiry_warned;          /* last "responder expiring" log */
	struct oc_ocsp_cache_opts o;

	pthread_rwlock_t lock;         /* buckets, entries, last_list, ready */
	struct entry **buckets;
	size_t nbuckets, nentries;
	time_t last_list;              /* start of the last good listing */
	bool ready;

	pthread_mutex_t refresh_mu;    /* one refresh at a time; owns st,
	                                  gen, seen, listed and the due list */
	uint64_t gen;
	long long seen;                /* store change number read up to */
	bool listed;                   /* a full listing was done */
	/* Every entry, by when it is due for signing: no response first,
	 * then by nextUpdate, earliest first. */
	struct entry *due_head, *due_tail;
	size_t ndue;                   /* entries on the due list */
	time_t last_start;             /* start of the previous refresh; 0 */
	pthread_mutex_t sign_mu;       /* one signature at a time */

	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;
	pthread_t bg;
	bool bg_running, bg_stop, bg_kick;
	struct timespec bg_last_end;   /* CLOCK_MONOTONIC, end of the last
	                                  background refresh */

	uint64_t id;                   /* unique per cache, for the memo */
	atomic_int live_inflight;
	atomic_uint_fast64_t n_hits, n_live, n_presign, n_malformed,
	    n_unauthorized, n_try_later, n_internal, n_unknown, n_refreshes,
	    n_refresh_errors;
};

static atomic_uint_fast64_t cache_ids;

/* One remembered request encoding (see "Answering" at the top). */
struct memo {
	uint64_t cache;                /* c->id; 0: empty */
	size_t len;
	unsigned char req[MEMO_REQ_MAX];
	char serial[43];
	int hi;                        /* hash_index of the CertID */
};

static _Thread_local struct memo memos[MEMO_N];

/* The CertID hash of each pre-signed response of an entry (der[i]); see
 * hash_index. */
static const enum oc_ocsp_hash presign_hashes[NHASH] = { OC_OCSP_HASH_SHA1,
    OC_OCSP_HASH_SHA256 };

static struct memo *
memo_slot(const unsigned char *req, size_t len)
{
	uint32_t h = 2166136261u;      /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ req[i]) * 16777619u;
	return &memos[h % MEMO_N];
}

static time_t
now_of(const struct oc_ocsp_cache *c)
{
	return c->o.clock != NULL ? c->o.clock() : time(NULL);
}

static uint32_t
hash_serial(const char *s)
{
	uint32_t h = 2166136261u;       /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static struct entry *
find(const struct oc_ocsp_cache *c, const char *serial)
{
	uint32_t h;

	if (serial[0] == '\0' || c->nbuckets == 0)
		return NULL;
	h = hash_serial(serial);
	for (struct entry *e = c->buckets[h % c->nbuckets]; e != NULL;
	    e = e->next)
		if (e->h == h && strcmp(e->serial, serial) == 0)
			return e;
	return NULL;
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < NHASH; i++)
		OPENSSL_free(e->der[i]);
	free(e);
}

/* Under the write lock.  Grows the table at load factor 1. */
static int
insert(struct oc_ocsp_cache *c, struct entry *e)
{
	if (c->nentries + 1 > c->nbuckets) {
		size_t nb = c->nbuckets != 0 ? c->nbuckets * 2 : 1024;
		struct entry **b = calloc(nb, sizeof(*b));

		if (b == NULL)
			return OC_ENOMEM;
		for (size_t i = 0; i < c->nbuckets; i++) {
			struct entry *x = c->buckets[i], *next;

			for (; x != NULL; x = next) {
				next = x->next;
				x->next = b[x->h % nb];
				b[x->h % nb] = x;
			}
		}
		free(c->buckets);
		c->buckets = b;
		c->nbuckets = nb;
	}
	e->next = c->buckets[e->h % c->nbuckets];
	c->buckets[e->h % c->nbuckets] = e;
	c->nentries++;
	return 0;
}

/* ---- creating ---- */

struct oc_ocsp_cache *
oc_ocsp_cache_new(const char *store_uri, X509 *issuer, X509 *responder,
    struct oc_signer *signer, const struct oc_ocsp_cache_opts *opts,
    struct oc_err *err)
{
	struct oc_ocsp_cache *c = NULL;
	struct oc_ocsp_cache_opts o;
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	bool self;

	if (store_uri == NULL || issuer == NULL || responder == NULL ||
	    signer == NULL) {
		oc_err_set(err, OC_EINVAL, "OCSP 缓存缺少参数 / OCSP cache: store, "
		    "issuer, responder and signer are required");
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	if (opts != NULL)
		o = *opts;
	if (o.validity == 0)
		o.validity = 3600;
	if (o.refresh_before == 0)
		o.refresh_before = o.validity / 2;
	if (o.revocation_interval == 0)
		o.revocation_interval = 60;
	if (o.live_max == 0)
		o.live_max = 4;
	if (o.expired_grace == 0)
		o.expired_grace = 7 * 86400;
	if (o.validity < 60 || o.refresh_before <= 0 ||
	    o.refresh_before >= o.validity || o.revocation_interval <= 0 ||
	    o.revocation_interval >= o.refresh_before || o.live_max < 0) {
		oc_err_set(err, OC_EINVAL, "OCSP 缓存参数无效 / OCSP cache: need "
		    "validity >= 60 s > refresh_before > revocation_interval > 0");
		return NULL;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(responder),
	    oc_signer_get0_pubkey(signer)) != 1) {
		oc_err_set(err, OC_EINVAL, "签名密钥与 OCSP 响应者证书不符 / the "
		    "signer's key does not match the OCSP responder certificate");
		return NULL;
	}
	/* The responder is the CA itself, or a delegate it issued with
	 * id-kp-OCSPSigning (RFC 6960 4.2.2.2). */
	self = X509_cmp(issuer, responder) == 0;
	if (!self && (X509_check_issued(issuer, responder) != X509_V_OK ||
	    !(X509_get_extension_flags(responder) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN))) {
		oc_err_set(err, OC_EINVAL, "OCSP 响应者证书不是该 CA 签发的 OCSP "
		    "签名证书 / the responder certificate is not an OCSPSigning "
		    "certificate issued by this CA");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->store_uri = strdup(store_uri)) == NULL) {
		free(c);
		oc_err_set(err, OC_ENOMEM, "内存不足 / out of memory");
		return NULL;
	}
	c->o = o;
	c->id = atomic_fetch_add(&cache_ids, 1) + 1;
	if (oc_ocsp_issuer_hashes(issuer, &c->ih, err) != 0 ||
	    oc_serial_hex(X509_get0_serialNumber(responder),
	    c->responder_serial) != 0) {
		if (err != NULL && err->code == 0)
			oc_err_set(err, OC_EINVAL, "OCSP 响应者证书序列号无效 / bad "
			    "responder certificate serial");
		free(c->store_uri);
		free(c);
		return NULL;
	}
	{
		struct tm tm;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(responder), &tm))
			c->responder_not_after = timegm(&tm);
	}
	X509_up_ref(issuer);
	X509_up_ref(responder);
	c->issuer = issuer;
	c->responder = responder;
	c->signer = signer;
	c->resp.cert = responder;
	c->resp.signer = signer;
	/* Writers are rare and brief; never let a stream of readers starve
	 * a refresh. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&c->refresh_mu, NULL);
	pthread_mutex_init(&c->sign_mu, NULL);
	pthread_mutex_init(&c->bg_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->bg_cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&c->live_inflight, 0);
	return c;
}

void
oc_ocsp_cache_free(struct oc_ocsp_cache *c)
{
	if (c == NULL)
		return;
	oc_ocsp_cache_stop(c);
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(c->buckets);
	oc_store_close(c->st);
	X509_free(c->issuer);
	X509_free(c->responder);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->refresh_mu);
	pthread_mutex_destroy(&c->sign_mu);
	pthread_mutex_destroy(&c->bg_mu);
	pthread_cond_destroy(&c->bg_cv);
	free(c->store_uri);
	free(c);
}

/* ---- signing ---- */

/* v: the refresh's verify context for the self-check, or NULL. */
static int
sign_singles(struct oc_ocsp_cache *c, struct oc__ocsp_verifier *v,
    const struct oc_ocsp_single *s, size_t n, const unsigned char *nonce_ext,
    size_t nonce_ext_len, time_t produced, unsigned char **out,
    size_t *outlen, struct oc_err *err)
{
	int rc;

	pthread_mutex_lock(&c->sign_mu);
	rc = oc__ocsp_response_build_v(&c->resp, v, s, n, nonce_ext,
	    nonce_ext_len, produced, out, outlen, err);
	pthread_mutex_unlock(&c->sign_mu);
	return rc;
}

/* ---- refresh ---- */

struct rec {
	char serial[43];
	enum oc_ocsp_cert_status status;
	time_t revoked_at;
	int reason;
	time_t not_after;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	const char *skip;
	int err;
};

static int
collect(const struct oc_cert_rec *r, void *arg)
{
	struct recs *rs = arg;
	struct rec *x;

	if (strcmp(r->serial, rs->skip) == 0)
		return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap != 0 ? rs->cap * 2 : 256;
		struct rec *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL) {
			rs->err = OC_ENOMEM;
			return OC_ENOMEM;
		}
		rs->v = v;
		rs->cap = cap;
	}
	x = &rs->v[rs->n++];
	memset(x, 0, sizeof(*x));
	memcpy(x->serial, r->serial, sizeof(x->serial));
	x->serial[sizeof(x->serial) - 1] = '\0';
	x->not_after = r->not_after;
	if (r->status == OC_CERT_REVOKED) {
		x->status = OC_OCSP_REVOKED;
		x->revoked_at = r->revoked_at;
		x->reason = r->reason;
	} else {
		x->status = OC_OCSP_GOOD;
		x->reason = -1;
	}
	return 0;
}

static bool
same_status(const struct entry *e, const struct rec *r)
{
	if (e->status != r->status)
		return false;
	return r->status != OC_OCSP_REVOKED ||
	    (e->revoked_at == r->revoked_at && e->reason == r->reason);
}

/* Sign r's responses as of `at`, one per CertID hash (der[i] for
 * presign_hashes[i]), each holding the one SingleResponse for that
 * CertID, their self-checks with v (NULL: without a verify context of the
 * refresh's own).  All or none: on failure nothing is left in der[].
 * der[i] are OPENSSL_malloc'd. */
static int
presign(struct oc_ocsp_cache *c, struct oc__ocsp_verifier *v,
    const struct rec *r, time_t at, unsigned char *der[NHASH],
    size_t len[NHASH], time_t *produced, struct oc_err *err)
{
	struct oc_ocsp_certid id;
	struct oc_ocsp_single s;
	int rc = 0;

	*produced = now_of(c);
	if (*produced < at)
		*produced = at;
	for (int i = 0; i < NHASH; i++) {
		der[i] = NULL;
		len[i] = 0;
	}
	for (int i = 0; i < NHASH && rc == 0; i++) {
		if ((rc = oc_ocsp_certid_from_hashes(&c->ih, presign_hashes[i],
		    r->serial, &id, err)) != 0)
			break;
		memset(&s, 0, sizeof(s));
		s.id = &id;
		s.status = r->status;
		s.revoked_at = r->revoked_at;
		s.reason = r->reason;
		s.this_update = at;
		s.next_update = at + c->o.validity;
		rc = sign_singles(c, v, &s, 1, NULL, 0, *produced, &der[i],
		    &len[i], err);
	}
	if (rc != 0) {
		for (int i = 0; i < NHASH; i++) {
			OPENSSL_free(der[i]);
			der[i] = NULL;
			len[i] = 0;
		}
		return rc;
	}
	atomic_fetch_add(&c->n_presign, 1);
	return 0;
}

/* ---- the due list (refresh only) ---- */

/* When e is due for signing: at once without a response, else by its
 * nextUpdate. */
static time_t
due_key(const struct entry *e)
{
	return e->der[0] != NULL ? e->next_update : 0;
}

static void
due_unlink(struct oc_ocsp_cache *c, struct entry *e)
{
	if (e->on_due)
		c->ndue--;
	e->on_due = false;
	if (e->due_prev != NULL)
		e->due_prev->due_next = e->due_next;
	else if (c->due_head == e)
		c->due_head = e->due_next;
	if (e->due_next != NULL)
		e->due_next->due_prev = e->due_prev;
	else if (c->due_tail == e)
		c->due_tail = e->due_prev;
	e->due_prev = e->due_next = NULL;
}

/* (Re)place e by due_key: one without a response at the head; one just
 * signed from the tail, where it belongs unless the clock went back. */
static void
due_place(struct oc_ocsp_cache *c, struct entry *e)
{
	time_t k = due_key(e);
	struct entry *p = NULL;

	due_unlink(c, e);
	if (k != 0)
		for (p = c->due_tail; p != NULL && due_key(p) > k;
		    p = p->due_prev)
			;
	/* after p (NULL: at the head) */
	e->due_prev = p;
	e->due_next = p != NULL ? p->due_next : c->due_head;
	if (e->due_next != NULL)
		e->due_next->due_prev = e;
	else
		c->due_tail = e;
	if (p != NULL)
		p->due_next = e;
	else
		c->due_head = e;
	e->on_due = true;
	c->ndue++;
}

/* Whether a certificate that expired at not_after is past expired_grace
 * at now: its responses are no longer pre-signed (it is off the due list
 * and answered live), so that the refreshes' cost does not grow with
 * every certificate ever issued. */
static bool
retired(const struct oc_ocsp_cache *c, time_t not_after, time_t now)
{
	return c->o.expired_grace >= 0 && not_after != 0 &&
	    now - not_after >= c->o.expired_grace;
}

/* Put r (and its responses, which it takes over; der NULL or der[0]
 * NULL: none) into the table as of generation gen, on the due list
 * unless retired as of now.  The old responses are freed after the lock
 * is dropped. */
static int
store_entry(struct oc_ocsp_cache *c, const struct rec *r,
    unsigned char *const *der, const size_t *len, time_t next_update,
    time_t produced, time_t now)
{
	unsigned char *old[NHASH];
	struct entry *e, *fresh = NULL;
	bool have = der != NULL && der[0] != NULL;
	int rc = 0;

	if (find(c, r->serial) == NULL) {
		if ((fresh = calloc(1, sizeof(*fresh))) == NULL)
			return OC_ENOMEM;
		memcpy(fresh->serial, r->serial, sizeof(fresh->serial));
		fresh->h = hash_serial(r->serial);
	}
	pthread_rwlock_wrlock(&c->lock);
	if ((e = fresh) != NULL && (rc = insert(c, fresh)) != 0) {
		pthread_rwlock_unlock(&c->lock);
		free(fresh);
		return rc;
	}
	if (e == NULL)
		e = find(c, r->serial);
	e->status = r->status;
	e->revoked_at = r->revoked_at;
	e->reason = r->reason;
	e->not_after = r->not_after;
	e->gen = c->gen;
	for (int i = 0; i < NHASH; i++) {
		old[i] = e->der[i];
		e->der[i] = have ? der[i] : NULL;
		e->der_len[i] = have ? len[i] : 0;
	}
	e->next_update = have ? next_update : 0;
	e->produced = have ? produced : 0;
	pthread_rwlock_unlock(&c->lock);
	for (int i = 0; i < NHASH; i++)
		OPENSSL_free(old[i]);
	if (retired(c, e->not_after, now))
		due_unlink(c, e);
	else
		due_place(c, e);
	return 0;
}

/* Sign r's response now (if signing still works in this refresh) and
 * record it; if it cannot be signed, record r's status without a
 * response when the status changed (never leave a stale one to be
 * served), else keep the entry as it is.  0, or OC_ENOMEM. */
static int
resign(struct oc_ocsp_cache *c, struct oc__ocsp_verifier **v, bool *v_tried,
    const struct rec *r, bool changed, time_t now, int *sign_rc,
    size_t *signed_n, size_t *dropped, struct oc_err *err)
{
	unsigned char *der[NHASH] = { NULL };
	size_t len[NHASH] = { 0 };
	time_t produced = 0;
	struct oc_err e2;
	int rc;

	if (*sign_rc == 0) {
		/* One verify context for the refresh's self-checks; if it
		 * cannot be made, each check makes its own, as for a live
		 * response. */
		if (!*v_tried) {
			*v_tried = true;
			*v = oc__ocsp_verifier_new(c->resp.cert, NULL);
			ERR_clear_error();
		}
		oc_err_clear(&e2);
		*sign_rc = presign(c, *v, r, now, der, len, &produced, &e2);
		if (*sign_rc != 0 && err != NULL)
			*err = e2;
	}
	if (*sign_rc == 0) {
		if ((rc = store_entry(c, r, der, len, now + c->o.validity,
		    produced, now)) != 0) {
			for (int i = 0; i < NHASH; i++)
				OPENSSL_free(der[i]);
			return rc;
		}
		(*signed_n)++;
	} else if (changed) {
		if ((rc = store_entry(c, r, NULL, NULL, 0, 0, now)) != 0)
			return rc;
		(*dropped)++;
	}
	return 0;
}

/* Read what changed since c->seen (everything on the first refresh, or
 * if the store's change number went back: another database) into rs;
 * *full says which it was. */
static int
read_changes(struct oc_ocsp_cache *c, struct recs *rs, bool *full,
    long long *upto, struct oc_err *err)
{
	int rc;

	*full = !c->listed;
	for (;;) {
		rs->n = 0;
		rs->err = 0;
		rc = oc_store_cert_changes(c->st, "issuing", *full ? 0 : c->seen,
		    collect, rs, upto, err);
		if (rc == 0 && rs->err != 0)
			rc = oc_err_set(err, rs->err, "内存不足 / out of memory");
		if (rc != 0 || *full || *upto >= c->seen)
			return rc;
		oc_log(OC_LOG_WARN, "ocsp.store_replaced", "seen=%lld now=%lld",
		    c->seen, *upto);
		*full = true;
	}
}

int
oc_ocsp_cache_refresh(struct oc_ocsp_cache *c, struct oc_err *err)
{
	struct recs rs = { NULL, 0, 0, NULL, 0 };
	struct oc__ocsp_verifier *v = NULL;
	struct entry *e;
	time_t now;
	long long upto = 0;
	size_t signed_n = 0, dropped = 0, retired_n = 0, budget;
	int rc = 0, sign_rc = 0;
	bool v_tried = false, full = false;

	if (c == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少 OCSP 缓存 / no OCSP cache");
	pthread_mutex_lock(&c->refresh_mu);
	now = now_of(c);
	if (c->st == NULL && (c->st = oc_store_open(c->store_uri, err)) ==
	    NULL) {
		rc = err != NULL && err->code != 0 ? err->code : OC_ESTORE;
		goto out;
	}
	rs.skip = c->responder_serial;
	if ((rc = read_changes(c, &rs, &full, &upto, err)) != 0) {
		/* Open a fresh handle next time: the database may have gone
		 * away under this one. */
		oc_store_close(c->st);
		c->st = NULL;
		goto out;
	}
	/* Responses outliving the responder certificate are worthless to
	 * relying parties: say so, once a day. */
	if (c->responder_not_after != 0 && now + c->o.validity >
	    c->responder_not_after - 30 * 86400 &&
	    now - c->expiry_warned >= 86400) {
		c->expiry_warned = now;
		oc_log(OC_LOG_WARN, "ocsp.responder_expiring", "serial=%s "
		    "days_left=%lld", c->responder_serial,
		    (long long)((c->responder_not_after - now) / 86400));
	}
	if (full)
		c->gen++;
	/* What the store says is new or changed (or, in a full listing,
	 * everything: the unchanged ones are only marked as listed). */
	for (size_t i = 0; i < rs.n; i++) {
		const struct rec *r = &rs.v[i];
		bool changed;

		e = find(c, r->serial);            /* only we mutate */
		changed = e == NULL || !same_status(e, r);
		if (!changed) {
			e->gen = c->gen;           /* readers never look at gen */
			continue;
		}
		if (retired(c, r->not_after, now)) {
			/* Long expired: the status is recorded (and a stale
			 * response dropped), answered live. */
			if ((rc = store_entry(c, r, NULL, NULL, 0, 0,
			    now)) != 0) {
				oc_err_set(err, rc, "内存不足 / out of "
				    "memory");
				goto out;
			}
			retired_n++;
			continue;
		}
		if ((rc = resign(c, &v, &v_tried, r, changed, now, &sign_rc,
		    &signed_n, &dropped, err)) != 0) {
			oc_err_set(err, rc, "内存不足 / out of memory");
			goto out;
		}
	}
	/* After a full listing, forget what the store no longer lists
	 * (certificates are never deleted; a row deleted by hand is
	 * forgotten at the next start, or with another database). */
	if (full) {
		pthread_rwlock_wrlock(&c->lock);
		for (size_t b = 0; b < c->nbuckets; b++) {
			struct entry **pp = &c->buckets[b];

			while (*pp != NULL) {
				struct entry *x = *pp;

				if (x->gen != c->gen) {
					*pp = x->next;
					due_unlink(c, x);
					entry_free(x);
					c->nentries--;
				} else {
					pp = &x->next;
				}
			}
		}
		pthread_rwlock_unlock(&c->lock);
	}
	/* What is due: no response yet (a signing failed), or less than
	 * refresh_before left.  The due list is in that order, so this stops
	 * at the first entry that is not due; an entry signed here moves to
	 * the tail (due validity − refresh_before from now), so each is
	 * signed at most once per refresh.
	 *
	 * Bounded: the responses signed together (all of them at start-up)
	 * fall due together, and re-signing them in one refresh would hold
	 * up the next one, and with it every revocation, for as long as that
	 * takes.  So a refresh re-signs at most `budget` of them, earliest
	 * nextUpdate first: enough that, at this pace, every entry on the
	 * list is re-signed within the first half of refresh_before: each
	 * refresh's share is for the time since the previous one began
	 * (revocation_interval for the first), so refreshes kicked by the RA
	 * API every few hundred milliseconds share out the same pace instead
	 * of each taking a whole interval's share.
	 * Urgent ones — no response, or less than refresh_before / 2 left —
	 * are signed whatever the budget, so no response gets closer than
	 * that to its nextUpdate while signing works (docs/ocsp.md). */
	{
		time_t step = c->o.revocation_interval, window;

		if (c->last_start != 0)
			step = now > c->last_start ? now - c->last_start : 0;
		window = c->o.refresh_before - c->o.refresh_before / 2;
		budget = (size_t)(((unsigned long long)c->ndue *
		    (unsigned long long)step + (unsigned long long)window - 1) /
		    (unsigned long long)window);
	}
	c->last_start = now;
	while (sign_rc == 0 && (e = c->due_head) != NULL &&
	    (e->der[0] == NULL ||
	    e->next_update - now <= c->o.refresh_before)) {
		struct rec r;
		bool urgent = e->der[0] == NULL ||
		    e->next_update - now <= c->o.refresh_before / 2;

		memset(&r, 0, sizeof(r));
		memcpy(r.serial, e->serial, sizeof(r.serial));
		r.status = e->status;
		r.revoked_at = e->revoked_at;
		r.reason = e->reason;
		r.not_after = e->not_after;
		if (retired(c, e->not_after, now)) {
			/* Expired past the grace since it was signed: off
			 * the list, its response dropped. */
			if ((rc = store_entry(c, &r, NULL, NULL, 0, 0,
			    now)) != 0) {
				oc_err_set(err, rc, "内存不足 / out of "
				    "memory");
				goto out;
			}
			retired_n++;
			continue;
		}
		if (!urgent && budget == 0)
			break;
		if (!urgent)
			budget--;
		if ((rc = resign(c, &v, &v_tried, &r, false, now, &sign_rc,
		    &signed_n, &dropped, err)) != 0) {
			oc_err_set(err, rc, "内存不足 / out of memory");
			goto out;
		}
	}
	/* Publish the listing time. */
	pthread_rwlock_wrlock(&c->lock);
	c->last_list = now;
	c->ready = true;
	pthread_rwlock_unlock(&c->lock);
	/* Every change up to upto is in the table now (statuses recorded
	 * even where the signing failed). */
	c->seen = upto;
	c->listed = true;
	rc = sign_rc;
	if (sign_rc != 0)
		oc_log(OC_LOG_ERROR, "ocsp.presign_failed",
		    "signed=%zu dropped=%zu code=%s", signed_n, dropped,
		    oc_err_name(sign_rc));
	else if (signed_n > 0 || retired_n > 0)
		oc_log(OC_LOG_DEBUG, "ocsp.refreshed", "full=%d changed=%zu "
		    "signed=%zu retired=%zu", full, rs.n, signed_n, retired_n);
out:
	atomic_fetch_add(&c->n_refreshes, 1);
	if (rc != 0)
		atomic_fetch_add(&c->n_refresh_errors, 1);
	pthread_mutex_unlock(&c->refresh_mu);
	oc__ocsp_verifier_free(v);
	free(rs.v);
	return rc;
}

/* ---- background thread ---- */

static void *
bg_main(void *arg)
{
	struct oc_ocsp_cache *c = arg;
	struct timespec dl;
	struct oc_err err;
	bool first = true;

	pthread_mutex_lock(&c->bg_mu);
	while (!c->bg_stop) {
		bool ready;

		pthread_rwlock_rdlock(&c->lock);
		ready = c->ready;
		pthread_rwlock_unlock(&c->lock);
		if (!(first && !ready)) {
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_sec += c->o.revocation_interval;
			while (!c->bg_stop && !c->bg_kick &&
			    pthread_cond_timedwait(&c->bg_cv, &c->bg_mu,
			    &dl) != ETIMEDOUT)
				;
		}
		first = false;
		if (!c->bg_stop && c->bg_kick && c->bg_last_end.tv_sec != 0) {
			dl = c->bg_last_end;
			dl.tv_nsec += KICK_GAP_MS * 1000000L;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec += dl.tv_nsec / 1000000000L;
				dl.tv_nsec %= 1000000000L;
			}
			while (!c->bg_stop && pthread_cond_timedwait(&c->bg_cv,
			    &c->bg_mu, &dl) != ETIMEDOUT)
				;
		}
		if (c->bg_stop)
			break;
		c->bg_kick = false;
		pthread_mutex_unlock(&c->bg_mu);
		oc_err_clear(&err);
		if (oc_ocsp_cache_refresh(c, &err) != 0) {
			char q[OC_LOG_QBUF];

			oc_log(OC_LOG_WARN, "ocsp.refresh_failed",
			    "code=%s msg=%s", oc_err_name(err.code),
			    oc_log_q(q, sizeof(q), err.msg));
		}
		pthread_mutex_lock(&c->bg_mu);
		clock_gettime(CLOCK_MONOTONIC, &c->bg_last_end);
	}
	pthread_mutex_unlock(&c->bg_mu);
	return NULL;
}

int
oc_ocsp_cache_start(struct oc_ocsp_cache *c, struct oc_err *err)
{
	int rc = 0;

	if (c == NULL)
		return oc_err_set(err, OC_EINVAL, "缺少 OCSP 缓存 / no OCSP cache");
	pthread_mutex_lock(&c->bg_mu);
	if (!c->bg_running) {
		c->bg_stop = false;
		c->bg_kick = false;
		if (pthread_create(&c->bg, NULL, bg_main, c) != 0)
			rc = oc_err_set(err, OC_EINTERNAL, "无法启动 OCSP 刷新线程 / "
			    "cannot start the OCSP refresh thread");
		else
			c->bg_running = true;
	}
	pthread_mutex_unlock(&c->bg_mu);
	return rc;
}

void
oc_ocsp_cache_stop(struct oc_ocsp_cache *c)
{
	bool join;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->bg_mu);
	join = c->bg_running;
	c->bg_stop = true;
	pthread_cond_broadcast(&c->bg_cv);
	pthread_mutex_unlock(&c->bg_mu);
	if (join) {
		pthread_join(c->bg, NULL);
		pthread_mutex_lock(&c->bg_mu);
		c->bg_running = false;
		pthread_mutex_unlock(&c->bg_mu);
	}
}

void
oc_ocsp_cache_kick(struct oc_ocsp_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->bg_mu);
	c->bg_kick = true;
	pthread_cond_broadcast(&c->bg_cv);
	pthread_mutex_unlock(&c->bg_mu);
}

/* ---- answering ---- */

static int
reply_const(struct oc_ocsp_cache *c, enum oc_ocsp_resp_status s,
    unsigned char **resp, size_t *resp_len, struct oc_ocsp_answer *info)
{
	size_t n = 0;
	const unsigned char *d = oc_ocsp_error_der(s, &n);

	switch (s) {
	case OC_OCSP_MALFORMED:
		atomic_fetch_add(&c->n_malformed, 1);
		break;
	case OC_OCSP_UNAUTHORIZED:
		atomic_fetch_add(&c->n_unauthorized, 1);
		break;
	case OC_OCSP_TRY_LATER:
		atomic_fetch_add(&c->n_try_later, 1);
		break;
	default:
		atomic_fetch_add(&c->n_internal, 1);
		break;
	}
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		info->status = s;
	}
	if (d == NULL || (*resp = malloc(n)) == NULL)
		return OC_ENOMEM;
	memcpy(*resp, d, n);
	*resp_len = n;
	return 0;
}

/* Which pre-signed response of an entry (der[i]) is for CertIDs of hash
 * h; -1: none. */
static int
hash_index(enum oc_ocsp_hash h)
{
	for (int i = 0; i < NHASH; i++)
		if (presign_hashes[i] == h)
			return i;
	return -1;
}

/* Whether id is, byte for byte, the CertID our pre-signed response for
 * its serial and hash carries.  It may differ in the hash's
 * AlgorithmIdentifier only: we write NULL parameters, as OpenSSL, NSS and
 * Go do, while RFC 5754 has SHA-2 identifiers written without them, and a
 * client may compare the whole CertID (NSS compares the parameters).  A
 * request whose CertID is not ours is answered live, which echoes its
 * CertID as it came. */
static bool
certid_is_ours(const struct oc_ocsp_cache *c, const struct oc_ocsp_certid *id)
{
	struct oc_ocsp_certid mine;

	return oc_ocsp_certid_from_hashes(&c->ih, id->hash, id->serial, &mine,
	    NULL) == 0 && mine.der_len == id->der_len &&
	    memcmp(mine.der, id->der, id->der_len) == 0;
}

/* The pre-signed answer for serial, asked with a CertID of hash index hi
 * (hash_index: the response with that CertID): 1 with *resp set (caller
 * owns), 0 if
 * there is none that may be served (not ready, unknown serial, none
 * signed, past its nextUpdate), -1 out of memory. */
static int
presigned(struct oc_ocsp_cache *c, const char *serial, int hi, time_t now,
    unsigned char **resp, size_t *resp_len, struct oc_ocsp_answer *info)
{
	struct entry *e;
	int rc = 0;

	pthread_rwlock_rdlock(&c->lock);
	if (hi >= 0 && hi < NHASH && c->ready && (e = find(c, serial)) !=
	    NULL && e->der[hi] != NULL && e->next_update > now) {
		rc = -1;
		if ((*resp = malloc(e->der_len[hi])) != NULL) {
			memcpy(*resp, e->der[hi], e->der_len[hi]);
			*resp_len = e->der_len[hi];
			if (info != NULL) {
				info->status = OC_OCSP_SUCCESSFUL;
				info->presigned = true;
				info->next_update = e->next_update;
				info->this_update = e->next_update - c->o.validity;
				info->produced_at = e->produced;
			}
			rc = 1;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	if (rc == 1)
		atomic_fetch_add(&c->n_hits, 1);
	return rc;
}

/* may_sign false: stop, with *resp NULL and *need_sign set, where a
 * response would have to be signed now. */
static int
answer(struct oc_ocsp_cache *c, const unsigned char *req, size_t len,
    unsigned char **resp, size_t *resp_len, struct oc_ocsp_answer *info,
    bool may_sign, bool *need_sign)
{
	struct oc_ocsp_request *r = NULL;
	struct oc_ocsp_single *s = NULL;
	struct oc_err err;
	unsigned char *der = NULL;
	size_t derlen = 0, nunknown = 0;
	time_t now, listed;
	bool counted = false;
	struct memo *m = NULL;
	int rc;

	if (resp == NULL || resp_len == NULL)
		return OC_EINVAL;
	*resp = NULL;
	*resp_len = 0;
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (c == NULL)
		return OC_EINVAL;
	if (req != NULL && len > 0 && len <= MEMO_REQ_MAX) {
		m = memo_slot(req, len);
		if (m->cache == c->id && m->len == len &&
		    memcmp(m->req, req, len) == 0) {
			switch (presigned(c, m->serial, m->hi, now_of(c), resp,
			    resp_len, info)) {
			case 1:
				return 0;
			case -1:
				return reply_const(c, OC_OCSP_INTERNAL_ERROR, resp,
				    resp_len, info);
			default:
				break;              /* the long way */
			}
		}
	}
	oc_err_clear(&err);
	if ((r = oc_ocsp_request_parse(req, len, &err)) == NULL) {
		rc = reply_const(c, err.code == OC_ENOMEM ?
		    OC_OCSP_INTERNAL_ERROR : OC_OCSP_MALFORMED, resp, resp_len,
		    info);
		goto out;
	}
	for (size_t i = 0; i < r->n; i++)
		if (!oc_ocsp_certid_is_for_hashes(&r->ids[i], &c->ih)) {
			rc = reply_const(c, OC_OCSP_UNAUTHORIZED, resp, resp_len,
			    info);
			goto out;
		}
	if ((s = calloc(r->n, sizeof(*s))) == NULL) {
		rc = reply_const(c, OC_OCSP_INTERNAL_ERROR, resp, resp_len, info);
		goto out;
	}
	now = now_of(c);

	if (r->n == 1 && !r->has_nonce && hash_index(r->ids[0].hash) >= 0 &&
	    certid_is_ours(c, &r->ids[0])) {
		int hi = hash_index(r->ids[0].hash);

		switch (presigned(c, r->ids[0].serial, hi, now, resp, resp_len,
		    info)) {
		case 1:
			if (m != NULL) {        /* remember what these bytes mean */
				m->cache = c->id;
				m->len = len;
				memcpy(m->req, req, len);
				memcpy(m->serial, r->ids[0].serial, sizeof(m->serial));
				m->hi = hi;
			}
			rc = 0;
			goto out;
		case -1:
			rc = reply_const(c, OC_OCSP_INTERNAL_ERROR, resp, resp_len,
			    info);
			goto out;
		default:
			break;
		}
	}
	pthread_rwlock_rdlock(&c->lock);
	if (!c->ready) {
		pthread_rwlock_unlock(&c->lock);
		rc = reply_const(c, OC_OCSP_TRY_LATER, resp, resp_len, info);
		goto out;
	}
	listed = c->last_list;
	for (size_t i = 0; i < r->n; i++) {
		struct entry *e = find(c, r->ids[i].serial);

		s[i].id = &r->ids[i];
		s[i].this_update = listed;
		if (e == NULL) {
			/* Not issued (as of the last listing): ask again
			 * once the next poll has run. */
			s[i].status = OC_OCSP_UNKNOWN;
			s[i].next_update = now + c->o.revocation_interval;
			if (s[i].next_update > listed + c->o.validity)
				s[i].next_update = listed + c->o.validity;
			nunknown++;
		} else {
			s[i].status = e->status;
			s[i].revoked_at = e->revoked_at;
			s[i].reason = e->reason;
			s[i].next_update = listed + c->o.validity;
		}
	}
	pthread_rwlock_unlock(&c->lock);

	/* The status on hand is too old to vouch for (the store has been
	 * unreadable for a whole validity period). */
	for (size_t i = 0; i < r->n; i++)
		if (s[i].next_update <= now || s[i].next_update <= listed) {
			rc = reply_const(c, OC_OCSP_TRY_LATER, resp, resp_len,
			    info);
			goto out;
		}
	if (!may_sign) {
		*need_sign = true;
		rc = 0;
		goto out;
	}
	if (atomic_fetch_add(&c->live_inflight, 1) >= c->o.live_max) {
		atomic_fetch_sub(&c->live_inflight, 1);
		rc = reply_const(c, OC_OCSP_TRY_LATER, resp, resp_len, info);
		goto out;
	}
	counted = true;
	if (sign_singles(c, NULL, s, r->n, r->has_nonce ? r->nonce_ext : NULL,
	    r->has_nonce ? r->nonce_ext_len : 0, now, &der, &derlen,
	    &err) != 0) {
		char q[OC_LOG_QBUF];

		oc_log(OC_LOG_ERROR, "ocsp.sign_failed", "code=%s msg=%s",
		    oc_err_name(err.code), oc_log_q(q, sizeof(q), err.msg));
		rc = reply_const(c, OC_OCSP_INTERNAL_ERROR, resp, resp_len, info);
		goto out;
	}
	if ((*resp = malloc(derlen)) == NULL) {
		rc = reply_const(c, OC_OCSP_INTERNAL_ERROR, resp, resp_len, info);
		goto out;
	}
	memcpy(*resp, der, derlen);
	*resp_len = derlen;
	atomic_fetch_add(&c->n_live, 1);
	atomic_fetch_add(&c->n_unknown, nunknown);
	if (info != NULL) {
		info->status = OC_OCSP_SUCCESSFUL;
		info->live = true;
		info->this_update = listed;
		info->produced_at = now;
		info->next_update = s[0].next_update;
		for (size_t i = 1; i < r->n; i++)
			if (s[i].next_update < info->next_update)
				info->next_update = s[i].next_update;
	}
	rc = 0;
out:
	if (counted)
		atomic_fetch_sub(&c->live_inflight, 1);
	OPENSSL_free(der);
	free(s);
	oc_ocsp_request_free(r);
	return rc;
}

int
oc_ocsp_cache_answer_ex(struct oc_ocsp_cache *c, const unsigned char *req,
    size_t len, unsigned char **resp, size_t *resp_len,
    struct oc_ocsp_answer *info)
{
	bool need_sign = false;

	return answer(c, req, len, resp, resp_len, info, true, &need_sign);
}

int
oc_ocsp_cache_answer_nosign(struct oc_ocsp_cache *c, const unsigned char *req,
    size_t len, unsigned char **resp, size_t *resp_len,
    struct oc_ocsp_answer *info, bool *need_sign)
{
	bool dummy;

	if (need_sign == NULL)
		need_sign = &dummy;
	*need_sign = false;
	return answer(c, req, len, resp, resp_len, info, false, need_sign);
}

int
oc_ocsp_cache_answer(struct oc_ocsp_cache *c, const unsigned char *req,
    size_t len, unsigned char **resp, size_t *resp_len)
{
	return oc_ocsp_cache_answer_ex(c, req, len, resp, resp_len, NULL);
}

/* ---- counters ---- */

void
oc_ocsp_cache_get_stats(struct oc_ocsp_cache *c,
    struct oc_ocsp_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	out->hits = atomic_load(&c->n_hits);
	out->live_signs = atomic_load(&c->n_live);
	out->presigns = atomic_load(&c->n_presign);
	out->malformed = atomic_load(&c->n_malformed);
	out->unauthorized = atomic_load(&c->n_unauthorized);
	out->try_later = atomic_load(&c->n_try_later);
	out->internal_errors = atomic_load(&c->n_internal);
	out->unknown = atomic_load(&c->n_unknown);
	out->refreshes = atomic_load(&c->n_refreshes);
	out->refresh_errors = atomic_load(&c->n_refresh_errors);
	pthread_rwlock_rdlock(&c->lock);
	out->entries = c->nentries;
	out->last_refresh = c->last_list;
	pthread_rwlock_unlock(&c->lock);
}

/* Prometheus label value: escape \, " and newline. */
static void
label_escape(const char *in, char *out, size_t cap)
{
	size_t k = 0;

	for (const char *p = in != NULL ? in : ""; *p != '\0' && k + 3 < cap;
	    p++) {
		if (*p == '\\' || *p == '"') {
			out[k++] = '\\';
			out[k++] = *p;
		} else if (*p == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *p;
		}
	}
	out[k] = '\0';
}

int
oc_ocsp_cache_metrics(struct oc_ocsp_cache *const *caches,
    const char *const *labels, size_t n, struct oc_buf *out)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} m[] = {
#define M(nm, t, h, f) { nm, t, h, offsetof(struct oc_ocsp_cache_stats, f) }
		M("onecert_ocsp_presigned_served_total", "counter",
		    "OCSP answers served from a pre-signed response", hits),
		M("onecert_ocsp_live_signs_total", "counter",
		    "OCSP responses signed for a request (nonce, several "
		    "CertIDs, unknown serial)", live_signs),
		M("onecert_ocsp_presigns_total", "counter",
		    "certificates whose OCSP responses (one per CertID hash) "
		    "refreshes signed ahead", presigns),
		M("onecert_ocsp_malformed_total", "counter",
		    "malformedRequest answers", malformed),
		M("onecert_ocsp_unauthorized_total", "counter",
		    "unauthorized answers (another CA)", unauthorized),
		M("onecert_ocsp_try_later_total", "counter",
		    "tryLater answers", try_later),
		M("onecert_ocsp_internal_errors_total", "counter",
		    "internalError answers", internal_errors),
		M("onecert_ocsp_unknown_total", "counter",
		    "certificates answered unknown", unknown),
		M("onecert_ocsp_refreshes_total", "counter",
		    "pre-signed cache refreshes", refreshes),
		M("onecert_ocsp_refresh_errors_total", "counter",
		    "pre-signed cache refreshes that failed", refresh_errors),
		M("onecert_ocsp_cached_certificates", "gauge",
		    "certificates in the pre-signed cache", entries),
#undef M
	};
	struct oc_ocsp_cache_stats *st = NULL;
	char lab[128];
	int rc = 0;

	if ((caches == NULL && n > 0) || out == NULL || n > 64)
		return OC_EINVAL;
	if (n == 0)
		return 0;
	if ((st = calloc(n, sizeof(*st))) == NULL)
		return OC_ENOMEM;
	for (size_t j = 0; j < n; j++)
		oc_ocsp_cache_get_stats(caches[j], &st[j]);
	/* One HELP/TYPE per family, then a sample per cache. */
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]) && rc == 0; i++) {
		rc = oc_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
		    m[i].name, m[i].help, m[i].name, m[i].type);
		for (size_t j = 0; j < n && rc == 0; j++) {
			label_escape(labels != NULL ? labels[j] : NULL, lab,
			    sizeof(lab));
			rc = oc_buf_printf(out, "%s{ca=\"%s\"} %llu\n",
			    m[i].name, lab, (unsigned long long)
			    *(const uint64_t *)((const char *)&st[j] +
			    m[i].off));
		}
	}
	if (rc == 0)
		rc = oc_buf_printf(out, "# HELP onecert_ocsp_last_refresh_"
		    "timestamp_seconds start of the last successful listing\n"
		    "# TYPE onecert_ocsp_last_refresh_timestamp_seconds "
		    "gauge\n");
	for (size_t j = 0; j < n && rc == 0; j++) {
		label_escape(labels != NULL ? labels[j] : NULL, lab,
		    sizeof(lab));
		rc = oc_buf_printf(out, "onecert_ocsp_last_refresh_timestamp_"
		    "seconds{ca=\"%s\"} %lld\n", lab,
		    (long long)st[j].last_refresh);
	}
	free(st);
	return rc;
}

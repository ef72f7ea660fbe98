/*
 * rp_crl.c — revocation by CRL when OCSP does not answer: the CRL named
 * by the certificate's CRL distribution point, downloaded over http,
 * verified against the certificate's issuer, and kept until the earlier
 * of its nextUpdate and crl_max_age.
 *
 * What a CRL must be to be used: issued under the issuer's name, signed
 * by the issuer's key (SM2 with the distinguishing ID through
 * oc__crl_verify_sig, as oc_chain_verify does, since OpenSSL 3.0's
 * X509_CRL_verify cannot; other algorithms with X509_CRL_verify), the
 * issuer allowed to sign CRLs (keyUsage cRLSign when it has a keyUsage),
 * a complete CRL (no delta CRL, no issuingDistributionPoint restricted to
 * CA or attribute certificates, to some reasons, or indirect), thisUpdate
 * not in the future and nextUpdate not past.  Distribution points with
 * reasons or a cRLIssuer (partitioned or indirect CRLs) are not used.
 *
 * The cache is a small table (OC__RP_CRL_SLOTS: CRLs are per issuing CA,
 * not per certificate) keyed by (URL, issuer key), under the relying
 * party's mutex.  A slot being downloaded is marked, and other threads
 * wanting the same CRL wait for that download instead of starting their
 * own (a big CRL expiring under a login storm is fetched once).  A CRL
 * in the cache is never modified: its revoked list is sorted once, by
 * the first lookup, before it is published, so that concurrent lookups
 * only read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "onecert/log.h"
#include "onecert/pki.h"
#include "internal.h"
#include "rp_int.h"

#define MAX_CDP_URLS 4

/* The leaf's usable http CRL distribution point URLs. */
static size_t
cdp_urls(X509 *leaf, char urls[][256], size_t max)
{
	STACK_OF(DIST_POINT) *dps;
	size_t n = 0;

	dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps) && n < max;
	    i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0 ||
		    dp->reasons != NULL || dp->CRLissuer != NULL)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname)
		    && n < max; j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);
			const unsigned char *s;
			int len;

			if (gn->type != GEN_URI)
				continue;
			s = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (len < 8 || len > 255 || strncmp((const char *)s,
			    "http://", 7) != 0 ||
			    memchr(s, '\0', (size_t)len) != NULL)
				continue;
			memcpy(urls[n], s, (size_t)len);
			urls[n][len] = '\0';
			n++;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return n;
}

/* Is crl a complete, current CRL signed by issuer?  *expires gets how
 * long it may be kept. */
static int
crl_verify(struct oc_rp *rp, X509_CRL *crl, X509 *issuer, time_t now,
    time_t *tu, time_t *nu, struct oc_err *err)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	ISSUING_DIST_POINT *idp;
	EVP_PKEY *pub = X509_get0_pubkey(issuer);
	int crit = 0, ok;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)) != 0)
		return oc_err_set(err, OC_EINVAL, "CRL 的签发者不是证书的签发者 / "
		    "the CRL is not issued by the certificate's issuer");
	if (!(X509_get_key_usage(issuer) & KU_CRL_SIGN))
		return oc_err_set(err, OC_EINVAL, "签发者无权签署 CRL / the issuer "
		    "may not sign CRLs (keyUsage)");
	X509_CRL_get0_signature(crl, NULL, &alg);
	if (alg != NULL)
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if (obj != NULL && OBJ_obj2nid(obj) == NID_SM2_with_SM3)
		ok = pub != NULL && oc__crl_verify_sig(crl, pub, NULL) == 0;
	else
		ok = pub != NULL && X509_CRL_verify(crl, pub) == 1;
	ERR_clear_error();
	if (!ok)
		return oc_err_set(err, OC_EINVAL, "CRL 的签名无效 / the CRL's "
		    "signature does not verify against the issuer");
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
		return oc_err_set(err, OC_EINVAL, "不使用增量 CRL / a delta CRL is "
		    "not used");
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	if (idp == NULL && crit != -1) {
		ERR_clear_error();
		return oc_err_set(err, OC_EINVAL, "CRL 的 issuingDistributionPoint "
		    "无效 / the CRL's issuingDistributionPoint is malformed");
	}
	if (idp != NULL) {
		bool partial = idp->onlyCA > 0 || idp->onlyattr > 0 ||
		    idp->onlysomereasons != NULL || idp->indirectCRL > 0;

		ISSUING_DIST_POINT_free(idp);
		if (partial)
			return oc_err_set(err, OC_EINVAL, "CRL 不覆盖最终实体证书 / "
			    "the CRL does not cover end-entity certificates");
	}
	if (!oc__rp_time(X509_CRL_get0_lastUpdate(crl), tu) ||
	    (X509_CRL_get0_nextUpdate(crl) != NULL &&
	    !oc__rp_time(X509_CRL_get0_nextUpdate(crl), nu)))
		return oc_err_set(err, OC_EINVAL, "CRL 的时间格式无效 / the CRL's "
		    "times are malformed");
	if (X509_CRL_get0_nextUpdate(crl) == NULL)
		*nu = 0;
	if (*tu > now + rp->clock_skew)
		return oc_err_set(err, OC_EINVAL, "CRL 的 thisUpdate 在未来 / the "
		    "CRL's thisUpdate is in the future");
	if (*nu != 0 && *nu < now - rp->clock_skew)
		return oc_err_set(err, OC_EINVAL, "CRL 已过期（nextUpdate 已过） / "
		    "the CRL is stale (its nextUpdate has passed)");
	return 0;
}

/* Look the leaf up in a verified CRL. */
static void
crl_lookup(X509_CRL *crl, X509 *leaf, time_t tu, time_t nu,
    struct oc__rp_rev *out)
{
	X509_REVOKED *r = NULL;
	ASN1_ENUMERATED *reason;

	memset(out, 0, sizeof(*out));
	out->reason = -1;
	out->this_update = tu;
	out->next_update = nu;
	/* 1: listed; 2: listed as removeFromCRL (only in delta CRLs). */
	if (X509_CRL_get0_by_serial(crl, &r,
	    X509_get0_serialNumber(leaf)) != 1 || r == NULL) {
		out->status = OC__RP_GOOD;
		ERR_clear_error();
		return;
	}
	out->status = OC__RP_REVOKED;
	if (!oc__rp_time(X509_REVOKED_get0_revocationDate(r), &out->revoked_at))
		out->revoked_at = 0;
	reason = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
	if (reason != NULL) {
		long v = ASN1_ENUMERATED_get(reason);

		out->reason = v >= 0 && v <= 10 ? (int)v : -1;
		ASN1_ENUMERATED_free(reason);
	}
	ERR_clear_error();
}

/* The slot for (url, issuer), or NULL. */
static struct oc__rp_crl_slot *
slot_find(struct oc_rp *rp, const char *url, const unsigned char issuer[32])
{
	for (size_t i = 0; i < OC__RP_CRL_SLOTS; i++) {
		struct oc__rp_crl_slot *s = &rp->crl[i];

		if (s->url != NULL && strcmp(s->url, url) == 0 &&
		    memcmp(s->issuer, issuer, 32) == 0)
			return s;
	}
	return NULL;
}

/* A slot for a new (url, issuer): a free one, else the least used one
 * not being downloaded.  NULL when every slot is being downloaded. */
static struct oc__rp_crl_slot *
slot_new(struct oc_rp *rp, const char *url, const unsigned char issuer[32])
{
	struct oc__rp_crl_slot *best = NULL;
	char *u;

	for (size_t i = 0; i < OC__RP_CRL_SLOTS; i++) {
		struct oc__rp_crl_slot *s = &rp->crl[i];

		if (s->url == NULL) {
			best = s;
			break;
		}
		if (!s->fetching && (best == NULL || s->used < best->used))
			best = s;
	}
	if (best == NULL || (u = strdup(url)) == NULL)
		return NULL;
	free(best->url);
	X509_CRL_free(best->crl);
	memset(best, 0, sizeof(*best));
	best->url = u;
	memcpy(best->issuer, issuer, 32);
	return best;
}

/* Download and verify.  Caller owns *out. */
static int
crl_fetch(struct oc_rp *rp, const char *url, X509 *issuer, time_t now,
    X509_CRL **out, time_t *tu, time_t *nu, struct oc_err *err)
{
	unsigned char *body = NULL;
	size_t len = 0;
	X509_CRL *crl = NULL;
	int rc;

	*out = NULL;
	OC__RP_INC(rp, crl_downloads);
	if ((rc = oc__rp_http_fetch(url, NULL, NULL, 0, NULL, rp->crl_max_size,
	    rp->crl_timeout, &body, &len, err)) != 0)
		goto out;
	if ((crl = oc_crl_parse(body, len, err)) == NULL) {
		rc = err != NULL && err->code != 0 ? err->code : OC_EINVAL;
		goto out;
	}
	if ((rc = crl_verify(rp, crl, issuer, now, tu, nu, err)) != 0)
		goto out;
	*out = crl;
	crl = NULL;
	rc = 0;
out:
	OPENSSL_free(body);
	X509_CRL_free(crl);
	return rc;
}

/* The cached or freshly downloaded CRL for (url, issuer): 0 and the
 * answer for leaf in *out. */
static int
crl_answer(struct oc_rp *rp, const char *url, X509 *leaf, X509 *issuer,
    const struct oc__rp_key *k, time_t now, struct oc__rp_rev *out,
    bool *from_cache, struct oc_err *err)
{
	struct oc__rp_crl_slot *s;
	struct timespec until;
	X509_CRL *crl = NULL;
	time_t tu = 0, nu = 0, expires;
	int rc;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += rp->crl_timeout * 2 + 1;
	pthread_mutex_lock(&rp->mu);
	for (;;) {
		s = slot_find(rp, url, k->issuer);
		if (s != NULL && s->crl != NULL && s->expires > now) {
			X509_CRL_up_ref(s->crl);
			crl = s->crl;
			tu = s->this_update;
			nu = s->next_update;
			s->used = now;
			pthread_mutex_unlock(&rp->mu);
			crl_lookup(crl, leaf, tu, nu, out);
			X509_CRL_free(crl);
			OC__RP_INC(rp, crl_cache_hits);
			*from_cache = true;
			return 0;
		}
		if (s == NULL || !s->fetching)
			break;
		/* Another thread is downloading this CRL: wait for it. */
		if (pthread_cond_timedwait(&rp->crl_cv, &rp->mu, &until) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&rp->mu);
			return oc_err_set(err, OC_EIO, "等待 CRL 下载超时 / timed "
			    "out waiting for the CRL download from %.200s", url);
		}
	}
	if (s == NULL && (s = slot_new(rp, url, k->issuer)) == NULL) {
		pthread_mutex_unlock(&rp->mu);
		return oc_err_set(err, OC_ENOMEM, "CRL 缓存已满 / the CRL cache is "
		    "busy");
	}
	s->fetching = true;
	pthread_mutex_unlock(&rp->mu);

	rc = crl_fetch(rp, url, issuer, now, &crl, &tu, &nu, err);
	if (rc == 0) {
		/* Sorts the revoked list while this thread alone holds it. */
		crl_lookup(crl, leaf, tu, nu, out);
		*from_cache = false;
	}

	pthread_mutex_lock(&rp->mu);
	s->fetching = false;
	if (rc == 0) {
		expires = now + rp->crl_max_age;
		if (nu != 0 && nu < expires)
			expires = nu;
		X509_CRL_free(s->crl);
		s->crl = crl;
		X509_CRL_up_ref(crl);
		s->this_update = tu;
		s->next_update = nu;
		s->expires = expires;
		s->used = now;
	}
	pthread_cond_broadcast(&rp->crl_cv);
	pthread_mutex_unlock(&rp->mu);
	X509_CRL_free(crl);
	return rc;
}

int
oc__rp_crl_check(struct oc_rp *rp, X509 *leaf, X509 *issuer,
    const struct oc__rp_key *k, time_t now, struct oc__rp_rev *out,
    bool *from_cache, struct oc_err *err)
{
	char urls[MAX_CDP_URLS][256];
	size_t n = cdp_urls(leaf, urls, MAX_CDP_URLS);
	int rc = OC_ENOTFOUND;

	*from_cache = false;
	if (n == 0)
		return oc_err_set(err, OC_ENOTFOUND, "证书没有可用的 CRL 分发点 / "
		    "the certificate has no usable (http) CRL distribution "
		    "point");
	for (size_t i = 0; i < n; i++) {
		if ((rc = crl_answer(rp, urls[i], leaf, issuer, k, now, out,
		    from_cache, err)) == 0)
			return 0;
		OC__RP_INC(rp, crl_failures);
		{
			char q[OC_LOG_QBUF], m[OC_LOG_QBUF];

			oc_log(OC_LOG_WARN, "rp.crl_failed", "url=%s msg=%s",
			    oc_log_q(q, sizeof(q), urls[i]),
			    oc_log_q(m, sizeof(m), err != NULL ? err->msg : ""));
		}
	}
	return rc;
}

void
oc__rp_crl_clear(struct oc_rp *rp)
{
	pthread_mutex_lock(&rp->mu);
	for (size_t i = 0; i < OC__RP_CRL_SLOTS; i++) {
		struct oc__rp_crl_slot *s = &rp->crl[i];

		X509_CRL_free(s->crl);
		s->crl = NULL;
		s->expires = 0;
		if (!s->fetching) {
			free(s->url);
			s->url = NULL;
		}
	}
	pthread_mutex_unlock(&rp->mu);
}

size_t
oc__rp_crl_count(struct oc_rp *rp)
{
	size_t n = 0;

	pthread_mutex_lock(&rp->mu);
	for (size_t i = 0; i < OC__RP_CRL_SLOTS; i++)
		if (rp->crl[i].crl != NULL)
			n++;
	pthread_mutex_unlock(&rp->mu);
	return n;
}

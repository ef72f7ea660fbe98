/*
 * ca_priv.h — the struct behind struct oc_ca, and helpers shared by ca.c
 * and lifecycle.c.
 */
#ifndef ONECERT_CA_PRIV_H
#define ONECERT_CA_PRIV_H

#include "ca/ca_int.h"

struct oc__urls {
	char crl[512];
	char ocsp[512];
	char ca_issuers[512];
};

struct oc_ca {
	char dir[2048];
	struct oc_config *cfg;
	enum oc_algo algo;
	X509 *certs[OC_KEY_COUNT];
	struct oc_signer *signers[OC_KEY_COUNT];
	struct oc__sproc *sp;
	struct oc_store *st;
	struct oc__urls urls;        /* what the issuing CA writes into EE certs */
};

void oc__issuer_urls(const struct oc_config *cfg, const char *algo,
	const char *key, struct oc__urls *u);
int oc__write_cert_pem(const char *path, X509 *const *certs, int n, struct oc_err *err);
int oc__store_cert(struct oc_store *st, X509 *cert, const char *ca_key,
	enum oc_profile profile, const char *uid, long long company_id,
	long long enrollment_id, const char *medium, const char *org_code,
	const char *replaces, struct oc_err *err);
X509_CRL *oc__crl_build(const struct oc_config *cfg, struct oc_store *st,
	struct oc_signer *signer, X509 *issuer, const char *key, struct oc_err *err);
int oc__crl_publish(const char *dir, const struct oc_config *cfg,
	struct oc_store *st, struct oc_signer *signer, X509 *issuer,
	const char *key, struct oc_err *err);

/* Sign and store a certificate for the approved enrollment e inside the
 * caller's transaction (lifecycle.c).  old: the certificate it replaces. */
X509 *oc__ca_issue_locked(struct oc_ca *ca, const struct oc_actor *who,
	struct oc_enrollment *e, X509_REQ *csr, const char *medium,
	const struct oc_cert_rec *old, struct oc_err *err);
/* Insert e and its audit row, inside the caller's transaction. */
int oc__ca_insert_enrollment(struct oc_ca *ca, const struct oc_actor *who,
	struct oc_enrollment *e, struct oc_err *err);

#endif

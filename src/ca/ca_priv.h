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
	struct oc__group *grp;       /* shared by the handles on this database
	                                (group.c); NULL: none */
	/* The operator certificate whose chain last verified on this handle
	 * (oc_ca_operator_auth), and until when that result stands. */
	unsigned char *op_der;
	size_t op_der_len;
	time_t op_from, op_until;
	/* The store's last yes for that certificate (serial, operator name)
	 * and the auth version it was read under (oc_store_auth_version). */
	bool op_ok;
	long long op_ver;
	char op_serial[43];
	char op_name[128];
};

void oc__issuer_urls(const struct oc_config *cfg, const char *algo,
	const char *key, struct oc__urls *u);
int oc__write_cert_pem(const char *path, X509 *const *certs, int n, struct oc_err *err);
int oc__store_cert(struct oc_store *st, X509 *cert, const char *ca_key,
	enum oc_profile profile, const char *uid, long long company_id,
	long long enrollment_id, const char *medium, const char *org_code,
	const char *replaces, struct oc_err *err);
/* oc__store_cert with the certificate's DER already at hand (exactly what
 * cert encodes to: oc_cert_issue_der), stored as it is instead of
 * encoding cert again; der NULL: encode it. */
int oc__store_cert_der(struct oc_store *st, X509 *cert, const unsigned char *der,
	size_t derlen, const char *ca_key, enum oc_profile profile, const char *uid,
	long long company_id, long long enrollment_id, const char *medium,
	const char *org_code, const char *replaces, struct oc_err *err);
/* The CRL of `key` with a fresh number; who != NULL: a crl.issue audit
 * row.  Hold the CRL lock (ca.c) around it and the publication. */
X509_CRL *oc__crl_build(const struct oc_config *cfg, struct oc_store *st,
	struct oc_signer *signer, X509 *issuer, const char *key,
	const struct oc_actor *who, struct oc_err *err);
int oc__crl_publish(const char *dir, const struct oc_config *cfg,
	struct oc_store *st, struct oc_signer *signer, X509 *issuer,
	const char *key, struct oc_err *err);

/* A certificate signed for an enrollment, not stored yet. */
struct oc__made {
	X509 *cert;                    /* owned (oc__made_cleanup) */
	unsigned char *der;            /* what cert encodes to; owned */
	size_t derlen;
	enum oc_profile profile;
	char uid[OC_UID_LEN + 1];      /* its unique ID */
	char org[20];                  /* its GM/T .4 value; "" for personal */
	char serial[43];
};

/* Build, sign and lint the certificate for enrollment e from csr's public
 * key, with a fresh serial and unique ID (lifecycle.c).  Reads the
 * company and writes nothing, so it may run outside a transaction: that e
 * is still approved is checked when the certificate is recorded.  On
 * success the caller owns m->cert and m->der (oc__made_cleanup). */
int oc__ca_cert_make(struct oc_ca *ca, const struct oc_enrollment *e,
	X509_REQ *csr, struct oc__made *m, struct oc_err *err);
void oc__made_cleanup(struct oc__made *m);
/* Record m for e inside the caller's transaction: the certificate row, e's
 * approved → issued transition (OC_ECONFLICT if e is no longer approved),
 * the link from old (NULL: none) and the cert.issue audit row.  OC_EEXIST
 * (serial or unique ID taken) comes before anything was written: make a
 * new certificate and record that.  After any other failure some writes
 * may have happened: roll the transaction back. */
int oc__ca_cert_record(struct oc_ca *ca, const struct oc_actor *who,
	const struct oc_enrollment *e, const struct oc__made *m,
	const char *medium, const struct oc_cert_rec *old, struct oc_err *err);

/* Sign and store a certificate for the approved enrollment e inside the
 * caller's transaction (lifecycle.c): make + record, retrying a unique-ID
 * collision.  old: the certificate it replaces. */
X509 *oc__ca_issue_locked(struct oc_ca *ca, const struct oc_actor *who,
	struct oc_enrollment *e, X509_REQ *csr, const char *medium,
	const struct oc_cert_rec *old, struct oc_err *err);
/* The group of handles on the database file db_path in this process,
 * with a reference for the caller (NULL if the file cannot be named);
 * oc__group_put drops it (group.c). */
struct oc__group *oc__group_get(const char *db_path);
void oc__group_put(struct oc__group *g);
/* Record m for the approved enrollment e in a transaction shared with the
 * other threads recording on ca's group at the same moment, committed
 * before this returns (group commit).  Call outside any transaction.  0:
 * m is durably stored.  Otherwise oc__ca_cert_record's codes (OC_EEXIST:
 * make a new certificate and try again) or the store's, with nothing of
 * m written. */
int oc__group_record(struct oc_ca *ca, const struct oc_actor *who,
	const struct oc_enrollment *e, const struct oc__made *m,
	const char *medium, struct oc_err *err);
/* A USB key's serial (介质号) as this CA records it: 1..16 characters of
 * [A-Za-z0-9._:-] (lifecycle.c).  OC_EINVAL otherwise. */
int oc__check_medium(const char *medium, struct oc_err *err);

/* Insert e and its audit row, inside the caller's transaction. */
int oc__ca_insert_enrollment(struct oc_ca *ca, const struct oc_actor *who,
	struct oc_enrollment *e, struct oc_err *err);

#endif

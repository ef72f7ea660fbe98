/*
 * ca.h — the certificate authority engine: one CA directory holds one
 * hierarchy (a root and an issuing CA of one algorithm), its OCSP responder
 * certificate, its database and its configuration.
 *
 *   DIR/ca.ini            configuration (docs/config.md)
 *   DIR/ca.pem            issuing CA certificate followed by the root
 *   DIR/root.pem, DIR/issuing.pem, DIR/ocsp.pem
 *   DIR/ca.db             SQLite store
 *   DIR/crl/ALGO-issuing.crl, DIR/crl/ALGO-root.crl   (DER, as served)
 *   DIR/ca/ALGO-issuing.cer, DIR/ca/ALGO-root.cer     (DER, as served)
 *   DIR/hsm/              SoftHSM2 token store of the CA keys (pkcs11 mode)
 *   DIR/private/          0700: HSM PIN, wrapped or development keys
 *
 * The engine never holds a CA private key in the calling process:
 * oc_ca_open forks the signer process (src/ca/signerproc.c), which alone
 * opens the keys, and every signature is requested over a socketpair.
 * Open the CA before loading any PKCS#11 module in the caller.
 *
 * Every state change (enroll, decide, issue, renew, change, revoke,
 * reissue, escrow read) is one store transaction that also appends to the
 * audit log with who, when, what and from where.
 */
#ifndef ONECERT_CA_H
#define ONECERT_CA_H

#include <stdbool.h>
#include <openssl/x509.h>
#include "onecert/error.h"
#include "onecert/pki.h"
#include "onecert/signer.h"
#include "onecert/store.h"

struct oc_ca;

struct oc_ca_init_opts {
	const char *dir;
	enum oc_algo algo;
	const char *name;        /* issuing CA CN; root is "<name> Root" */
	const char *base_url;    /* default http://127.0.0.1:8080 */
	bool dev_file_keys;      /* keys in PEM files: development only */
	const char *module;      /* PKCS#11 module; NULL: SoftHSM2 */
	const char *actor;       /* who, for the audit log */
};

/* Create DIR (must not hold a CA already). */
int oc_ca_init(const struct oc_ca_init_opts *o, struct oc_err *err);

/* Caller owns the result.  Forks the signer process (without exec): open
 * every handle before starting threads, as ca serve does — a fork while
 * another thread holds a lock (OpenSSL's, the allocator's) can leave the
 * signer stuck (it then fails after ca.signer_timeout) — and from a thread
 * that outlives the handle (the signer dies with the thread that forked
 * it, PR_SET_PDEATHSIG). */
struct oc_ca *oc_ca_open(const char *dir, struct oc_err *err);
void oc_ca_close(struct oc_ca *ca);

struct oc_store *oc_ca_store(struct oc_ca *ca);          /* borrowed */
X509 *oc_ca_get0_issuing(struct oc_ca *ca);              /* borrowed */
X509 *oc_ca_get0_root(struct oc_ca *ca);
X509 *oc_ca_get0_ocsp(struct oc_ca *ca);
enum oc_algo oc_ca_algo(struct oc_ca *ca);
const char *oc_ca_dir(struct oc_ca *ca);
/* The signer for "root", "issuing" or "ocsp" (remote: the signer
 * process).  Borrowed. */
struct oc_signer *oc_ca_signer(struct oc_ca *ca, const char *key);

/* Who does it and from where: written to the audit log. */
struct oc_actor {
	const char *who;
	const char *from;
};

struct oc_enroll_req {
	enum oc_profile profile;   /* enterprise or personal */
	const char *name;          /* company name, or the person's name */
	const char *uscc;          /* USCC or organization code (enterprise) */
	const char *st, *l;        /* province, city (default 上海市 / 上海市) */
	const char *legal_rep, *contact, *phone;
	const char *ic_reg_no, *tax_no, *insurance_no;
	const char *identity_code; /* personal: resident ID number */
	const char *materials;     /* JSON array or object: what the operator saw */
	const char *medium;        /* target USB key serial, if known */
};

/* New pending enrollment.  Checks the USCC / organization code digit by
 * digit, the mobile number, lengths.  *id gets its number. */
int oc_ca_enroll(struct oc_ca *ca, const struct oc_actor *who,
	const struct oc_enroll_req *r, long long *id, struct oc_err *err);
/* pending → approved / rejected (note = the reason). */
int oc_ca_decide(struct oc_ca *ca, const struct oc_actor *who, long long id,
	bool approve, const char *note, struct oc_err *err);

/* Issue for an approved enrollment from a verified CSR (only its public
 * key is used).  approved → issued; the certificate is stored durably
 * before it is returned.  medium may be NULL.  Caller owns the result.
 * Outside a transaction, the threads of a process issuing on handles of
 * the same database at the same moment share one transaction and fsync
 * (group commit, src/ca/group.c); each still gets its own result. */
X509 *oc_ca_issue(struct oc_ca *ca, const struct oc_actor *who, long long id,
	X509_REQ *csr, const char *medium, struct oc_err *err);
/* oc_ca_issue, and the certificate's DER as stored (OPENSSL_malloc'd, the
 * caller frees it; *der NULL if it could not be had, the certificate
 * issued all the same) in *der, *derlen: for the RA API's reply, without
 * encoding the certificate once more. */
X509 *oc_ca_issue_der(struct oc_ca *ca, const struct oc_actor *who, long long id,
	X509_REQ *csr, const char *medium, unsigned char **der, size_t *derlen,
	struct oc_err *err);

/* One certificate of a batch (oc_ca_issue_batch).  The caller fills the
 * inputs and zeroes the rest. */
struct oc_ca_batch_item {
	long long enrollment;   /* in: an approved enrollment */
	X509_REQ *csr;          /* in, borrowed: from oc_csr_parse, so its
	                           self-signature has been verified */
	const char *medium;     /* in: NULL = the enrollment's medium, if any */
	X509 *cert;             /* out: the stored certificate (caller owns);
	                           NULL when this item was not issued */
	struct oc_err err;      /* out: why this item was not issued */
};

/* The most items one call takes: a bound on how long the store's write
 * lock is held and on what one failing commit can take down with it. */
#define OC_CA_BATCH_MAX 1024

/* Issue for several approved enrollments with one store transaction (group
 * commit).  Each item is issued as oc_ca_issue would issue it — the
 * certificate, the enrollment's approved → issued transition and a
 * cert.issue audit row — but all items commit together, so n certificates
 * cost one fsync instead of n.  Certificates are built and signed before
 * the transaction opens, so that other handles on the same database (one
 * per thread, each with its own signer process) keep signing while this
 * one writes.
 *
 * An item that cannot be issued (not approved, a key the profile refuses,
 * a race lost to another operator) gets item->err and no certificate; the
 * others are still issued.  No certificate is handed out before the
 * commit: on return, every non-NULL item->cert is durably stored.
 * Returns how many items were issued (0..n), or a negative OC_E… code
 * with err set when the batch as a whole failed (store unavailable,
 * commit failed, n > OC_CA_BATCH_MAX, called inside an open store
 * transaction): then no item has a certificate. */
int oc_ca_issue_batch(struct oc_ca *ca, const struct oc_actor *who,
	struct oc_ca_batch_item *items, size_t n, struct oc_err *err);

/* 更新: a new certificate for a new key with the same data, before the old
 * one expires; the old one stays valid until it expires and is linked to
 * the new one.  Refused for a revoked or expired certificate. */
X509 *oc_ca_renew(struct oc_ca *ca, const struct oc_actor *who,
	const char *old_serial, X509_REQ *csr, struct oc_err *err);
/* 变更: company data changed (r's non-NULL fields replace the old ones);
 * new certificate; the old one is revoked as superseded. */
X509 *oc_ca_change(struct oc_ca *ca, const struct oc_actor *who,
	const char *old_serial, const struct oc_enroll_req *r, X509_REQ *csr,
	struct oc_err *err);
/* 补办: the medium is lost: the old certificate is revoked
 * (keyCompromise), the old medium marked lost, a new certificate issued
 * for a key on new_medium. */
X509 *oc_ca_reissue(struct oc_ca *ca, const struct oc_actor *who,
	const char *old_serial, X509_REQ *csr, const char *new_medium,
	struct oc_err *err);

/* 撤销: valid → revoked with an RFC 5280 reason; OC_ECONFLICT if already
 * revoked.  The CRL is regenerated. */
int oc_ca_revoke(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, int reason, struct oc_err *err);

/* A fresh full CRL of the issuing CA (also written to DIR/crl/).  Caller
 * owns the result. */
X509_CRL *oc_ca_crl(struct oc_ca *ca, const struct oc_actor *who, struct oc_err *err);

/* Escrow a USB key's SO PIN (encrypted by the CA's escrow key) and
 * register the medium. */
int oc_ca_medium_register(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, const char *label, long long company_id,
	const char *so_pin, struct oc_err *err);
/* 解锁: decrypt the escrowed SO PIN (audit-logged).  *so_pin is malloc'd;
 * the caller cleanses and frees it. */
int oc_ca_escrow_get(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, char **so_pin, struct oc_err *err);

/* RA operators: the holder of a valid personal certificate of this CA may
 * call the RA API once granted the role (audit-logged). */
int oc_ca_operator_grant(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, struct oc_err *err);
int oc_ca_operator_revoke(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, struct oc_err *err);
/* The certificate presented by a client: issued by this CA, personal,
 * valid in our records, not expired, chain verifies, and holding the
 * operator role.  name[cap] gets the operator's name, serial[43] its
 * serial.  OC_EPERM otherwise, with a message that says why.  A chain that
 * verified is taken as verified on the same handle for up to a minute
 * (never past a certificate's notAfter); the records and the role are
 * read on every call. */
int oc_ca_operator_auth(struct oc_ca *ca, X509 *cert, char *name, size_t cap,
	char serial[43], struct oc_err *err);

/* 应用开通 / 应用注销 for a valid certificate of this CA (audit-logged). */
int oc_ca_app_open(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, const char *app, struct oc_err *err);
int oc_ca_app_close(struct oc_ca *ca, const struct oc_actor *who,
	const char *serial, const char *app, struct oc_err *err);

/* A TLS-server certificate for `host` (DNS name or IP literal) with a new
 * key made in this process (a TLS key must live where TLS runs): the chain
 * (leaf, issuing, root) goes to cert_path, the key to key_path (0600).
 * Stored and audit-logged.  Refused for SM2 hierarchies (common TLS
 * clients do not speak SM2). */
int oc_ca_issue_tls(struct oc_ca *ca, const struct oc_actor *who, const char *host,
	const char *cert_path, const char *key_path, struct oc_err *err);

/* false once the signer process has stopped (it is reaped here). */
bool oc_ca_signer_alive(struct oc_ca *ca);

/* A random PIN of n characters (n < 64) from an alphabet without look-alike
 * characters, for HSM and USB-key PINs; out must hold n + 1 bytes. */
int oc_ca_random_pin(char *out, size_t n);

/* Append an audit row on behalf of a caller. */
int oc_ca_audit(struct oc_ca *ca, const struct oc_actor *who, const char *action,
	const char *object, const char *detail_json, struct oc_err *err);

#endif
